/**
 * # The forward process: how LLaDA corrupts text
 *
 * LLaDA (Nie et al., 2025, "Large Language Diffusion Models") defines a model distribution through a *forward
 * process* that destroys text and a *reverse process* that rebuilds it. The forward process is the simplest
 * possible one: each token is independently replaced by a special mask token `M` with probability `t`.
 * For a clean sequence `x_0` of length `L` and a time `t ∈ [0, 1]` (the paper's appendix, Eqs. 7–8):
 *
 * ```
 *   q_{t|0}(x_t | x_0) = ∏_{i=1..L} q_{t|0}(x_t^i | x_0^i)
 *
 *   q_{t|0}(x_t^i | x_0^i) = 1 − t   if x_t^i = x_0^i      (the token survives)
 *                            t       if x_t^i = M          (the token is masked)
 * ```
 *
 * At `t = 0` nothing is masked; at `t = 1` everything is. The noise schedule is linear in `t`, so the expected
 * fraction of masks is `t` itself. Training (Algorithm 1 of the paper) draws one `t ~ U(0, 1)` per sequence,
 * corrupts the sequence with it, and asks the network to recover the masked tokens (see `loss_bound.ts`).
 *
 * This file holds every way the project corrupts text:
 *
 * 1. {@link corruptForPretraining} — Algorithm 1: one `t` per row, masking probability `p = (1 − ε)·t + ε` with
 *    `ε = 10⁻³` (the official code's guard against `t ≈ 0`, where the loss weight `1/p` would explode).
 * 2. {@link maybeTruncateBatch} — "we set 1% of the pre-training data to a random length that is uniformly sampled
 *    from the range [1, 4096]": with probability 1% a whole batch is cut to a random length in `[1, L]`, so the
 *    model also sees short sequences.
 * 3. {@link corruptForSft} — Algorithm 2: the same corruption, but only the response can be masked; the prompt is
 *    always visible. Responses are right-padded with EOS ({@link padSftBatch}) and that padding *is* response: the
 *    model learns to predict EOS, which is how LLaDA decides where an answer ends.
 * 4. {@link maskExactly} — Algorithm 3's corruption, used by the low-variance likelihood estimator (Eq. 6): mask
 *    exactly `l` of the answer tokens, chosen uniformly without replacement.
 *
 * Every function is array-based (`Int32Array` tokens, `Uint8Array` flags, `Float32Array` probabilities, all
 * row-major `[batch, length]`) and takes a seed or an {@link Rng}, so every corruption can be reproduced.
 *
 * Left out on purpose: other noise schedules (LLaDA uses only the linear one) and uniform-noise corruption
 * (a token replaced by a random token rather than by `M`), which LLaDA does not use.
 *
 * @module
 */

import { type Rng, toRng } from "../rng.ts";

/**
 * `ε` in `p = (1 − ε)·t + ε`: the smallest masking probability a training row can get (official value 10⁻³).
 * It keeps the loss weight `1/p` of Eq. 3 below 1000.
 */
export const MASK_EPS = 1e-3;

/** The probability that a whole pre-training batch is cut to a random length (1 % in the paper). */
export const RANDOM_LENGTH_PROBABILITY = 0.01;

/** A corrupted batch: what the network sees, which positions it must predict, and how likely masking was. */
export interface CorruptedBatch {
  /** Number of rows `B`. */
  readonly batch: number;
  /** Number of positions per row `L`. */
  readonly length: number;
  /** `x_t`, row-major `[B, L]`: the clean tokens with the masked positions replaced by the mask id. */
  readonly noisy: Int32Array;
  /** Row-major `[B, L]`: 1 where the token was masked (the network must predict it), 0 elsewhere. */
  readonly masked: Uint8Array;
  /** `[B]`: each row's masking probability `p = (1 − ε)·t + ε` (with exact counts, `l / L`). */
  readonly p: Float32Array;
}

/** A corrupted SFT batch: a {@link CorruptedBatch} plus the prompt length of every row. */
export interface SftCorruptedBatch extends CorruptedBatch {
  /** `[B]`: row `b`'s positions `0 … promptLengths[b] − 1` are prompt (never masked); the rest is response. */
  readonly promptLengths: Int32Array;
}

/** How the rows' times are drawn in pre-training (see {@link CorruptionOptions.timeSampling}). */
export const TIME_SAMPLINGS = ["iid", "stratified"] as const;

/** One of {@link TIME_SAMPLINGS}. */
export type TimeSampling = typeof TIME_SAMPLINGS[number];

/** How many tokens a pre-training row loses (see {@link CorruptionOptions.maskCount}). */
export const MASK_COUNTS = ["independent", "exact"] as const;

/** One of {@link MASK_COUNTS}. */
export type MaskCount = typeof MASK_COUNTS[number];

/** Options shared by the corruption functions. */
export interface CorruptionOptions {
  /** The id of the mask token `M`. */
  maskId: number;
  /** A seed or a generator: the same seed gives the same corruption. */
  seed: number | Rng;
  /** `ε` in `p = (1 − ε)·t + ε`; defaults to {@link MASK_EPS}. */
  eps?: number;
  /**
   * How the rows' times are drawn (pre-training only). `"iid"` (default, the official code): each row its own
   * `t ~ U(0, 1)`. `"stratified"`: one `u ~ U(0, 1)` per batch and `t_b = (u + b) / B mod 1`, the
   * low-discrepancy sampler of Kingma et al. (2021) used for masked diffusion by Sahoo et al. (2024, MDLM).
   * Every row's `t` is still uniform, so the loss stays an unbiased estimate of Eq. 3, but a batch always
   * covers the whole range of `t` evenly, which lowers the variance of the batch loss (the `1/p` weights make
   * it large at small batch sizes).
   */
  timeSampling?: TimeSampling;
  /**
   * How many tokens a row loses (pre-training only). `"independent"` (default, the official code and Eq. 3): each
   * token masked independently with probability `p`. `"exact"`: the discrete form of Eq. 6, the paper's
   * low-variance estimator of the same bound — `l = 1 + ⌊t·L⌋`, uniform on `1 … L`, and exactly `l` positions
   * masked, chosen uniformly; the row's `p` is then `l / L`, so the same `1/(p·B·L)` loss weights give every
   * masked token `1/(l·B)`. Either way a position is masked with probability `p` and weighted by `1/(p·B·L)`
   * when it is, so both losses have the same expectation; the exact count removes the noise of a random number
   * of masked tokens (a row at `t = 0.05` of 32 tokens masks 1.6 on average, with weight 20 each).
   */
  maskCount?: MaskCount;
}

/**
 * The masking probability of a row with time `t`: `p = (1 − ε)·t + ε`, so `p ∈ [ε, 1]` for `t ∈ [0, 1]`.
 *
 * @param t the diffusion time, in `[0, 1]`.
 * @param eps the floor `ε` (default {@link MASK_EPS}).
 */
export function maskingProbability(t: number, eps = MASK_EPS): number {
  return (1 - eps) * t + eps;
}

/**
 * Pre-training corruption (Algorithm 1): one `t ~ U(0, 1)` per row, `p = (1 − ε)·t + ε`, and every token of the
 * row independently replaced by `maskId` with probability `p`.
 *
 * @param tokens clean tokens `x_0`, row-major `[batch, length]`.
 * @param batch number of rows.
 * @param length positions per row.
 * @param options mask id, seed and optional `eps`.
 * @returns the noisy tokens, the masked flags and each row's `p`.
 */
export function corruptForPretraining(
  tokens: Int32Array,
  batch: number,
  length: number,
  options: CorruptionOptions,
): CorruptedBatch {
  checkBatch("corruptForPretraining", tokens, batch, length);
  const eps = checkEps("corruptForPretraining", options.eps);
  checkMaskId("corruptForPretraining", options.maskId);
  const rng = toRng(options.seed);
  const noisy = tokens.slice(); // x_t starts as a copy of x_0 …
  const masked = new Uint8Array(batch * length);
  const p = new Float32Array(batch);
  const stratified = options.timeSampling === "stratified";
  const offset = stratified ? rng.uniform() : 0; // the batch's shared u for stratified times
  for (let b = 0; b < batch; b++) {
    // One time per sequence: t ~ U(0, 1), then p = (1 − ε)t + ε (the official `forward_process`); or, stratified,
    // t_b = (u + b)/B mod 1, one time in each of B equal slices of (0, 1).
    const t = stratified ? (offset + b / batch) % 1 : rng.uniform();
    if (options.maskCount === "exact") {
      // Eq. 6: l uniform on 1 … L, then exactly l distinct positions (a partial Fisher–Yates shuffle).
      const l = Math.min(length, 1 + Math.floor(t * length));
      p[b] = l / length;
      for (const offset of rng.choose(length, l)) {
        noisy[b * length + offset] = options.maskId;
        masked[b * length + offset] = 1;
      }
      continue;
    }
    const pRow = maskingProbability(t, eps);
    p[b] = pRow;
    // … and each token is masked independently with probability p (Eq. 8: q(x_t^i = M | x_0^i) = t).
    maskRowIndependently(noisy, masked, b * length, (b + 1) * length, pRow, options.maskId, rng);
  }
  return { batch, length, noisy, masked, p };
}

/**
 * The 1 % random-length rule of pre-training: with probability `probability` the whole batch is cut to a length
 * drawn uniformly from `[1, length]` (every row keeps its first positions); otherwise it is returned unchanged.
 *
 * Cutting the batch rather than padding rows is what the official code does ("not elegant and involves some data
 * waste … minimal"); it teaches the model that sequences need not fill the context.
 *
 * @param tokens clean tokens, row-major `[batch, length]`.
 * @param batch number of rows.
 * @param length positions per row.
 * @param options the seed and the cut probability (default {@link RANDOM_LENGTH_PROBABILITY}).
 * @returns the (possibly shorter) tokens, their row length, and whether a cut happened. Uncut tokens are the same
 *   array that was passed in.
 */
export function maybeTruncateBatch(
  tokens: Int32Array,
  batch: number,
  length: number,
  options: { seed: number | Rng; probability?: number },
): { tokens: Int32Array; length: number; truncated: boolean } {
  checkBatch("maybeTruncateBatch", tokens, batch, length);
  const probability = options.probability ?? RANDOM_LENGTH_PROBABILITY;
  if (!(probability >= 0 && probability <= 1)) {
    throw new Error(`maybeTruncateBatch: probability must be in [0, 1], got ${probability}`);
  }
  const rng = toRng(options.seed);
  // `if torch.rand(1) < 0.01:` — one coin per batch, not per row.
  if (!(rng.uniform() < probability)) return { tokens, length, truncated: false };
  // `random_length = torch.randint(1, L + 1)`: uniform on 1..L inclusive.
  const newLength = rng.int(1, length);
  return { tokens: truncateBatch(tokens, batch, length, newLength), length: newLength, truncated: true };
}

/**
 * Keeps the first `newLength` positions of every row (`input_ids[:, :newLength]`).
 *
 * @param tokens row-major `[batch, length]`.
 * @param batch number of rows.
 * @param length positions per row.
 * @param newLength the kept length, in `[1, length]`.
 * @returns a new row-major `[batch, newLength]` array.
 */
export function truncateBatch(
  tokens: Int32Array,
  batch: number,
  length: number,
  newLength: number,
): Int32Array {
  checkBatch("truncateBatch", tokens, batch, length);
  if (!Number.isInteger(newLength) || newLength < 1 || newLength > length) {
    throw new Error(`truncateBatch: newLength must be an integer in [1, ${length}], got ${newLength}`);
  }
  const out = new Int32Array(batch * newLength);
  for (let b = 0; b < batch; b++) out.set(tokens.subarray(b * length, b * length + newLength), b * newLength);
  return out;
}

/**
 * Builds an SFT batch from (prompt, response) pairs: each pair is written as `prompt ‖ response` and right-padded
 * with EOS to the common length. The paper: "we pad |EOS| tokens to the end of short pairs within each mini-batch
 * … we treat |EOS| as a normal token during training and remove it during sampling, enabling LLaDA to control the
 * response length automatically." So the padding belongs to the response (it can be masked and is predicted).
 *
 * @param pairs the pairs; a response may be empty only if padding follows it (the row needs one response token).
 * @param options `eosId`, and `length` (default: the longest pair) to pad every row to.
 * @returns row-major `[batch, length]` tokens and each row's prompt length.
 */
export function padSftBatch(
  pairs: readonly { prompt: readonly number[]; response: readonly number[] }[],
  options: { eosId: number; length?: number },
): { tokens: Int32Array; batch: number; length: number; promptLengths: Int32Array } {
  if (pairs.length === 0) throw new Error("padSftBatch: expected at least one (prompt, response) pair");
  checkTokenId("padSftBatch", "eosId", options.eosId);
  const longest = Math.max(...pairs.map((q) => q.prompt.length + q.response.length));
  const length = options.length ?? longest;
  if (!Number.isInteger(length) || length < longest) {
    throw new Error(
      `padSftBatch: length (${length}) must be an integer at least the longest pair (${longest} tokens); ` +
        "raise length or drop the long pair",
    );
  }
  const batch = pairs.length;
  const tokens = new Int32Array(batch * length).fill(options.eosId); // EOS everywhere, then overwrite the pair
  const promptLengths = new Int32Array(batch);
  pairs.forEach(({ prompt, response }, b) => {
    if (prompt.length >= length) {
      throw new Error(
        `padSftBatch: pair ${b} has no room for a response (prompt of ${prompt.length} tokens)`,
      );
    }
    tokens.set(prompt, b * length);
    tokens.set(response, b * length + prompt.length);
    promptLengths[b] = prompt.length;
  });
  return { tokens, batch, length, promptLengths };
}

/**
 * SFT corruption (Algorithm 2): like {@link corruptForPretraining}, one `p = (1 − ε)·t + ε` per row, but only the
 * response positions (from `promptLengths[b]` on, EOS padding included) can be masked; the prompt `p_0` is always
 * shown to the network unchanged. Eq. 5 conditions on it: `p_θ(r_0^i | p_0, r_t)`.
 *
 * @param tokens clean `prompt ‖ response ‖ EOS…` rows, row-major `[batch, length]` (see {@link padSftBatch}).
 * @param batch number of rows.
 * @param length positions per row.
 * @param promptLengths `[batch]` prompt length of each row, in `[0, length − 1]` (a row needs one response token).
 * @param options mask id, seed and optional `eps`.
 */
export function corruptForSft(
  tokens: Int32Array,
  batch: number,
  length: number,
  promptLengths: ArrayLike<number>,
  options: CorruptionOptions,
): SftCorruptedBatch {
  checkBatch("corruptForSft", tokens, batch, length);
  const eps = checkEps("corruptForSft", options.eps);
  checkMaskId("corruptForSft", options.maskId);
  if (promptLengths.length !== batch) {
    throw new Error(
      `corruptForSft: expected ${batch} prompt lengths (one per row), got ${promptLengths.length}`,
    );
  }
  const rng = toRng(options.seed);
  const noisy = tokens.slice();
  const masked = new Uint8Array(batch * length);
  const p = new Float32Array(batch);
  const lengths = Int32Array.from(promptLengths);
  for (let b = 0; b < batch; b++) {
    const promptLength = lengths[b];
    if (!Number.isInteger(promptLength) || promptLength < 0 || promptLength >= length) {
      throw new Error(
        `corruptForSft: prompt length of row ${b} must be an integer in [0, ${length - 1}] ` +
          `(the response needs at least one token), got ${promptLength}`,
      );
    }
    // The same per-row time and probability as pre-training …
    const pRow = maskingProbability(rng.uniform(), eps);
    p[b] = pRow;
    // … but the coin is tossed only for response positions: the prompt is never masked.
    maskRowIndependently(
      noisy,
      masked,
      b * length + promptLength,
      (b + 1) * length,
      pRow,
      options.maskId,
      rng,
    );
  }
  return { batch, length, noisy, masked, p, promptLengths: lengths };
}

/**
 * Exactly-`l` masking (Algorithm 3, the corruption behind Eq. 6): of the answer positions
 * `answerStart … row.length − 1`, choose `count` uniformly without replacement and replace them by the mask id.
 * Unlike the pre-training corruption the number of masks is fixed, which is what makes the Eq. 6 estimator
 * low-variance (see `loss_bound.ts`).
 *
 * @param row one clean sequence `prompt ‖ answer`.
 * @param answerStart where the answer begins (the prompt length).
 * @param count how many answer tokens to mask, in `[0, row.length − answerStart]`.
 * @param options mask id and seed.
 * @returns the noisy row and its masked flags.
 */
export function maskExactly(
  row: ArrayLike<number>,
  answerStart: number,
  count: number,
  options: { maskId: number; seed: number | Rng },
): { noisy: Int32Array; masked: Uint8Array } {
  const answerLength = row.length - answerStart;
  if (!Number.isInteger(answerStart) || answerStart < 0 || answerLength < 0) {
    throw new Error(`maskExactly: answerStart must be an integer in [0, ${row.length}], got ${answerStart}`);
  }
  if (!Number.isInteger(count) || count < 0 || count > answerLength) {
    throw new Error(`maskExactly: cannot mask ${count} tokens of an answer of ${answerLength}`);
  }
  checkMaskId("maskExactly", options.maskId);
  const noisy = Int32Array.from(row);
  const masked = new Uint8Array(row.length);
  // `count` distinct answer offsets, uniformly (a partial Fisher–Yates shuffle; the official code shuffles a
  // vector with `count` ones, which gives the same distribution).
  for (const offset of toRng(options.seed).choose(answerLength, count)) {
    noisy[answerStart + offset] = options.maskId;
    masked[answerStart + offset] = 1;
  }
  return { noisy, masked };
}

/** Masks each position in `[from, to)` of `noisy` independently with probability `p` (one uniform per position). */
function maskRowIndependently(
  noisy: Int32Array,
  masked: Uint8Array,
  from: number,
  to: number,
  p: number,
  maskId: number,
  rng: Rng,
): void {
  for (let i = from; i < to; i++) {
    // `masked_indices = torch.rand((b, l)) < p_mask`
    if (rng.uniform() < p) {
      noisy[i] = maskId;
      masked[i] = 1;
    }
  }
}

function checkBatch(fn: string, tokens: Int32Array, batch: number, length: number): void {
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(length) || length < 1) {
    throw new Error(
      `${fn}: batch and length must be positive integers, got batch=${batch}, length=${length}`,
    );
  }
  if (tokens.length !== batch * length) {
    throw new Error(
      `${fn}: expected tokens of length batch·length = ${batch}·${length} = ${
        batch * length
      }, got ${tokens.length}`,
    );
  }
}

function checkEps(fn: string, eps: number | undefined): number {
  const e = eps ?? MASK_EPS;
  if (!(e >= 0 && e < 1)) throw new Error(`${fn}: eps must be in [0, 1), got ${e}`);
  return e;
}

function checkMaskId(fn: string, maskId: number): void {
  checkTokenId(fn, "maskId", maskId);
}

function checkTokenId(fn: string, name: string, id: number): void {
  if (!Number.isInteger(id) || id < 0) {
    throw new Error(`${fn}: ${name} must be a non-negative integer token id, got ${id}`);
  }
}
