/**
 * The stabilised softmax normaliser over one position's logits, in float64: the one log-sum-exp that the loss
 * bound's `logSoftmaxAt` and the sampler's confidences share.
 *
 * @module
 */

/**
 * `max` and `sum = Σ_v exp(l_v − max)` over `logits[offset … offset+count)`, so that `softmax(l)_v =
 * exp(l_v − max) / sum` and `log-sum-exp(l) = max + log(sum)`. Subtracting the maximum keeps every exponent ≤ 0
 * (no overflow); entries of `−∞` (forbidden tokens) contribute 0. `max` is `−∞` when every entry is.
 */
export function softmaxNormaliser(
  logits: ArrayLike<number>,
  offset: number,
  count: number,
): { max: number; sum: number } {
  let max = -Infinity;
  for (let v = 0; v < count; v++) max = Math.max(max, logits[offset + v]);
  let sum = 0;
  for (let v = 0; v < count; v++) sum += Math.exp(logits[offset + v] - max);
  return { max, sum };
}
