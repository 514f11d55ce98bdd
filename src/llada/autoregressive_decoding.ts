/**
 * Left-to-right decoding for the autoregressive twin: the same blocks with causal attention, trained to predict
 * token i+1 from tokens ≤ i, generate one token per network evaluation.
 *
 *     x ← [EOS, prompt]
 *     repeat genLength times:
 *       p = softmax(f(x)[last] / temperature)     (temperature 0: the argmax)
 *       x ← x ‖ sample(p)
 *
 * The leading EOS is the document boundary the twin saw before every document in training (documents are packed
 * with EOS between them), so an empty prompt asks for the start of a document. Only the first `vocab_size` logits
 * are read (the padding rows of the embedding are never sampled) and the mask token, which never occurs in the
 * twin's training text, is never produced.
 *
 * Left out on purpose: a key/value cache (each step runs the whole prefix again: O(n²) work, obviously correct),
 * top-k/top-p, and batches of prompts of different lengths.
 *
 * @module
 */

import type { LogitsModel } from "./logits_model.ts";
import { softmaxNormaliser } from "./softmax.ts";
import { Rng } from "../rng.ts";

/** Options for {@link decodeAutoregressive}. */
export interface AutoregressiveOptions {
  /** Tokens to generate after the prompt. */
  genLength: number;
  /** 0 (default): the most likely token; above 0: sample from softmax(logits / temperature). */
  temperature?: number;
  /** Seed of the sampling (default 0). */
  seed?: number;
  /** Id of end of sequence, put before the prompt. */
  eosId: number;
  /** Id of the mask token, never produced. */
  maskId: number;
  /** Called after each new token with the rows so far (prompt and generated tokens, no leading EOS). */
  onToken?: (rows: number[][], step: number) => void;
}

/** What {@link decodeAutoregressive} returns. */
export interface AutoregressiveResult {
  /** Each row: its prompt followed by `genLength` generated tokens. */
  tokens: number[][];
  /** Network evaluations (one per generated token). */
  nfe: number;
}

/**
 * Generates `genLength` tokens after each prompt with the autoregressive twin (see the module documentation).
 * All prompts must have the same length; the context (EOS, prompt and the generated tokens but the last) must fit
 * the model's positions, which the model checks.
 */
export async function decodeAutoregressive(
  model: LogitsModel,
  prompts: readonly (readonly number[])[],
  options: AutoregressiveOptions,
): Promise<AutoregressiveResult> {
  const { genLength, eosId, maskId } = options;
  const temperature = options.temperature ?? 0;
  if (!Number.isInteger(genLength) || genLength < 1) {
    throw new Error(`decodeAutoregressive: genLength must be a positive integer, got ${genLength}`);
  }
  if (!(temperature >= 0 && Number.isFinite(temperature))) {
    throw new Error(`decodeAutoregressive: temperature must be a finite number ≥ 0, got ${temperature}`);
  }
  if (prompts.length === 0 || prompts.some((p) => p.length !== prompts[0].length)) {
    throw new Error("decodeAutoregressive: give at least one prompt, all of the same length");
  }
  const V = model.vocabSize;
  const rng = new Rng(options.seed ?? 0);
  const B = prompts.length;
  const rows = prompts.map((p) => [eosId, ...p]);
  for (let step = 0; step < genLength; step++) {
    const T = rows[0].length;
    const tokens = new Int32Array(B * T);
    rows.forEach((r, b) => tokens.set(r, b * T));
    const logits = await model.logits(tokens, B, T);
    for (let b = 0; b < B; b++) {
      // The last position's logits predict the next token.
      const at = (b * T + T - 1) * V;
      rows[b].push(pickToken(logits, at, V, { temperature, maskId, rng }));
    }
    options.onToken?.(rows.map((r) => r.slice(1)), step);
  }
  return { tokens: rows.map((r) => r.slice(1)), nfe: genLength };
}

/** The argmax (temperature 0) or a draw from softmax(logits / temperature), the mask token excluded. */
function pickToken(
  logits: Float32Array,
  at: number,
  V: number,
  o: { temperature: number; maskId: number; rng: Rng },
): number {
  const scaled = new Float64Array(V);
  for (let v = 0; v < V; v++) {
    scaled[v] = v === o.maskId
      ? -Infinity
      : o.temperature === 0
      ? logits[at + v]
      : logits[at + v] / o.temperature;
  }
  if (o.temperature === 0) {
    let best = -1;
    for (let v = 0; v < V; v++) if (best < 0 || scaled[v] > scaled[best]) best = v;
    return best;
  }
  const { max, sum } = softmaxNormaliser(scaled, 0, V);
  let u = o.rng.uniform() * sum;
  for (let v = 0; v < V; v++) {
    u -= Math.exp(scaled[v] - max);
    if (u < 0) return v;
  }
  // Rounding can leave u ≥ 0 after the last term: the last token with nonzero probability.
  for (let v = V - 1; v >= 0; v--) if (scaled[v] > -Infinity) return v;
  throw new Error("decodeAutoregressive: every logit is −∞");
}
