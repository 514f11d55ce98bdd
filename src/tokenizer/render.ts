/**
 * Drawing token ids as one line of text with the masks visible: the form a denoising trace is shown in.
 *
 * @module
 */

import { isSpecialId } from "./special.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** How {@link renderCanvas} draws special tokens. */
export interface RenderOptions {
  /** Drawn for each masked position (default `▒`). */
  maskChar?: string;
}

/**
 * Draws token ids as one line of text: masked positions as `▒` (one per token), EOS as `¶`, other special
 * tokens as `·`, newlines as `↵` and tabs as `→`, so a denoising trace keeps one line per step.
 */
export function renderCanvas(
  tokenizer: Tokenizer,
  ids: readonly number[],
  options: RenderOptions = {},
): string {
  const mask = options.maskChar ?? "▒";
  let out = "";
  for (const id of ids) {
    if (id === tokenizer.maskId) out += mask;
    else if (id === tokenizer.eosId) out += "¶";
    else if (isSpecialId(id)) out += "·";
    else out += tokenizer.decode([id]).replaceAll("\n", "↵").replaceAll("\t", "→");
  }
  return out;
}
