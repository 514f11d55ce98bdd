/**
 * Byte-level byte-pair encoding (BPE), trained here, in the manner of Karpathy's minbpe.
 *
 * Ids: `0..4` are the special tokens of `special.ts`; `5 + b` is the raw byte `b` (256 ids, `5..260`); merge
 * `i` creates id `261 + i`. Because every byte has an id, any string encodes (byte fallback): a character never
 * seen in training is spelled out as its UTF-8 bytes.
 *
 * Training (minbpe's `RegexTokenizer.train`):
 * 1. Split the text into chunks with a regular expression ({@link GPT4_SPLIT_PATTERN} by default), so merges
 *    never cross the boundary between a word, a number, punctuation and whitespace. Text the pattern skips
 *    becomes its own chunk, so no custom pattern can lose characters.
 * 2. Write each chunk as UTF-8 byte ids. Identical chunks are counted once with a multiplicity (a speed-up
 *    minbpe leaves out; the counts are the same).
 * 3. Repeat until the vocabulary is full: count adjacent id pairs over all chunks, take the most frequent pair
 *    (ties: the pair with the smaller first id, then the smaller second id, so training never depends on hash
 *    or insertion order), give it the next id, and replace it everywhere.
 *
 * Encoding replays the merges per chunk in the order they were learned: repeatedly merge the adjacent pair with
 * the lowest merge index until none is mergeable. Decoding concatenates the bytes and reads them as UTF-8
 * (invalid byte sequences, e.g. a multi-byte character cut in half by sampling, become U+FFFD).
 *
 * Saved as JSON: the split pattern and the list of merged pairs; the vocabulary is rebuilt from them.
 *
 * Left out on purpose (as in minbpe): Unicode normalisation, the GPT-2 byte-to-printable-character remapping
 * (ids map to raw bytes directly), incremental pair counting during training (each merge recounts all chunks:
 * slower, obviously correct), parsing special tokens out of text (see `special.ts`), and a fast encoder for
 * `pattern: null` on long texts (without a split pattern the whole text is one chunk and encoding it is
 * quadratic; use it for short strings and exercises).
 *
 * @module
 */

import { checkTokenId, NUM_SPECIAL_TOKENS, SPECIAL_TOKENS, TokenizerWithSpecials } from "./special.ts";
import type { Tokenizer } from "./tokenizer.ts";

/**
 * GPT-4's split pattern (tiktoken's `cl100k_base`), rewritten for JavaScript regular expressions:
 * the possessive quantifiers `?+` and `++` become `?` and `+` (the classes they guard exclude what follows, so
 * the matches are the same) and the case-insensitive group `(?i:[sdmt]|ll|ve|re)` is spelled out letter by
 * letter. It splits `"Hello world's 12345!!"` into `"Hello" " world" "'s" " " "123" "45" "!!"`.
 * Compiled with flags `gu`.
 */
export const GPT4_SPLIT_PATTERN = String
  .raw`'(?:[sdmtSDMT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`;

/** GPT-2's split pattern (works in JavaScript unchanged, with flags `gu`). */
export const GPT2_SPLIT_PATTERN = String
  .raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** Id of byte 0; byte `b` has id `BYTE_OFFSET + b`. */
export const BYTE_OFFSET = NUM_SPECIAL_TOKENS;
/** Id of the first merged token: specials and the 256 bytes come first. */
const FIRST_MERGE_ID = BYTE_OFFSET + 256;
/** Pairs are keyed as `left * PAIR_KEY + right`; ids stay below 2^21, so keys are exact doubles. */
const PAIR_KEY = 2 ** 21;

/** The saved form of a {@link BpeTokenizer}. */
export interface BpeTokenizerJSON {
  type: "bpe";
  /** Format version, for future changes. */
  version: 1;
  /** The special tokens' strings, by id (informative: the ids are fixed by `special.ts`). */
  specialTokens: string[];
  /** The split pattern (flags `gu`), or null to treat each text as one chunk. */
  pattern: string | null;
  /** `merges[i] = [left, right]`: the pair that merge `i` joins into id `261 + i`. */
  merges: [number, number][];
}

/** Options for {@link trainBpe}. */
export interface BpeTrainOptions {
  /** The vocabulary size to reach: specials (5) + bytes (256) + merges. At least 261. */
  vocabSize: number;
  /** Split pattern; default {@link GPT4_SPLIT_PATTERN}; null trains on whole texts (minbpe's BasicTokenizer). */
  pattern?: string | null;
}

const utf8Encoder = new TextEncoder();

/**
 * Splits `text` into the chunks that merges may not cross: every match of `re`, and every stretch between
 * matches as a chunk of its own (so the chunks always concatenate back to `text`).
 */
function splitChunks(text: string, re: RegExp | null): string[] {
  if (re === null) return text.length > 0 ? [text] : [];
  const chunks: string[] = [];
  let end = 0;
  for (const m of text.matchAll(re)) {
    if (m[0].length === 0) continue;
    if (m.index > end) chunks.push(text.slice(end, m.index));
    chunks.push(m[0]);
    end = m.index + m[0].length;
  }
  if (end < text.length) chunks.push(text.slice(end));
  return chunks;
}

/** Compiles a split pattern with flags `gu`, or explains why it cannot be used. */
function compilePattern(pattern: string | null): RegExp | null {
  if (pattern === null) return null;
  try {
    return new RegExp(pattern, "gu");
  } catch (e) {
    throw new Error(`BPE: the split pattern is not a valid JavaScript regular expression (flags gu): ${e}`);
  }
}

/** The UTF-8 bytes of `text` as byte ids (`BYTE_OFFSET + b`). */
function byteIds(text: string): number[] {
  const bytes = utf8Encoder.encode(text);
  const ids = new Array<number>(bytes.length);
  for (let i = 0; i < bytes.length; i++) ids[i] = BYTE_OFFSET + bytes[i];
  return ids;
}

/** Replaces every non-overlapping occurrence of `(left, right)` in `ids`, left to right, by `id`. */
function mergePair(ids: number[], left: number, right: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === left && ids[i + 1] === right) {
      out.push(id);
      i++;
    } else {
      out.push(ids[i]);
    }
  }
  return out;
}

/**
 * Trains a byte-level BPE tokenizer on `texts` (see the module documentation for the algorithm).
 *
 * Deterministic: the same texts and options give the same merges, whatever the platform.
 * Training stops early, with a smaller vocabulary, if no adjacent pair is left to merge.
 *
 * @example
 * const tok = trainBpe(["the cat sat on the mat"], { vocabSize: 270 }); // up to 9 merges
 * tok.decode(tok.encode("the rat")); // "the rat": unseen text still encodes, byte by byte where needed
 */
export function trainBpe(texts: string | Iterable<string>, options: BpeTrainOptions): BpeTokenizer {
  const { vocabSize, pattern = GPT4_SPLIT_PATTERN } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < FIRST_MERGE_ID || vocabSize >= PAIR_KEY) {
    throw new Error(
      `trainBpe: vocabSize must be an integer in [${FIRST_MERGE_ID}, ${PAIR_KEY}) ` +
        `(${NUM_SPECIAL_TOKENS} specials + 256 bytes + merges), got ${vocabSize}`,
    );
  }
  const re = compilePattern(pattern);

  // 1–2. Unique chunks with their multiplicities, as byte ids.
  const chunkCounts = new Map<string, number>();
  for (const text of typeof texts === "string" ? [texts] : texts) {
    for (const chunk of splitChunks(text, re)) chunkCounts.set(chunk, (chunkCounts.get(chunk) ?? 0) + 1);
  }
  let chunks: number[][] = [];
  const counts: number[] = [];
  for (const [chunk, count] of chunkCounts) {
    chunks.push(byteIds(chunk));
    counts.push(count);
  }

  // 3. Merge the most frequent pair until the vocabulary is full.
  const merges: [number, number][] = [];
  for (let id = FIRST_MERGE_ID; id < vocabSize; id++) {
    const pairCounts = new Map<number, number>();
    for (let c = 0; c < chunks.length; c++) {
      const ids = chunks[c];
      for (let i = 0; i + 1 < ids.length; i++) {
        const key = ids[i] * PAIR_KEY + ids[i + 1];
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + counts[c]);
      }
    }
    let bestKey = -1;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      // Ties go to the smaller key, i.e. the smaller (left, right) pair: independent of Map order.
      if (count > bestCount || (count === bestCount && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestKey < 0) break; // every chunk is a single token: nothing left to merge
    const left = Math.floor(bestKey / PAIR_KEY);
    const right = bestKey % PAIR_KEY;
    merges.push([left, right]);
    chunks = chunks.map((ids) => ids.length < 2 ? ids : mergePair(ids, left, right, id));
  }
  return new BpeTokenizer(merges, pattern);
}

/** Byte-level BPE with byte fallback; see the module documentation. Build one with {@link trainBpe}. */
export class BpeTokenizer extends TokenizerWithSpecials implements Tokenizer {
  readonly type = "bpe" as const;
  readonly vocabSize: number;
  /** The split pattern (flags `gu`), or null when each text is one chunk. */
  readonly pattern: string | null;
  /** `merges[i] = [left, right]`, joined into id `261 + i`. */
  readonly merges: readonly (readonly [number, number])[];
  #re: RegExp | null;
  /** Pair key → merge index (its rank: lower merges first). */
  #ranks = new Map<number, number>();
  /** Id → the bytes it stands for (empty for special ids). */
  #bytes: Uint8Array[] = [];
  /** Recently encoded chunks; encoding is deterministic, so the cache only saves time. */
  #cache = new Map<string, number[]>();
  #decoder = new TextDecoder("utf-8");

  /**
   * @param merges the learned pairs in order; `merges[i]` becomes id `261 + i` and may only use smaller ids.
   * @param pattern the split pattern used in training (flags `gu`), or null.
   */
  constructor(merges: readonly (readonly [number, number])[], pattern: string | null) {
    super();
    this.#re = compilePattern(pattern);
    this.pattern = pattern;
    for (let i = 0; i < NUM_SPECIAL_TOKENS; i++) this.#bytes.push(new Uint8Array(0));
    for (let b = 0; b < 256; b++) this.#bytes.push(Uint8Array.of(b));
    merges.forEach(([left, right], i) => {
      const id = FIRST_MERGE_ID + i;
      for (const part of [left, right]) {
        if (!Number.isInteger(part) || part < BYTE_OFFSET || part >= id) {
          throw new Error(
            `BpeTokenizer: merge ${i} = [${left}, ${right}] must join two earlier content ids in [${BYTE_OFFSET}, ${id})`,
          );
        }
      }
      const key = left * PAIR_KEY + right;
      if (this.#ranks.has(key)) {
        throw new Error(`BpeTokenizer: merge ${i} = [${left}, ${right}] repeats an earlier merge`);
      }
      this.#ranks.set(key, i);
      const a = this.#bytes[left];
      const b = this.#bytes[right];
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      this.#bytes.push(joined);
    });
    this.merges = Object.freeze(merges.map(([l, r]) => Object.freeze([l, r] as const)));
    this.vocabSize = FIRST_MERGE_ID + merges.length;
  }

  /** Rebuilds a tokenizer from {@link toJSON}'s output. */
  static fromJSON(json: unknown): BpeTokenizer {
    const j = json as Partial<BpeTokenizerJSON> | null;
    if (!j || j.type !== "bpe" || !Array.isArray(j.merges) || j.pattern === undefined) {
      throw new Error(
        'BpeTokenizer.fromJSON: expected { type: "bpe", pattern, merges: [[left, right], ...] }',
      );
    }
    if (j.version !== 1) {
      throw new Error(`BpeTokenizer.fromJSON: unsupported version ${j.version}, expected 1`);
    }
    return new BpeTokenizer(j.merges, j.pattern);
  }

  /** The bytes that token `id` stands for (empty for special ids); for showing the vocabulary. */
  tokenBytes(id: number): Uint8Array {
    checkTokenId(id, this.vocabSize, "BpeTokenizer.tokenBytes", 0);
    return this.#bytes[id].slice();
  }

  /** Token ids of any string (byte fallback: nothing is out of vocabulary). Lone surrogates encode as U+FFFD. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const chunk of splitChunks(text, this.#re)) {
      let ids = this.#cache.get(chunk);
      if (ids === undefined) {
        ids = this.#encodeChunk(chunk);
        if (this.#cache.size >= 65536) this.#cache.clear();
        this.#cache.set(chunk, ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  /** Applies the merges to one chunk, lowest merge index first, as in training. */
  #encodeChunk(chunk: string): number[] {
    let ids = byteIds(chunk);
    while (ids.length >= 2) {
      let bestRank = Infinity;
      let bestKey = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const key = ids[i] * PAIR_KEY + ids[i + 1];
        const rank = this.#ranks.get(key);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestKey = key;
        }
      }
      if (bestKey < 0) break;
      ids = mergePair(ids, Math.floor(bestKey / PAIR_KEY), bestKey % PAIR_KEY, FIRST_MERGE_ID + bestRank);
    }
    return ids;
  }

  /** Content ids' bytes, read as UTF-8 (invalid sequences become U+FFFD). */
  protected contentText(run: number[]): string {
    let n = 0;
    for (const id of run) n += this.#bytes[id].length;
    const bytes = new Uint8Array(n);
    let at = 0;
    for (const id of run) {
      bytes.set(this.#bytes[id], at);
      at += this.#bytes[id].length;
    }
    return this.#decoder.decode(bytes);
  }

  /** The JSON form; `tokenizerFromJSON(tok.toJSON())` encodes and decodes exactly like `tok`. */
  toJSON(): BpeTokenizerJSON {
    return {
      type: "bpe",
      version: 1,
      specialTokens: [...SPECIAL_TOKENS],
      pattern: this.pattern,
      merges: this.merges.map(([l, r]) => [l, r]),
    };
  }
}
