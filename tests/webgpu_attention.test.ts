// Attention on WebGPU: the fused kernels (forward, and backward from the saved log-sum-exp) against the CPU
// backend, and against the composed path built from the backend's own primitives — matmul → scale and mask →
// softmax → matmul, and its backward through matmul and softmaxBackward — which is the slow, clear definition.

import assert from "node:assert/strict";
import type { AttentionParams, Backend, Storage, TypedArray } from "../src/backend/backend.ts";
import { contiguousView } from "../src/backend/backend.ts";
import { compareArrays, expectParity, gpuTest, RandomInputs } from "./parity_helper.ts";

const rnd = new RandomInputs(11);

// Both sides sum D products per score and Tk terms per output in f32 (GPU) or f64 (CPU); the fused kernel also
// uses the online softmax's rescaling. Values are O(1) here.
const ATTENTION = { atol: 2e-5, rtol: 1e-4 };

/** Inputs for attention with parameters p: q, k, v, dout and a key mask with some padding. */
function inputs(p: AttentionParams, maskedBatch = -1) {
  const { batch, heads, tq, tk, headDim } = p;
  const mask = rnd.ints(batch * tk, 4).map((v) => (v === 0 ? 0 : 1)); // about a quarter of the keys are padding
  if (maskedBatch >= 0) mask.fill(0, maskedBatch * tk, (maskedBatch + 1) * tk); // a row with nothing to attend to
  return {
    q: rnd.uniform(batch * heads * tq * headDim),
    k: rnd.uniform(batch * heads * tk * headDim),
    v: rnd.uniform(batch * heads * tk * headDim),
    dout: rnd.uniform(batch * heads * tq * headDim),
    mask,
  };
}

/** Fused forward and backward on backend b. */
function fused(b: Backend, s: Record<string, Storage>, p: AttentionParams, masked: boolean) {
  const mask = masked ? s.mask : null;
  const { out, lse } = b.attention(s.q, s.k, s.v, mask, p);
  const { dq, dk, dv } = b.attentionBackward(s.q, s.k, s.v, mask, out, lse, s.dout, p);
  return { out, lse, dq, dk, dv };
}

// Head dimensions 8 and 6 (padded to 8) and both layouts share one set of pipelines: each compiles for seconds on
// llvmpipe. The layout only changes where rows are read and written, so the [B, T, H, D] cases repeat the shapes
// whose indexing differs most: several heads with a mask, causal, tq ≠ tk and the padded head dimension.
const CASES: [string, AttentionParams, boolean][] = [
  [
    "key mask",
    {
      batch: 2,
      heads: 3,
      tq: 13,
      tk: 13,
      headDim: 8,
      scale: 1 / Math.sqrt(8),
      causal: false,
      layout: "bhtd",
    },
    true,
  ],
  [
    "causal",
    { batch: 2, heads: 2, tq: 9, tk: 9, headDim: 8, scale: 0.25, causal: true, layout: "bhtd" },
    false,
  ],
  [
    "causal + mask",
    { batch: 1, heads: 2, tq: 10, tk: 10, headDim: 8, scale: 0.5, causal: true, layout: "bhtd" },
    true,
  ],
  [
    "tq ≠ tk",
    { batch: 1, heads: 2, tq: 5, tk: 11, headDim: 8, scale: 0.3, causal: false, layout: "bhtd" },
    false,
  ],
  [
    "head dim 6 (padded)",
    { batch: 2, heads: 1, tq: 7, tk: 6, headDim: 6, scale: 0.4, causal: false, layout: "bhtd" },
    true,
  ],
  [
    "[B, T, H, D], key mask",
    {
      batch: 2,
      heads: 3,
      tq: 13,
      tk: 13,
      headDim: 8,
      scale: 1 / Math.sqrt(8),
      causal: false,
      layout: "bthd",
    },
    true,
  ],
  [
    "[B, T, H, D], causal + mask",
    { batch: 2, heads: 2, tq: 10, tk: 10, headDim: 8, scale: 0.5, causal: true, layout: "bthd" },
    true,
  ],
  [
    "[B, T, H, D], tq ≠ tk",
    { batch: 2, heads: 3, tq: 5, tk: 11, headDim: 8, scale: 0.3, causal: false, layout: "bthd" },
    false,
  ],
  [
    "[B, T, H, D], head dim 6 (padded)",
    { batch: 2, heads: 2, tq: 7, tk: 6, headDim: 6, scale: 0.4, causal: false, layout: "bthd" },
    true,
  ],
];

await gpuTest("webgpu: fused attention forward and backward match the CPU backend", async (gpu) => {
  for (const [label, p, masked] of CASES) {
    await expectParity(gpu, label, inputs(p), (b, s) => fused(b, s, p, masked), ATTENTION);
  }
  // Batch item 1 has every key masked: its rows output zeros, lse = −1e30, and no gradient.
  const p = CASES[0][1];
  await expectParity(gpu, "fully masked row", inputs(p, 1), (b, s) => fused(b, s, p, true), ATTENTION);
});

/**
 * The composed path: S = scale · q kᵀ, masked to −1e30 where not allowed, P = softmax(S), out = P v; and its
 * backward dP = dout vᵀ, dv = Pᵀ dout, dS = softmaxBackward(P, dP), dq = scale · dS k, dk = scale · dSᵀ q.
 */
function composed(b: Backend, s: Record<string, Storage>, p: AttentionParams) {
  const { batch, heads, tq, tk, headDim: d } = p;
  const bh = batch * heads;
  const qk = b.matmul(s.q, s.k, { batch: bh, m: tq, n: tk, k: d, transA: false, transB: true });
  const scores = b.unary("scale", qk, p.scale);
  // allowed[b, i, j] = mask[b, j] ≠ 0 (and j ≤ i if causal), broadcast over heads: a [B, H, Tq, Tk] view of
  // the [B, Tk] mask, and for causal a [Tq, Tk] lower-triangular matrix multiplied in.
  const shape = [batch, heads, tq, tk];
  const maskView = { offset: 0, strides: [tk, 0, 0, 1] };
  let allowed = b.binary(
    "gt",
    s.mask,
    maskView,
    b.full(1, "i32", 0),
    { offset: 0, strides: [0, 0, 0, 0] },
    shape,
  );
  if (p.causal) {
    const tri = new Float32Array(tq * tk).map((_, e) => (e % tk <= Math.floor(e / tk) ? 1 : 0));
    allowed = b.binary("mul", allowed, contiguousView(shape), b.upload(tri), {
      offset: 0,
      strides: [0, 0, tk, 1],
    }, shape);
  }
  const full = contiguousView(shape);
  const masked = b.where(allowed, full, scores, full, b.full(1, "f32", -1e30), {
    offset: 0,
    strides: [0, 0, 0, 0],
  }, shape);
  const probs = b.softmax(masked, bh * tq, tk, false);
  const out = b.matmul(probs, s.v, { batch: bh, m: tq, n: d, k: tk, transA: false, transB: false });
  const dp = b.matmul(s.dout, s.v, { batch: bh, m: tq, n: tk, k: d, transA: false, transB: true });
  const dv = b.matmul(probs, s.dout, { batch: bh, m: tk, n: d, k: tq, transA: true, transB: false });
  const ds = b.unary("scale", b.softmaxBackward(probs, dp, bh * tq, tk, false), p.scale);
  const dq = b.matmul(ds, s.k, { batch: bh, m: tq, n: d, k: tk, transA: false, transB: false });
  const dk = b.matmul(ds, s.q, { batch: bh, m: tk, n: d, k: tq, transA: true, transB: false });
  return { out, dq, dk, dv };
}

await gpuTest("webgpu: fused attention matches the composed matmul → softmax → matmul path", async (gpu) => {
  // Both run on WebGPU; the fused kernel's outputs must equal the composed ones (no row is fully masked here:
  // the composed path would give a uniform softmax over −1e30 scores where the fused one gives zeros). The
  // composed path below reads [B, H, T, D]; the other layout is held to the CPU backend by the test above.
  for (const [label, p] of CASES.filter(([, p]) => p.headDim % 4 === 0 && p.layout === "bhtd")) {
    const x = inputs(p);
    x.mask.fill(1, 0, p.tk); // keep at least the first batch row's keys so no row of batch 0 is empty
    for (let b = 0; b < p.batch; b++) x.mask[b * p.tk] = 1; // and key 0 of every row, which causal rows all see
    const gpuFused = await runOn(gpu, x, (b, s) => fused(b, s, p, true));
    const gpuComposed = await runOn(gpu, x, (b, s) => composed(b, s, p));
    for (const name of ["out", "dq", "dk", "dv"] as const) {
      compareArrays(`${label}: ${name}`, gpuFused[name], gpuComposed[name], ATTENTION);
    }
  }
});

/** Runs a computation on one backend and reads every output. */
async function runOn(
  b: Backend,
  data: Record<string, TypedArray>,
  f: (b: Backend, s: Record<string, Storage>) => Record<string, Storage>,
): Promise<Record<string, TypedArray>> {
  const s: Record<string, Storage> = {};
  for (const [name, d] of Object.entries(data)) s[name] = b.upload(d);
  const outs = f(b, s);
  const read: Record<string, TypedArray> = {};
  for (const [name, o] of Object.entries(outs)) read[name] = await b.read(o);
  return read;
}

// Attention of 2²¹ multiply-adds of scores and more reads its streamed rows (k and v, or q and dout) from
// textures. Both layouts, causal and not, with and without a key mask, a head dimension that needs padding, texture
// rows of a multiple of 16 texels (copied by command) and not (copied by the to_texture kernel), tq ≠ tk; and one
// shape just below the threshold, which keeps the buffers.
const TEXTURE_CASES: [string, AttentionParams, boolean, boolean][] = [
  [
    "textures, [B, T, H, D], bidirectional (rows of 16 texels)",
    {
      batch: 2,
      heads: 2,
      tq: 128,
      tk: 128,
      headDim: 32,
      scale: 1 / Math.sqrt(32),
      causal: false,
      layout: "bthd",
    },
    false,
    true,
  ],
  [
    "textures, [B, T, H, D], causal + mask (rows of 24 texels)",
    { batch: 2, heads: 3, tq: 112, tk: 112, headDim: 32, scale: 0.2, causal: true, layout: "bthd" },
    true,
    true,
  ],
  [
    "textures, [B, T, H, D], tq ≠ tk, head dim 30 (padded)",
    { batch: 2, heads: 2, tq: 96, tk: 200, headDim: 30, scale: 0.2, causal: false, layout: "bthd" },
    true,
    true,
  ],
  [
    "textures, [B, H, T, D], key mask (rows of 129 · 8 texels)",
    { batch: 2, heads: 2, tq: 129, tk: 129, headDim: 32, scale: 0.2, causal: false, layout: "bhtd" },
    true,
    true,
  ],
  [
    "textures, [B, H, T, D], causal, head dim 30 (padded)",
    { batch: 2, heads: 3, tq: 112, tk: 112, headDim: 30, scale: 0.2, causal: true, layout: "bhtd" },
    false,
    true,
  ],
  [
    "buffers just below the threshold",
    { batch: 2, heads: 2, tq: 128, tk: 127, headDim: 32, scale: 0.2, causal: false, layout: "bthd" },
    true,
    false,
  ],
];

await gpuTest("webgpu: fused attention from textures matches the CPU backend", async (gpu) => {
  for (const [label, p, masked, textures] of TEXTURE_CASES) {
    const work = { forward: 0, backward: 0 };
    const count = () => gpu.stats.dispatches + gpu.stats.textureCopies;
    await expectParity(gpu, label, inputs(p), (b, s) => {
      if (b !== gpu) return fused(b, s, p, masked);
      // Padding adds the same dispatches either way: count only where both paths need none.
      const before = count();
      const mask = masked ? s.mask : null;
      const { out, lse } = b.attention(s.q, s.k, s.v, mask, p);
      work.forward = count() - before;
      const { dq, dk, dv } = b.attentionBackward(s.q, s.k, s.v, mask, out, lse, s.dout, p);
      work.backward = count() - before - work.forward;
      return { out, lse, dq, dk, dv };
    }, ATTENTION);
    if (p.headDim % 4 === 0) {
      // Forward: two copies and the kernel, or the kernel. Backward: delta, dq and dk/dv, and two copies for each
      // of the last two from textures.
      assert.deepEqual(work, textures ? { forward: 3, backward: 7 } : { forward: 1, backward: 3 }, label);
    }
  }
});
