/**
 * # The reverse process on the device: greedy decoding without a round trip per step
 *
 * `reverse_sampling.ts` runs every step on the host: one network evaluation, the logits read back, then the
 * predictions, confidences and choice in float64. On WebGPU in Deno each read-back costs at least 10 ms whatever
 * its size (the runtime polls a mapped buffer every 10 ms), more than a whole step of a small model's arithmetic.
 * For the most common setting — temperature 0, low-confidence remasking, the fixed schedule — every step's
 * decision can instead be made where the logits are, and the canvas never leaves the device until the end: one
 * read-back per run of steps instead of one per step.
 *
 * **The result is always the host's.** The host ranks candidates by `c = softmax(l)[x̂]` in float64; the device
 * has only float32. So the device ranks by `R = Σ_{v ≠ x̂} exp(l_v − l_x̂)` (`c = 1/(1 + R)`, and R keeps its
 * precision where c rounds to 1), carries an error bound for each R, and raises a flag at any step whose choice
 * float64 could have made differently (`shaders/sampling.wgsl` has the bound). A flagged run is thrown away and
 * its steps are taken on the host, so the output is the host path's in every case. The flag is raised only by
 * near-ties: rare in a trained model, frequent in a freshly initialised one, whose confidences are all alike. So
 * `generate` runs short runs first (4 steps, doubling up to 32 while they are certified) and, once a run is
 * flagged, stays on the host for the rest of the generation: at most one short run is wasted (counted in
 * {@link deviceDecodingStats}).
 *
 * Where it applies ({@link decodesOnDevice}): a network that lives on a device backend (not the CPU backend,
 * whose logits are already in host memory, so a step there costs the host loops ~0.1 ms and nothing to save),
 * temperature 0, `low_confidence` remasking, the fixed schedule (`steps`, no `threshold`), no classifier-free
 * guidance, no EOS rule, and no `onStep` callback (which needs every step's confidences on the host). Everything
 * else, including any temperature > 0 (Gumbel noise drawn in float64 on the host), runs on the host.
 *
 * @module
 */

import type { Backend, Storage } from "../backend/backend.ts";
import { greedyTau } from "../backend/backend.ts";
import { noGrad } from "../autograd.ts";
import { Tensor, tidy } from "../tensor.ts";
import type { LogitsModel } from "./logits_model.ts";

/** A network whose logits can stay on its backend: what the device path needs beyond {@link LogitsModel}. */
export interface DeviceLogitsModel extends LogitsModel {
  /** Where the network's parameters live. */
  readonly backend: Backend;
  /** The network on i32 ids `[B, T]`: logits `[B, T, E]` with `E ≥ vocabSize` (E − vocabSize padding columns). */
  forward(ids: Tensor, attentionMask?: Uint8Array): Tensor;
}

/** The settings of a generation that decide whether it can run on the device (validated by `generate`). */
export interface DeviceDecodingSettings {
  temperature: number;
  remasking: string;
  cfgScale: number;
  threshold?: number;
  stepsPerBlock?: number;
  logitsEosInf: boolean;
  confidenceEosInf: boolean;
  onStep?: unknown;
}

/** Runs of steps on the device, and those of them redone on the host because a step could not be certified. */
export const deviceDecodingStats = { runs: 0, redone: 0 };

/** Whether `model` and `settings` take the device path (see the module documentation). */
export function decodesOnDevice(
  model: LogitsModel,
  settings: DeviceDecodingSettings,
): model is DeviceLogitsModel {
  const onDevice = "forward" in model && "backend" in model &&
    (model as DeviceLogitsModel).backend.name !== "cpu";
  return onDevice && settings.temperature === 0 && settings.remasking === "low_confidence" &&
    settings.cfgScale === 0 && settings.threshold === undefined && settings.stepsPerBlock !== undefined &&
    !settings.logitsEosInf && !settings.confidenceEosInf && settings.onStep === undefined;
}

/** The canvas of a generation, as `generate` lays it out. */
export interface DeviceCanvas {
  /** `[B, T]` token ids: prompts (left-padded) then the answer; updated in place when a run is certified. */
  tokens: Int32Array;
  batch: number;
  length: number;
  maskId: number;
  attentionMask?: Uint8Array;
}

/**
 * Runs steps of the reverse process inside one block `[start, end)` on the model's backend: per step one network
 * evaluation and one {@link Backend.greedyStep} committing `counts[i]` tokens per row, nothing read back until the
 * last step. Returns true and leaves the result in `canvas.tokens`, or returns false (and leaves `canvas.tokens`
 * unchanged) when a step could not be certified to match the host's float64 choice; the caller then takes these
 * steps on the host.
 *
 * Usable on any backend (the tests run it on the CPU backend too); `generate` calls it only where
 * {@link decodesOnDevice} says it pays.
 */
export async function decodeStepsOnDevice(
  model: DeviceLogitsModel,
  canvas: DeviceCanvas,
  start: number,
  end: number,
  counts: ArrayLike<number>,
): Promise<boolean> {
  const { batch, length, maskId, attentionMask } = canvas;
  const backend = model.backend;
  const ids = Tensor.from(canvas.tokens, [batch, length], { backend, dtype: "i32" });
  const uncertain = backend.full(1, "i32", 0);
  const tau = greedyTau(model.vocabSize);
  deviceDecodingStats.runs++;
  try {
    for (let i = 0; i < counts.length; i++) {
      noGrad(() =>
        tidy(() => {
          const logits = model.forward(ids, attentionMask); // [B, T, E], left on the device
          backend.greedyStep(logits.storage, ids.storage, uncertain, {
            batch,
            length,
            vocab: model.vocabSize,
            row: logits.shape[2],
            start,
            end,
            maskId,
            count: counts[i],
            tau,
          });
        })
      );
    }
    // One read for the canvas and the flag together: every read costs a round trip.
    const n = batch * length;
    const both = backend.full(n + 1, "i32", 0);
    backend.copyInto(ids.storage, { offset: 0, strides: [1] }, both, { offset: 0, strides: [1] }, [n]);
    backend.copyInto(uncertain, { offset: 0, strides: [1] }, both, { offset: n, strides: [1] }, [1]);
    const result = await readAndRelease(backend, both);
    if (result[n] !== 0) {
      deviceDecodingStats.redone++;
      return false;
    }
    canvas.tokens.set(result.subarray(0, n));
    return true;
  } finally {
    ids.dispose();
    backend.release(uncertain);
  }
}

async function readAndRelease(backend: Backend, s: Storage): Promise<Int32Array> {
  try {
    return (await backend.read(s)) as Int32Array;
  } finally {
    backend.release(s);
  }
}
