/**
 * Reproduction, failing variant: the kernel runs on the test file's own thread, as `deno test` gives it. `repro.sh`
 * imports this from several generated `*.test.ts` files; about one run in seven then aborts after its summary.
 *
 * @module
 */

import { runKernel } from "./kernel.ts";

Deno.test("one kernel on the test file's thread", async () => {
  const first = await runKernel();
  if (first !== 1) throw new Error(`x[0] is ${first}, expected 1`);
});
