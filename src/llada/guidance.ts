/**
 * Classifier-free guidance on the logits, shared by the sampler (`reverse_sampling.ts`) and the likelihood
 * estimators (`loss_bound.ts`).
 *
 * LLaDA uses the unsupervised variant (Nie et al., 2024): with `c` the logits given the prompt and `u` the logits
 * when every prompt token is replaced by the mask `M`, the guided logits are `u + (w + 1)·(c − u)`. Both passes go
 * through the network as one batched call, so a guided step still costs one network evaluation (NFE).
 *
 * @module
 */

import type { LogitsModel } from "./logits_model.ts";

/** Options of {@link guidedLogits}. */
export interface GuidanceOptions {
  /** The mask id that replaces prompt tokens in the unconditional pass. */
  maskId: number;
  /** The guidance scale `w ≥ 0`; 0 means no guidance (one plain network call). */
  cfgScale: number;
  /** Passed to the model unchanged (duplicated for the unconditional rows). */
  attentionMask?: Uint8Array;
}

/**
 * Logits with unsupervised classifier-free guidance: `u + (w + 1)·(c − u)`, where `c` are the logits of `tokens`
 * and `u` those of the same rows with every prompt position replaced by `maskId`. Both halves go through the
 * network in **one** call of `2·rows` rows (one NFE). With `w = 0` the result is the network's output itself.
 *
 * @param model the network.
 * @param tokens row-major `[rows, length]`.
 * @param rows number of rows.
 * @param length positions per row.
 * @param isPrompt row-major `[rows, length]`: 1 at prompt positions (masked in the unconditional pass).
 * @param options mask id, scale and attention mask.
 * @returns row-major `[rows, length, vocabSize]` logits (float64 when guided).
 */
export async function guidedLogits(
  model: LogitsModel,
  tokens: Int32Array,
  rows: number,
  length: number,
  isPrompt: Uint8Array,
  options: GuidanceOptions,
): Promise<Float32Array | Float64Array> {
  const { maskId, cfgScale, attentionMask } = options;
  const V = model.vocabSize;
  if (cfgScale === 0) return checkedLogits(model, tokens, rows, length, attentionMask);
  // Stack [conditional rows; unconditional rows] so both passes are one batched evaluation (`torch.cat`).
  const both = new Int32Array(2 * rows * length);
  both.set(tokens);
  for (let i = 0; i < rows * length; i++) both[rows * length + i] = isPrompt[i] ? maskId : tokens[i];
  let bothMask: Uint8Array | undefined;
  if (attentionMask) {
    bothMask = new Uint8Array(2 * rows * length);
    bothMask.set(attentionMask);
    bothMask.set(attentionMask, rows * length);
  }
  const out = await checkedLogits(model, both, 2 * rows, length, bothMask);
  const n = rows * length * V;
  const guided = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = out[i];
    const u = out[n + i];
    // u + (w+1)(c − u). Equal entries (typically both −∞ for a forbidden token) stay as they are rather than
    // becoming −∞ − (−∞) = NaN.
    guided[i] = c === u ? c : u + (cfgScale + 1) * (c - u);
  }
  return guided;
}

/** Calls the model and checks the shape of what comes back. */
async function checkedLogits(
  model: LogitsModel,
  tokens: Int32Array,
  rows: number,
  length: number,
  attentionMask?: Uint8Array,
): Promise<Float32Array> {
  const out = await model.logits(tokens, rows, length, attentionMask);
  const expected = rows * length * model.vocabSize;
  if (out.length !== expected) {
    throw new Error(
      `LogitsModel.logits returned ${out.length} values; expected batch·length·vocabSize = ` +
        `${rows}·${length}·${model.vocabSize} = ${expected}`,
    );
  }
  return out;
}
