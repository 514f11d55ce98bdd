/**
 * The tiny random model the command-line tests run on: a character tokenizer over a few symbols and a one-layer
 * network of width 16, saved with its tokenizer as a model directory in a new temporary directory; and the
 * shipped recipe at the same width, for tests that start a shipped run.
 *
 * @module
 */

import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import { saveModel } from "../src/io/model_files.ts";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import { SHIPPED_RECIPE, type ShippedConfig } from "../scripts/train_shipped.ts";

/** Options of {@link saveTinyModel}. */
export interface TinyModelOptions {
  /** The characters of the tokenizer (default `"abcdefgh ?'s."`). */
  symbols?: string;
  /** Save the autoregressive twin instead of a mask predictor. */
  causal?: boolean;
}

/** Saves a tiny random model (seed 3, context 32) with its tokenizer; returns the directory and the tokenizer. */
export async function saveTinyModel(
  options: TinyModelOptions = {},
): Promise<{ dir: string; tokenizer: CharTokenizer }> {
  const tokenizer = CharTokenizer.fromTexts(options.symbols ?? "abcdefgh ?'s.");
  const dir = await Deno.makeTempDir();
  const model = await createModel({
    d_model: 16,
    n_layers: 1,
    n_heads: 2,
    mlp_hidden_size: 24,
    vocab_size: tokenizer.vocabSize,
    max_sequence_length: 32,
    mask_token_id: tokenizer.maskId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
  }, { seed: 3, backend: new CpuBackend(), causal: options.causal ?? false });
  await saveModel(dir, model, { extraFiles: { "tokenizer.json": JSON.stringify(tokenizer.toJSON()) } });
  return { dir, tokenizer };
}

/**
 * The shipped recipe shrunk to a network of width 16 on rows of 16 tokens, batch 2, a line and a checkpoint
 * every step and no evaluation before the end: for tests that start a shipped run (`startRun`) in seconds.
 */
export function tinyShippedConfig(overrides: Partial<ShippedConfig> = {}): ShippedConfig {
  return {
    ...SHIPPED_RECIPE,
    dModel: 16,
    layers: 1,
    heads: 2,
    mlp: 16,
    seqLen: 16,
    batch: 2,
    steps: 2,
    logEvery: 1,
    evalEvery: 0,
    evalSeqs: 2,
    evalSamples: 2,
    checkpointEvery: 1,
    ...overrides,
  };
}
