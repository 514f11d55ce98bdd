/**
 * Model-level benchmarks: a full LLaDA pre-training step and the sampler, on the `tiny` network, and the sampler
 * on the shipped `models/brown-char`, each with the PyTorch peer's figure when one is given (`peer.ts`).
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
import { deviceDecodingStats } from "../src/llada/device_sampling.ts";
import { loadModel } from "../src/io/model_files.ts";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import { type PeerFigure, ratio } from "./peer.ts";

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
    peer = undefined as PeerFigure | null | undefined,
  } = {},
) {
  const result = await measureTrainStep(backend, { ...config, vocab_size: config.vocab_size }, {
    label,
    batch,
    length,
    warmup,
    steps,
  });
  const output = peer === undefined ? result : { ...result, ...peerFields(result.tokens_per_s, peer) };
  console.log(JSON.stringify(output));
  return output;
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

/** The shipped model the sampling benchmark runs, and the prompt it continues. */
export const SAMPLE_MODEL = {
  name: "brown-char",
  dir: new URL("../models/brown-char", import.meta.url).pathname,
  prompt: "The jury said that ",
};

/** The sampling benchmark's schedule: the official `generate.py` defaults scaled to the model (one block). */
export const SAMPLE_SETTINGS = { genLength: 64, steps: 64, repeats: 3 };

/** The prompt's token ids under the shipped model's tokenizer. */
export async function samplePrompt(): Promise<number[]> {
  const json = JSON.parse(await Deno.readTextFile(`${SAMPLE_MODEL.dir}/tokenizer.json`));
  return CharTokenizer.fromJSON(json).encode(SAMPLE_MODEL.prompt);
}

/**
 * Sampling throughput of the shipped model as the official `generate.py` runs it: batch 1, 64 tokens in 64 steps,
 * one block, temperature 0, low-confidence remasking. Tokens per second over the median of `repeats` timed
 * generations after one warm-up generation; `same_tokens` says whether the peer generated the same text.
 */
export async function benchSample(backend: Backend, peer: PeerFigure | null) {
  const model = await loadModel(SAMPLE_MODEL.dir, { backend });
  const prompt = await samplePrompt();
  const { genLength, steps, repeats } = SAMPLE_SETTINGS;
  const options = { genLength, steps, maskId: model.config.mask_token_id };
  await generate(model, [prompt], options); // warm-up: compiles pipelines, fills the buffer pools
  const times: number[] = [];
  let tokens: number[] = [];
  const { runs, redone } = deviceDecodingStats;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    tokens = (await generate(model, [prompt], options)).tokens[0].slice(prompt.length);
    times.push((performance.now() - t0) / 1000);
  }
  const seconds = times.sort((a, b) => a - b)[Math.floor(repeats / 2)];
  const tokensPerS = round(genLength / seconds);
  const result = {
    bench: "sample",
    model: SAMPLE_MODEL.name,
    backend: backend.name,
    batch: 1,
    gen_length: genLength,
    steps,
    ms_per_step: round((seconds * 1000) / steps),
    tokens_per_s: tokensPerS,
    ...peerFields(tokensPerS, peer),
    same_tokens: peer?.tokens === undefined ? null : peer.tokens.every((t, i) => t === tokens[i]),
    // Generations decoded on the device, and those redone on the host for want of a certified step.
    on_device: deviceDecodingStats.runs - runs,
    redone_on_host: deviceDecodingStats.redone - redone,
  };
  model.dispose();
  console.log(JSON.stringify(result));
  return result;
}

/** The peer's figure and our ratio to it, as fields of a bench line (`null` without a peer). */
function peerFields(tokensPerS: number, peer: PeerFigure | null) {
  return {
    peer_tokens_per_s: peer === null ? null : round(peer.tokens_per_s),
    ratio: ratio(tokensPerS, peer),
    peer: peer === null ? null : { ms_per_step: round(peer.ms_per_step), blas_threads: peer.blas_threads },
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
