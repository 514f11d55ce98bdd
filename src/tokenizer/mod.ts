/**
 * Tokenizers: character-level and byte-level BPE, LLaDA's special tokens at fixed ids, and the chat template.
 *
 * @module
 */

export * from "./special.ts";
export * from "./tokenizer.ts";
export * from "./char.ts";
export * from "./bpe.ts";
export * from "./chat.ts";
