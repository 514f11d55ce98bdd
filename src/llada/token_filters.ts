/**
 * Top-k and top-p (nucleus) filtering for temperature sampling: which tokens a prediction may be drawn from.
 *
 * Both come from autoregressive decoding (top-k: Fan et al. 2018; top-p: Holtzman et al. 2020, "The Curious Case
 * of Neural Text Degeneration") and apply unchanged to a masked diffusion model's per-position distributions:
 * before the Gumbel-max draw of `x̂`, every token outside the kept set gets logit `−∞`.
 *
 * - **top-k**: keep the `k` tokens with the highest logits (ties at the boundary: the lower ids);
 * - **top-p**: keep the smallest set of most likely tokens whose probabilities under `softmax(l / temperature)`
 *   sum to at least `p` (the most likely token is always kept).
 *
 * At temperature 0 the argmax is always kept by both, so the filters change nothing there. The mask token is
 * filtered like any other (the sampler never predicts it anyway).
 *
 * @module
 */

import { softmaxNormaliser } from "./softmax.ts";

/** Which tokens a draw may choose from: `topK` and/or `topP` (both optional; both apply when both are set). */
export interface TokenFilter {
  /** Keep the `k ≥ 1` most likely tokens. */
  topK?: number;
  /** Keep the smallest most-likely set with probability mass ≥ `p`, `0 < p ≤ 1`. */
  topP?: number;
}

/** Checks a filter's values, with messages that say what to change. */
export function checkTokenFilter(filter: TokenFilter, where: string): void {
  const { topK, topP } = filter;
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) {
    throw new Error(`${where}: topK must be an integer ≥ 1, got ${topK}`);
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    throw new Error(`${where}: topP must be in (0, 1], got ${topP}`);
  }
}

/**
 * Sets to `−∞`, in place, the logits of every token outside the kept set of `filter`, with probabilities taken
 * at `temperature` (> 0) for top-p. Ranking is by logit, ties to the lower id.
 *
 * @param logits one position's logits (float64, modified in place).
 * @param filter top-k and/or top-p.
 * @param temperature the sampling temperature (> 0) under which top-p measures mass.
 */
export function filterLogits(logits: Float64Array, filter: TokenFilter, temperature: number): void {
  const { topK, topP } = filter;
  if (topK === undefined && topP === undefined) return;
  const V = logits.length;
  const order = Array.from({ length: V }, (_, v) => v).sort((a, b) =>
    logits[a] > logits[b] ? -1 : logits[a] < logits[b] ? 1 : a - b
  );
  let keep = topK === undefined ? V : Math.min(topK, V);
  if (topP !== undefined) {
    // softmax(l / temperature) mass, accumulated from the most likely token down.
    const scaled = logits.map((l) => l / temperature);
    const { max, sum } = softmaxNormaliser(scaled, 0, V);
    let mass = 0;
    let n = 0;
    while (n < keep) {
      mass += Math.exp(scaled[order[n]] - max) / sum;
      n++;
      if (mass >= topP) break;
    }
    keep = n;
  }
  for (let r = keep; r < V; r++) logits[order[r]] = -Infinity;
}
