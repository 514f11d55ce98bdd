// WebGPU vs CPU parity for the network primitives, forward and backward: softmax and log-softmax, RMSNorm,
// SwiGLU, RoPE, embedding gather and scatter-add, cross-entropy, AdamW. Row kernels are tested both with many short
// rows (one invocation per row) and with few long rows (a workgroup shares a row and reduces through workgroup
// memory).

import { expectParity, gpuTest, RandomInputs } from "./parity_helper.ts";

const rnd = new RandomInputs(7);

// Row reductions (max, Σ exp, Σ x²) run in f32 in a tree order; the CPU sums in f64. Relative errors stay around
// 1e-6 for rows of a few hundred; 1e-5 leaves room for llvmpipe's exp and log.
const ROWS = { atol: 1e-6, rtol: 1e-5 };
// Summing many rows (RMSNorm's dw, scatter-add) accumulates more rounding.
const COLUMN_SUMS = { atol: 1e-5, rtol: 1e-5 };
// RoPE: sin and cos of angles up to ~1000 rad in f32 on the GPU against f64 on the CPU.
const ROPE = { atol: 1e-5, rtol: 1e-5 };
// Scatter-add sums in the same order on both backends, in f32 on both: exact.
const EXACT = { atol: 0, rtol: 0 };
// AdamW: a handful of f32 operations per element against f64.
const ADAMW = { atol: 1e-7, rtol: 1e-5 };

/**
 * [rows, n] shapes: many short rows (an invocation per row), and a few (a workgroup per row); row lengths that
 * are multiples of 4 and others (kernels that read rows as vec4s pad those with zeros).
 */
const ROW_SHAPES: [number, number][] = [[300, 37], [260, 64], [3, 1000], [1, 5]];

await gpuTest("webgpu: softmax and log-softmax, forward and backward", async (gpu) => {
  for (const [rows, n] of ROW_SHAPES) {
    for (const log of [false, true]) {
      const inputs = { x: rnd.uniform(rows * n, -8, 8), dy: rnd.uniform(rows * n) };
      await expectParity(gpu, `softmax ${rows}x${n} log=${log}`, inputs, (b, s) => {
        const y = b.softmax(s.x, rows, n, log);
        return { y, dx: b.softmaxBackward(y, s.dy, rows, n, log) };
      }, ROWS);
    }
  }
});

await gpuTest("webgpu: RMSNorm forward (y, rstd) and backward (dx, dw)", async (gpu) => {
  for (const [rows, n] of ROW_SHAPES) {
    const inputs = {
      x: rnd.uniform(rows * n, -3, 3),
      w: rnd.uniform(n, 0.5, 1.5),
      dy: rnd.uniform(rows * n),
    };
    await expectParity(gpu, `rmsnorm ${rows}x${n}`, inputs, (b, s) => {
      const { y, rstd } = b.rmsnorm(s.x, s.w, rows, n, 1e-5);
      const { dx, dw } = b.rmsnormBackward(s.x, s.w, rstd, s.dy, rows, n);
      return { y, rstd, dx, dw };
    }, COLUMN_SUMS);
  }
});

await gpuTest("webgpu: SwiGLU's gate silu(gate) · up, forward and backward", async (gpu) => {
  for (const n of [1001, 4096]) { // a length that ends inside a vec4, and one that does not
    const inputs = { gate: rnd.uniform(n, -8, 8), up: rnd.uniform(n, -2, 2), dy: rnd.uniform(n) };
    await expectParity(gpu, `swiglu ${n}`, inputs, (b, s) => ({
      out: b.swiglu(s.gate, s.up, n),
      ...b.swigluBackward(s.gate, s.up, s.dy, n),
    }), ROWS);
  }
});

await gpuTest("webgpu: RoPE forward and inverse (the backward pass)", async (gpu) => {
  const p = { batch: 2, seq: 5, heads: 3, headDim: 10, theta: 10000, inverse: false };
  const inputs = { x: rnd.uniform(2 * 5 * 3 * 10), pos: rnd.ints(10, 1000) };
  await expectParity(gpu, "rope", inputs, (b, s) => {
    const y = b.rope(s.x, s.pos, p);
    return { y, back: b.rope(y, s.pos, { ...p, inverse: true }) };
  }, ROPE);
  const big = { batch: 1, seq: 3, heads: 2, headDim: 32, theta: 500000, inverse: true };
  await expectParity(gpu, "rope θ=500000", { x: rnd.uniform(192), pos: rnd.ints(3, 128) }, (b, s) => ({
    y: b.rope(s.x, s.pos, big),
  }), ROPE);
});

await gpuTest("webgpu: embedding gather and its deterministic scatter-add with repeated ids", async (gpu) => {
  const [vocab, dim, count] = [13, 70, 50];
  const ids = rnd.ints(count, vocab); // 50 ids over 13 rows: many repeats
  const inputs = { table: rnd.uniform(vocab * dim), ids, dy: rnd.uniform(count * dim) };
  await expectParity(gpu, "gather", inputs, (b, s) => ({ out: b.gather(s.table, s.ids, count, dim) }), EXACT);
  await expectParity(gpu, "scatterAdd", inputs, (b, s) => ({
    out: b.scatterAdd(s.ids, s.dy, count, dim, vocab),
  }), EXACT);
});

await gpuTest("webgpu: weighted cross-entropy and its gradient (weight-0 rows give 0)", async (gpu) => {
  for (const [rows, vocab] of [[300, 67], [2, 3000]]) {
    const targets = rnd.ints(rows, vocab);
    const weights = rnd.uniform(rows, 0, 2);
    for (let r = 0; r < rows; r += 3) {
      weights[r] = 0;
      targets[r] = -1; // a weight-0 row may carry any target, even an invalid one
    }
    const inputs = { x: rnd.uniform(rows * vocab, -5, 5), targets, weights, dloss: rnd.uniform(rows) };
    await expectParity(gpu, `cross-entropy ${rows}x${vocab}`, inputs, (b, s) => ({
      loss: b.crossEntropy(s.x, s.targets, s.weights, rows, vocab),
      dx: b.crossEntropyBackward(s.x, s.targets, s.weights, s.dloss, rows, vocab),
    }), ROWS);
  }
});

await gpuTest("webgpu: AdamW update in place on param, m and v", async (gpu) => {
  const n = 1000;
  const inputs = {
    param: rnd.uniform(n),
    grad: rnd.uniform(n, -0.1, 0.1),
    m: rnd.uniform(n, -0.01, 0.01),
    v: rnd.uniform(n, 0, 1e-4),
  };
  const p = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3 };
  await expectParity(gpu, "adamw", inputs, (b, s) => {
    b.adamw(s.param, s.grad, s.m, s.v, p);
    return { param: s.param, m: s.m, v: s.v };
  }, ADAMW);
});
