/** Every differentiable op's backward against central finite differences in float64. */

import assert from "node:assert/strict";
import * as ops from "../src/ops/mod.ts";
import { Tensor } from "../src/tensor.ts";
import { f64, gradcheck } from "./gradcheck.ts";

const positive = (n: number, seed = 3) =>
  Array.from({ length: n }, (_, i) => 0.5 + ((i * 7919 + seed) % 13) / 10);

Deno.test("unary ops", async () => {
  const u = (name: string, f: (x: Tensor) => Tensor, values?: number[]) =>
    gradcheck(name, f, [{ shape: [3, 4], values }]);
  await u("neg", ops.neg);
  await u("exp", ops.exp);
  await u("log", ops.log, positive(12));
  await u("sqrt", ops.sqrt, positive(12));
  await u("rsqrt", ops.rsqrt, positive(12));
  await u("sigmoid", ops.sigmoid);
  await u("silu", ops.silu);
  await u("tanh", ops.tanh);
  await u("square", ops.square);
  await u("relu", ops.relu, [-2, -1, -0.5, 0.3, 1, 2, 3, -3, 0.7, -0.2, 0.9, 1.1]);
  await u("abs", ops.abs, [-2, -1, -0.5, 0.3, 1, 2, 3, -3, 0.7, -0.2, 0.9, 1.1]);
  await u("scale", (x) => ops.scale(x, -2.5));
  await u("addScalar", (x) => ops.addScalar(x, 0.75));
  await u("powScalar", (x) => ops.powScalar(x, 1.7), positive(12));
});

Deno.test("binary ops with broadcasting", async () => {
  const shapes: [number[], number[]][] = [[[2, 3], [2, 3]], [[2, 3], [3]], [[4, 1, 3], [2, 1]], [[1], [
    2,
    2,
  ]]];
  for (const [a, b] of shapes) {
    await gradcheck(`add ${a}+${b}`, ops.add, [{ shape: a }, { shape: b }]);
    await gradcheck(`sub ${a}-${b}`, ops.sub, [{ shape: a }, { shape: b }]);
    await gradcheck(`mul ${a}*${b}`, ops.mul, [{ shape: a }, { shape: b }]);
    const nb = b.reduce((x, y) => x * y, 1);
    await gradcheck(`div ${a}/${b}`, ops.div, [{ shape: a }, { shape: b, values: positive(nb) }]);
    const na = a.reduce((x, y) => x * y, 1);
    await gradcheck(`pow ${a}^${b}`, ops.pow, [{ shape: a, values: positive(na, 5) }, { shape: b }]);
  }
  const distinct = [0.1, -0.7, 1.3, 2.2, -1.9, 0.4];
  const other = [0.3, -0.9, 1.0, 2.5, -1.0, 0.2];
  await gradcheck("maximum", ops.maximum, [{ shape: [2, 3], values: distinct }, {
    shape: [2, 3],
    values: other,
  }]);
  await gradcheck("minimum", ops.minimum, [{ shape: [2, 3], values: distinct }, {
    shape: [2, 3],
    values: other,
  }]);
  await gradcheck(
    "where",
    (c, a, b) => ops.where(c, a, b),
    [{ shape: [2, 3], dtype: "i32", values: [1, 0, 1, 0, 0, 1] }, { shape: [2, 3] }, { shape: [3] }],
  );
});

Deno.test("reductions", async () => {
  await gradcheck("sum all", (x) => ops.sum(x), [{ shape: [2, 3, 4] }]);
  await gradcheck("sum axis 1", (x) => ops.sum(x, 1), [{ shape: [2, 3, 4] }]);
  await gradcheck("sum axes 0,2 keepDims", (x) => ops.sum(x, [0, 2], true), [{ shape: [2, 3, 4] }]);
  await gradcheck("mean axis -1", (x) => ops.mean(x, -1), [{ shape: [2, 3, 4] }]);
  await gradcheck("max axis 1", (x) => ops.max(x, 1), [{ shape: [2, 5, 3] }]);
});

Deno.test("shape ops", async () => {
  await gradcheck("reshape", (x) => ops.mul(ops.reshape(x, [3, -1]), ops.reshape(x, [3, 4])), [{
    shape: [2, 6],
  }]);
  await gradcheck("permute", (x) => ops.permute(x, [2, 0, 1]), [{ shape: [2, 3, 4] }]);
  await gradcheck("transpose", (x) => ops.transpose(x, 0, -1), [{ shape: [2, 3, 4] }]);
  await gradcheck("expand", (x) => ops.expand(x, [3, 2, 4]), [{ shape: [2, 1] }]);
  await gradcheck("slice", (x) => ops.slice(x, 1, 1, 3), [{ shape: [2, 4, 3] }]);
  await gradcheck("concat", (a, b) => ops.concat([a, b, a], 1), [{ shape: [2, 1, 3] }, { shape: [2, 2, 3] }]);
  await gradcheck("copy", (x) => ops.copy(x), [{ shape: [5] }]);
});

Deno.test("matmul and linear", async () => {
  await gradcheck("matmul 2d", ops.matmul, [{ shape: [3, 4] }, { shape: [4, 5] }]);
  await gradcheck("matmul batched", ops.matmul, [{ shape: [2, 3, 4] }, { shape: [2, 4, 2] }]);
  await gradcheck("matmul shared rhs", ops.matmul, [{ shape: [2, 3, 4] }, { shape: [4, 2] }]);
  await gradcheck("linear", ops.linear, [{ shape: [2, 3, 4] }, { shape: [5, 4] }]);
});

Deno.test("softmax and log-softmax", async () => {
  await gradcheck("softmax", ops.softmax, [{ shape: [3, 5] }]);
  await gradcheck("logSoftmax", ops.logSoftmax, [{ shape: [2, 2, 4] }]);
});

Deno.test("rmsNorm, rope, embedding, crossEntropy", async () => {
  await gradcheck("rmsNorm", (x, w) => ops.rmsNorm(x, w, 1e-5), [{ shape: [3, 6] }, { shape: [6] }]);
  await gradcheck(
    "rope",
    (x, pos) => ops.rope(x, pos, 10000),
    [{ shape: [2, 3, 2, 4] }, { shape: [2, 3], dtype: "i32", values: [0, 1, 2, 5, 6, 7] }],
  );
  await gradcheck(
    "embedding",
    (table, ids) => ops.embedding(table, ids),
    [{ shape: [5, 3] }, { shape: [2, 3], dtype: "i32", values: [4, 0, 4, 2, 2, 4] }],
  );
  await gradcheck(
    "crossEntropy",
    (logits, targets, weights) => ops.crossEntropy(logits, targets, weights),
    [{ shape: [2, 3, 5] }, { shape: [2, 3], dtype: "i32", values: [0, 4, 2, 1, 1, 3] }, {
      shape: [2, 3],
      values: [1, 0, 0.5, 2, 1, 0.25],
      constant: true,
    }],
  );
});

Deno.test("swiglu: the fused gate equals mul(silu(gate), up), values and gradients", async () => {
  await gradcheck("swiglu", (g, u) => ops.swiglu(g, u), [{ shape: [3, 5] }, { shape: [3, 5] }]);
  // Both paths on the same leaves' values, with a gradient seed that differs per element (the product with up).
  const run = async (f: (g: Tensor, u: Tensor) => Tensor) => {
    const g = Tensor.from([-6, -1.5, -0.2, 0, 0.3, 1, 2.5, 8], [8], { backend: f64, requiresGrad: true });
    const u = Tensor.from([0.5, -2, 3, 1, -1, 0.25, 4, -0.75], [8], { backend: f64, requiresGrad: true });
    const y = f(g, u);
    ops.sum(ops.mul(y, u)).backward();
    return [...await y.data(), ...await g.grad!.data(), ...await u.grad!.data()];
  };
  const fused = await run(ops.swiglu);
  const composed = await run((g, u) => ops.mul(ops.silu(g), u));
  fused.forEach((v, i) => assert.ok(Math.abs(v - composed[i]) < 1e-12, `entry ${i}: ${v} ≠ ${composed[i]}`));
});

Deno.test("attention: fused and composed, bidirectional, causal and padded", async () => {
  const qkv = [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }];
  const mask = () => Tensor.from([1, 1, 0, 0, 1, 1], [2, 3], { backend: f64, dtype: "i32" });
  for (const [name, fn] of [["fused", ops.attention], ["composed", ops.composedAttention]] as const) {
    await gradcheck(`${name} attention`, (q, k, v) => fn(q, k, v), qkv);
    await gradcheck(`${name} causal attention`, (q, k, v) => fn(q, k, v, { causal: true }), qkv);
    await gradcheck(`${name} padded attention`, (q, k, v) => fn(q, k, v, { keyMask: mask() }), qkv);
  }
  // The [B, T, H, D] layout the model uses: B 2, T 3, H 2, D 4, so the key mask is [B, T] = [2, 3] as above.
  const bthd = [{ shape: [2, 3, 2, 4] }, { shape: [2, 3, 2, 4] }, { shape: [2, 3, 2, 4] }];
  const layout = "bthd" as const;
  for (const [name, fn] of [["fused", ops.attention], ["composed", ops.composedAttention]] as const) {
    await gradcheck(
      `${name} [B, T, H, D] padded`,
      (q, k, v) => fn(q, k, v, { layout, keyMask: mask() }),
      bthd,
    );
    await gradcheck(`${name} [B, T, H, D] causal`, (q, k, v) => fn(q, k, v, { layout, causal: true }), bthd);
  }
});
