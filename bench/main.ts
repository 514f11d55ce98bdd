/**
 * `deno task bench`: every benchmark, one JSON object per line.
 *
 * 1. Primitives (`primitives.ts`): matmul GFLOP/s at 256/512/1024 and every other primitive at the tiny
 *    model's shapes, on WebGPU (when an adapter exists) and on the CPU.
 * 2. The model (`model_benches.ts`): a full pre-training step of the tiny LLaDA and of the demo's (the network,
 *    batch and row length `deno task demo` trains), and the sampler, on the same backends.
 *
 * `LLADA_BENCH=primitives` or `LLADA_BENCH=model` runs one part only.
 *
 * @module
 */

import type { Backend } from "../src/backend/backend.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { getBackend } from "../src/backend/select.ts";
import { findAdapter } from "../src/backend/webgpu/device.ts";
import { benchPrimitives } from "./primitives.ts";
import { benchGenerate, benchTrainStep } from "./model_benches.ts";
import { DEMO } from "../src/demo.ts";

const only = Deno.env.get("LLADA_BENCH");

if (!only || only === "primitives") await benchPrimitives();

if (!only || only === "model") {
  const backends: Backend[] = [];
  if ((await findAdapter()).adapter) backends.push(await getBackend("webgpu"));
  backends.push(new CpuBackend());
  for (const backend of backends) {
    await benchTrainStep(backend);
    await benchTrainStep(backend, {
      // The Brown character vocabulary, padded to a multiple of 16 as the demo pads it.
      config: {
        ...DEMO.model,
        vocab_size: 96,
        max_sequence_length: DEMO.seqLength,
        mask_token_id: 0,
        eos_token_id: 1,
      },
      label: "demo",
      batch: DEMO.batchSize,
      length: DEMO.seqLength,
    });
    await benchGenerate(backend);
  }
}
