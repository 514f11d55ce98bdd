// WebGPU vs CPU parity: memory, layout (copyInto, cast), elementwise ops and their gradients, where, reductions.
// Sizes are deliberately not multiples of the workgroup size (64).

import assert from "node:assert/strict";
import { BINARY_OPS, type BinaryOp, type UnaryOp } from "../src/backend/backend.ts";
import { contiguousView } from "../src/backend/backend.ts";
import { expectParity, gpuTest, RandomInputs } from "./parity_helper.ts";

const rnd = new RandomInputs(3);

// Tolerances. Exact: moves and selections of bits. Elementwise transcendental functions: llvmpipe's exp, log and
// pow are accurate to a few ulp, so a relative 1e-5 with a small absolute floor. Reductions sum in a different
// order (and in f32 rather than f64), so their error grows with the row length.
const EXACT = { atol: 0, rtol: 0 };
const ELEMENTWISE = { atol: 1e-6, rtol: 1e-5 };
const REDUCTION = { atol: 1e-5, rtol: 1e-5 };

await gpuTest("webgpu: upload, full and read round-trip f32 and i32 exactly", async (gpu) => {
  const f = rnd.uniform(1001);
  const i = rnd.ints(77, 1000).map((v) => v - 500);
  assert.deepEqual(await gpu.read(gpu.upload(f)), f);
  assert.deepEqual(await gpu.read(gpu.upload(i)), i);
  assert.deepEqual(await gpu.read(gpu.full(70, "f32", -2.5)), new Float32Array(70).fill(-2.5));
  assert.deepEqual(await gpu.read(gpu.full(70, "i32", -7)), new Int32Array(70).fill(-7));
  assert.deepEqual(await gpu.read(gpu.upload(new Float32Array(0))), new Float32Array(0));
});

await gpuTest("webgpu: copyInto with transposed, broadcast, sliced and aliased views", async (gpu) => {
  const x = rnd.uniform(5 * 7 * 3);
  // Transpose [5, 7, 3] → [3, 7, 5] into a zeroed destination.
  await expectParity(gpu, "transpose", { x, y: new Float32Array(105) }, (b, s) => {
    b.copyInto(s.x, { offset: 0, strides: [1, 3, 21] }, s.y, contiguousView([3, 7, 5]), [3, 7, 5]);
    return { y: s.y };
  }, EXACT);
  // Broadcast a row of 7 over 5 rows, written at an offset with a row stride of 9 (a slice of a wider array).
  await expectParity(gpu, "broadcast into slice", { x, y: rnd.uniform(60) }, (b, s) => {
    b.copyInto(s.x, { offset: 4, strides: [0, 1] }, s.y, { offset: 2, strides: [9, 1] }, [5, 7]);
    return { y: s.y };
  }, EXACT);
  // Splitting heads: [2, 3, 2, 8] → [2, 2, 3, 8], rows of 8 contiguous on both sides (copied as vec4s).
  const heads = rnd.uniform(96);
  await expectParity(gpu, "split heads", { heads, y: new Float32Array(100) }, (b, s) => {
    b.copyInto(s.heads, { offset: 0, strides: [48, 16, 8, 1] }, s.y, { offset: 4, strides: [48, 8, 16, 1] }, [
      2,
      2,
      3,
      8,
    ]);
    return { y: s.y };
  }, EXACT);
  // Contiguous on both sides (a plain buffer copy), between offsets.
  await expectParity(gpu, "contiguous", { x, y: rnd.uniform(60) }, (b, s) => {
    b.copyInto(s.x, contiguousView([6, 7], 3), s.y, contiguousView([6, 7], 5), [6, 7]);
    return { y: s.y };
  }, EXACT);
  // Source and destination are the same storage (a kernel cannot bind one buffer twice, so the backend copies
  // the source first): move the first 40 elements to positions 50..89.
  await expectParity(gpu, "aliased", { x }, (b, s) => {
    b.copyInto(s.x, { offset: 0, strides: [1] }, s.x, { offset: 50, strides: [1] }, [40]);
    return { x: s.x };
  }, EXACT);
  // i32, 9 dimensions: swapping the last two axes leaves 3 after merging the contiguous leading ones.
  const shape = [2, 2, 2, 2, 2, 2, 2, 2, 2];
  const swapped = { offset: 0, strides: [256, 128, 64, 32, 16, 8, 4, 1, 2] };
  await expectParity(gpu, "i32 9-d", { ids: rnd.ints(512, 100), y: new Int32Array(512) }, (b, s) => {
    b.copyInto(s.ids, swapped, s.y, contiguousView(shape), shape);
    return { y: s.y };
  }, EXACT);
  // Nine axes that cannot merge (a full reversal) are refused with a message.
  const y = gpu.upload(new Float32Array(512));
  const reversed = { offset: 0, strides: [1, 2, 4, 8, 16, 32, 64, 128, 256] };
  assert.throws(() => gpu.copyInto(y, reversed, y, contiguousView(shape), shape), /exceeds the 8/);
  gpu.release(y);
});

await gpuTest(
  "webgpu: copy makes a view real in fresh storage, whatever that storage held before",
  async (gpu) => {
    const x = rnd.uniform(5 * 7 * 3);
    // A transposed slice of [5, 7, 3]: rows 1..4 of the first axis, last two axes swapped → [4, 3, 7].
    const view = { offset: 21, strides: [21, 1, 3] };
    for (let round = 0; round < 2; round++) {
      // Storage of the output's size released with other contents is what the pool hands out next.
      gpu.release(gpu.upload(new Float32Array(84).fill(-7)));
      await expectParity(
        gpu,
        "transposed slice",
        { x },
        (b, s) => ({ y: b.copy(s.x, view, [4, 3, 7]) }),
        EXACT,
      );
    }
    // i32, broadcast: one row of 5 ids repeated 3 times.
    await expectParity(gpu, "i32 broadcast", { ids: rnd.ints(5, 100) }, (b, s) => ({
      y: b.copy(s.ids, { offset: 0, strides: [0, 1] }, [3, 5]),
    }), EXACT);
  },
);

await gpuTest("webgpu: cast f32 → i32 truncates toward zero, i32 → f32", async (gpu) => {
  const x = rnd.uniform(300, -50, 50);
  await expectParity(gpu, "cast", { x, i: rnd.ints(99, 1e6) }, (b, s) => ({
    toI32: b.cast(s.x, "i32"),
    toF32: b.cast(s.i, "f32"),
    same: b.cast(s.x, "f32"),
  }), EXACT);
});

/** Input ranges where each unary op is defined (log, sqrt, rsqrt, powScalar need x > 0). */
const UNARY: [UnaryOp, number, number, number][] = [
  ["neg", -3, 3, 0],
  ["exp", -10, 10, 0],
  ["log", 0.01, 10, 0],
  ["sqrt", 0.01, 10, 0],
  ["rsqrt", 0.01, 10, 0],
  ["sigmoid", -20, 20, 0],
  ["silu", -20, 20, 0],
  ["relu", -3, 3, 0],
  ["tanh", -30, 30, 0],
  ["abs", -3, 3, 0],
  ["square", -3, 3, 0],
  ["scale", -3, 3, -1.7],
  ["addScalar", -3, 3, 0.25],
  ["powScalar", 0.1, 4, 1.5],
];

await gpuTest("webgpu: unary ops and their gradients (all 14)", async (gpu) => {
  for (const [op, lo, hi, alpha] of UNARY) {
    const inputs = { x: rnd.uniform(1000, lo, hi), dy: rnd.uniform(1000) };
    await expectParity(gpu, op, inputs, (b, s) => ({
      y: b.unary(op, s.x, alpha),
      dx: b.unaryGrad(op, s.x, s.dy, alpha),
    }), ELEMENTWISE);
  }
  // powScalar with a negative base and an integer exponent keeps the sign of odd powers.
  await expectParity(gpu, "powScalar negative base", { x: rnd.uniform(100, -3, 3) }, (b, s) => ({
    cube: b.unary("powScalar", s.x, 3),
    square: b.unary("powScalar", s.x, 2),
  }), ELEMENTWISE);
});

const BINARY: readonly BinaryOp[] = BINARY_OPS;

await gpuTest("webgpu: binary ops with broadcasting views (all 10)", async (gpu) => {
  // a: [3, 1, 5] broadcast along axis 1; b: [1, 4, 5] broadcast along axis 0; result [3, 4, 5].
  const shape = [3, 4, 5];
  const aView = { offset: 0, strides: [5, 0, 1] };
  const bView = { offset: 0, strides: [0, 5, 1] };
  for (const op of BINARY) {
    const positive = op === "pow";
    const a = rnd.uniform(15, positive ? 0.1 : -2, 2).map((v) => (op === "eq" ? Math.round(v) : v));
    const b = rnd.uniform(20, positive ? -2 : -2, 2).map((v) => (op === "eq" ? Math.round(v) : v));
    await expectParity(gpu, op, { a, b }, (bk, s) => ({
      out: bk.binary(op, s.a, aView, s.b, bView, shape),
    }), ELEMENTWISE);
  }
  // Contiguous operands take the vec4 path when they start on a multiple of 4, the strided one otherwise.
  for (const offset of [4, 2]) {
    const inputs = { a: rnd.uniform(103), b: rnd.uniform(103) };
    await expectParity(gpu, `contiguous at offset ${offset}`, inputs, (bk, s) => ({
      sum: bk.binary("add", s.a, contiguousView([97], offset), s.b, contiguousView([97], offset), [97]),
      quotient: bk.binary("div", s.a, contiguousView([97], 0), s.b, contiguousView([97], offset), [97]),
    }), ELEMENTWISE);
  }
  // i32 operands (comparing token ids) give f32 results.
  const ids = rnd.ints(64, 4);
  await expectParity(gpu, "eq on i32", { ids, ref: new Int32Array([2]) }, (b, s) => ({
    out: b.binary("eq", s.ids, contiguousView([64]), s.ref, { offset: 0, strides: [0] }, [64]),
  }), EXACT);
});

await gpuTest("webgpu: where with i32 and f32 conditions and broadcast views", async (gpu) => {
  const shape = [6, 11];
  const cond = rnd.ints(11, 2); // one row of conditions, broadcast over rows
  const condF = rnd.uniform(66).map((v) => (v > 0 ? 1 : v < -0.5 ? -0 : 0));
  const a = rnd.uniform(66);
  const b = rnd.uniform(6);
  const inputs = { cond, condF, a, b, ai: rnd.ints(66, 9), bi: rnd.ints(66, 9) };
  await expectParity(gpu, "where", inputs, (bk, s) => ({
    i32cond: bk.where(
      s.cond,
      { offset: 0, strides: [0, 1] },
      s.a,
      contiguousView(shape),
      s.b,
      { offset: 0, strides: [1, 0] },
      shape,
    ),
    f32cond: bk.where(s.condF, contiguousView(shape), s.a, contiguousView(shape), s.b, {
      offset: 0,
      strides: [1, 0],
    }, shape),
    i32values: bk.where(
      s.condF,
      contiguousView(shape),
      s.ai,
      contiguousView(shape),
      s.bi,
      contiguousView(shape),
      shape,
    ),
  }), EXACT);
});

// Row kernels (reduce with inner = 1, argmax) run one invocation per row from 256 rows on, a workgroup per row
// below: both are tested. Middle axes with inner a multiple of 4 are reduced 4 columns at a time (vec4s).
await gpuTest("webgpu: reduce sum and max over rows (inner = 1) and middle axes", async (gpu) => {
  for (
    const [outer, n, inner] of [[300, 33, 1], [3, 1000, 1], [3, 50, 7], [5, 1, 9], [3, 16, 12], [1, 20, 256]]
  ) {
    const x = rnd.uniform(outer * n * inner, -2, 2);
    await expectParity(gpu, `reduce ${outer}x${n}x${inner}`, { x }, (b, s) => ({
      sum: b.reduce("sum", s.x, outer, n, inner),
      max: b.reduce("max", s.x, outer, n, inner),
    }), REDUCTION);
  }
});

await gpuTest("webgpu: argmax picks the first index among ties", async (gpu) => {
  // Values rounded to a coarse grid so that rows have ties.
  for (const [rows, n] of [[300, 7], [3, 300]]) {
    const x = rnd.uniform(rows * n, 0, 4).map(Math.round);
    await expectParity(gpu, `argmax ${rows}x${n}`, { x }, (b, s) => ({ i: b.argmax(s.x, rows, n) }), EXACT);
  }
});
