/**
 * Character-level tokenizer: one id per Unicode character (code point), vocabulary read off a corpus.
 *
 * Ids: `0..4` are the special tokens of `special.ts`; `5 + i` is the i-th symbol of the vocabulary, whose
 * symbols are sorted by code point, so the same corpus always gives the same ids whatever order its documents
 * came in. For the Brown corpus this is about 85 symbols (pure ASCII after detokenisation), a vocabulary of 90.
 *
 * Text outside the vocabulary is an error that names the character, its code point and its index, because a
 * silently dropped or replaced character changes what the model is scored on. A tokenizer built with an
 * `unknown` symbol instead maps every unseen character to that symbol; {@link CharTokenizer.fromTexts} can keep
 * only the most frequent characters that way (useful for Chinese, whose long tail of rare characters would
 * otherwise dominate the vocabulary).
 *
 * Left out on purpose: Unicode normalisation (NFC/NFKC), grapheme clusters (an accented letter written as two
 * code points is two tokens) and case folding. The corpora loaders decide what text looks like; this class maps
 * exactly the characters it is given.
 *
 * @module
 */

import { NUM_SPECIAL_TOKENS, SPECIAL_TOKENS, TokenizerWithSpecials } from "./special.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** The saved form of a {@link CharTokenizer}. */
export interface CharTokenizerJSON {
  type: "char";
  /** Format version, for future changes. */
  version: 1;
  /** The special tokens' strings, by id (informative: the ids are fixed by `special.ts`). */
  specialTokens: string[];
  /** Content symbols in id order: `symbols[i]` has id `NUM_SPECIAL_TOKENS + i`. */
  symbols: string[];
  /** The fallback symbol for unseen characters, or null when unseen characters are an error. */
  unknown: string | null;
}

/** Options for {@link CharTokenizer.fromTexts}. */
export interface CharVocabOptions {
  /** Keep at most this many content symbols, the most frequent ones (ties: lower code point first). */
  maxSymbols?: number;
  /** Keep only characters seen at least this many times. Default 1. */
  minCount?: number;
  /**
   * A fallback symbol for characters outside the vocabulary (it is added to the vocabulary). Without it,
   * encoding an unseen character throws.
   */
  unknown?: string;
}

/** Orders single-code-point strings by code point (JavaScript's default sort compares UTF-16 units instead). */
function byCodePoint(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

/** `U+00E9`-style name of a character's code point. */
function codePointName(ch: string): string {
  return "U+" + ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
}

/** One id per character; see the module documentation. */
export class CharTokenizer extends TokenizerWithSpecials implements Tokenizer {
  readonly type = "char" as const;
  readonly vocabSize: number;
  /** Content symbols in id order (`symbols[i]` has id `NUM_SPECIAL_TOKENS + i`). */
  readonly symbols: readonly string[];
  /** The fallback symbol for unseen characters, or null when they are an error. */
  readonly unknown: string | null;
  #ids = new Map<string, number>();
  #unknownId: number;

  /**
   * @param symbols distinct single characters (code points), in id order.
   * @param unknown optional fallback symbol; must be one of `symbols`.
   */
  constructor(symbols: readonly string[], unknown: string | null = null) {
    super();
    symbols.forEach((s, i) => {
      if (typeof s !== "string" || [...s].length !== 1) {
        throw new Error(`CharTokenizer: symbol ${i} must be exactly one character, got ${JSON.stringify(s)}`);
      }
      if (this.#ids.has(s)) throw new Error(`CharTokenizer: symbol ${JSON.stringify(s)} appears twice`);
      this.#ids.set(s, NUM_SPECIAL_TOKENS + i);
    });
    if (unknown !== null && !this.#ids.has(unknown)) {
      throw new Error(
        `CharTokenizer: the unknown symbol ${JSON.stringify(unknown)} is not among the symbols`,
      );
    }
    this.symbols = Object.freeze([...symbols]);
    this.unknown = unknown;
    this.#unknownId = unknown === null ? -1 : this.#ids.get(unknown)!;
    this.vocabSize = NUM_SPECIAL_TOKENS + symbols.length;
  }

  /**
   * Builds the vocabulary from the characters of `texts`, sorted by code point.
   *
   * @example
   * const tok = CharTokenizer.fromTexts(["hello", "world"]);
   * tok.vocabSize; // 5 special + 7 symbols (d e h l o r w) = 12
   */
  static fromTexts(texts: string | Iterable<string>, options: CharVocabOptions = {}): CharTokenizer {
    const { maxSymbols = Infinity, minCount = 1, unknown } = options;
    const counts = new Map<string, number>();
    for (const text of typeof texts === "string" ? [texts] : texts) {
      for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    // Most frequent first (ties by code point) so that `maxSymbols` keeps the common characters.
    let kept = [...counts].filter(([, c]) => c >= minCount).sort((a, b) =>
      b[1] - a[1] || byCodePoint(a[0], b[0])
    )
      .map(([ch]) => ch);
    // The fallback symbol takes one of the `maxSymbols` places if it is not a corpus character already.
    const reserve = unknown !== undefined && !kept.slice(0, maxSymbols).includes(unknown) ? 1 : 0;
    kept = kept.slice(0, Math.max(0, maxSymbols - reserve));
    if (reserve) kept.push(unknown!);
    return new CharTokenizer(kept.sort(byCodePoint), unknown ?? null);
  }

  /** Rebuilds a tokenizer from {@link toJSON}'s output. */
  static fromJSON(json: unknown): CharTokenizer {
    const j = json as Partial<CharTokenizerJSON> | null;
    if (!j || j.type !== "char" || !Array.isArray(j.symbols)) {
      throw new Error('CharTokenizer.fromJSON: expected { type: "char", symbols: [...] }');
    }
    if (j.version !== 1) {
      throw new Error(`CharTokenizer.fromJSON: unsupported version ${j.version}, expected 1`);
    }
    return new CharTokenizer(j.symbols, j.unknown ?? null);
  }

  /**
   * One id per character of `text`.
   *
   * @throws when a character is outside the vocabulary and there is no `unknown` symbol; the message names
   *   the character, its code point and its index in `text` (in UTF-16 units, as `text.slice` counts).
   */
  encode(text: string): number[] {
    const out: number[] = [];
    let index = 0;
    for (const ch of text) {
      const id = this.#ids.get(ch) ?? this.#unknownId;
      if (id < 0) {
        const context = text.slice(Math.max(0, index - 20), index + ch.length);
        throw new Error(
          `CharTokenizer.encode: character ${JSON.stringify(ch)} (${codePointName(ch)}) at index ${index} ` +
            `(after ${JSON.stringify(context.slice(0, -ch.length))}) is not in the vocabulary of ` +
            `${this.symbols.length} symbols; build the vocabulary from text that contains it, or give the ` +
            `tokenizer an \`unknown\` fallback symbol`,
        );
      }
      out.push(id);
      index += ch.length;
    }
    return out;
  }

  /** Content ids' characters. */
  protected contentText(run: number[]): string {
    return run.map((id) => this.symbols[id - NUM_SPECIAL_TOKENS]).join("");
  }

  /** The JSON form; `tokenizerFromJSON(tok.toJSON())` encodes and decodes exactly like `tok`. */
  toJSON(): CharTokenizerJSON {
    return {
      type: "char",
      version: 1,
      specialTokens: [...SPECIAL_TOKENS],
      symbols: [...this.symbols],
      unknown: this.unknown,
    };
  }
}
