/**
 * AdamW against values computed by hand from the update rule in `src/optim/adamw.ts`, in float64 here and float32
 * in the optimiser (so the tolerance is float32 rounding). The PyTorch cross-check (`pytorch_parity.test.ts`)
 * runs the same kind of sequence against `torch.optim.AdamW`.
 */

import assert from "node:assert/strict";
import { AdamW } from "../src/optim/adamw.ts";
import { Rng } from "../src/rng.ts";
import { Tensor } from "../src/tensor.ts";

/** A matrix (decayed) and a 1-D norm weight (not decayed), with gradients set by hand. */
function params(seed: number): { matrix: Tensor; norm: Tensor; values: Float32Array[] } {
  const rng = new Rng(seed);
  const values = [rng.normalArray(6), Float32Array.from({ length: 3 }, () => 0.5 + rng.uniform())];
  return {
    matrix: Tensor.from(values[0].slice(), [2, 3]),
    norm: Tensor.from(values[1].slice(), [3]),
    values,
  };
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  rtol = 2e-6,
): void {
  assert.equal(actual.length, expected.length, label);
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-7 + rtol * Math.abs(expected[i]);
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `${label}[${i}]: ${actual[i]}, expected ${expected[i]} (|diff| > ${tol})`,
    );
  }
}

Deno.test("AdamW: from zero moments the first update is lr·(sign g + wd·p); 1-D norm weights are not decayed", async () => {
  const { matrix, norm, values } = params(1);
  const grads = [Float32Array.of(0.3, -2, 0.01, -0.5, 4, -0.02), Float32Array.of(-1, 0.2, 3)];
  matrix.grad = Tensor.from(grads[0], [2, 3]);
  norm.grad = Tensor.from(grads[1], [3]);
  const lr = 0.01;
  const wd = 0.1;
  // eps = 0 makes m̂/√v̂ exactly g/|g| after one step: m̂ = g and v̂ = g² whatever β1 and β2 are.
  const opt = new AdamW([["w", matrix], ["norm.weight", norm]], { lr, weightDecay: wd, eps: 0 });
  opt.update();
  assertClose(
    await matrix.data(),
    values[0].map((p, i) => p - lr * (Math.sign(grads[0][i]) + wd * p)),
    "matrix",
  );
  assertClose(await norm.data(), values[1].map((p, i) => p - lr * Math.sign(grads[1][i])), "norm weight");
  assert.equal(opt.step, 1);
});

Deno.test("AdamW: three steps match the update rule with bias correction 1 − βᵗ at t = 1, 2, 3", async () => {
  const { matrix, norm, values } = params(2);
  const o = { beta1: 0.9, beta2: 0.95, eps: 1e-3, weightDecay: 0.2 };
  const opt = new AdamW([["w", matrix], ["norm.weight", norm]], { lr: 0.05, ...o });
  const rng = new Rng(3);
  const lrs = [0.05, 0.02, 0.1]; // the schedule's learning rate is passed to each update
  const expected = values.map((v) => Array.from(v));
  const m = values.map((v) => new Array(v.length).fill(0));
  const v = values.map((v) => new Array(v.length).fill(0));
  for (let t = 1; t <= 3; t++) {
    const grads = [rng.normalArray(6), rng.normalArray(3)];
    matrix.grad = Tensor.from(grads[0], [2, 3]);
    norm.grad = Tensor.from(grads[1], [3]);
    opt.update(lrs[t - 1]);
    opt.zeroGrad();
    expected.forEach((p, k) => {
      const decay = k === 0 ? o.weightDecay : 0;
      for (let i = 0; i < p.length; i++) {
        const g = grads[k][i];
        m[k][i] = o.beta1 * m[k][i] + (1 - o.beta1) * g;
        v[k][i] = o.beta2 * v[k][i] + (1 - o.beta2) * g * g;
        const mHat = m[k][i] / (1 - o.beta1 ** t);
        const vHat = v[k][i] / (1 - o.beta2 ** t);
        p[i] -= lrs[t - 1] * (mHat / (Math.sqrt(vHat) + o.eps) + decay * p[i]);
      }
    });
    assertClose(await matrix.data(), expected[0], `matrix after step ${t}`, 1e-5);
    assertClose(await norm.data(), expected[1], `norm weight after step ${t}`, 1e-5);
  }
  // The saved moments are the ones the rule computes.
  const state = new Map(
    await Promise.all(opt.stateTensors().map(async ([n, t]) => [n, await t.data()] as const)),
  );
  assertClose(state.get("w.exp_avg")!, m[0], "w.exp_avg", 1e-5);
  assertClose(state.get("norm.weight.exp_avg_sq")!, v[1], "norm.weight.exp_avg_sq", 1e-5);
});

Deno.test("AdamW: a parameter without a gradient is left alone, and defaults are LLaDA's (wd 0.1, β2 0.95)", async () => {
  const { matrix, norm, values } = params(4);
  matrix.grad = Tensor.from(new Float32Array(6).fill(1), [2, 3]);
  const opt = new AdamW([["w", matrix], ["norm.weight", norm]]);
  assert.deepEqual([opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weightDecay], [1e-3, 0.9, 0.95, 1e-8, 0.1]);
  opt.update();
  assert.deepEqual(await norm.data(), values[1]);
  assertClose(await matrix.data(), values[0].map((p) => p - 1e-3 * (1 / (1 + 1e-8) + 0.1 * p)), "matrix");
});
