/**
 * Ancestral sampling: the reverse process exactly as the paper's Algorithm 4 states it (and as MDLM, Sahoo et al.
 * 2024, and SMDM, Nie et al. 2024, sample).
 *
 * Going from time `t` to `s < t`, each still-masked token is revealed **independently** with probability
 * `(t − s)/t` and stays masked with probability `s/t` — the reverse of the linear forward schedule `q(x_t^i = M |
 * x_0^i) = t`. The number revealed per step is therefore random, `Binomial(m, (t − s)/t)` for `m` masks, not the
 * fixed `⌊m/N⌋` (+1) of the official code (`numTransferTokens`), which reveals that binomial's mean. Which
 * tokens are revealed does not depend on the model's confidence.
 *
 * With `N` equal steps over a block, step `k = 0 … N−1` goes from `t = 1 − k/N` to `s = 1 − (k+1)/N`, so
 * `(t − s)/t = 1/(N − k)`: one chance in `N` at the first step, certainty at the last, and no mask survives it.
 *
 * @module
 */

import type { Rng } from "../rng.ts";

/**
 * The probability `(t − s)/t` that a masked token is revealed at step `step` of `steps` equal steps from `t = 1`
 * to `0`, i.e. `1/(steps − step)`.
 *
 * @param step the step, `0 ≤ step < steps`.
 * @param steps steps in the block, ≥ 1.
 */
export function revealProbability(step: number, steps: number): number {
  if (!Number.isInteger(step) || !Number.isInteger(steps) || step < 0 || step >= steps) {
    throw new Error(
      `revealProbability: expected integers 0 ≤ step < steps, got step ${step}, steps ${steps}`,
    );
  }
  const t = 1 - step / steps;
  const s = 1 - (step + 1) / steps;
  return step === steps - 1 ? 1 : (t - s) / t;
}

/**
 * Algorithm 4's reveal: each candidate independently with probability `p`, one uniform draw per candidate in the
 * order given (so a row's stream advances by exactly `candidates.length` draws).
 *
 * @param candidates the still-masked positions of the block.
 * @param p the reveal probability of this step ({@link revealProbability}).
 * @param rng the row's random stream.
 * @returns the revealed positions, in the order of `candidates`.
 */
export function ancestralReveal(candidates: readonly number[], p: number, rng: Rng): number[] {
  const revealed: number[] = [];
  for (const i of candidates) if (rng.uniform() < p) revealed.push(i);
  return revealed;
}
