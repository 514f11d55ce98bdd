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
import {
  configFromJSON,
  configToJSON,
  lladaTensorShapes,
  type ModelObjective,
  OBJECTIVE_FIELD,
  objectiveFromJSON,
} from "../model/config.ts";
import { checkTensorSet, readModelTensors } from "./safetensors_read.ts";
import { serializeSafetensors } from "./safetensors_write.ts";
import type { SafetensorsFile, TensorToWrite } from "./safetensors_format.ts";
import { writeFileAtomic } from "./atomic.ts";
import { InputError } from "../errors.ts";

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
  await writeFileAtomic(
    `${dir}/config.json`,
    configToJSON(model.config, model.causal ? "autoregressive" : "mask_predictor"),
  );
}

/** Options for {@link loadModel}. */
export interface LoadOptions {
  /** Where the parameters go (default: the default backend). */
  backend?: Backend;
  /**
   * Load as the autoregressive twin (true) or the mask predictor (false). Default: what `config.json` records
   * (its {@link OBJECTIVE_FIELD}); a value that contradicts the record is refused unless
   * {@link LoadOptions.switchObjective}.
   */
  causal?: boolean;
  /**
   * Allow `causal` to differ from the recorded objective: for starting the twin's training from a mask
   * predictor's weights (or the reverse), never for sampling or scoring.
   */
  switchObjective?: boolean;
}

/** A model folder asked to run as the other objective than the one it was trained with. */
export class ObjectiveMismatchError extends InputError {
  /**
   * An error naming the folder, what it holds and what to do.
   *
   * @param dir the model folder.
   * @param recorded what its `config.json` says the weights are.
   */
  constructor(dir: string, recorded: ModelObjective) {
    const twin = recorded === "autoregressive";
    super(
      dir,
      twin
        ? `holds an autoregressive twin (config.json: "${OBJECTIVE_FIELD}": "autoregressive"), which cannot ` +
          "run as a mask predictor"
        : `holds a mask predictor (its config.json records no "${OBJECTIVE_FIELD}": "autoregressive"), which ` +
          "cannot run as an autoregressive twin",
      twin ? "load it as the twin (--causal, or leave the choice to config.json)" : "drop --causal",
    );
    this.name = "ObjectiveMismatchError";
  }
}

/**
 * Loads a model from a directory with `config.json` and `model.safetensors` (or a sharded
 * `model.safetensors.index.json`). Every tensor the config implies must be present with its shape, and no other;
 * a mismatch is reported in one error that lists every difference. Weights that are NaN or infinite (a run that
 * diverged, a damaged file) are refused with the tensor's name, rather than producing garbage later. The model is
 * the mask predictor or the autoregressive twin as `config.json` records ({@link OBJECTIVE_FIELD}), unless
 * `options.causal` says otherwise.
 *
 * @throws ObjectiveMismatchError when `options.causal` contradicts the recorded objective.
 */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LLaDAModel> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/config.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(
        `${dir}/config.json`,
        "not found",
        "give a model directory (config.json + model.safetensors)",
      );
    }
    throw e;
  }
  return await modelFromFiles(dir, text, () => readModelTensors(dir), options);
}

/**
 * Builds a model from the contents of its files, checked as {@link loadModel} checks them: `configText` is
 * `config.json`, `weights` supplies the parsed `model.safetensors` (called once the config has been checked). For
 * callers that get the files another way than from a directory on disk, such as a web page that fetches them;
 * `dir` names the model in error messages (the directory, or the address the files came from).
 *
 * @throws ObjectiveMismatchError when `options.causal` contradicts the recorded objective.
 */
export async function modelFromFiles(
  dir: string,
  configText: string,
  weights: () => Promise<SafetensorsFile>,
  options: LoadOptions = {},
): Promise<LLaDAModel> {
  const config = configFromJSON(configText, `${dir}/config.json`);
  const recorded = objectiveFromJSON(configText, `${dir}/config.json`);
  const causal = options.causal ?? recorded === "autoregressive";
  if (!options.switchObjective && causal !== (recorded === "autoregressive")) {
    throw new ObjectiveMismatchError(dir, recorded);
  }
  const file = await weights();
  checkTensorSet(lladaTensorShapes(config), file.tensors, dir);
  const model = await createModel(config, { backend: options.backend, causal });
  for (const [name, p] of model.namedParameters()) {
    const stored = file.tensors.get(name)!;
    if (!(stored.data instanceof Float32Array)) {
      throw new InputError(
        `${dir}: ${name}`,
        "is not a float tensor",
        "store the weights as F32, F16 or BF16",
      );
    }
    const bad = stored.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new InputError(
        `${dir}: ${name}`,
        `holds ${stored.data[bad]} at element ${bad} (shape [${p.shape.join(", ")}])`,
        "the weights are damaged or come from a run that diverged; use another checkpoint",
      );
    }
    p.assign(Tensor.from(stored.data, p.shape, { backend: model.backend }));
  }
  return model;
}
