/**
 * Saving and loading models in the Hugging Face LLaDA layout: a directory with `config.json` (official field
 * names) and `model.safetensors` (official tensor names, weights `[out_features, in_features]`), which the
 * official PyTorch code opens with `AutoModel.from_pretrained(dir, trust_remote_code=True)` — and, the other way,
 * a small model saved by the PyTorch code loads here (F32, F16 or BF16, single file or sharded).
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { createModel, type LLaDAModel } from "../model/llada.ts";
import { Tensor } from "../tensor.ts";
import { configFromJSON, configToJSON, lladaTensorShapes } from "../model/config.ts";
import { checkTensorSet, readModelTensors } from "./safetensors_read.ts";
import { serializeSafetensors } from "./safetensors_write.ts";
import type { TensorToWrite } from "./safetensors_format.ts";
import { writeFileAtomic } from "./atomic.ts";

/** Options for {@link saveModel}. */
export interface SaveOptions {
  /** Storage type of the weights (default F32, exact). */
  dtype?: "F32" | "F16" | "BF16";
  /** Extra files to write beside the weights (e.g. `tokenizer.json`), name → text. */
  extraFiles?: Record<string, string>;
}

/** The model's parameters as tensors to write, read back from its backend. */
export async function modelTensors(model: LLaDAModel): Promise<Map<string, TensorToWrite>> {
  const out = new Map<string, TensorToWrite>();
  for (const [name, p] of model.namedParameters()) {
    const data = await p.data();
    out.set(name, { shape: p.shape, data: data instanceof Float32Array ? data : Float32Array.from(data) });
  }
  return out;
}

/**
 * Writes `config.json` and `model.safetensors` (and any extra files) into `dir`, creating it if needed. Each file
 * is written atomically (temporary file, then rename), so an interrupted save never leaves a torn file.
 */
export async function saveModel(dir: string, model: LLaDAModel, options: SaveOptions = {}): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const weights = serializeSafetensors(await modelTensors(model), {
    dtype: options.dtype ?? "F32",
    metadata: { format: "pt" },
  });
  await writeFileAtomic(`${dir}/model.safetensors`, weights);
  for (const [name, text] of Object.entries(options.extraFiles ?? {})) {
    await writeFileAtomic(`${dir}/${name}`, text);
  }
  // The config last: a directory with a config.json is a complete model.
  await writeFileAtomic(`${dir}/config.json`, configToJSON(model.config));
}

/** Options for {@link loadModel}. */
export interface LoadOptions {
  /** Where the parameters go (default: the default backend). */
  backend?: Backend;
  /** Load as the autoregressive twin (causal attention). */
  causal?: boolean;
}

/**
 * Loads a model from a directory with `config.json` and `model.safetensors` (or a sharded
 * `model.safetensors.index.json`). Every tensor the config implies must be present with its shape, and no other;
 * a mismatch is reported in one error that lists every difference.
 */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LLaDAModel> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/config.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `loadModel: ${dir}/config.json not found; expected a model directory (config.json + model.safetensors)`,
      );
    }
    throw e;
  }
  const config = configFromJSON(text, `${dir}/config.json`);
  const file = await readModelTensors(dir);
  checkTensorSet(lladaTensorShapes(config), file.tensors, dir);
  const model = await createModel(config, { backend: options.backend, causal: options.causal });
  for (const [name, p] of model.namedParameters()) {
    const stored = file.tensors.get(name)!;
    if (!(stored.data instanceof Float32Array)) {
      throw new Error(`loadModel: ${name} in ${dir} is not a float tensor`);
    }
    p.assign(Tensor.from(stored.data, p.shape, { backend: model.backend }));
  }
  return model;
}
