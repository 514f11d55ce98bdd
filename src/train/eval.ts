/**
 * Held-out evaluation during and after training, in bits per character, and the unigram baseline it is compared
 * with.
 *
 * - The mask predictor is scored by the upper bound on the negative log-likelihood (Eq. 4), estimated with the
 *   low-variance Eq. 6 estimator of `loss_bound.ts` ({@link estimateConditionalLogLikelihood}), conditional on
 *   each sequence's context. Its masks come from a fixed seed, so every evaluation of a run sees the same masks on
 *   the same text and the curve moves only because the model does.
 * - The autoregressive twin is scored by its exact negative log-likelihood (the chain rule, one pass).
 *
 * Both score exactly the same tokens given exactly the same context. Held-out text is cut into windows the way
 * training rows are packed (documents each followed by EOS, `packing.ts`); a window's first token is its context,
 * seen by both models and scored by neither (the twin cannot score a first token it has nothing to predict it
 * from), and the rest are scored: by the mask predictor as the conditional bound on `−log p(rest | first)`, by the
 * twin exactly. For SFT sets the context is the chat prompt and the scored tokens the answer with its EOS.
 * - The baseline is a unigram model of characters: frequencies counted on the training text (add-½ smoothing so
 *   an unseen character costs a finite amount), scored as cross-entropy on the held-out characters. A model that
 *   beats it has learned something beyond letter frequencies.
 *
 * Bits per character divide the total nats by `ln 2` and by the number of characters (code points) the scored
 * tokens decode to, each scored EOS counting as one character (the end of a document or an answer), so
 * character-level and BPE models are comparable.
 *
 * @module
 */

import { estimateConditionalLogLikelihood, logSoftmaxAt } from "../llada/loss_bound.ts";
import type { LLaDAModel } from "../model/llada.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { TextPair } from "../data/synthetic.ts";
import { encodeChatPair } from "../tokenizer/chat.ts";
import { packSequences } from "../data/packing.ts";

/** Held-out sequences to evaluate, fixed for a whole run. */
export interface EvalSet {
  /** The scored tokens of each sequence (the answers, for SFT). */
  sequences: Int32Array[];
  /** The context of each sequence, seen and not scored: a window's first token, or an SFT pair's chat prompt. */
  prompts: Int32Array[];
  /** Characters the scored tokens stand for, each EOS counted as one. */
  charCount: number;
  /** The scored text itself (for the unigram baseline on exactly these characters). */
  text: string;
}

/** Options for {@link makeEvalSet}. */
export interface EvalSetOptions {
  /** Tokens per sequence. */
  length: number;
  /** Number of sequences, taken at evenly spaced offsets of the held-out token stream. */
  count: number;
}

/**
 * Cuts held-out documents into `count` windows of `length` tokens spread evenly over the whole held-out text,
 * packed as training rows are (each document followed by EOS). Each window's first token is its context and the
 * other `length − 1` are scored (see the module documentation), so `length` may be the model's
 * `max_sequence_length`.
 *
 * @throws when the held-out text has fewer than `length` tokens.
 */
export function makeEvalSet(
  texts: readonly string[],
  tokenizer: Tokenizer,
  options: EvalSetOptions,
): EvalSet {
  const { length, count } = options;
  const docs = texts.map((t) => tokenizer.encode(t));
  const tokens = docs.reduce((n, d) => n + d.length + 1, 0);
  if (tokens < length) {
    throw new Error(`the held-out text has ${tokens} tokens, fewer than one sequence of ${length}`);
  }
  const packed = packSequences(docs, length, { eosId: tokenizer.eosId });
  const n = Math.min(count, packed.rows);
  const prompts: Int32Array[] = [];
  const sequences: Int32Array[] = [];
  let text = "";
  let eosCount = 0;
  for (let i = 0; i < n; i++) {
    // Window i is row ⌊i·rows/n⌋: spread over the whole stream, never overlapping.
    const start = Math.floor((i * packed.rows) / n) * length;
    const row = packed.tokens.subarray(start, start + length);
    prompts.push(row.slice(0, 1));
    const scored = row.slice(1);
    sequences.push(scored);
    text += tokenizer.decode(scored, { skipSpecial: true });
    eosCount += scored.filter((id) => id === tokenizer.eosId).length;
  }
  return { sequences, prompts, charCount: [...text].length + eosCount, text };
}

/** An evaluation set of the first `count` held-out SFT pairs: responses (with their EOS) scored given their chat prompts. */
export function makePairEvalSet(
  pairs: readonly TextPair[],
  tokenizer: Tokenizer,
  count: number,
): EvalSet {
  const chosen = pairs.slice(0, count);
  if (chosen.length === 0) throw new Error("there are no held-out pairs to evaluate");
  const encoded = chosen.map((p) => encodeChatPair(tokenizer, p.prompt, p.response));
  const text = chosen.map((p) => p.response).join("");
  return {
    sequences: encoded.map((e) => Int32Array.from(e.response)),
    prompts: encoded.map((e) => Int32Array.from(e.prompt)),
    // The EOS closing each response is scored too; count it as one character (the end of the answer).
    charCount: [...text].length + chosen.length,
    text,
  };
}

/** Settings of {@link heldOutBitsPerChar}. */
export interface HeldOutOptions {
  /** Monte Carlo samples per sequence for the bound (default 16). */
  mcSamples?: number;
  /** Rows per network call (default 64). */
  batchSize?: number;
  /** Seed of the masks (default 0; keep it fixed within a run). */
  seed?: number;
}

/**
 * The held-out score in bits per character: the Eq. 4 bound for the mask predictor, the exact NLL for the
 * autoregressive twin, both of the scored tokens given their context.
 */
export async function heldOutBitsPerChar(
  model: LLaDAModel,
  set: EvalSet,
  options: HeldOutOptions = {},
): Promise<number> {
  return (await heldOutEstimate(model, set, options)).bitsPerChar;
}

/** What {@link heldOutEstimate} returns. */
export interface HeldOutEstimate {
  /** The score of {@link heldOutBitsPerChar}, bits per character. */
  bitsPerChar: number;
  /**
   * Its standard error from the spread between sequences (`√n ·` their standard deviation, over the characters):
   * how much the score would move with other held-out text of the same kind, Monte Carlo noise included. `NaN`
   * for a single sequence.
   */
  stdErr: number;
}

/** {@link heldOutBitsPerChar} with its standard error over the sequences of the set. */
export async function heldOutEstimate(
  model: LLaDAModel,
  set: EvalSet,
  options: HeldOutOptions = {},
): Promise<HeldOutEstimate> {
  const mcSamples = options.mcSamples ?? 16;
  const batchSize = options.batchSize ?? 64;
  const seed = options.seed ?? 0;
  const maskId = model.config.mask_token_id;
  let nats: number[];
  if (model.causal) {
    nats = await autoregressiveNats(model, set, batchSize);
  } else {
    nats = [];
    for (let j = 0; j < set.sequences.length; j++) {
      const est = await estimateConditionalLogLikelihood(
        model,
        Array.from(set.prompts[j]),
        Array.from(set.sequences[j]),
        { maskId, mcSamples, batchSize: Math.min(batchSize, mcSamples), seed: seed + j },
      );
      nats.push(-est.logLikelihood);
    }
  }
  const n = nats.length;
  const total = nats.reduce((a, b) => a + b, 0);
  const mean = total / n;
  const variance = nats.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  const perChar = 1 / Math.LN2 / set.charCount;
  return { bitsPerChar: total * perChar, stdErr: n > 1 ? Math.sqrt(n * variance) * perChar : NaN };
}

/** Exact negative log-likelihood (nats) of each sequence of the set under the causal twin, given its context. */
async function autoregressiveNats(model: LLaDAModel, set: EvalSet, batchSize: number): Promise<number[]> {
  const V = model.vocabSize;
  const nats = new Array<number>(set.sequences.length).fill(0);
  // Input = context ‖ s[0 … L−2]; position (context length − 1 + i) predicts s[i]. The last token is never input.
  const rows = set.sequences.map((s, j) => {
    const context = Array.from(set.prompts[j]);
    return {
      input: Int32Array.from([...context, ...s.subarray(0, s.length - 1)]),
      first: context.length - 1,
      s,
      j,
    };
  });
  // Rows of equal length go through the network together.
  const byLength = new Map<number, typeof rows>();
  for (const r of rows) byLength.set(r.input.length, [...(byLength.get(r.input.length) ?? []), r]);
  for (const [T, group] of byLength) {
    for (let start = 0; start < group.length; start += batchSize) {
      const chunk = group.slice(start, start + batchSize);
      const tokens = new Int32Array(chunk.length * T);
      chunk.forEach((r, i) => tokens.set(r.input, i * T));
      const logits = await model.logits(tokens, chunk.length, T);
      chunk.forEach((r, i) => {
        for (let k = 0; k < r.s.length; k++) {
          nats[r.j] -= logSoftmaxAt(logits, (i * T + r.first + k) * V, V, r.s[k]);
        }
      });
    }
  }
  return nats;
}

/** The unigram baseline of {@link unigramBaseline}. */
export interface UnigramBaseline {
  /** Entropy of the training text's character distribution, bits/char. */
  trainEntropy: number;
  /** Cross-entropy of the held-out characters under that distribution (add-½ smoothed), bits/char. */
  validCrossEntropy: number;
  /** Number of held-out characters scored. */
  validChars: number;
}

/**
 * Unigram model of characters: counts on `trainText`, add-½ smoothing over the characters of both texts, entropy
 * on the training text and cross-entropy on `validText`, in bits per character.
 */
export function unigramBaseline(trainText: string, validText: string): UnigramBaseline {
  const counts = new Map<string, number>();
  let trainChars = 0;
  for (const ch of trainText) {
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
    trainChars++;
  }
  if (trainChars === 0) throw new Error("unigramBaseline: the training text is empty");
  let trainEntropy = 0;
  for (const c of counts.values()) trainEntropy -= (c / trainChars) * Math.log2(c / trainChars);
  const symbols = new Set([...counts.keys(), ...validText]);
  const alpha = 0.5;
  const total = trainChars + alpha * symbols.size;
  let bits = 0;
  let validChars = 0;
  for (const ch of validText) {
    bits -= Math.log2(((counts.get(ch) ?? 0) + alpha) / total);
    validChars++;
  }
  if (validChars === 0) throw new Error("unigramBaseline: the held-out text is empty");
  return { trainEntropy, validCrossEntropy: bits / validChars, validChars };
}

/**
 * Unigram model of tokens: counts over `trainTokens` (the packed training rows, EOS included), add-½ smoothing
 * over the vocabulary, scored as cross-entropy on exactly the tokens `evalSet` scores, in bits per character of
 * those tokens (the characters the bound and the twin's NLL are measured on). With a BPE tokenizer this, not the
 * character unigram, is where a network that ignores its context lands: a mask predictor whose bound sits here
 * has learned token frequencies only.
 *
 * @param trainTokens token ids of the training data.
 * @param vocabSize the tokenizer's vocabulary size (every id is below it).
 * @param evalSet the held-out set whose scored tokens are counted.
 * @returns bits per character.
 */
export function tokenUnigramBaseline(trainTokens: Int32Array, vocabSize: number, evalSet: EvalSet): number {
  if (trainTokens.length === 0) throw new Error("tokenUnigramBaseline: no training tokens");
  const counts = new Float64Array(vocabSize);
  for (const id of trainTokens) counts[id]++;
  const alpha = 0.5;
  const total = trainTokens.length + alpha * vocabSize;
  let bits = 0;
  for (const sequence of evalSet.sequences) {
    for (const id of sequence) bits -= Math.log2((counts[id] + alpha) / total);
  }
  return bits / evalSet.charCount;
}
