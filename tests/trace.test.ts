/**
 * The op trace (`src/trace.ts`): the lines of one training step of a fixed tiny model are a stable snapshot (op
 * names, dtypes and shapes, forward and backward); level 2 appends correct statistics, level 3 a time, level 0
 * prints nothing; on WebGPU the same ops name their WGSL kernels; `LLADA_TRACE=1` on the command line prints the
 * ops of every sampling step.
 *
 * The snapshot lives in `tests/snapshots/trace_tiny_step.txt`; after a deliberate change to the ops, rewrite it
 * with `LLADA_UPDATE_SNAPSHOTS=1 deno test -A tests/trace.test.ts` and read the diff.
 */

import assert from "node:assert/strict";
import type { Backend } from "../src/backend/backend.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import { add } from "../src/ops/elementwise.ts";
import { Rng } from "../src/rng.ts";
import { Tensor } from "../src/tensor.ts";
import { setTrace, traceFlushed, traceLevel } from "../src/trace.ts";
import { objectiveLoss } from "../src/train/step.ts";
import { gpuTest } from "./parity_helper.ts";

const SNAPSHOT = new URL("./snapshots/trace_tiny_step.txt", import.meta.url);

/** The traced lines of one forward and backward pass of a fixed one-layer model on `backend`. */
async function traceOneStep(backend: Backend): Promise<string[]> {
  const config = {
    d_model: 8,
    n_layers: 1,
    n_heads: 2,
    mlp_hidden_size: 12,
    vocab_size: 7,
    max_sequence_length: 8,
    mask_token_id: 6,
    eos_token_id: 5,
  };
  const model = await createModel(config, { seed: 0, backend });
  const data = { tokens: Int32Array.from([0, 1, 2, 3, 4, 0, 1, 2]), batch: 2, length: 4 };
  const lines: string[] = [];
  setTrace(1, { write: (line) => lines.push(line) });
  try {
    const { loss } = objectiveLoss(model, data, "pretrain", new Rng(1));
    loss.backward();
    await loss.data();
  } finally {
    setTrace(0);
  }
  model.dispose();
  return lines;
}

Deno.test("trace: one training step of a fixed tiny model gives the same op lines (snapshot)", async () => {
  const lines = await traceOneStep(new CpuBackend());
  const text = lines.join("\n") + "\n";
  if (Deno.env.get("LLADA_UPDATE_SNAPSHOTS") === "1") {
    await Deno.mkdir(new URL("./snapshots/", import.meta.url), { recursive: true });
    await Deno.writeTextFile(SNAPSHOT, text);
  }
  const expected = await Deno.readTextFile(SNAPSHOT);
  assert.equal(text, expected, "the op trace changed; see this file's documentation to update the snapshot");
  // What the snapshot must say, whatever it holds: the forward ops with shapes, each backward after them.
  assert.match(text, /^#\d+ +embedding +f32\[7,8\], i32\[2,4\] → f32\[2,4,8\] {2}cpu$/m);
  assert.match(text, /^#\d+ +crossEntropy +f32\[2,4,7\], i32\[2,4\], f32\[2,4\] → f32\[2,4\] {2}cpu$/m);
  assert.match(text, /^#\d+ +linear\.backward +f32\[2,4,7\] → f32\[2,4,8\], f32\[7,8\] {2}cpu$/m);
  assert.ok(text.indexOf("embedding.backward") > text.indexOf("crossEntropy.backward"));
});

Deno.test("trace: level 2 appends the output's statistics (NaNs counted apart), level 3 a time", async () => {
  const lines: string[] = [];
  setTrace(2, { write: (line) => lines.push(line) });
  try {
    const x = Tensor.from([1, 2, 3, NaN], [4], { backend: new CpuBackend() });
    add(x, x);
    await traceFlushed();
    setTrace(3, { write: (line) => lines.push(line) });
    add(x, x);
    await traceFlushed();
  } finally {
    setTrace(0);
  }
  assert.equal(lines.length, 3);
  assert.equal(lines[0], "#1    Tensor.from         → f32[4]  cpu  mean=2 std=0.8165 min=1 max=3 nan=1");
  assert.equal(
    lines[1],
    "#2    add                 f32[4], f32[4] → f32[4]  cpu  mean=4 std=1.633 min=2 max=6 nan=1",
  );
  assert.match(lines[2], /^#1 +add +f32\[4\], f32\[4\] → f32\[4\] {2}cpu {2}\d+\.\d{3} ms {2}mean=4 /);
});

Deno.test("trace: off (level 0) writes nothing; an unknown level is refused", () => {
  let calls = 0;
  setTrace(0, { write: () => calls++ });
  const ones = Tensor.ones([3], { backend: new CpuBackend() });
  add(ones, ones);
  assert.equal(calls, 0);
  assert.equal(traceLevel(), 0);
  assert.throws(() => setTrace(4 as 0), /setTrace: expected a level of 0 \(off\), 1, 2 or 3, got 4/);
});

await gpuTest("trace: on WebGPU the same ops name their WGSL kernels", async (gpu) => {
  const cpuLines = await traceOneStep(new CpuBackend());
  const gpuLines = await traceOneStep(gpu);
  // Without the backend and the kernels, a line is the op and its shapes: the same on both backends.
  const ops = (lines: string[], backend: string) => lines.map((l) => l.slice(0, l.indexOf(`  ${backend}`)));
  assert.deepEqual(ops(gpuLines, "webgpu"), ops(cpuLines, "cpu"));
  const linear = gpuLines.find((l) => /^#\d+ +linear /.test(l))!;
  assert.match(linear, / {2}webgpu {2}.*matmul\.wgsl:matmul_\w+\(\d+ wg\)/);
  const backward = gpuLines.find((l) => /^#\d+ +rmsNorm\.backward /.test(l))!;
  assert.match(backward, /rmsnorm\.wgsl:rmsnorm_backward\w*\(\d+ wg\)/);
});

Deno.test("trace: LLADA_TRACE=1 on the command line prints the ops of every sampling step", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli.ts", "sample", "--prompt", "The", "--gen-length", "8", "--steps", "8"],
    cwd: new URL("../", import.meta.url).pathname,
    env: { LLADA_TRACE: "1", NO_COLOR: "1", LLADA_BACKEND: "cpu" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  for (let step = 1; step <= 8; step++) {
    assert.match(stderr, new RegExp(`^── reverse step ${step} of block 1/1$`, "m"));
  }
  // The shipped model (d_model 96, 90 symbols) on "The" + 8 masks: 11 positions.
  const perStep = stderr.split("── reverse step").slice(1);
  for (const step of perStep) {
    assert.match(step, /^#\d+ +embedding +f32\[90,96\], i32\[1,11\] → f32\[1,11,96\] {2}cpu$/m);
    assert.match(
      step,
      /^#\d+ +attention +(f32\[1,11,3,32\], ){2}f32\[1,11,3,32\] → f32\[1,11,3,32\] {2}cpu$/m,
    );
    assert.match(step, /^#\d+ +linear +f32\[1,11,96\], f32\[90,96\] → f32\[1,11,90\] {2}cpu$/m);
  }
});

Deno.test("trace: an unreadable LLADA_TRACE says what it expected and leaves tracing off", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `import { traceLevel } from "./src/trace.ts"; console.log(traceLevel());`],
    cwd: new URL("../", import.meta.url).pathname,
    env: { LLADA_TRACE: "verbose", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "0");
  assert.match(
    new TextDecoder().decode(out.stderr),
    /LLADA_TRACE=verbose is not a trace level; expected 0 \(off\), 1, 2 or 3\. Tracing is off\./,
  );
});
