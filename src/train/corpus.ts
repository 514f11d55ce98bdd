/**
 * Turning a corpus name into training data: documents, a deterministic train/validation split, a tokenizer,
 * packed (or SFT-padded) training rows and held-out texts.
 *
 * The trainer, the CLI and the demo all prepare data here, so a run, its resumption and a later `eval` agree on
 * which documents were held out and which ids the characters got. Everything depends only on the corpus, the
 * split seed and the settings below, never on the order files were read in.
 *
 * Corpora:
 * - `brown`: the 500 Brown documents (`data/brown.ts`), held out by document;
 * - `tang`: regular Tang poems (`data/tang.ts`), one poem per document; for SFT, couplets (first line → second);
 * - `copy` (also `synthetic`): the copy task of `data/synthetic.ts`, one example per document for pre-training,
 *   prompt/response pairs for SFT;
 * - `reversal`: the invented facts of the reversal experiment (`data/reversal.ts`), split as its protocol says,
 *   not at random: pre-training reads every fact forward (held out: facts of the same kind that are not in the
 *   task); SFT tunes on 90 % of the facts asked both ways and holds out the questions of the other 10 %, both ways;
 * - any other name is a UTF-8 text file: paragraphs (blank-line separated) are documents; for SFT every
 *   non-empty line is `prompt<TAB>response`.
 *
 * The vocabulary of a character tokenizer is read off the whole corpus (training and validation text), so a
 * held-out character never makes evaluation fail; it only tells the model which symbols exist, not how often
 * they occur. A BPE tokenizer is trained on the training split only.
 *
 * @module
 */

import { InputError } from "../errors.ts";
import { loadBrown } from "../data/brown.ts";
import { loadTangPoems, tangCouplets } from "../data/tang.ts";
import { copyTask, type TextPair } from "../data/synthetic.ts";
import { syntheticReversalTask, testQuestions, tuningPairs } from "../data/reversal.ts";
import { splitTrainValid } from "../data/split.ts";
import { packSequences, type TokenRows } from "../data/packing.ts";
import { padSftPairs, type SftRows } from "../data/sft.ts";
import { CharTokenizer } from "../tokenizer/char.ts";
import { trainBpe } from "../tokenizer/bpe.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { Objective } from "./step.ts";
import { encodeChatPair } from "../tokenizer/chat.ts";

/** The corpora known by name; anything else is read as a file path. */
export const CORPUS_NAMES = ["brown", "tang", "copy", "reversal", "synthetic"] as const;

/** Settings that determine the prepared data. They are saved with a run so that resuming rebuilds the same data. */
export interface CorpusSettings {
  /** A name of {@link CORPUS_NAMES} or a path to a text file. */
  corpus: string;
  /** `"pretrain"`/`"autoregressive"` pack documents; `"sft"` pads prompt/response pairs. */
  objective: Objective;
  /** Tokens per training row. For SFT, the padded row length (pairs longer than this are an error). */
  seqLength: number;
  /** `"char"` (default) or `"bpe"`. */
  tokenizer?: Tokenizer["type"];
  /** Vocabulary size of a BPE tokenizer (default 512), or the most symbols a character tokenizer keeps. */
  vocabSize?: number;
  /** Seed of the train/validation split and of the synthetic generators. */
  splitSeed: number;
  /** Fraction of documents held out (default 0.1). */
  validFraction?: number;
  /** Number of synthetic examples (default 2000). */
  syntheticCount?: number;
}

/** Prepared data: the tokenizer, training rows and the held-out texts. */
export interface PreparedCorpus {
  /** The tokenizer every row was encoded with. */
  tokenizer: Tokenizer;
  /** Training rows `[rows, seqLength]` (with `promptLengths` for SFT). */
  train: TokenRows | SftRows;
  /** Training documents as text (for the unigram baseline). */
  trainTexts: string[];
  /** Held-out documents as text (for the bound). */
  validTexts: string[];
  /** Held-out SFT pairs (prompt, response), for conditional-likelihood checks; empty unless SFT. */
  validPairs: TextPair[];
  /** A one-line description, e.g. `brown: 450 train / 50 valid documents, 5.3M characters`. */
  description: string;
}

/**
 * Reads the documents (or SFT pairs) of a corpus.
 *
 * @throws a one-line error when a file does not exist or the corpus name is unknown and no such file exists.
 */
export async function readCorpus(
  settings: Pick<CorpusSettings, "corpus" | "objective" | "splitSeed" | "syntheticCount">,
): Promise<{ docs: string[]; pairs: TextPair[] | null; heldOut?: { docs: string[]; pairs: TextPair[] } }> {
  const { corpus, objective } = settings;
  const count = settings.syntheticCount ?? 2000;
  const sft = objective === "sft";
  const fromPairs = (pairs: TextPair[]) =>
    sft ? { docs: [], pairs } : { docs: pairs.map((p) => p.prompt + p.response), pairs: null };
  switch (corpus) {
    case "brown": {
      if (sft) throw new Error("the brown corpus has no prompt/response pairs; use --objective pretrain");
      return { docs: (await loadBrown()).map((d) => d.text), pairs: null };
    }
    case "tang": {
      const poems = await loadTangPoems();
      if (!sft) return { docs: poems.map((p) => p.text + "\n"), pairs: null };
      return { docs: [], pairs: tangCouplets(poems).map((c) => ({ prompt: c.first, response: c.second })) };
    }
    case "synthetic":
    case "copy":
      return fromPairs(copyTask({ count, length: 8, seed: settings.splitSeed }));
    case "reversal": {
      const testCount = Math.max(1, Math.round(count / 10));
      const task = syntheticReversalTask({ count, testCount, seed: settings.splitSeed });
      // Facts never trained on, of the same kind, are the pre-training's held-out text (every task fact is seen).
      const unseen = syntheticReversalTask({ count: testCount + 1, testCount, seed: settings.splitSeed + 1 });
      const heldOut = {
        docs: unseen.documents,
        pairs: testQuestions(task).map((q) => ({ prompt: q.prompt, response: q.expected })),
      };
      return sft
        ? { docs: [], pairs: tuningPairs(task), heldOut }
        : { docs: task.documents, pairs: null, heldOut };
    }
  }
  let text: string;
  try {
    text = await Deno.readTextFile(corpus);
  } catch (e) {
    const fix = `give one of ${CORPUS_NAMES.join(", ")}, or the path of a UTF-8 text file`;
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(
        `corpus ${JSON.stringify(corpus)}`,
        `is neither one of ${CORPUS_NAMES.join(", ")} nor an existing file`,
        fix,
      );
    }
    if (e instanceof Deno.errors.IsADirectory) {
      throw new InputError(`corpus ${corpus}`, "is a directory, not a text file", fix);
    }
    throw new InputError(`corpus ${corpus}`, `cannot be read (${(e as Error).message})`, fix);
  }
  if (sft) {
    const pairs: TextPair[] = [];
    text.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      const tab = line.indexOf("\t");
      if (tab < 0) {
        throw new Error(`${corpus}:${i + 1}: an SFT file needs one "prompt<TAB>response" pair per line`);
      }
      pairs.push({ prompt: line.slice(0, tab), response: line.slice(tab + 1) });
    });
    if (pairs.length < 2) {
      throw new Error(`${corpus}: an SFT file needs at least two pairs (one is held out)`);
    }
    return { docs: [], pairs };
  }
  const docs = text.split(/\n[ \t]*\n/).map((d) => d.trim()).filter((d) => d.length > 0).map((d) => d + "\n");
  if (docs.length < 2) {
    throw new Error(
      `${corpus}: needs at least two paragraphs (separated by blank lines) so one can be held out`,
    );
  }
  return { docs, pairs: null };
}

/**
 * Builds the tokenizer: characters of every text (sorted by code point; Tang keeps the 4,000 most frequent
 * characters plus an unknown symbol, or `vocabSize` of them), or a BPE trained on the training texts.
 */
export function buildTokenizer(
  settings: Pick<CorpusSettings, "corpus" | "tokenizer" | "vocabSize">,
  allTexts: readonly string[],
  trainTexts: readonly string[],
): Tokenizer {
  if ((settings.tokenizer ?? "char") === "bpe") {
    return trainBpe(trainTexts, { vocabSize: settings.vocabSize ?? 512 });
  }
  const limit = settings.vocabSize ?? (settings.corpus === "tang" ? 4000 : undefined);
  if (limit === undefined) return CharTokenizer.fromTexts(allTexts);
  return CharTokenizer.fromTexts(allTexts, { maxSymbols: limit, unknown: "□" });
}

/** The share of documents (or pairs) held out when the settings do not say. */
const DEFAULT_VALID_FRACTION = 0.1;

/**
 * The held-out documents of a corpus, split exactly as {@link prepareCorpus} splits it for pre-training: what
 * a run with these settings evaluated on (`llada eval --heldout`, the shipped models' report).
 */
export async function heldOutDocuments(
  settings: Pick<CorpusSettings, "corpus" | "splitSeed" | "validFraction">,
): Promise<string[]> {
  const { docs } = await readCorpus({ ...settings, objective: "pretrain" });
  const validFraction = settings.validFraction ?? DEFAULT_VALID_FRACTION;
  return splitTrainValid(docs, { validFraction, seed: settings.splitSeed }).valid;
}

/**
 * Prepares a corpus for training: reads it, splits documents (or pairs) into training and validation sets with
 * `splitSeed`, builds the tokenizer, and packs (pre-training) or pads (SFT) the training side into rows.
 *
 * @param settings see {@link CorpusSettings}.
 * @param tokenizer reuse this tokenizer (fine-tuning a model keeps its vocabulary) instead of building one.
 */
export async function prepareCorpus(
  settings: CorpusSettings,
  tokenizer?: Tokenizer,
): Promise<PreparedCorpus> {
  const { seqLength } = settings;
  if (!Number.isInteger(seqLength) || seqLength < 2) {
    throw new Error(`seqLength must be an integer ≥ 2, got ${seqLength}`);
  }
  const { docs, pairs, heldOut } = await readCorpus(settings);
  const validFraction = settings.validFraction ?? DEFAULT_VALID_FRACTION;
  if (pairs) {
    const split = heldOut
      ? { train: pairs, valid: heldOut.pairs }
      : splitTrainValid(pairs, { validFraction, seed: settings.splitSeed });
    const texts = [...pairs, ...split.valid].map((p) => p.prompt + p.response);
    const tok = tokenizer ?? buildTokenizer(settings, texts, split.train.map((p) => p.prompt + p.response));
    const rows = padSftPairs(split.train.map((p) => encodeChatPair(tok, p.prompt, p.response)), {
      length: seqLength,
      eosId: tok.eosId,
    });
    return {
      tokenizer: tok,
      train: rows,
      trainTexts: split.train.map((p) => p.response),
      validTexts: split.valid.map((p) => p.response),
      validPairs: split.valid,
      description:
        `${settings.corpus} (SFT): ${split.train.length} train / ${split.valid.length} valid pairs, ` +
        `rows of ${seqLength} tokens`,
    };
  }
  const split = heldOut
    ? { train: docs, valid: heldOut.docs }
    : splitTrainValid(docs, { validFraction, seed: settings.splitSeed });
  const tok = tokenizer ?? buildTokenizer(settings, [...docs, ...(heldOut?.docs ?? [])], split.train);
  const rows = packSequences(split.train.map((d) => tok.encode(d)), seqLength, { eosId: tok.eosId });
  const chars = split.train.reduce((n, d) => n + d.length, 0);
  return {
    tokenizer: tok,
    train: rows,
    trainTexts: split.train,
    validTexts: split.valid,
    validPairs: [],
    description: `${settings.corpus}: ${split.train.length} train / ${split.valid.length} valid documents, ` +
      `${formatCount(chars)} training characters, ${rows.rows} rows of ${seqLength} tokens, ` +
      `vocabulary ${tok.vocabSize}`,
  };
}

/** `5312345` → `"5.31M"`, `12345` → `"12.3k"`. */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}
