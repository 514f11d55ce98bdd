/**
 * Model-level benchmarks: a full LLaDA pre-training step and the sampler, on the `tiny` network.
 *
 * `tiny` = d_model 128, 4 layers, 4 heads, MLP 384, vocabulary 256, sequence 128, batch 16 (the reference shape,
 * also measured for PyTorch and tfjs on this machine). Each prints one JSON object per line;
 * times are wall-clock over several steps after warm-up (the first steps compile shaders and fill pools).
 *
 * @module
 */

import type { Backend } from "../src/backend/backend.ts";
import { createModel } from "../src/model/llada.ts";
import { Rng } from "../src/rng.ts";
import { measureTrainStep } from "../src/train/step_timer.ts";
import { generate } from "../src/llada/reverse_sampling.ts";

/** The `tiny` configuration (LLaDA config field names). */
export const TINY = {
  d_model: 128,
  n_layers: 4,
  n_heads: 4,
  mlp_hidden_size: 384,
  vocab_size: 256,
  max_sequence_length: 128,
  mask_token_id: 0,
  eos_token_id: 1,
};

/**
 * Tokens per second of a full pre-training step (masking, forward, 1/p-weighted loss, backward, clipping,
 * AdamW), reading the loss back once per step as the trainer does (`src/train/step_timer.ts`). Prints one JSON
 * line and returns it.
 *
 * @param config the network (LLaDA config fields; default {@link TINY}), named `label` in the output.
 */
export async function benchTrainStep(
  backend: Backend,
  {
    config = TINY as Record<string, number>,
    label = "tiny",
    batch = 16,
    length = 128,
    warmup = 2,
    steps = 5,
  } = {},
) {
  const result = await measureTrainStep(backend, { ...config, vocab_size: config.vocab_size }, {
    label,
    batch,
    length,
    warmup,
    steps,
  });
  console.log(JSON.stringify(result));
  return result;
}

/**
 * Sampling throughput on the `tiny` network (random weights): generated tokens per second and network
 * evaluations, for the fixed schedule (one token per step) and for threshold decoding.
 */
export async function benchGenerate(backend: Backend, { batch = 4, prompt = 32, genLength = 64 } = {}) {
  const model = await createModel(TINY, { seed: 0, backend });
  const rng = new Rng(2);
  const prompts = Array.from({ length: batch }, () => Array.from({ length: prompt }, () => rng.int(2, 255)));
  const results = [];
  for (
    const [schedule, options] of [
      ["fixed", { steps: genLength, blockLength: 32 }],
      ["threshold_0.9", { threshold: 0.9, blockLength: 32 }],
    ] as const
  ) {
    await generate(model, prompts.slice(0, 1), { genLength: 32, steps: 32, maskId: 0 }); // warm-up
    const t0 = performance.now();
    const { nfe } = await generate(model, prompts, { genLength, maskId: 0, ...options });
    const seconds = (performance.now() - t0) / 1000;
    const result = {
      bench: "generate",
      config: "tiny",
      backend: backend.name,
      schedule,
      batch,
      gen_length: genLength,
      nfe,
      tokens_per_s: round((batch * genLength) / seconds),
    };
    console.log(JSON.stringify(result));
    results.push(result);
  }
  model.dispose();
  return results;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
