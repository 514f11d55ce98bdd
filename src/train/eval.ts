/**
 * Held-out evaluation during and after training, in bits per character, and the unigram baseline it is compared
 * with.
 *
 * - The mask predictor is scored by the upper bound on the negative log-likelihood (Eq. 4), estimated with the
 *   low-variance Eq. 6 estimator of `loss_bound.ts` ({@link evaluateBound}). Its masks come from a fixed seed, so
 *   every evaluation of a run sees the same masks on the same text and the curve moves only because the model
 *   does. For SFT data the bound is the conditional one, `−log p(response | prompt)`, over the responses.
 * - The autoregressive twin is scored by its exact negative log-likelihood (the chain rule, one pass), each
 *   sequence conditioned on a leading EOS (the document boundary it saw in training), so the two numbers
 *   measure the same characters.
 * - The baseline is a unigram model of characters: frequencies counted on the training text (add-½ smoothing so
 *   an unseen character costs a finite amount), scored as cross-entropy on the held-out characters. A model that
 *   beats it has learned something beyond letter frequencies.
 *
 * Bits per character divide the total nats by `ln 2` and by the number of characters (code points) the
 * evaluated tokens decode to, so character-level and BPE models are comparable.
 *
 * @module
 */

import { estimateConditionalLogLikelihood, evaluateBound, logSoftmaxAt } from "../llada/loss_bound.ts";
import type { LLaDAModel } from "../model/llada.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { TextPair } from "../data/synthetic.ts";
import { encodeChatPair } from "../tokenizer/chat.ts";

/** Held-out sequences to evaluate, fixed for a whole run. */
export interface EvalSet {
  /** Token sequences (the answers, for SFT). */
  sequences: Int32Array[];
  /** For SFT: the prompt of each sequence (conditioned on, not scored). */
  prompts?: Int32Array[];
  /** Characters the scored tokens stand for. */
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
 * Cuts held-out documents into `count` sequences of `length` tokens spread evenly over the whole held-out text
 * (documents joined as they were packed, without EOS, so every scored token is a character of the text).
 *
 * @throws when the held-out text has fewer than `length` tokens.
 */
export function makeEvalSet(
  texts: readonly string[],
  tokenizer: Tokenizer,
  options: EvalSetOptions,
): EvalSet {
  const { length, count } = options;
  const stream = tokenizer.encode(texts.join(""));
  if (stream.length < length) {
    throw new Error(`the held-out text has ${stream.length} tokens, fewer than one sequence of ${length}`);
  }
  const available = Math.floor(stream.length / length);
  const n = Math.min(count, available);
  const sequences: Int32Array[] = [];
  let text = "";
  for (let i = 0; i < n; i++) {
    // Sequence i starts at chunk ⌊i·available/n⌋: spread over the whole stream, never overlapping.
    const start = Math.floor((i * available) / n) * length;
    const seq = Int32Array.from(stream.slice(start, start + length));
    sequences.push(seq);
    text += tokenizer.decode(seq, { skipSpecial: true });
  }
  return { sequences, charCount: [...text].length, text };
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
 * The held-out score in bits per character: the Eq. 4 bound for the mask predictor (conditional on the prompts
 * for an SFT set), the exact NLL for the autoregressive twin.
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
  } else if (!set.prompts) {
    const report = await evaluateBound(model, set.sequences, { maskId, mcSamples, batchSize, seed });
    nats = report.sequenceNats;
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

/**
 * Exact negative log-likelihood (nats) of each sequence of the set under the causal twin: each sequence is scored
 * token by token after a leading EOS (or after its prompt, for SFT sets).
 */
async function autoregressiveNats(model: LLaDAModel, set: EvalSet, batchSize: number): Promise<number[]> {
  const V = model.vocabSize;
  const eos = model.config.eos_token_id;
  const nats = new Array<number>(set.sequences.length).fill(0);
  // Input = context ‖ s[0 … L−2]; position (context length − 1 + i) predicts s[i]. The last token is never input,
  // so a sequence of max_sequence_length tokens after a one-token context still fits.
  const rows = set.sequences.map((s, j) => {
    const context = set.prompts ? Array.from(set.prompts[j]) : [eos];
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
