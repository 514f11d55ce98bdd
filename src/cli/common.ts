/**
 * What the CLI commands share: model-size presets, choosing the compute backend, finding and loading a model
 * with its tokenizer, and drawing a canvas of tokens with its masks visible.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { BACKEND_ENV, describeBackend, getBackend } from "../backend/select.ts";
import { setDefaultBackend } from "../tensor.ts";
import { loadModel } from "../io/model_files.ts";
import type { LLaDAModel } from "../model/llada.ts";
import { paddedEmbeddingSize } from "../model/config.ts";
import { type Tokenizer, tokenizerFromJSON } from "../tokenizer/tokenizer.ts";
import { isSpecialId } from "../tokenizer/special.ts";
import { type OptionSpec, UsageError } from "./args.ts";

/** Network shape of a preset (LLaDA field names). */
export interface ModelShape {
  d_model: number;
  n_layers: number;
  n_heads: number;
  mlp_hidden_size: number;
}

/**
 * Model sizes by name. Head size 32 throughout; the MLP is about 8/3 of `d_model` (LLaMA's SwiGLU ratio),
 * rounded up to a multiple of 32. Parameter counts are for the 90-symbol Brown character vocabulary.
 */
export const MODEL_PRESETS: Readonly<Record<string, ModelShape>> = Object.freeze({
  /** ≈ 0.12 M parameters: trains in minutes on a CPU. */
  tiny: { d_model: 64, n_layers: 2, n_heads: 2, mlp_hidden_size: 192 },
  /** ≈ 0.35 M parameters. */
  small: { d_model: 96, n_layers: 3, n_heads: 3, mlp_hidden_size: 256 },
  /** ≈ 0.9 M parameters. */
  medium: { d_model: 128, n_layers: 4, n_heads: 4, mlp_hidden_size: 352 },
  /** ≈ 4.8 M parameters: wants a GPU. */
  large: { d_model: 256, n_layers: 6, n_heads: 8, mlp_hidden_size: 704 },
});

/** The backend names the CLI accepts. */
export const BACKEND_CHOICES = ["auto", "cpu", "webgpu"] as const;

/** The `--backend` option every command has. */
export const BACKEND_OPTION: OptionSpec = {
  type: "string",
  choices: BACKEND_CHOICES,
  help: "compute backend (default $LLADA_BACKEND or auto)",
};

/** The model to use when a command's `--model` is not given: the model shipped in the repository. */
export const DEFAULT_MODEL = "models/brown-char";

/** The `--model` option of the commands that read a model (`sample`, `eval`). */
export const MODEL_OPTION: OptionSpec = {
  type: "string",
  default: DEFAULT_MODEL,
  placeholder: "DIR",
  help: "model directory or run directory",
};

/**
 * Makes `name` the default backend (`--backend`, else `LLADA_BACKEND`, else `auto`: WebGPU when an adapter
 * exists, else the CPU; see `backend/select.ts`) and returns it with the line describing the choice. On these
 * machines WebGPU is Mesa's llvmpipe, which runs the demo model's training steps about four times faster than
 * the CPU backend.
 */
export async function chooseBackend(
  name: string | undefined,
): Promise<{ backend: Backend; description: string }> {
  const chosen = name ?? Deno.env.get(BACKEND_ENV) ?? "auto";
  if (!(BACKEND_CHOICES as readonly string[]).includes(chosen)) {
    throw new UsageError(
      `unknown backend ${JSON.stringify(chosen)}; expected one of ${BACKEND_CHOICES.join(", ")}`,
    );
  }
  let backend: Backend;
  try {
    backend = await getBackend(chosen);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  setDefaultBackend(backend);
  return { backend, description: await describeBackend(chosen) };
}

/**
 * The model directory for `path`: `path` itself when it holds `config.json`, or `path/checkpoint` for a run
 * directory.
 *
 * @throws {UsageError} when neither exists.
 */
export async function resolveModelDir(path: string): Promise<string> {
  const isFile = (p: string) => Deno.stat(p).then((s) => s.isFile, () => false);
  const clean = path.replace(/\/+$/, "");
  if (await isFile(`${clean}/config.json`)) return clean;
  if (await isFile(`${clean}/checkpoint/config.json`)) return `${clean}/checkpoint`;
  const exists = await Deno.stat(clean).then(() => true, () => false);
  throw new UsageError(
    exists
      ? `${path} holds no model (expected config.json, or a run directory with checkpoint/config.json)`
      : `model directory ${path} does not exist`,
  );
}

/** Loads a model and the tokenizer saved beside it. */
export async function loadModelAndTokenizer(
  path: string,
  backend: Backend,
): Promise<{ model: LLaDAModel; tokenizer: Tokenizer; dir: string }> {
  const dir = await resolveModelDir(path);
  let tokenizerText: string;
  try {
    tokenizerText = await Deno.readTextFile(`${dir}/tokenizer.json`);
  } catch {
    throw new UsageError(
      `${dir} has no tokenizer.json; a model trained by llada-ts saves one beside its weights`,
    );
  }
  const tokenizer = tokenizerFromJSON(tokenizerText);
  const model = await loadModel(dir, { backend });
  if (tokenizer.vocabSize !== model.config.vocab_size) {
    throw new UsageError(
      `${dir}: tokenizer.json has ${tokenizer.vocabSize} ids but config.json says vocab_size ${model.config.vocab_size}`,
    );
  }
  return { model, tokenizer, dir };
}

/** The fields of a LLaDA config that a tokenizer decides: the vocabulary (padded, see paddedEmbeddingSize) and the special ids. */
export function tokenizerConfig(tokenizer: Tokenizer): {
  vocab_size: number;
  embedding_size: number;
  mask_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
} {
  return {
    vocab_size: tokenizer.vocabSize,
    embedding_size: paddedEmbeddingSize(tokenizer.vocabSize),
    mask_token_id: tokenizer.maskId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
  };
}

/** How {@link renderCanvas} draws special tokens. */
export interface RenderOptions {
  /** Drawn for each masked position (default `▒`). */
  maskChar?: string;
}

/**
 * Draws token ids as one line of text: masked positions as `▒` (one per token), EOS as `¶`, other special
 * tokens as `·`, newlines as `↵` and tabs as `→`, so a denoising trace keeps one line per step.
 */
export function renderCanvas(
  tokenizer: Tokenizer,
  ids: readonly number[],
  options: RenderOptions = {},
): string {
  const mask = options.maskChar ?? "▒";
  let out = "";
  for (const id of ids) {
    if (id === tokenizer.maskId) out += mask;
    else if (id === tokenizer.eosId) out += "¶";
    else if (isSpecialId(id)) out += "·";
    else out += tokenizer.decode([id]).replaceAll("\n", "↵").replaceAll("\t", "→");
  }
  return out;
}
