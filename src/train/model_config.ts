/**
 * The parts of a new network's LLaDA config that do not come from a preset's numbers: its shape's field names, and
 * the fields its tokenizer decides. The CLI, the demo and the experiments build their models from these.
 *
 * @module
 */

import { paddedEmbeddingSize } from "../model/config.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";

/** Network shape of a preset (LLaDA field names). */
export interface ModelShape {
  d_model: number;
  n_layers: number;
  n_heads: number;
  mlp_hidden_size: number;
}

/** The fields of a LLaDA config that a tokenizer decides: the vocabulary (padded, see paddedEmbeddingSize) and the special ids. */
export function tokenizerConfig(tokenizer: Tokenizer): {
  vocab_size: number;
  embedding_size: number;
  mask_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
} {
  return {
    vocab_size: tokenizer.vocabSize,
    embedding_size: paddedEmbeddingSize(tokenizer.vocabSize),
    mask_token_id: tokenizer.maskId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
  };
}
