/**
 * `deno task bench`: every benchmark, one JSON object per line.
 *
 * 1. Primitives (`primitives.ts`): matmul GFLOP/s at 256/512/1024 and every other primitive at the tiny
 *    model's shapes, on WebGPU (when an adapter exists) and on the CPU.
 * 2. The model (`model_benches.ts`): a full pre-training step of the tiny LLaDA and of the demo's (the network,
 *    batch and row length `deno task demo` trains), the sampler on the tiny network, and the sampler on the
 *    shipped `models/brown-char` as the official `generate.py` runs it, on the same backends. The training steps
 *    and the shipped-model sampler carry the PyTorch peer's figure, measured just before ours in the same run, and our ratio
 *    to it (`peer.ts`; `null` without PyTorch).
 *
 * `LLADA_BENCH=primitives` or `LLADA_BENCH=model` runs one part only; `LLADA_BENCH=matmul` only the products of a
 * training step on WebGPU (GFLOP/s per shape). `--profile` runs none of them and prints
 * instead where the time of a sampling step and of a training step goes (`profile.ts`; with
 * `LLADA_BENCH=sample` or `LLADA_BENCH=train_step`, one of the two).
 *
 * @module
 */

import type { Backend } from "../src/backend/backend.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { getBackend } from "../src/backend/select.ts";
import { findAdapter } from "../src/backend/webgpu/device.ts";
import { benchPrimitives, benchTrainingMatmuls } from "./primitives.ts";
import {
  benchGenerate,
  benchSample,
  benchTrainStep,
  SAMPLE_MODEL,
  SAMPLE_SETTINGS,
  samplePrompt,
  TINY,
} from "./model_benches.ts";
import { profileAll } from "./profile.ts";
import { peerSample, peerTrainStep } from "./peer.ts";
import { DEMO } from "../src/demo.ts";

const only = Deno.env.get("LLADA_BENCH");
const profile = Deno.args.includes("--profile");

if (profile) await profileAll(only);

if (!profile && (!only || only === "primitives")) await benchPrimitives();

if (!profile && only === "matmul") {
  if ((await findAdapter()).adapter) await benchTrainingMatmuls(await getBackend("webgpu"));
  else console.log(JSON.stringify({ bench: "matmul", skipped: "no WebGPU adapter" }));
}

if (!profile && (!only || only === "model")) {
  // The demo's network: the Brown character vocabulary, padded to a multiple of 16 as the demo pads it.
  const demo = {
    config: {
      ...DEMO.model,
      vocab_size: 96,
      max_sequence_length: DEMO.seqLength,
      mask_token_id: 0,
      eos_token_id: 1,
    } as Record<string, number>,
    label: "demo",
    batch: DEMO.batchSize,
    length: DEMO.seqLength,
  };
  const tiny = { config: TINY as Record<string, number>, label: "tiny", batch: 16, length: 128 };
  const steps = { warmup: 2, steps: 5 };
  const sample = {
    model_dir: SAMPLE_MODEL.dir,
    prompt: await samplePrompt(),
    gen_length: SAMPLE_SETTINGS.genLength,
    steps: SAMPLE_SETTINGS.steps,
    repeats: SAMPLE_SETTINGS.repeats,
  };
  const backends: Backend[] = [];
  if ((await findAdapter()).adapter) backends.push(await getBackend("webgpu"));
  backends.push(new CpuBackend());
  // Each peer figure is measured just before ours, so that both see the same load on a shared machine.
  for (const backend of backends) {
    for (const run of [tiny, demo]) {
      const peer = await peerTrainStep({
        config: run.config,
        batch: run.batch,
        length: run.length,
        ...steps,
      });
      await benchTrainStep(backend, { ...run, ...steps, peer });
    }
    await benchGenerate(backend);
    await benchSample(backend, await peerSample(sample));
  }
}
