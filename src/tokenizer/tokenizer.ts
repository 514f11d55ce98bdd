/**
 * The contract every tokenizer meets, and loading one back from a checkpoint.
 *
 * Two tokenizers implement it: {@link CharTokenizer} (one id per character, vocabulary read off a corpus) and
 * {@link BpeTokenizer} (byte-level BPE trained here, minbpe-style). Both put LLaDA's special tokens at the fixed
 * ids of `special.ts` (mask 0, EOS/pad 1, BOS 2, user 3, assistant 4), so the rest of the library only ever
 * needs `vocabSize`, the special ids and `encode`/`decode`.
 *
 * A tokenizer is saved as plain JSON (`toJSON()`), next to a checkpoint's weights, and read back with
 * {@link tokenizerFromJSON}, which dispatches on the `type` field.
 *
 * @module
 */

import { BpeTokenizer, type BpeTokenizerJSON } from "./bpe.ts";
import { CharTokenizer, type CharTokenizerJSON } from "./char.ts";

/** Options for {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special ids instead of writing their strings (`<|mdm_mask|>`, `<|eos|>`, …). Default false. */
  skipSpecial?: boolean;
}

/** The saved form of any tokenizer: a JSON object whose `type` says which class reads it. */
export type TokenizerJSON = CharTokenizerJSON | BpeTokenizerJSON;

/** The tokenizer types, each with what it is (the keys are also the choices of `llada train --tokenizer`). */
export const TOKENIZER_TYPES: Readonly<Record<TokenizerJSON["type"], string>> = {
  char: "one id per character, the vocabulary read off the corpus",
  bpe: "byte-level BPE trained on the training split",
};

/** Maps text to token ids and back, with LLaDA's special tokens at fixed ids. */
export interface Tokenizer {
  /** Which implementation this is; also the `type` field of {@link toJSON}'s result. */
  readonly type: TokenizerJSON["type"];
  /** Number of ids, special tokens included: every id is in `[0, vocabSize)`. */
  readonly vocabSize: number;
  /** Id of the mask token `M` (0). */
  readonly maskId: number;
  /** Id of end of sequence (1). */
  readonly eosId: number;
  /** Id used to pad (equal to {@link eosId}). */
  readonly padId: number;
  /** Id of beginning of sequence (2). */
  readonly bosId: number;
  /** Id of the user-turn marker (3). */
  readonly userId: number;
  /** Id of the assistant-turn marker (4). */
  readonly assistantId: number;
  /** Token ids of `text`; never contains a special id. */
  encode(text: string): number[];
  /** Text of `ids`; special ids become their strings unless `options.skipSpecial`. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** A JSON-serialisable description from which {@link tokenizerFromJSON} rebuilds an identical tokenizer. */
  toJSON(): TokenizerJSON;
}

/**
 * Rebuilds a tokenizer saved with `toJSON()`.
 *
 * @param json the parsed JSON object (or its text).
 * @throws when `type` is missing or unknown, or the fields do not describe a valid tokenizer.
 */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  const obj = typeof json === "string" ? JSON.parse(json) : json;
  const type = (obj as { type?: unknown } | null)?.type;
  if (type === "char") return CharTokenizer.fromJSON(obj);
  if (type === "bpe") return BpeTokenizer.fromJSON(obj);
  throw new Error(
    `tokenizerFromJSON: unknown tokenizer type ${JSON.stringify(type)}; expected "char" or "bpe" ` +
      `(is this a tokenizer.json written by llada-ts?)`,
  );
}
