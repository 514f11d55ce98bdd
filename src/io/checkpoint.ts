/**
 * Training checkpoints: everything needed to continue a run exactly where it stopped.
 *
 * A checkpoint is a directory written in one piece ({@link writeDirAtomic}: built beside the old one, then
 * swapped in), so a run killed mid-save leaves the previous checkpoint intact:
 *
 *     config.json           the model's LLaDA config (official field names)
 *     model.safetensors     the weights (official tensor names, F32): the directory is also a loadable model
 *     optimizer.safetensors AdamW's moments, `<param>.exp_avg` and `<param>.exp_avg_sq`
 *     trainer_state.json    step, RNG state, data-iterator state, the run's settings, anything the trainer adds
 *     tokenizer.json        the tokenizer (optional)
 *
 * Resuming restores the weights, the moments, the step count and every random stream, so the resumed run
 * continues bit-identically to one that was never interrupted (tested in tests/checkpoint.test.ts).
 *
 * @module
 */

import type { LLaDAModel } from "../model/llada.ts";
import type { AdamW } from "../optim/adamw.ts";
import { Tensor } from "../tensor.ts";
import { configToJSON } from "../model/config.ts";
import { modelTensors } from "./model_files.ts";
import { readSafetensors } from "./safetensors_read.ts";
import { serializeSafetensors } from "./safetensors_write.ts";
import type { TensorToWrite } from "./safetensors_format.ts";
import { writeDirAtomic } from "./atomic.ts";

/** JSON-safe trainer state saved with a checkpoint. `step` is the number of optimiser steps taken. */
export interface TrainerState {
  step: number;
  [key: string]: unknown;
}

/** Writes a checkpoint directory atomically (see the module documentation for its files). */
export async function saveCheckpoint(
  dir: string,
  model: LLaDAModel,
  optimizer: AdamW,
  state: TrainerState,
  tokenizerJSON?: string,
): Promise<void> {
  const moments = new Map<string, TensorToWrite>();
  for (const [name, t] of optimizer.stateTensors()) {
    const data = await t.data();
    moments.set(name, {
      shape: t.shape,
      data: data instanceof Float32Array ? data : Float32Array.from(data),
    });
  }
  const files: Record<string, Uint8Array | string> = {
    "config.json": configToJSON(model.config),
    "model.safetensors": serializeSafetensors(await modelTensors(model), { metadata: { format: "pt" } }),
    "optimizer.safetensors": serializeSafetensors(moments, { metadata: { format: "pt" } }),
    "trainer_state.json": JSON.stringify({ ...state, optimizerStep: optimizer.step }, null, 2) + "\n",
  };
  if (tokenizerJSON !== undefined) files["tokenizer.json"] = tokenizerJSON;
  await writeDirAtomic(dir, files);
}

/** Whether `dir` holds a checkpoint (a trainer_state.json). */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return await Deno.stat(`${dir}/trainer_state.json`).then((s) => s.isFile, () => false);
}

/**
 * Restores weights and optimiser moments from a checkpoint into an existing model and optimiser (built from the
 * same config), and returns the trainer state.
 */
export async function restoreCheckpoint(
  dir: string,
  model: LLaDAModel,
  optimizer: AdamW,
): Promise<TrainerState> {
  const stateText = await Deno.readTextFile(`${dir}/trainer_state.json`).catch(() => {
    throw new Error(
      `restoreCheckpoint: ${dir}/trainer_state.json not found; is ${dir} a training checkpoint?`,
    );
  });
  const state = JSON.parse(stateText) as TrainerState & { optimizerStep?: number };
  if (!Number.isInteger(state.step) || state.step < 0) {
    throw new Error(`restoreCheckpoint: ${dir}/trainer_state.json has no valid "step"`);
  }
  const weights = await readSafetensors(`${dir}/model.safetensors`);
  const missing: string[] = [];
  for (const [name, p] of model.namedParameters()) {
    const stored = weights.tensors.get(name);
    if (!stored || !(stored.data instanceof Float32Array) || stored.data.length !== p.size) {
      missing.push(name);
      continue;
    }
    p.assign(Tensor.from(stored.data, p.shape, { backend: model.backend }));
  }
  if (missing.length > 0) {
    throw new Error(
      `restoreCheckpoint: ${dir}/model.safetensors does not match the model (missing or mis-sized: ${
        missing.join(", ")
      })`,
    );
  }
  const moments = await readSafetensors(`${dir}/optimizer.safetensors`);
  const floats = new Map<string, Float32Array>();
  for (const [name, t] of moments.tensors) if (t.data instanceof Float32Array) floats.set(name, t.data);
  optimizer.loadState(state.optimizerStep ?? state.step, floats);
  return state;
}
