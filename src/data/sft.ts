/**
 * SFT data: prompt/response pairs right-padded with EOS to a common length.
 *
 * LLaDA's supervised fine-tuning (paper §2.3, Eq. 5) masks only response tokens; the prompt is always given.
 * Responses are padded on the right with EOS, and the padding counts as response: the model is trained to
 * predict those EOS tokens too, which is how it learns to end its answers (and why, at sampling time, the
 * tail of a long generation fills with EOS).
 *
 * ```
 * row i = [ prompt_i | response_i (ends with EOS) | EOS … EOS ]     tokens: [n, L]
 *           ←  promptLengths[i] →←────────── answer: L − promptLengths[i] ──────────→
 * ```
 *
 * @module
 */

import { EOS_ID } from "../tokenizer/special.ts";
import type { TokenRows } from "./packing.ts";

/** A prompt and its response as token ids (e.g. from `encodeChatPair` in `tokenizer/chat.ts`). */
export interface SftPair {
  /** Conditioned on, never masked. */
  prompt: ArrayLike<number>;
  /** Learned; should end with EOS (the chat template adds it). */
  response: ArrayLike<number>;
}

/** Padded SFT rows: `tokens` is `[rows, length]`, and the first `promptLengths[i]` tokens of row `i` are prompt. */
export interface SftRows extends TokenRows {
  /** `[rows]`: number of prompt tokens at the start of each row; the rest of the row is answer (with padding). */
  promptLengths: Int32Array;
  /**
   * `[rows]`: tokens of each row's pair before its padding (`prompt + response`). The trainer pads each mini-batch
   * only to its longest pair (the paper's SFT), so the rest of a row is dropped from a batch whose pairs are shorter.
   */
  pairLengths: Int32Array;
}

/** Options for {@link padSftPairs}. */
export interface SftPadOptions {
  /** Tokens per row; default: the longest `prompt + response`. */
  length?: number;
  /** The padding id. Default {@link EOS_ID}. */
  eosId?: number;
}

/**
 * Writes each pair as `prompt + response`, right-padded with EOS to `length`.
 *
 * @throws when a pair does not fit in `length` (the message names the pair), or a response is empty.
 *
 * @example
 * padSftPairs([{ prompt: [2, 3, 9, 4], response: [7, 1] }], { length: 8 });
 * // tokens [2, 3, 9, 4, 7, 1, 1, 1], promptLengths [4], pairLengths [6]
 */
export function padSftPairs(pairs: readonly SftPair[], options: SftPadOptions = {}): SftRows {
  const { eosId = EOS_ID } = options;
  const longest = pairs.reduce((m, p) => Math.max(m, p.prompt.length + p.response.length), 0);
  const length = options.length ?? longest;
  if (!Number.isInteger(length) || length < 1) {
    throw new Error(`padSftPairs: length must be a positive integer, got ${length}`);
  }
  const rows = pairs.length;
  const tokens = new Int32Array(rows * length).fill(eosId);
  const promptLengths = new Int32Array(rows);
  const pairLengths = new Int32Array(rows);
  pairs.forEach(({ prompt, response }, i) => {
    if (response.length === 0) {
      throw new Error(`padSftPairs: pair ${i} has an empty response; end it with EOS at least`);
    }
    if (prompt.length + response.length > length) {
      throw new Error(
        `padSftPairs: pair ${i} has ${prompt.length} prompt + ${response.length} response tokens, ` +
          `more than the row length ${length}; raise length or shorten the pair`,
      );
    }
    const row = i * length;
    for (let j = 0; j < prompt.length; j++) tokens[row + j] = prompt[j];
    for (let j = 0; j < response.length; j++) tokens[row + prompt.length + j] = response[j];
    promptLengths[i] = prompt.length;
    pairLengths[i] = prompt.length + response.length;
  });
  return { tokens, rows, length, promptLengths, pairLengths };
}
