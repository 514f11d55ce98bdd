/** The learning-rate schedule step by step, and gradient clipping, against values worked out by hand. */

import assert from "node:assert/strict";
import { clipGradNorm, warmupStableDecay } from "../src/optim/mod.ts";
import { Tensor } from "../src/tensor.ts";

const close = (a: number, b: number, label: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12, `${label}: ${a}, expected ${b}`);

Deno.test("warmupStableDecay: linear warmup to the peak, constant, then a linear ramp to finalLr", () => {
  const lr = warmupStableDecay({ peakLr: 1, totalSteps: 10, warmupSteps: 4, decaySteps: 2, finalLr: 0.1 });
  const expected = [0.25, 0.5, 0.75, 1, 1, 1, 1, 1, 0.55, 0.1];
  expected.forEach((e, step) => close(lr(step), e, `step ${step}`));
  // Default finalLr is a tenth of the peak.
  close(
    warmupStableDecay({ peakLr: 2, totalSteps: 4, warmupSteps: 0, decaySteps: 1 })(3),
    0.2,
    "default final",
  );
  assert.throws(
    () => warmupStableDecay({ peakLr: 1, totalSteps: 5, warmupSteps: 3, decaySteps: 3 }),
    /must fit/,
  );
});

Deno.test("clipGradNorm: returns the global norm and scales gradients to maxNorm only when above it", async () => {
  const a = Tensor.zeros([2]);
  const b = Tensor.zeros([1]);
  a.grad = Tensor.from(Float32Array.of(3, 0), [2]);
  b.grad = Tensor.from(Float32Array.of(4), [1]);
  const norm = clipGradNorm([["a", a], ["b", b]], 1);
  close(await norm.item(), 5, "norm");
  const scaled = [...await a.grad.data(), ...await b.grad.data()];
  [0.6, 0, 0.8].forEach((e, i) => assert.ok(Math.abs(scaled[i] - e) < 1e-6, `grad ${i}: ${scaled[i]}`));
  // Below the limit nothing changes.
  clipGradNorm([["a", a], ["b", b]], 10);
  assert.deepEqual([...await a.grad.data(), ...await b.grad.data()], scaled);
});
