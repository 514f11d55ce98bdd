/**
 * Reproduction, fixed variant: the same kernel runs in a Web Worker; after the file's tests the worker is ended and
 * the file waits until the worker's thread has exited, so no thread holding EGL state is left to exit during the
 * process's exit(). This is what `tests/parity_helper.ts` does for every WebGPU test.
 *
 * @module
 */

const worker = new Worker(new URL("./kernel_worker.ts", import.meta.url), { type: "module" });
let thread = "";

Deno.test("one kernel in a worker", async () => {
  const reply = await new Promise<{ first: number; thread: string }>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage(null);
  });
  thread = reply.thread;
  if (reply.first !== 1) throw new Error(`x[0] is ${reply.first}, expected 1`);
});

Deno.test.afterAll(async () => {
  worker.terminate();
  const alive = () => {
    try {
      Deno.statSync(`/proc/self/task/${thread}`);
      return true;
    } catch {
      return false;
    }
  };
  while (thread && alive()) await new Promise((r) => setTimeout(r, 2));
});
