/**
 * Loading a trained model with everything needed to use it, in one call: `loadPretrained(dir)` gives the
 * network, its tokenizer and its recommended sampler settings, on the backend of your choice — the library
 * form of what `llada sample` does, in the manner of transformers.js's `from_pretrained`.
 *
 * A model directory holds `config.json` and `model.safetensors` (the Hugging Face LLaDA layout, see
 * `io/model_files.ts`), `tokenizer.json` (Hugging Face's tokenizers format, see `tokenizer/hf_json.ts`) and
 * optionally `generation_config.json`. A training run directory works too: its latest checkpoint is in
 * `checkpoint/`.
 *
 * @module
 */

import type { Backend } from "./backend/backend.ts";
import type { BackendKind } from "./backend/select.ts";
import { useBackend } from "./use_backend.ts";
import { InputError } from "./errors.ts";
import { loadModel, modelFromFiles } from "./io/model_files.ts";
import type { SafetensorsFile } from "./io/safetensors_format.ts";
import { type Remasking, REMASKINGS } from "./llada/reverse_sampling.ts";
import type { LLaDAModel } from "./model/llada.ts";
import { type Tokenizer, tokenizerFromJSON } from "./tokenizer/tokenizer.ts";

/**
 * Sampler settings a model recommends, from its `generation_config.json` (llada-ts's sampler option names in
 * snake case; other fields, such as those of Hugging Face's own generation configs, are ignored). Every field
 * is optional; explicit options given to the sampler win.
 */
export interface GenerationConfig {
  /** Tokens to generate. */
  gen_length?: number;
  /** Denoising steps. */
  steps?: number;
  /** Semi-autoregressive block length. */
  block_length?: number;
  /** Sampling temperature (0: greedy). */
  temperature?: number;
  /** Classifier-free guidance scale. */
  cfg?: number;
  /** Remasking strategy. */
  remasking?: Remasking;
  /** Confidence threshold for parallel decoding. */
  threshold?: number;
  /** Never sample EOS. */
  logits_eos_inf?: boolean;
  /** Sample EOS but commit it last. */
  confidence_eos_inf?: boolean;
  /** Seed of the sampler's randomness. */
  seed?: number;
}

/** A loaded model with its tokenizer and recommended settings: what {@link loadPretrained} returns. */
export interface Pretrained {
  /** The network, its parameters on {@link backend}. */
  model: LLaDAModel;
  /** The tokenizer saved beside it. */
  tokenizer: Tokenizer;
  /** The sampler settings of `generation_config.json` (empty when there is none). */
  generationConfig: GenerationConfig;
  /** The directory the files were read from (`checkpoint/` inside a run directory). */
  dir: string;
  /** Where the parameters live. */
  backend: Backend;
}

/** Options for {@link loadPretrained}. */
export interface LoadPretrainedOptions {
  /**
   * Where to put the parameters: a backend, or a kind that {@link useBackend} chooses (and makes the default).
   * Default: `LLADA_BACKEND`, else `"auto"` (WebGPU when an adapter exists, else the CPU), as the CLI does.
   */
  backend?: BackendKind | Backend;
}

/** Whether a file exists (false for a missing path, a directory, or one the process may not read). */
async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

/**
 * The model directory for `path`: `path` itself when it holds `config.json`, or `path/checkpoint` for a training
 * run directory.
 *
 * @throws {InputError} when neither exists.
 */
export async function resolveModelDir(path: string): Promise<string> {
  const clean = path.replace(/\/+$/, "") || "/";
  if (await isFile(`${clean}/config.json`)) return clean;
  if (await isFile(`${clean}/checkpoint/config.json`)) return `${clean}/checkpoint`;
  const exists = await Deno.stat(clean).then(() => true, () => false);
  throw new InputError(
    path,
    exists ? "holds no model" : "does not exist",
    "give a model directory (config.json, model.safetensors, tokenizer.json) or a training run directory " +
      "(with checkpoint/config.json)",
  );
}

/**
 * Reads and checks `generation_config.json` in `dir`; an empty object when the file does not exist.
 *
 * @throws {InputError} when the file is not JSON, not an object, or a known field has the wrong type.
 */
export async function readGenerationConfig(dir: string): Promise<GenerationConfig> {
  const path = `${dir}/generation_config.json`;
  if (!(await isFile(path))) return {};
  return parseGenerationConfig(await Deno.readTextFile(path), path);
}

/**
 * Checks the text of a `generation_config.json` (`path` names it in errors) and returns its sampler settings.
 *
 * @throws {InputError} when the text is not JSON, not an object, or a known field has the wrong type.
 */
export function parseGenerationConfig(text: string, path: string): GenerationConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(path, `not valid JSON (${(e as Error).message})`, "fix or delete the file");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InputError(path, "must hold a JSON object of sampler settings", "fix or delete the file");
  }
  const raw = json as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const check = (key: string, ok: (v: unknown) => boolean, expected: string) => {
    if (!(key in raw)) return;
    if (!ok(raw[key])) {
      throw new InputError(
        `${path}: ${key}`,
        `expected ${expected}, got ${JSON.stringify(raw[key])}`,
        "fix or delete the field",
      );
    }
    out[key] = raw[key];
  };
  const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
  const nonNegative = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;
  check("gen_length", positiveInt, "an integer ≥ 1");
  check("steps", positiveInt, "an integer ≥ 1");
  check("block_length", positiveInt, "an integer ≥ 1");
  check("temperature", nonNegative, "a number ≥ 0");
  check("cfg", nonNegative, "a number ≥ 0");
  check("remasking", (v) => REMASKINGS.includes(v as Remasking), `one of ${REMASKINGS.join(", ")}`);
  check("threshold", (v) => typeof v === "number" && v >= 0 && v <= 1, "a number in [0, 1]");
  check("logits_eos_inf", (v) => typeof v === "boolean", "true or false");
  check("confidence_eos_inf", (v) => typeof v === "boolean", "true or false");
  check("seed", Number.isInteger, "an integer");
  return out as GenerationConfig;
}

/**
 * Loads the model in `dir` (a model directory or a training run directory) with its tokenizer and recommended
 * sampler settings.
 *
 * @throws {InputError} when the directory, `config.json`, `model.safetensors` or `tokenizer.json` is missing
 *   or does not fit the others (the message names the file), or the backend cannot be had.
 *
 * @example
 * ```ts
 * import { generateText, loadPretrained } from "./mod.ts";
 * const pretrained = await loadPretrained("models/brown-char", { backend: "auto" });
 * console.log(pretrained.backend.name); // "webgpu" where an adapter exists, else "cpu"
 * const { text } = await generateText(pretrained, "The jury said", { genLength: 32 });
 * ```
 */
export async function loadPretrained(dir: string, options: LoadPretrainedOptions = {}): Promise<Pretrained> {
  const requested = options.backend;
  const backend = typeof requested === "object" ? requested : (await useBackend(requested)).backend;
  const modelDir = await resolveModelDir(dir);
  const tokenizerPath = `${modelDir}/tokenizer.json`;
  if (!(await isFile(tokenizerPath))) {
    throw new InputError(
      tokenizerPath,
      "not found",
      "a model trained by llada-ts saves its tokenizer beside its weights; copy it from the run that trained " +
        "the model",
    );
  }
  const tokenizer = parseTokenizer(await Deno.readTextFile(tokenizerPath), tokenizerPath);
  const model = await loadModel(modelDir, { backend });
  checkVocabulary(modelDir, model, tokenizer);
  const generationConfig = await readGenerationConfig(modelDir);
  return { model, tokenizer, generationConfig, dir: modelDir, backend: model.backend };
}

/** The contents of a model's files, for {@link pretrainedFromFiles}. */
export interface PretrainedFiles {
  /** The text of `config.json`. */
  config: string;
  /** The parsed `model.safetensors` (see `parseSafetensors`). */
  weights: SafetensorsFile;
  /** The text of `tokenizer.json`. */
  tokenizer: string;
  /** The text of `generation_config.json`, when the model has one. */
  generationConfig?: string;
}

/**
 * {@link loadPretrained} for files already in memory: the same checks and the same result, for a caller that gets
 * the files another way than from a directory on disk (a web page fetches them). `source` names the model in
 * error messages and becomes {@link Pretrained.dir}; `options.backend` must be a backend object or a kind, as
 * for {@link loadPretrained}.
 *
 * @throws {InputError} when a file does not parse or the files do not fit together (the message names the file).
 */
export async function pretrainedFromFiles(
  source: string,
  files: PretrainedFiles,
  options: LoadPretrainedOptions = {},
): Promise<Pretrained> {
  const requested = options.backend;
  const backend = typeof requested === "object" ? requested : (await useBackend(requested)).backend;
  const tokenizer = parseTokenizer(files.tokenizer, `${source}/tokenizer.json`);
  const model = await modelFromFiles(source, files.config, () => Promise.resolve(files.weights), { backend });
  checkVocabulary(source, model, tokenizer);
  const generationConfig = files.generationConfig === undefined
    ? {}
    : parseGenerationConfig(files.generationConfig, `${source}/generation_config.json`);
  return { model, tokenizer, generationConfig, dir: source, backend: model.backend };
}

/** A tokenizer from the text of `tokenizer.json` at `path`, or an {@link InputError} that names the file. */
function parseTokenizer(text: string, path: string): Tokenizer {
  try {
    return tokenizerFromJSON(text);
  } catch (e) {
    throw new InputError(
      path,
      (e as Error).message,
      "restore the file from the model's source, or retrain the model",
    );
  }
}

/** Refuses a tokenizer whose vocabulary is not the network's. */
function checkVocabulary(dir: string, model: LLaDAModel, tokenizer: Tokenizer): void {
  if (tokenizer.vocabSize !== model.config.vocab_size) {
    throw new InputError(
      `${dir}/tokenizer.json`,
      `has ${tokenizer.vocabSize} ids but config.json says vocab_size ${model.config.vocab_size}`,
      "use the tokenizer the model was trained with",
    );
  }
}
