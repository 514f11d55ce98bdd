/**
 * # The loss bound: what LLaDA is trained on, and how its likelihood is measured
 *
 * LLaDA's network `p_θ(· | x_t)` sees a partly masked sequence and predicts every masked token at once. It is
 * trained by cross-entropy on the masked tokens only, weighted by `1/t` (paper Eq. 3):
 *
 * ```
 *   L(θ) ≜ −E_{t, x_0, x_t} [ (1/t) Σ_{i=1..L} 1[x_t^i = M] · log p_θ(x_0^i | x_t) ]          (3)
 *
 *   −E_{p_data(x_0)} [ log p_θ(x_0) ]  ≤  L(θ)                                                 (4)
 * ```
 *
 * with `t ~ U[0, 1]` and `x_t ~ q_{t|0}(x_t | x_0)` (`forward_masking.ts`). Eq. 4 is why the loss matters beyond
 * training: it is an upper bound on the negative log-likelihood, so it can be reported in nats per token or bits
 * per character and compared with an autoregressive model's perplexity. The `1/t` weight compensates for the
 * number of masks growing with `t`; without it the objective would not be a likelihood bound.
 *
 * Supervised fine-tuning (SFT) keeps the prompt `p_0` clean and masks only the response `r_0` of length `L'`
 * (Eq. 5):
 *
 * ```
 *   −E_{t, p_0, r_0, r_t} [ (1/t) Σ_{i=1..L'} 1[r_t^i = M] · log p_θ(r_0^i | p_0, r_t) ]          (5)
 * ```
 *
 * and the official code divides each row's sum by that row's answer length, so long and short answers count
 * equally.
 *
 * To *evaluate* a conditional likelihood (Algorithm 3) the paper uses an equivalent form with lower variance
 * (Eq. 6): instead of a continuous `t` and independent coin flips, draw the number of masks `l` uniformly from
 * `{1, …, L}` and mask exactly `l` answer tokens uniformly at random:
 *
 * ```
 *   −E_{l, r_0, r_l} [ (L/l) Σ_{i=1..L} 1[r_l^i = M] · log p_θ(r_0^i | p_0, r_l) ]               (6)
 * ```
 *
 * Why (3)/(5) and (6) agree: given `t`, the number of masks `l` is Binomial(L, t) and, given `l`, the masked set is
 * uniform. Integrating the `1/t` weight over `t`:
 * `E_t[(1/t)·P(l | t)] = C(L, l)·∫ t^(l−1) (1−t)^(L−l) dt = C(L, l)·B(l, L−l+1) = 1/l = (1/L)·(L/l)`,
 * which is exactly "draw `l` uniformly from 1..L and weight by `L/l`". The `l = 0` case (nothing masked)
 * contributes nothing to either form. Eq. 6 never wastes a sample on zero masks and never multiplies a single
 * masked token by a huge `1/t`; the official evaluation further *stratifies* `l` across each mini-batch, so the
 * `b` samples of a batch cover `1..L` evenly (see {@link stratifiedMaskCounts}).
 *
 * A fact worth knowing when reading the numbers: if the network's predictions were the exact conditionals
 * `q(x^i | visible tokens)` of some distribution `q`, the bound would be *tight*: averaging Eq. 6 over all `l` and
 * all mask patterns equals averaging `log q(x)` over every order of revealing tokens one at a time, and each such
 * order gives exactly `log q(x)` by the chain rule. The gap in Eq. 4 measures how far the network is from
 * consistent conditionals, not a looseness built into the bound. `tests/llada_loss_bound.test.ts` checks this.
 *
 * Classifier-free guidance (the unsupervised variant LLaDA takes from Nie et al., 2024) can be applied to the
 * likelihood too: with `c` the logits given the prompt and `u` the logits when every prompt token is replaced by
 * `M`, the guided logits are `u + (w + 1)·(c − u)` (`guidance.ts`, shared with the sampler).
 *
 * What this file provides:
 * - training losses as **per-token weights** ({@link pretrainingLossWeights}, {@link sftLossWeights}): a weighted
 *   sum of token cross-entropies `Σ w·CE` *is* the loss of Eq. 3 / Eq. 5. The autograd op multiplies these weights
 *   into its cross-entropy, so this file stays the single source of the normalisation; {@link weightedCrossEntropy},
 *   {@link pretrainingLoss} and {@link sftLoss} are the plain-array reference for tests and CPU evaluation;
 * - the Eq. 6 Monte Carlo estimator ({@link conditionalLogLikelihood}, {@link estimateConditionalLogLikelihood},
 *   with i.i.d. variants for comparison), its exact enumeration ({@link exactConditionalLogLikelihoodBound}), and
 *   the held-out bound in nats/token and bits/character ({@link evaluateBound}).
 *
 * Left out on purpose: gradients (the tensor code owns autograd) and semi-autoregressive likelihoods.
 *
 * @module
 */

import type { LogitsModel } from "./logits_model.ts";
import { Rng, toRng } from "../rng.ts";
import { guidedLogits } from "./guidance.ts";
import { softmaxNormaliser } from "./softmax.ts";
import {
  type CorruptedBatch,
  corruptForSft,
  maskExactly,
  type SftCorruptedBatch,
} from "./forward_masking.ts";

// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────
// Training losses (Eq. 3 and Eq. 5) as per-token weights
// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Per-token weights of the pre-training loss (Eq. 3, Algorithm 1): `1 / (p_b · B · L)` on masked tokens, 0
 * elsewhere, so that `Σ weight · CE` equals the official `Σ_masked CE / p  /  (B·L)`.
 *
 * The `1/p` is Eq. 3's `1/t` (with `t` floored at `ε`); the `1/(B·L)` averages over every position of the batch,
 * masked or not, which is what makes the loss an unbiased estimate of Eq. 3 per token.
 *
 * @param c a batch from `corruptForPretraining`.
 * @returns row-major `[B, L]` weights.
 */
export function pretrainingLossWeights(c: CorruptedBatch): Float32Array {
  const { batch, length, masked, p } = c;
  const weights = new Float32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    // The same weight for every masked token of the row: 1/(p_b · B · L).
    const w = 1 / (p[b] * batch * length);
    for (let i = b * length; i < (b + 1) * length; i++) if (masked[i]) weights[i] = w;
  }
  return weights;
}

/**
 * Per-token weights of the SFT loss (Eq. 5, Algorithm 2): `1 / (p_b · answerLength_b · B)` on masked response
 * tokens, 0 elsewhere, where `answerLength_b = L − promptLengths[b]` counts the EOS padding as response. Then
 * `Σ weight · CE` equals the official `Σ_b (Σ_masked CE / p) / answerLength_b  /  B`.
 *
 * @param c a batch from `corruptForSft`.
 * @returns row-major `[B, L]` weights.
 */
export function sftLossWeights(c: SftCorruptedBatch): Float32Array {
  const { batch, length, masked, p, promptLengths } = c;
  const weights = new Float32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    // Everything after the prompt is answer, EOS padding included.
    const answerLength = length - promptLengths[b];
    const w = 1 / (p[b] * answerLength * batch);
    for (let i = b * length + promptLengths[b]; i < (b + 1) * length; i++) if (masked[i]) weights[i] = w;
  }
  return weights;
}

/**
 * `Σ_n weights[n] · CE_n` with `CE_n = −log softmax(logits_n)[targets_n]`, in float64. Positions with weight 0 are
 * skipped (their logits are never read), which is the official `logits[masked_indices]`.
 *
 * This is the reference the autograd weighted cross-entropy op is tested against.
 *
 * @param logits row-major `[N, vocabSize]` (for a batch, `N = B·L`).
 * @param targets `[N]` target ids.
 * @param weights `[N]` per-position weights.
 * @param vocabSize entries per position.
 */
export function weightedCrossEntropy(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  weights: ArrayLike<number>,
  vocabSize: number,
): number {
  const n = targets.length;
  if (weights.length !== n || logits.length !== n * vocabSize) {
    throw new Error(
      `weightedCrossEntropy: expected logits of length ${n}·${vocabSize} and ${n} weights, ` +
        `got ${logits.length} logits and ${weights.length} weights`,
    );
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (weights[i] === 0) continue;
    total -= weights[i] * logSoftmaxAt(logits, i * vocabSize, vocabSize, targets[i]);
  }
  return total;
}

/**
 * The pre-training loss of Eq. 3 computed from logits (plain arrays, float64): `Σ_masked CE / p / (B·L)`.
 *
 * @param logits the network's output on `c.noisy`, row-major `[B, L, V]`.
 * @param clean the clean tokens `x_0`, row-major `[B, L]` (the targets).
 * @param c the corruption that produced the network's input.
 */
export function pretrainingLoss(logits: ArrayLike<number>, clean: Int32Array, c: CorruptedBatch): number {
  return weightedCrossEntropy(
    logits,
    clean,
    pretrainingLossWeights(c),
    vocabOf("pretrainingLoss", logits, c),
  );
}

/**
 * The SFT loss of Eq. 5 computed from logits (plain arrays, float64): per row `Σ_masked CE / p / answerLength`,
 * averaged over rows.
 *
 * @param logits the network's output on `c.noisy`, row-major `[B, L, V]`.
 * @param clean the clean tokens, row-major `[B, L]`.
 * @param c the corruption that produced the network's input.
 */
export function sftLoss(logits: ArrayLike<number>, clean: Int32Array, c: SftCorruptedBatch): number {
  return weightedCrossEntropy(logits, clean, sftLossWeights(c), vocabOf("sftLoss", logits, c));
}

// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────
// Shared pieces: log-softmax and classifier-free guidance
// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * `log softmax(logits[offset … offset+vocabSize))[target]` in float64, stabilised by subtracting the maximum.
 * Entries of `−∞` (forbidden tokens) are allowed as long as one entry is finite.
 */
export function logSoftmaxAt(
  logits: ArrayLike<number>,
  offset: number,
  vocabSize: number,
  target: number,
): number {
  const { max, sum } = softmaxNormaliser(logits, offset, vocabSize);
  if (!Number.isFinite(max)) {
    throw new Error(
      `logSoftmaxAt: logits at offset ${offset} have no finite maximum (${max}); check the model`,
    );
  }
  return logits[offset + target] - max - Math.log(sum);
}

// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────
// The Eq. 6 estimator (Algorithm 3)
// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * The stratified numbers of masks of one mini-batch (the official `_forward_process`):
 * `l_i = ((round(k + i·L/b) − 1) mod L) + 1` for `i = 0 … b−1`, where `k ∈ {1..L}` is drawn once per batch.
 *
 * The `b` values are spread evenly around the circle `1..L`, so a batch always mixes lightly and heavily masked
 * samples, while each `l_i` on its own is still uniform on `1..L` (as `k` is): the estimate stays unbiased and its
 * variance drops.
 *
 * Rounding is half-up (`⌊x + ½⌋`), computed in exact integer arithmetic. The official code uses `torch.round`
 * (half-to-even) on a float32 `linspace`; with half-to-even, whether `k + ½` rounds up depends on the parity of
 * `k`, which breaks the uniformity of `l_i` when `i·L/b` ends in exactly `.5` (for instance `L = 3, b = 2` gives
 * `l_1 ∈ {1, 1, 2}`, never 3). Half-up adds the same shift for every `k`, so `l_i` stays uniform.
 *
 * @param answerLength `L ≥ 1`.
 * @param b samples in the batch.
 * @param k the batch's offset, an integer in `[1, L]`.
 */
export function stratifiedMaskCounts(answerLength: number, b: number, k: number): Int32Array {
  const L = answerLength;
  if (
    !Number.isInteger(L) || L < 1 || !Number.isInteger(b) || b < 1 || !Number.isInteger(k) || k < 1 || k > L
  ) {
    throw new Error(
      `stratifiedMaskCounts: expected integers L ≥ 1, b ≥ 1, 1 ≤ k ≤ L; got L=${L}, b=${b}, k=${k}`,
    );
  }
  const counts = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    // round(i·L/b) half-up, exactly: ⌊(2·i·L + b) / (2b)⌋.
    const shift = Math.floor((2 * i * L + b) / (2 * b));
    // Wrap around 1..L.
    counts[i] = ((k + shift - 1) % L) + 1;
  }
  return counts;
}

/**
 * How the Monte Carlo samples choose their masks:
 * - `"stratified"` (default, the official estimator): Eq. 6 with `l` stratified across each mini-batch;
 * - `"iid_l"`: Eq. 6 with each sample's `l` drawn independently from `U{1..L}`;
 * - `"iid_t"`: the Eq. 5 form: `t ~ U(0, 1)`, `p = (1 − ε)t + ε`, every answer token masked independently with
 *   probability `p`, weight `1/p` — the training objective used as an estimator (biased by `O(ε)` through the
 *   floor `ε`, which keeps its variance finite).
 */
export const LIKELIHOOD_SAMPLERS = ["stratified", "iid_l", "iid_t"] as const;

/** One of {@link LIKELIHOOD_SAMPLERS}. */
export type LikelihoodSampler = typeof LIKELIHOOD_SAMPLERS[number];

/** Options of the conditional log-likelihood estimators. */
export interface LikelihoodOptions {
  /** The mask id `M`. */
  maskId: number;
  /** Number of Monte Carlo samples `n` (default 128, as in the official evaluation). */
  mcSamples?: number;
  /**
   * Samples per network call (default 16). Each mini-batch is stratified on its own. If `mcSamples` is not a
   * multiple of `batchSize`, the last mini-batch holds the remaining `mcSamples mod batchSize` samples and is
   * stratified over its own size (each `l_i` stays uniform, so the estimate stays unbiased); the official code
   * instead requires divisibility.
   */
  batchSize?: number;
  /** Classifier-free guidance scale `w ≥ 0` (default 0: none). */
  cfgScale?: number;
  /** A seed or a generator (default 0). A fixed seed gives the same masks, hence comparable estimates. */
  seed?: number | Rng;
}

/** A Monte Carlo estimate of a conditional log-likelihood with its standard error. */
export interface LikelihoodEstimate {
  /** The estimate of Eq. 6's expectation (a lower bound on `log p_θ(answer | prompt)`, so ≤ 0 up to noise). */
  logLikelihood: number;
  /**
   * Its standard error, from the spread of the mini-batch means (mini-batches are independent; samples inside a
   * stratified batch are not). `NaN` with a single mini-batch.
   */
  stdErr: number;
  /** Number of Monte Carlo samples used. */
  samples: number;
}

/**
 * Monte Carlo estimate of the conditional log-likelihood bound of Eq. 6 (Algorithm 3), with its standard error.
 * See {@link conditionalLogLikelihood} for the plain number and {@link LikelihoodSampler} for the samplers.
 *
 * @param model the mask predictor.
 * @param prompt the prompt `p_0` (may be empty).
 * @param answer the answer `r_0` (at least one token, no mask ids).
 * @param options mask id, sample counts, guidance, seed, and the sampler (default `"stratified"`).
 */
export async function estimateConditionalLogLikelihood(
  model: LogitsModel,
  prompt: readonly number[],
  answer: readonly number[],
  options: LikelihoodOptions & { sampler?: LikelihoodSampler },
): Promise<LikelihoodEstimate> {
  const fn = "estimateConditionalLogLikelihood";
  const { maskId, cfgScale } = checkLikelihoodInputs(fn, model, prompt, answer, options);
  const mcSamples = options.mcSamples ?? 128;
  const batchSize = options.batchSize ?? 16;
  const sampler = options.sampler ?? "stratified";
  checkPositiveInteger(fn, "mcSamples", mcSamples);
  checkPositiveInteger(fn, "batchSize", batchSize);
  if (!LIKELIHOOD_SAMPLERS.includes(sampler)) {
    const names = LIKELIHOOD_SAMPLERS.map((n) => `"${n}"`).join(", ");
    throw new Error(`${fn}: sampler must be one of ${names}, got ${JSON.stringify(sampler)}`);
  }
  const rng = toRng(options.seed);
  const P = prompt.length;
  const L = answer.length;
  const T = P + L;
  const row = Int32Array.from([...prompt, ...answer]); // the clean sequence p_0 ‖ r_0

  const batchMeans: number[] = [];
  const batchSizes: number[] = [];
  let total = 0;
  for (let start = 0; start < mcSamples; start += batchSize) {
    const b = Math.min(batchSize, mcSamples - start);
    // b copies of the clean row: the targets of this mini-batch.
    const clean = stackRows(Array(b).fill(row), T, Int32Array);
    // Step 1 — corrupt each copy and remember its weight.
    let noisy: Int32Array;
    let masked: Uint8Array;
    const weights = new Float64Array(b);
    if (sampler === "iid_t") {
      // Eq. 5: t ~ U(0,1) per sample, each answer token masked with p = (1 − ε)t + ε, weight 1/p. This is the SFT
      // corruption with the prompt as prompt, so that one function serves both.
      const c = corruptForSft(clean, b, T, new Int32Array(b).fill(P), { maskId, seed: rng });
      noisy = c.noisy;
      masked = c.masked;
      for (let i = 0; i < b; i++) weights[i] = 1 / c.p[i];
    } else {
      // Eq. 6: l answer tokens masked exactly, weight L/l; l stratified across the batch (Algorithm 3) or i.i.d.
      const counts = sampler === "stratified"
        ? stratifiedMaskCounts(L, b, rng.int(1, L))
        : Int32Array.from({ length: b }, () => rng.int(1, L));
      const masks = Array.from(counts, (l) => maskExactly(row, P, l, { maskId, seed: rng }));
      noisy = stackRows(masks.map((m) => m.noisy), T, Int32Array);
      masked = stackRows(masks.map((m) => m.masked), T, Uint8Array);
      counts.forEach((l, i) => weights[i] = L / l);
    }
    // Step 2 — one network call (two halves with guidance) and Σ_masked log p_θ(r_0^i | p_0, r_l) per sample.
    const sums = await maskedLogProbSums(model, { clean, noisy, masked, rows: b, length: T }, {
      promptLength: P,
      maskId,
      cfgScale,
    });
    // Step 3 — weight each sample and average the batch.
    let batchTotal = 0;
    for (let i = 0; i < b; i++) batchTotal += weights[i] * sums[i];
    total += batchTotal;
    batchMeans.push(batchTotal / b);
    batchSizes.push(b);
  }
  const mean = total / mcSamples;
  return {
    logLikelihood: mean,
    stdErr: stdErrOfBatchMeans(batchMeans, batchSizes, mean),
    samples: mcSamples,
  };
}

/**
 * Monte Carlo estimate of Eq. 6 (Algorithm 3): for each mini-batch of `batchSize` samples draw `k ~ U{1..L}`
 * (`L` = answer length), set `l_i = ((round(k + i·L/b) − 1) mod L) + 1`, mask exactly `l_i` answer tokens, and
 * average `(L/l)·Σ_masked log p_θ(r_0^i | prompt, r_l)` over all samples.
 *
 * The result is a log-likelihood: an estimate of a lower bound on `log p_θ(answer | prompt)` (minus the bound on
 * the NLL), so it is ≤ 0 up to Monte Carlo noise. With `cfgScale = w > 0` the logits are `u + (w+1)(c − u)`, `u`
 * from the same input with every prompt token replaced by `maskId` (conditional and unconditional rows go
 * through the network together, in one call per mini-batch). `mcSamples` that is not a multiple of `batchSize` is
 * handled as described in {@link LikelihoodOptions.batchSize}.
 *
 * @param model the mask predictor.
 * @param prompt the prompt `p_0` (may be empty).
 * @param answer the answer `r_0` (at least one token, no mask ids).
 * @param options `{ maskId, mcSamples = 128, batchSize = 16, cfgScale = 0, seed = 0 }`.
 */
export async function conditionalLogLikelihood(
  model: LogitsModel,
  prompt: readonly number[],
  answer: readonly number[],
  options: LikelihoodOptions,
): Promise<number> {
  const estimate = await estimateConditionalLogLikelihood(model, prompt, answer, {
    ...options,
    sampler: "stratified",
  });
  return estimate.logLikelihood;
}

/** The longest answer {@link exactConditionalLogLikelihoodBound} enumerates (2^14 − 1 = 16383 mask patterns). */
export const MAX_EXACT_ANSWER_LENGTH = 14;

/**
 * Eq. 6's expectation computed exactly, without sampling: `E_{l ~ U{1..L}} E_{S ⊂ answer, |S| = l}
 * [(L/l)·Σ_{i∈S} log p_θ(r_0^i | prompt, r with S masked)]`. Every non-empty mask pattern `S` is enumerated once,
 * with probability weight `(1/L)·(1/C(L, l))·(L/l) = 1 / (l·C(L, l))`.
 *
 * For teaching and tests: it is what {@link conditionalLogLikelihood} estimates. It needs `2^L − 1` network rows,
 * so answers longer than {@link MAX_EXACT_ANSWER_LENGTH} tokens are refused.
 *
 * @param model the mask predictor.
 * @param prompt the prompt (may be empty).
 * @param answer the answer (1 … 14 tokens, no mask ids).
 * @param options `{ maskId, cfgScale = 0, batchSize = 256 }` (`batchSize` = rows per network call).
 */
export async function exactConditionalLogLikelihoodBound(
  model: LogitsModel,
  prompt: readonly number[],
  answer: readonly number[],
  options: { maskId: number; cfgScale?: number; batchSize?: number },
): Promise<number> {
  const fn = "exactConditionalLogLikelihoodBound";
  const { maskId, cfgScale } = checkLikelihoodInputs(fn, model, prompt, answer, options);
  const batchSize = options.batchSize ?? 256;
  checkPositiveInteger(fn, "batchSize", batchSize);
  const P = prompt.length;
  const L = answer.length;
  if (L > MAX_EXACT_ANSWER_LENGTH) {
    throw new Error(
      `${fn}: the answer has ${L} tokens, so the exact bound would enumerate 2^${L} − 1 mask patterns; ` +
        `it is limited to ${MAX_EXACT_ANSWER_LENGTH} answer tokens — use conditionalLogLikelihood (Monte Carlo)`,
    );
  }
  const T = P + L;
  const row = Int32Array.from([...prompt, ...answer]);
  const patterns = 2 ** L - 1; // bit j of pattern s set ⇔ answer token j is masked; s = 1 … 2^L − 1
  let total = 0;
  for (let first = 1; first <= patterns; first += batchSize) {
    const b = Math.min(batchSize, patterns - first + 1);
    const clean = stackRows(Array(b).fill(row), T, Int32Array);
    const noisy = clean.slice();
    const masked = new Uint8Array(b * T);
    const weights = new Float64Array(b);
    for (let i = 0; i < b; i++) {
      const s = first + i;
      let l = 0;
      for (let j = 0; j < L; j++) {
        if ((s >> j) & 1) {
          noisy[i * T + P + j] = maskId;
          masked[i * T + P + j] = 1;
          l++;
        }
      }
      // P(l) · P(S | l) · (L/l) = (1/L) · (1/C(L,l)) · (L/l).
      weights[i] = 1 / (l * binomial(L, l));
    }
    const sums = await maskedLogProbSums(model, { clean, noisy, masked, rows: b, length: T }, {
      promptLength: P,
      maskId,
      cfgScale,
    });
    for (let i = 0; i < b; i++) total += weights[i] * sums[i];
  }
  return total;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────
// The held-out bound in nats per token and bits per character
// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────

/** Options of {@link evaluateBound}. */
export interface BoundOptions {
  /** The mask id `M`. */
  maskId: number;
  /** Monte Carlo samples per sequence (default 32), stratified together. */
  mcSamples?: number;
  /** Rows per network call (default 32); rows of different sequences of equal length share calls. */
  batchSize?: number;
  /** The seed of the masks (default 0). Keep it fixed across evaluations so curves are comparable. */
  seed?: number;
  /** How many characters the evaluated tokens stand for; enables {@link BoundReport.bitsPerChar}. */
  charCount?: number;
}

/** The held-out upper bound on the negative log-likelihood (Eq. 4). */
export interface BoundReport {
  /** Number of sequences evaluated. */
  sequences: number;
  /** Total number of tokens. */
  tokens: number;
  /** The bound on the total NLL, in nats (Σ over sequences). */
  nats: number;
  /** `nats / tokens`. */
  natsPerToken: number;
  /** `natsPerToken / ln 2`. */
  bitsPerToken: number;
  /** `nats / ln 2 / charCount`, when `charCount` is given. */
  bitsPerChar?: number;
}

/**
 * The held-out bound of Eq. 4: for each sequence, the Eq. 6 estimate of `−log p_θ(x_0)` with an empty prompt
 * (equal in expectation to Eq. 3's `E_t[(1/t)·Σ_masked CE]`, see the module notes), summed and reported per token
 * and per character.
 *
 * The masks are low-variance and reproducible: sequence `j`'s `mcSamples` samples are stratified over `1..L`
 * together (one {@link stratifiedMaskCounts} draw) and drawn from a stream that depends only on `(seed, j)`, so
 * evaluating two checkpoints on the same data uses the same masks and their difference is not sampling noise.
 *
 * @param model the mask predictor.
 * @param sequences held-out token sequences (each at least one token, no mask ids).
 * @param options mask id, samples, batch size, seed, character count.
 */
export async function evaluateBound(
  model: LogitsModel,
  sequences: readonly ArrayLike<number>[],
  options: BoundOptions,
): Promise<BoundReport> {
  const fn = "evaluateBound";
  const mcSamples = options.mcSamples ?? 32;
  const batchSize = options.batchSize ?? 32;
  const seed = options.seed ?? 0;
  checkPositiveInteger(fn, "mcSamples", mcSamples);
  checkPositiveInteger(fn, "batchSize", batchSize);
  if (sequences.length === 0) throw new Error(`${fn}: expected at least one sequence`);
  if (options.charCount !== undefined && !(options.charCount > 0)) {
    throw new Error(`${fn}: charCount must be positive, got ${options.charCount}`);
  }
  sequences.forEach((s, j) =>
    checkLikelihoodInputs(`${fn} (sequence ${j})`, model, [], Array.from(s), options)
  );
  const { maskId } = options;

  // Step 1 — every sequence's corrupted copies, grouped by length so that rows of one call share a length.
  const groups = new Map<
    number,
    { clean: Int32Array; noisy: Int32Array; masked: Uint8Array; weight: number }[]
  >();
  let tokens = 0;
  sequences.forEach((s, j) => {
    const L = s.length;
    tokens += L;
    const rng = new Rng(seed).fork(j); // depends on (seed, j) only
    const counts = stratifiedMaskCounts(L, mcSamples, rng.int(1, L));
    const clean = Int32Array.from(s);
    const group = groups.get(L) ?? [];
    for (const l of counts) {
      const m = maskExactly(clean, 0, l, { maskId, seed: rng });
      // (L/l) per sample, averaged over the sequence's samples.
      group.push({ clean, noisy: m.noisy, masked: m.masked, weight: L / l / mcSamples });
    }
    groups.set(L, group);
  });

  // Step 2 — score the rows batchSize at a time: Σ weight·Σ_masked log p is minus the bound.
  let logLikelihood = 0;
  for (const [T, rows] of groups) {
    for (let start = 0; start < rows.length; start += batchSize) {
      const chunk = rows.slice(start, start + batchSize);
      const batch: MaskedRows = {
        clean: stackRows(chunk.map((r) => r.clean), T, Int32Array),
        noisy: stackRows(chunk.map((r) => r.noisy), T, Int32Array),
        masked: stackRows(chunk.map((r) => r.masked), T, Uint8Array),
        rows: chunk.length,
        length: T,
      };
      const sums = await maskedLogProbSums(model, batch, { promptLength: 0, maskId, cfgScale: 0 });
      chunk.forEach((r, i) => logLikelihood += r.weight * sums[i]);
    }
  }
  // Step 3 — report: nats (Eq. 4's right-hand side), then per token and per character.
  const nats = -logLikelihood;
  const report: BoundReport = {
    sequences: sequences.length,
    tokens,
    nats,
    natsPerToken: nats / tokens,
    bitsPerToken: nats / tokens / Math.LN2,
  };
  if (options.charCount !== undefined) report.bitsPerChar = nats / Math.LN2 / options.charCount;
  return report;
}

// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────
// Internals
// ────────────────────────────────────────────────────────────────────────────────────────────────────────────────

/** Rows of one network call: the clean targets, the network's input, and where it was masked. */
interface MaskedRows {
  /** Row-major `[rows, length]` clean tokens. */
  clean: Int32Array;
  /** Row-major `[rows, length]` corrupted tokens. */
  noisy: Int32Array;
  /** Row-major `[rows, length]`: 1 where masked. */
  masked: Uint8Array;
  rows: number;
  length: number;
}

/**
 * For each row: `Σ_{i masked} log p_θ(clean_i | noisy)`, with guidance when `cfgScale > 0` (the first
 * `promptLength` positions of every row are prompt). One network call.
 */
async function maskedLogProbSums(
  model: LogitsModel,
  { clean, noisy, masked, rows, length }: MaskedRows,
  { promptLength, maskId, cfgScale }: { promptLength: number; maskId: number; cfgScale: number },
): Promise<Float64Array> {
  const V = model.vocabSize;
  const isPrompt = new Uint8Array(rows * length);
  for (let r = 0; r < rows; r++) isPrompt.fill(1, r * length, r * length + promptLength);
  const logits = await guidedLogits(model, noisy, rows, length, isPrompt, { maskId, cfgScale });
  const sums = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let i = r * length; i < (r + 1) * length; i++) {
      if (masked[i]) sums[r] += logSoftmaxAt(logits, i * V, V, clean[i]);
    }
  }
  return sums;
}

/** Rows of `width` values laid end to end in one new `[rows.length, width]` array of the given kind. */
function stackRows<A extends Int32Array | Uint8Array>(
  rows: readonly ArrayLike<number>[],
  width: number,
  Kind: { new (length: number): A },
): A {
  const out = new Kind(rows.length * width);
  rows.forEach((row, i) => out.set(row, i * width));
  return out;
}

/**
 * The standard error of the overall mean from independent mini-batch means `m_j` of sizes `n_j`, assuming
 * `Var(m_j) = σ²/n_j`: `σ̂² = Σ n_j (m_j − m)² / (J − 1)` and `SE = √(σ̂² / N)` (the usual `sd(m_j)/√J` for equal
 * sizes).
 */
function stdErrOfBatchMeans(means: number[], sizes: number[], mean: number): number {
  const J = means.length;
  if (J < 2) return NaN;
  let ss = 0;
  let n = 0;
  for (let j = 0; j < J; j++) {
    ss += sizes[j] * (means[j] - mean) ** 2;
    n += sizes[j];
  }
  return Math.sqrt(ss / (J - 1) / n);
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

function vocabOf(fn: string, logits: ArrayLike<number>, c: CorruptedBatch): number {
  const positions = c.batch * c.length;
  const V = logits.length / positions;
  if (!Number.isInteger(V) || V < 1) {
    throw new Error(`${fn}: logits of length ${logits.length} are not [B·L = ${positions}, vocabSize]`);
  }
  return V;
}

function checkPositiveInteger(fn: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${fn}: ${name} must be a positive integer, got ${value}`);
  }
}

function checkLikelihoodInputs(
  fn: string,
  model: LogitsModel,
  prompt: readonly number[],
  answer: readonly number[],
  options: { maskId: number; cfgScale?: number },
): { maskId: number; cfgScale: number } {
  const V = model.vocabSize;
  const { maskId } = options;
  const cfgScale = options.cfgScale ?? 0;
  if (!Number.isInteger(maskId) || maskId < 0 || maskId >= V) {
    throw new Error(`${fn}: maskId must be a token id in [0, ${V}), got ${maskId}`);
  }
  if (!(cfgScale >= 0 && Number.isFinite(cfgScale))) {
    throw new Error(`${fn}: cfgScale must be a finite number ≥ 0, got ${cfgScale}`);
  }
  if (answer.length === 0) throw new Error(`${fn}: the answer is empty; it needs at least one token`);
  for (const [name, seq] of [["prompt", prompt], ["answer", answer]] as const) {
    seq.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new Error(`${fn}: ${name}[${i}] = ${id} is not a token id in [0, ${V})`);
      }
    });
  }
  const at = answer.indexOf(maskId);
  if (at >= 0) {
    throw new Error(`${fn}: answer[${at}] is the mask id ${maskId}; the answer must be clean text`);
  }
  return { maskId, cfgScale };
}
