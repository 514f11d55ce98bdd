/**
 * The floor ε in the masking probability `p = (1 − ε)·t + ε`, checked with tolerances at the scale of the effect:
 * exact values of the formula, and batches large enough that the smallest `p` sits right on the floor (so a floor
 * of 0, or one applied as `t + ε`, is seen by a margin many times the tolerance).
 */

import assert from "node:assert/strict";
import {
  corruptForPretraining,
  corruptForSft,
  MASK_EPS,
  maskingProbability,
} from "../src/llada/forward_masking.ts";

const MASK = 9;

Deno.test("maskingProbability: (1 − ε)·t + ε, with the official ε = 1e-3 by default", () => {
  assert.equal(MASK_EPS, 1e-3);
  assert.equal(maskingProbability(0), 1e-3);
  assert.equal(maskingProbability(1), 1);
  assert.ok(Math.abs(maskingProbability(0.5) - 0.5005) < 1e-15);
  assert.ok(Math.abs(maskingProbability(0.25, 0.2) - 0.4) < 1e-15);
  assert.equal(maskingProbability(0, 0), 0);
});

/** The smallest and the mean of the rows' masking probabilities. */
function summary(p: Float32Array): { min: number; mean: number } {
  return { min: p.reduce((a, b) => Math.min(a, b), Infinity), mean: p.reduce((a, b) => a + b, 0) / p.length };
}

Deno.test("pre-training corruption: the default floor ε = 1e-3 is reached and never crossed", () => {
  // 20000 rows: the smallest t is ~5e-5, so min p lies in [ε, ε + 5e-4] where a missing floor gives ~5e-5.
  const B = 20000;
  const { min } = summary(corruptForPretraining(new Int32Array(B), B, 1, { maskId: MASK, seed: 1 }).p);
  assert.ok(
    min >= Math.fround(MASK_EPS) && min < MASK_EPS + 5e-4,
    `min p = ${min}, expected just above ${MASK_EPS}`,
  );
});

Deno.test("pre-training and SFT corruption: a floor ε = 0.2 gives p in [0.2, 1] with mean 0.6", () => {
  const B = 4000;
  const eps = 0.2;
  const pre = summary(corruptForPretraining(new Int32Array(B), B, 1, { maskId: MASK, seed: 2, eps }).p);
  const sft = summary(
    corruptForSft(new Int32Array(B * 2), B, 2, new Int32Array(B), { maskId: MASK, seed: 3, eps }).p,
  );
  for (const [name, { min, mean }] of [["pre-training", pre], ["SFT", sft]] as const) {
    assert.ok(min >= Math.fround(eps) && min < eps + 0.002, `${name}: min p = ${min}`);
    // mean of (1 − ε)·U(0, 1) + ε is 0.6 with sd 0.8·0.2887/√4000 ≈ 0.0037; a floor of 0 gives 0.5, t + ε 0.7.
    assert.ok(Math.abs(mean - 0.6) < 0.02, `${name}: mean p = ${mean}`);
  }
});
