/**
 * Tokenizers: character-level and byte-level BPE, LLaDA's special tokens at fixed ids, the chat template, and
 * Hugging Face's `tokenizer.json` format they are saved in.
 *
 * @module
 */

export * from "./special.ts";
export * from "./tokenizer.ts";
export * from "./char.ts";
export * from "./bpe.ts";
export * from "./chat.ts";
export * from "./render.ts";
export * from "./coverage.ts";
export type { HfAddedToken, HfBpeModel, HfComponent, HfTokenizerJSON } from "./hf_json.ts";
