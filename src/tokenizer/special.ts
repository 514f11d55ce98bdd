/**
 * LLaDA's special tokens and the fixed ids they occupy at the start of every vocabulary.
 *
 * Every tokenizer in llada-ts reserves the same first {@link NUM_SPECIAL_TOKENS} ids, so a model, a checkpoint's
 * `config.json` (`mask_token_id`, `eos_token_id`) and the LLaDA modules can name them without asking which
 * tokenizer produced the ids:
 *
 * | id | string          | role |
 * |----|-----------------|------|
 * | 0  | `<|mdm_mask|>`  | the mask token `M` of the forward process; never produced by encoding text |
 * | 1  | `<|eos|>`       | end of sequence; also the padding token (LLaDA pads SFT answers with EOS and learns to emit it) |
 * | 2  | `<|bos|>`       | beginning of sequence; opens every chat prompt |
 * | 3  | `<|user|>`      | marks the start of a user turn (SFT chat template) |
 * | 4  | `<|assistant|>` | marks the start of an assistant turn; the answer follows it |
 *
 * Content tokens (characters, bytes, BPE merges) start at id {@link NUM_SPECIAL_TOKENS}.
 *
 * Left out on purpose: parsing special-token strings out of user text. `encode("<|eos|>")` gives the ids of
 * the seven characters, never id 1; special ids enter a sequence only through code (packing, the chat
 * template), so a prompt cannot smuggle in a mask or an end of sequence.
 *
 * @module
 */

import type { DecodeOptions } from "./tokenizer.ts";

/** Id of the mask token `M` (`<|mdm_mask|>`). */
export const MASK_ID = 0;
/** Id of the end-of-sequence token (`<|eos|>`), also used as padding. */
export const EOS_ID = 1;
/** Id of the beginning-of-sequence token (`<|bos|>`). */
export const BOS_ID = 2;
/** Id of the user-turn marker (`<|user|>`). */
export const USER_ID = 3;
/** Id of the assistant-turn marker (`<|assistant|>`). */
export const ASSISTANT_ID = 4;
/** Padding is EOS, as in LLaDA's SFT: padded answers teach the model to stop. */
export const PAD_ID = EOS_ID;

/** The special tokens' strings, indexed by id: `SPECIAL_TOKENS[MASK_ID] === "<|mdm_mask|>"`. */
export const SPECIAL_TOKENS: readonly string[] = Object.freeze([
  "<|mdm_mask|>",
  "<|eos|>",
  "<|bos|>",
  "<|user|>",
  "<|assistant|>",
]);

/** Number of reserved ids; the first content token has this id. */
export const NUM_SPECIAL_TOKENS = SPECIAL_TOKENS.length;

/** True when `id` is one of the reserved special ids. */
export function isSpecialId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < NUM_SPECIAL_TOKENS;
}

/**
 * Throws a clear error unless `id` is an integer in `[0, vocabSize)`; both tokenizers' `decode` use it, so a
 * model that emits an id past the vocabulary is caught where the text is made, not as a garbled string later.
 *
 * @param who the caller's name for the message, e.g. `"CharTokenizer.decode"`.
 * @param position the index of `id` in the decoded array.
 */
export function checkTokenId(id: number, vocabSize: number, who: string, position: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new Error(`${who}: id ${id} at position ${position} is outside the vocabulary [0, ${vocabSize})`);
  }
}

/**
 * What the two tokenizers share: the special ids as fields (`Tokenizer.maskId`, …) and `decode`, which checks
 * every id, writes special ids as their strings (`<|eos|>`, or nothing with `skipSpecial`) and leaves each run of
 * content ids between them to the tokenizer's {@link contentText}.
 */
export abstract class TokenizerWithSpecials {
  /** Id of the mask token `M`. */
  readonly maskId = MASK_ID;
  /** Id of end of sequence. */
  readonly eosId = EOS_ID;
  /** Id used to pad (EOS). */
  readonly padId = PAD_ID;
  /** Id of beginning of sequence. */
  readonly bosId = BOS_ID;
  /** Id of the user-turn marker. */
  readonly userId = USER_ID;
  /** Id of the assistant-turn marker. */
  readonly assistantId = ASSISTANT_ID;
  /** Number of ids, special tokens included. */
  abstract readonly vocabSize: number;

  /** The text of a run of content ids (a tokenizer that decodes bytes needs the whole run at once). */
  protected abstract contentText(run: number[]): string;

  /** The text of `ids`; special ids become their strings (`<|eos|>`) unless `options.skipSpecial`. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const parts: string[] = [];
    let run: number[] = []; // content ids since the last special id
    const flush = () => {
      if (run.length > 0) parts.push(this.contentText(run));
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      checkTokenId(id, this.vocabSize, `${this.constructor.name}.decode`, i);
      if (id < NUM_SPECIAL_TOKENS) {
        flush();
        if (!options.skipSpecial) parts.push(SPECIAL_TOKENS[id]);
      } else {
        run.push(id);
      }
    }
    flush();
    return parts.join("");
  }
}
