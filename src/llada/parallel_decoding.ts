/**
 * Parallel decoding rules: how many of a step's ranked predictions to commit when the count is not fixed in
 * advance (Fast-dLLM, Wu et al. 2025, "Fast-dLLM: Training-free Acceleration of Diffusion LLM by Enabling KV
 * Cache and Parallel Decoding", §3.3).
 *
 * Committing several tokens at once from one network evaluation treats them as independent; the paper shows that
 * when each committed prediction is confident enough, the product of the marginals is close to the joint, so the
 * parallel step decodes almost what a sequential one would. Two rules:
 *
 * - **threshold** τ: commit every candidate with confidence `c ≥ τ`, and at least the most confident one;
 * - **factor** f: with confidences ranked `c_(1) ≥ c_(2) ≥ …`, commit the top `n`, `n` the largest count such that
 *   `(i + 1)(1 − c_(i)) ≤ f` for every `i ≤ n` (the first is always committed). The bound tightens as more tokens
 *   go at once: the more tokens committed together, the surer each must be — the paper's condition
 *   `(n + 1) ε ≤ f` on the error `ε = 1 − c` of the n-th token, which keeps the parallel step's error within a
 *   factor of the greedy one's.
 *
 * The official Fast-dLLM code has an off-by-one where the ranking runs out (it then commits the whole block even
 * when the last token fails its bound); here the rule is applied as stated.
 *
 * Both rules need a confidence in `[0, 1]` to be meaningful (the `low_confidence` probability; `margin` also lies
 * in it); they accept any ranking and are documented with that caveat.
 *
 * @module
 */

/** The parallel decoding rules of this module. */
export const PARALLEL_RULES = ["threshold", "factor"] as const;

/** A parallel decoding rule. */
export type ParallelRule = typeof PARALLEL_RULES[number];

/**
 * How many of the ranked candidates to commit under a rule.
 *
 * @param ranked confidences sorted from high to low (at least one).
 * @param rule `"threshold"` (commit every `c ≥ τ`) or `"factor"` (commit while `(i+1)(1 − c_(i)) ≤ f`).
 * @param value τ or f.
 * @returns a count in `[1, ranked.length]`.
 */
export function parallelCommitCount(ranked: readonly number[], rule: ParallelRule, value: number): number {
  if (ranked.length === 0) throw new Error("parallelCommitCount: expected at least one candidate");
  let n = 1; // the most confident prediction is always committed
  if (rule === "threshold") {
    // every c ≥ τ is a prefix of the ranking; when even ranked[0] is below τ it goes alone (progress)
    while (n < ranked.length && ranked[n] >= value) n++;
    return n;
  }
  // factor: the (n+1)-th candidate (1-based rank i = n + 1) is added while (i + 1)(1 − c_(i)) ≤ f
  while (n < ranked.length && (n + 2) * (1 - ranked[n]) <= value) n++;
  return n;
}
