/** `llada sample` with the sampler lab's options, on the shipped model, run as subprocesses. */

import assert from "node:assert/strict";

const cli = new URL("../src/cli.ts", import.meta.url).pathname;

/** Runs `llada sample …` on the CPU backend; returns the exit code and outputs. */
async function sampleCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "sample", "--prompt", "The jury said ", "--gen-length", "16", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", LLADA_BACKEND: "cpu" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("llada sample --strategy/--factor/--cache: the lab's sampler from the command line", async () => {
  const base = ["--steps", "8", "--block-length", "8"];
  const plain = await sampleCli(base);
  assert.equal(plain.code, 0, plain.stderr);
  // a KV cache refreshed every step is the uncached sampler: the same text
  const refreshed = await sampleCli([...base, "--cache", "dual", "--cache-refresh", "1"]);
  assert.equal(refreshed.code, 0, refreshed.stderr);
  assert.equal(refreshed.stdout, plain.stdout);
  // the other strategies run and continue the prompt; the trace counts the factor rule's steps
  for (
    const extra of [["--strategy", "ancestral"], ["--cache", "prefix"], [
      "--temperature",
      "1",
      "--top-k",
      "3",
    ]]
  ) {
    const r = await sampleCli([...base, ...extra]);
    assert.equal(r.code, 0, `${extra}: ${r.stderr}`);
    assert.ok(r.stdout.startsWith("The jury said "), r.stdout);
  }
  const factor = await sampleCli(["--factor", "1", "--show-steps"]);
  assert.equal(factor.code, 0, factor.stderr);
  assert.match(factor.stdout, /step +\d+\/\?/);
  const bad = await sampleCli(["--cache", "full"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--cache must be one of none, prefix, dual/);
});
