/**
 * `deno task bench --profile`: where the time of one sampling step and of one training step goes, per backend.
 *
 * The workloads are the bench's own: a sampling step of the shipped `models/brown-char` as `benchSample` runs it
 * (batch 1, 64 tokens in 64 steps, one block, temperature 0, low confidence), and a pre-training step of the
 * `tiny` network (batch 16 × 128). Every figure is per step, averaged over the profiled steps. One JSON object per
 * line:
 *
 * - `{"profile":<workload>,"backend":…,"part":"total", "ms_per_step", "dispatches_per_step", "submits_per_step",
 *   "reads_per_step"}`: the step's wall time and the WebGPU work counters (0 on the CPU).
 * - `{"part":"phase","name":…,"ms_per_step"}`: the wall time split into phases that add up to the total:
 *   - `primitives`: inside the backend's synchronous primitives. On the CPU that is the arithmetic itself; on
 *     WebGPU it is only the recording of dispatches (pipelines, bind groups, uniform slots);
 *   - `device wait`: WebGPU only, waiting for the submitted work to finish (the GPU's compute time, or the part of
 *     it not hidden behind recording);
 *   - `readback`: copying results back to the host once the device is done;
 *   - `tensor layer and host`: the rest: the network's host work outside the backend (graph bookkeeping,
 *     shapes, tidy), and the sampler's own loops (on the host path: argmax, softmax, ranking) or the training
 *     step's masking and loss weights.
 * - `{"part":"primitive","name":…,"calls_per_step","ms_per_step"}`: the `primitives` phase per primitive.
 * - `{"part":"kernel","name":<file:entry>,"dispatches_per_step","ms_per_step"}`: WebGPU only, the GPU time of each
 *   kernel measured with timestamp queries (when the adapter has them). A profiled backend gives each dispatch
 *   a compute pass of its own, so its totals run a little slower than `deno task bench`'s.
 *
 * @module
 */

import type { Backend, Storage, TypedArray } from "../src/backend/backend.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { WebGpuBackend } from "../src/backend/webgpu.ts";
import { findAdapter } from "../src/backend/webgpu/device.ts";
import { loadModel } from "../src/io/model_files.ts";
import { generate } from "../src/llada/reverse_sampling.ts";
import { createModel } from "../src/model/llada.ts";
import { AdamW } from "../src/optim/adamw.ts";
import { Rng } from "../src/rng.ts";
import { trainStep } from "../src/train/step.ts";
import { SAMPLE_MODEL, SAMPLE_SETTINGS, samplePrompt, TINY } from "./model_benches.ts";

/** Time spent in a backend, by primitive, and in its waits, accumulated by {@link timedBackend}. */
interface BackendClock {
  primitives: Map<string, { calls: number; ms: number }>;
  /** Waiting for submitted work to finish (WebGPU `sync` inside `read`). */
  waitMs: number;
  /** `read` after the wait: the copy back to the host. */
  readMs: number;
  reset(): void;
  /** Milliseconds inside synchronous primitives. */
  readonly primitiveMs: number;
}

/**
 * A backend that forwards every call to `inner` and times it: synchronous primitives by name, and `read` split
 * into the wait for the device (`sync` first, on WebGPU) and the copy back.
 */
function timedBackend(inner: Backend): { backend: Backend; clock: BackendClock } {
  const clock: BackendClock = {
    primitives: new Map(),
    waitMs: 0,
    readMs: 0,
    reset() {
      this.primitives.clear();
      this.waitMs = 0;
      this.readMs = 0;
    },
    get primitiveMs() {
      let ms = 0;
      for (const p of this.primitives.values()) ms += p.ms;
      return ms;
    },
  };
  const backend = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "read") {
        return async (s: Storage): Promise<TypedArray> => {
          const t0 = performance.now();
          if (target instanceof WebGpuBackend) await target.sync();
          const t1 = performance.now();
          const data = await target.read(s);
          clock.waitMs += t1 - t0;
          clock.readMs += performance.now() - t1;
          return data;
        };
      }
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const result = value.apply(target, args);
        const entry = clock.primitives.get(String(prop)) ?? { calls: 0, ms: 0 };
        entry.calls++;
        entry.ms += performance.now() - t0;
        clock.primitives.set(String(prop), entry);
        return result;
      };
    },
  });
  return { backend, clock };
}

/** The WebGPU work counters (zeros on the CPU). */
function counters(b: Backend): { dispatches: number; submits: number; reads: number } {
  if (b instanceof WebGpuBackend) {
    const { dispatches, submits, reads } = b.stats;
    return { dispatches, submits, reads };
  }
  return { dispatches: 0, submits: 0, reads: 0 };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Prints the profile of `steps` steps of a workload, per step. */
function report(
  workload: string,
  inner: Backend,
  clock: BackendClock,
  steps: number,
  wallMs: number,
  before: ReturnType<typeof counters>,
  phases: Record<string, number>,
  kernels: { kernel: string; dispatches: number; ms: number }[],
): void {
  const after = counters(inner);
  const line = (fields: Record<string, unknown>) =>
    console.log(JSON.stringify({ profile: workload, backend: inner.name, ...fields }));
  line({
    part: "total",
    ms_per_step: round(wallMs / steps),
    dispatches_per_step: round((after.dispatches - before.dispatches) / steps),
    submits_per_step: round((after.submits - before.submits) / steps),
    reads_per_step: round((after.reads - before.reads) / steps),
  });
  for (const [name, ms] of Object.entries(phases)) {
    line({ part: "phase", name, ms_per_step: round(ms / steps) });
  }
  const primitives = [...clock.primitives.entries()].sort((a, b) => b[1].ms - a[1].ms);
  for (const [name, { calls, ms }] of primitives) {
    line({ part: "primitive", name, calls_per_step: round(calls / steps), ms_per_step: round(ms / steps) });
  }
  for (const k of kernels) {
    line({
      part: "kernel",
      name: k.kernel,
      dispatches_per_step: round(k.dispatches / steps),
      ms_per_step: round(k.ms / steps),
    });
  }
}

/** GPU time per kernel since the last call (empty unless the backend times its dispatches). */
async function kernelTimes(b: Backend) {
  return b instanceof WebGpuBackend && b.profiling ? await b.profile(true) : [];
}

/** Profiles the sampling benchmark's generation on `inner`. */
async function profileSample(inner: Backend): Promise<void> {
  const { backend, clock } = timedBackend(inner);
  const model = await loadModel(SAMPLE_MODEL.dir, { backend });
  const prompt = await samplePrompt();
  const { genLength, steps } = SAMPLE_SETTINGS;
  const options = { genLength, steps, maskId: model.config.mask_token_id };
  await generate(model, [prompt], options); // warm-up: pipelines, pools
  await kernelTimes(inner);
  clock.reset();
  const before = counters(inner);
  const t0 = performance.now();
  await generate(model, [prompt], options);
  const wallMs = performance.now() - t0;
  const kernels = await kernelTimes(inner);
  const primitives = clock.primitiveMs;
  report("sample", inner, clock, steps, wallMs, before, {
    primitives,
    "device wait": clock.waitMs,
    readback: clock.readMs,
    "tensor layer and host": wallMs - primitives - clock.waitMs - clock.readMs,
  }, kernels);
  model.dispose();
}

/** Profiles pre-training steps of the `tiny` network on `inner`. */
async function profileTrainStep(inner: Backend, steps = 3): Promise<void> {
  const { backend, clock } = timedBackend(inner);
  const model = await createModel(TINY, { seed: 0, backend });
  const opt = new AdamW(model.namedParameters(), { lr: 1e-3 });
  const rng = new Rng(1);
  const [batch, length] = [16, 128];
  const data = {
    tokens: Int32Array.from({ length: batch * length }, () => rng.int(2, TINY.vocab_size - 1)),
    batch,
    length,
  };
  const step = async () => {
    const r = trainStep(model, opt, data, {
      objective: "pretrain",
      lr: 1e-3,
      clip: 1,
      rng,
      randomLength: false,
    });
    await r.loss.item();
    r.loss.dispose();
    r.gradNorm?.dispose();
  };
  await step(); // warm-up: pipelines, pools
  await kernelTimes(inner);
  clock.reset();
  const before = counters(inner);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const wallMs = performance.now() - t0;
  const kernels = await kernelTimes(inner);
  const primitives = clock.primitiveMs;
  report("train_step", inner, clock, steps, wallMs, before, {
    primitives,
    "device wait": clock.waitMs,
    readback: clock.readMs,
    "tensor layer and host": wallMs - primitives - clock.waitMs - clock.readMs,
  }, kernels);
  model.dispose();
  opt.dispose();
}

/**
 * Profiles both workloads (or only `"sample"` or `"train_step"`) on WebGPU (timing every kernel, when there is an
 * adapter) and on the CPU.
 */
export async function profileAll(only?: string): Promise<void> {
  const backends: Backend[] = [];
  if ((await findAdapter()).adapter) backends.push(await WebGpuBackend.create({ profile: true }));
  backends.push(new CpuBackend());
  for (const backend of backends) {
    if (only !== "train_step") await profileSample(backend);
    if (only !== "sample") await profileTrainStep(backend);
    if (backend instanceof WebGpuBackend) backend.dispose();
  }
}
