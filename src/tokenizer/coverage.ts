/**
 * Which characters of a text a tokenizer can encode, for code that scores arbitrary text (`llada eval --file`).
 *
 * The policy, per tokenizer: a byte-level BPE tokenizer encodes every string (byte fallback); a character
 * tokenizer with an `unknown` symbol maps unseen characters to it; a character tokenizer without one refuses
 * them (`encode` throws, naming the character). Scoring a file with the last kind leaves those characters out
 * and says how many: a model cannot be scored on characters it has no id for, and silently replacing them would
 * change the text being scored.
 *
 * @module
 */

import { CharTokenizer } from "./char.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** What {@link keepEncodable} kept and left out. */
export interface EncodableText {
  /** The text without the characters the tokenizer cannot encode. */
  text: string;
  /** Each character left out, with how often it occurred (in order of first occurrence). */
  leftOut: Map<string, number>;
  /** How many characters were left out in all. */
  leftOutCount: number;
}

/**
 * `text` without the characters `tokenizer` cannot encode (see the module documentation for the policy).
 *
 * @example
 * const tok = CharTokenizer.fromTexts("abc ");
 * keepEncodable(tok, "a café").text; // "a ca" (é and f left out)
 */
export function keepEncodable(tokenizer: Tokenizer, text: string): EncodableText {
  const leftOut = new Map<string, number>();
  if (!(tokenizer instanceof CharTokenizer) || tokenizer.unknown !== null) {
    return { text, leftOut, leftOutCount: 0 };
  }
  const known = new Set(tokenizer.symbols);
  let kept = "";
  let leftOutCount = 0;
  for (const ch of text) {
    if (known.has(ch)) {
      kept += ch;
    } else {
      leftOut.set(ch, (leftOut.get(ch) ?? 0) + 1);
      leftOutCount++;
    }
  }
  return { text: kept, leftOut, leftOutCount };
}
