/**
 * The scripts in `examples/` run as a user would run them (`deno run -A examples/…`), with short settings, and
 * print what they promise: the generation example uses WebGPU when an adapter exists and says so.
 */

import assert from "node:assert/strict";
import { probeAdapter } from "./adapter_probe.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Runs an example from the project root; returns its stdout (fails the test, with stderr, on a non-zero exit). */
async function runExample(args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `${args.join(" ")} exited ${out.code}:\n${new TextDecoder().decode(out.stderr)}`);
  return stdout;
}

Deno.test("examples/generate.ts continues a prompt on WebGPU where an adapter exists, and says which backend", async () => {
  const { found: adapter, reason } = await probeAdapter();
  if (!adapter && Deno.env.get("CI") === "true") {
    throw new Error(`no WebGPU adapter under CI=true: ${reason}`);
  }
  // LLADA_BACKEND unset: the example's own choice (auto).
  const env = { LLADA_BACKEND: "auto" };
  const out = await runExample(["examples/generate.ts", "The jury", "8"], env);
  assert.match(
    out,
    adapter ? /^backend: webgpu — .* \(auto: a WebGPU adapter was found\)$/m : /^backend: cpu — /m,
  );
  assert.match(out, /^8 network evaluations:$/m);
  assert.match(out, /^ {2}The jury▒{8}$/m);
  assert.match(out.trimEnd().split("\n").at(-1)!, /^The jury.{8}$/);
});

Deno.test("examples/score.ts scores both continuations with the likelihood bound", async () => {
  const out = await runExample(["examples/score.ts", "8"], { LLADA_BACKEND: "cpu" });
  const scores = [...out.matchAll(/bound on the log-likelihood ≈ (-?\d+\.\d+) nats/g)].map((m) =>
    Number(m[1])
  );
  assert.equal(scores.length, 2);
  for (const s of scores) assert.ok(s < 0 && s > -200, `a log-likelihood of 19 characters: ${s}`);
});

Deno.test("examples/train_tiny.ts trains a tiny model whose held-out bound falls", async () => {
  const runDir = await Deno.makeTempDir();
  try {
    const out = await runExample(["examples/train_tiny.ts", "30", runDir], { LLADA_BACKEND: "cpu" });
    const m = /held-out bound: (\d+\.\d+) → (\d+\.\d+) bits\/char after 30 steps/.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[2]) < Number(m[1]) - 0.5, `the bound fell from ${m[1]} to ${m[2]}`);
    assert.ok((await Deno.stat(`${runDir}/checkpoint/config.json`)).isFile);
  } finally {
    await Deno.remove(runDir, { recursive: true });
  }
});
