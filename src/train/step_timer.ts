/**
 * Timing full training steps: the demo plans its run from it, and `llada bench` and `bench/` report it.
 *
 * A step is what the trainer runs (masking, forward, loss, backward, clipping, AdamW) and reads the loss back
 * once, as the trainer does. The first steps compile the WebGPU pipelines and fill the buffer pools, so they are
 * run untimed before the timed ones.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { createModel } from "../model/llada.ts";
import type { LLaDAConfig } from "../model/config.ts";
import { AdamW } from "../optim/adamw.ts";
import { Rng } from "../rng.ts";
import type { MaskCount, TimeSampling } from "../llada/forward_masking.ts";
import { type TokenBatch, trainStep } from "./step.ts";

/** What {@link timeTrainSteps} runs. */
export interface StepTiming {
  /** The network (LLaDA config fields); a throwaway copy is built, so no run's weights are touched. */
  config: Partial<LLaDAConfig>;
  backend: Backend;
  /** The batch of each step, drawn from the generator given. */
  batch: (rng: Rng) => TokenBatch;
  /** Untimed steps first (default 2). */
  warmup?: number;
  /** Timed steps (default 5). */
  steps?: number;
  /** Pre-training masks (default: the official i.i.d. times and independent masks). */
  timeSampling?: TimeSampling;
  maskCount?: MaskCount;
  /** Seed of the throwaway weights (default 0) and of the masks and batches (default 1). */
  seed?: number;
  rngSeed?: number;
}

/** Seconds per pre-training step, the mean over the timed steps, and the model's parameter count. */
export async function timeTrainSteps(t: StepTiming): Promise<{ secondsPerStep: number; params: number }> {
  const model = await createModel(t.config, { seed: t.seed ?? 0, backend: t.backend });
  const optimizer = new AdamW(model.namedParameters(), { lr: 1e-3 });
  const rng = new Rng(t.rngSeed ?? 1);
  const step = async () => {
    const r = trainStep(model, optimizer, t.batch(rng), {
      objective: "pretrain",
      lr: 1e-3,
      clip: 1,
      rng,
      randomLength: false,
      timeSampling: t.timeSampling,
      maskCount: t.maskCount,
    });
    await r.loss.item();
    r.loss.dispose();
    r.gradNorm?.dispose();
  };
  const warmup = t.warmup ?? 2;
  const steps = t.steps ?? 5;
  for (let i = 0; i < warmup; i++) await step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const secondsPerStep = (performance.now() - t0) / 1000 / steps;
  const params = model.parameterCount;
  optimizer.dispose();
  model.dispose();
  return { secondsPerStep, params };
}

/** One line of a training-step benchmark (printed as JSON by `llada bench` and `deno task bench`). */
export interface TrainStepBench {
  bench: "train_step";
  config: string;
  backend: string;
  device: string;
  params: number;
  batch: number;
  length: number;
  steps: number;
  ms_per_step: number;
  tokens_per_s: number;
}

/**
 * Tokens per second of full pre-training steps on random tokens, as one benchmark record.
 *
 * @param label the name of the network in the record (e.g. a size preset).
 */
export async function measureTrainStep(
  backend: Backend,
  config: Partial<LLaDAConfig> & { vocab_size: number },
  { label, batch, length, warmup = 2, steps = 5 }: {
    label: string;
    batch: number;
    length: number;
    warmup?: number;
    steps?: number;
  },
): Promise<TrainStepBench> {
  const { secondsPerStep, params } = await timeTrainSteps({
    config,
    backend,
    warmup,
    steps,
    // One fixed batch of random content ids (2 … vocab_size − 1), drawn once like the benchmark always has.
    batch: (() => {
      let fixed: TokenBatch | undefined;
      return (rng) =>
        fixed ??= {
          tokens: Int32Array.from({ length: batch * length }, () => rng.int(2, config.vocab_size - 1)),
          batch,
          length,
        };
    })(),
  });
  return {
    bench: "train_step",
    config: label,
    backend: backend.name,
    device: backend.description,
    params,
    batch,
    length,
    steps,
    ms_per_step: round2(secondsPerStep * 1000),
    tokens_per_s: round2((batch * length) / secondsPerStep),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
