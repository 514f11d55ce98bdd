/**
 * One training step, for the mask predictor (LLaDA pre-training or SFT) and for its autoregressive twin.
 *
 * A LLaDA pre-training step (Algorithm 1 of the paper):
 *  1. corrupt the clean batch x₀ on the CPU side: one t per row, each token masked with probability p
 *     (`forward_masking.ts`);
 *  2. run the mask predictor on x_t: logits for every position;
 *  3. the loss of Eq. 3, `Σ_masked CE / p / (B·L)`, as one weighted cross-entropy whose weights
 *     (`loss_bound.ts`) hold the 1/p and the normalisation;
 *  4. backward, clip the global gradient norm, AdamW update.
 *
 * Everything from step 2 on is recorded on the model's backend and submitted together; the only value read
 * back is the loss (and the gradient norm), once, by the caller, so a WebGPU step has one round trip.
 *
 * @module
 */

import type { LLaDAModel } from "../model/llada.ts";
import type { AdamW } from "../optim/adamw.ts";
import { clipGradNorm } from "../optim/clip.ts";
import { keep, Tensor, tidy } from "../tensor.ts";
import { crossEntropy, sum } from "../ops/mod.ts";
import type { Rng } from "../rng.ts";
import { traceLevel, traceNote } from "../trace.ts";
import {
  type CorruptedBatch,
  corruptForPretraining,
  corruptForSft,
  type MaskCount,
  maybeTruncateBatch,
  type TimeSampling,
} from "../llada/forward_masking.ts";
import { pretrainingLossWeights, sftLossWeights } from "../llada/loss_bound.ts";

/** What a step can train: the mask predictor on raw text, on SFT pairs, or the causal twin on next tokens. */
export const OBJECTIVES = ["pretrain", "sft", "autoregressive"] as const;

/** One of {@link OBJECTIVES}. */
export type Objective = typeof OBJECTIVES[number];

/** A batch of clean tokens, row-major `[batch, length]`, with prompt lengths for SFT. */
export interface TokenBatch {
  /** Row-major `[batch, length]` token ids. */
  tokens: Int32Array;
  /** Number of rows. */
  batch: number;
  /** Tokens per row. */
  length: number;
  /**
   * SFT rows only: `[batch]` prompt lengths (those positions are never masked nor scored; for the twin, only the
   * response tokens are targets).
   */
  promptLengths?: Int32Array;
}

/** Settings of one step. */
export interface StepOptions {
  /** Which loss: LLaDA pre-training (Eq. 3), SFT (Eq. 5) or the autoregressive twin's next-token loss. */
  objective: Objective;
  /** Learning rate for this step (from the schedule). */
  lr: number;
  /** Global gradient-norm clip; 0 or undefined disables clipping. */
  clip?: number;
  /** Generator for the masks (and the 1 % random-length cut); advanced by the step. */
  rng: Rng;
  /** Apply the 1 % random-length truncation of pre-training (default true for "pretrain"). */
  randomLength?: boolean;
  /** Pre-training only: draw the rows' times i.i.d. (default, official) or stratified over the batch. */
  timeSampling?: TimeSampling;
  /** Pre-training only: tokens masked independently (default, official) or exactly `l ~ U{1…L}` per row (Eq. 6). */
  maskCount?: MaskCount;
}

/** The step's outputs, still on the device: read them once, then dispose. */
export interface StepResult {
  /** The loss (a one-element tensor). */
  loss: Tensor;
  /** The global gradient norm before clipping (one element), or null without clipping. */
  gradNorm: Tensor | null;
  /** Tokens the step trained on (after any truncation). */
  tokens: number;
}

/** What a batch's loss was computed from, kept so that a reader (the tour, a debugger, a test) can look at it. */
export interface LossParts {
  /** The clean tokens `x₀` the loss scores, after any random-length cut: row-major `[batch, length]`. */
  clean: Int32Array;
  /** Rows of the batch. */
  batch: number;
  /** Tokens per row. */
  length: number;
  /** The corrupted batch (`x_t`, the masked flags, each row's `p`); null for the autoregressive twin. */
  corrupted: CorruptedBatch | null;
  /** `[batch, length]` weights of the cross-entropy: `1/(p·B·L)` on masked tokens (Eq. 3), 0 elsewhere. */
  weights: Float32Array;
  /** `[batch, length]` weighted cross-entropy `w·CE` per position (the loss is its sum), on the device. */
  perToken: Tensor;
}

/**
 * The twin's instruction tuning, the counterpart of Eq. 5: only response tokens (EOS padding included) are
 * targets, each row's weighted `1 / (answerLength_b · B)` as the mask predictor's SFT loss weighs its rows, so the
 * two models learn from the same answers with the same weight per pair. Target `j` of row `b` is token `j + 1`.
 *
 * @returns row-major `[B, L − 1]` weights over the targets.
 */
export function autoregressiveSftWeights(
  batch: number,
  length: number,
  promptLengths: ArrayLike<number>,
): Float32Array {
  const weights = new Float32Array(batch * (length - 1));
  for (let b = 0; b < batch; b++) {
    const promptLength = Math.max(1, promptLengths[b]); // token 0 is never a target
    const w = 1 / ((length - promptLength) * batch);
    for (let j = promptLength - 1; j < length - 1; j++) weights[b * (length - 1) + j] = w;
  }
  return weights;
}

/**
 * The loss of a batch as an autograd scalar, for any objective. Exposed separately from {@link trainStep} so
 * evaluation and tests can compute it without updating the model. The pre-training masks follow `masking`
 * (default: no random-length cut, i.i.d. times, independent masks).
 */
export function objectiveLoss(
  model: LLaDAModel,
  data: TokenBatch,
  objective: Objective,
  rng: Rng,
  masking: Pick<StepOptions, "randomLength" | "timeSampling" | "maskCount"> = {},
): { loss: Tensor; tokens: number; parts: LossParts } {
  const { randomLength = false, timeSampling = "iid", maskCount = "independent" } = masking;
  const maskId = model.config.mask_token_id;
  const backend = model.backend;
  if (objective === "autoregressive") {
    // The twin: input tokens 0…L−2, targets 1…L−1, every position weighted 1/(B·(L−1)).
    const { batch, length } = data;
    const inputs = new Int32Array(batch * (length - 1));
    const targets = new Int32Array(batch * (length - 1));
    for (let b = 0; b < batch; b++) {
      inputs.set(data.tokens.subarray(b * length, (b + 1) * length - 1), b * (length - 1));
      targets.set(data.tokens.subarray(b * length + 1, (b + 1) * length), b * (length - 1));
    }
    const weights = data.promptLengths
      ? autoregressiveSftWeights(batch, length, data.promptLengths)
      : new Float32Array(batch * (length - 1)).fill(1 / (batch * (length - 1)));
    const logits = model.forward(Tensor.from(inputs, [batch, length - 1], { backend, dtype: "i32" }));
    const perToken = crossEntropy(
      logits,
      Tensor.from(targets, [batch, length - 1], { backend, dtype: "i32" }),
      Tensor.from(weights, [batch, length - 1], { backend }),
    );
    const parts = { clean: targets, batch, length: length - 1, corrupted: null, weights, perToken };
    return { loss: sum(perToken), tokens: batch * length, parts };
  }
  let { tokens, batch, length } = data;
  let corrupted: CorruptedBatch;
  let weights: Float32Array;
  if (objective === "sft") {
    if (!data.promptLengths) throw new Error("objectiveLoss: the sft objective needs promptLengths");
    const c = corruptForSft(tokens, batch, length, data.promptLengths, { maskId, seed: rng });
    corrupted = c;
    weights = sftLossWeights(c);
  } else {
    if (randomLength) {
      const cut = maybeTruncateBatch(tokens, batch, length, { seed: rng });
      tokens = cut.tokens;
      length = cut.length;
    }
    const c = corruptForPretraining(tokens, batch, length, { maskId, seed: rng, timeSampling, maskCount });
    corrupted = c;
    weights = pretrainingLossWeights(c);
  }
  const logits = model.forward(Tensor.from(corrupted.noisy, [batch, length], { backend, dtype: "i32" }));
  // Σ_n w_n · CE_n, where w_n = 1/(p·B·L) on masked tokens (Eq. 3) or 1/(p·answerLen·B) (Eq. 5), else 0.
  const perToken = crossEntropy(
    logits,
    Tensor.from(tokens, [batch, length], { backend, dtype: "i32" }),
    Tensor.from(weights, [batch, length], { backend }),
  );
  const parts = { clean: tokens, batch, length, corrupted, weights, perToken };
  return { loss: sum(perToken), tokens: batch * length, parts };
}

/**
 * One optimisation step: loss, backward, optional clipping, AdamW. Returns the loss and gradient norm as
 * device tensors (kept outside any scope: the caller reads and disposes them).
 */
export function trainStep(
  model: LLaDAModel,
  optimizer: AdamW,
  data: TokenBatch,
  options: StepOptions,
): StepResult {
  return tidy(() => {
    const { loss, tokens } = objectiveLoss(model, data, options.objective, options.rng, {
      randomLength: options.randomLength ?? options.objective === "pretrain",
      timeSampling: options.timeSampling,
      maskCount: options.maskCount,
    });
    if (traceLevel() > 0) traceNote("backward");
    loss.backward();
    if (traceLevel() > 0) traceNote("gradient clipping and the AdamW update");
    const gradNorm = options.clip ? keep(clipGradNorm(optimizer.params, options.clip)) : null;
    optimizer.update(options.lr);
    optimizer.zeroGrad();
    return { loss: keep(loss), gradNorm, tokens };
  });
}
