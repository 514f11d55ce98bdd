/**
 * Remasking of committed tokens, after ReMDM (Wang et al. 2025, "Remasking Discrete Diffusion Models with
 * Inference-Time Scaling").
 *
 * In LLaDA's reverse process a revealed token is final, so an early mistake can never be corrected. ReMDM lets the
 * reverse step from `t` to `s` also send an already revealed token back to `M`, with probability `σ_t`, and
 * shows that any `σ_t ≤ min(1, (1 − α_s)/α_t)` keeps the marginals of the forward process (`α_t = 1 − t` here, the
 * share of unmasked tokens). Its "max-capped" schedule is
 *
 *     σ_t = min(η, (1 − α_s)/α_t) = min(η, s / (1 − t)),
 *
 * with `η ∈ [0, 1]` the one schedule parameter (`η = 0`: no remasking, the plain sampler). ReMDM-conf chooses
 * which tokens to remask by low confidence; this module does the same deterministically, LLaDA-style:
 *
 * - at step `k` of `N` in a block (`t = 1 − k/N`, `s = 1 − (k+1)/N`) with `C` tokens committed in the block so far,
 *   the `r = ⌊σ_t · C⌋` committed tokens whose current probability `p_θ(x^i | x_t)` is lowest are remasked;
 * - the step reveals `numTransferTokens(M + r, N − k)[0]` of the `M` masks (at most `M`), so the block's
 *   remaining masks still spread evenly over the remaining steps, and the last step (`σ = 0` there, as `s = 0`)
 *   reveals every mask left: no mask survives.
 *
 * Tokens committed at this very step are not candidates for remasking, and with `η = 0` the counts are exactly
 * the official schedule (`numTransferTokens` of the block), so the sampler is unchanged. Left out: ReMDM's
 * stochastic variant (independent remasking with probability `σ_t`) and its "loop" schedule.
 *
 * @module
 */

/**
 * ReMDM's max-capped remasking probability `σ_t = min(η, s/(1 − t))` at step `step` of `steps` (0 at the last
 * step, where `s = 0`).
 *
 * @param eta the cap `η ∈ [0, 1]`.
 * @param step the step, `0 ≤ step < steps`.
 * @param steps steps in the block.
 */
export function remaskProbability(eta: number, step: number, steps: number): number {
  if (!(eta >= 0 && eta <= 1)) throw new Error(`remaskProbability: eta must be in [0, 1], got ${eta}`);
  if (step >= steps - 1) return 0;
  const t = 1 - step / steps;
  const s = 1 - (step + 1) / steps;
  return step === 0 ? eta : Math.min(eta, s / (1 - t));
}

/**
 * The committed positions to remask: the `r = ⌊σ · committed.length⌋` with the lowest probability, ties to the
 * higher position (the later token is the one reconsidered).
 *
 * @param committed positions committed in the block before this step.
 * @param probability each position's current `p_θ(x^i | x_t)` of its committed token (indexed by position).
 * @param sigma the remasking probability of this step ({@link remaskProbability}).
 * @returns the positions to set back to the mask.
 */
export function chooseRemasks(
  committed: readonly number[],
  probability: ArrayLike<number>,
  sigma: number,
): number[] {
  const r = Math.floor(sigma * committed.length);
  if (r === 0) return [];
  return committed.slice().sort((i, j) => probability[i] - probability[j] || j - i).slice(0, r);
}
