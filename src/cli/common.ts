/**
 * What the CLI commands share: model-size presets, choosing the compute backend, finding and loading a model
 * with its tokenizer (the library's `loadPretrained`), and where status lines go.
 *
 * Streams: results (generated text, scores, JSON lines) go to standard output; status (the backend chosen, the
 * model loaded, defaults adapted to it, progress) goes to standard error, so `llada sample … > out.txt` and
 * `llada eval --json … | jq` see only results.
 *
 * @module
 */

import { type BackendChoice, useBackend } from "../use_backend.ts";
import type { BackendKind } from "../backend/select.ts";
import { loadPretrained, type Pretrained } from "../pretrained.ts";
import type { OptionSpec, ParsedArgs } from "./args.ts";
import type { ModelShape } from "../train/model_config.ts";

export { type ModelShape, tokenizerConfig } from "../train/model_config.ts";

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

/** {@link DEFAULT_MODEL} found from this file, so it loads from any working directory. */
export const DEFAULT_MODEL_PATH: string = decodeURIComponent(
  new URL(`../../${DEFAULT_MODEL}`, import.meta.url).pathname,
);

/** The `--model` option of the commands that read a model (`sample`, `eval`). */
export const MODEL_OPTION: OptionSpec = {
  type: "string",
  default: DEFAULT_MODEL,
  placeholder: "DIR",
  help: "model directory or run directory (the default is the shipped model, found from any directory)",
};

/**
 * Makes the backend of `--backend` (else `LLADA_BACKEND`, else `auto`: WebGPU when an adapter exists, else the
 * CPU; see `backend/select.ts`) the default, and returns it with the line describing the choice, e.g.
 * `backend: webgpu — llvmpipe (LLVM 15.0.6, 256 bits) (fallback adapter) [auto: a WebGPU adapter was found]`.
 * On these machines WebGPU is Mesa's llvmpipe, which runs the demo model's training steps about four times faster
 * than the CPU backend.
 *
 * @throws {InputError} for an unknown name, or `webgpu` without an adapter.
 */
export async function chooseBackend(
  name: string | undefined,
): Promise<BackendChoice & { description: string }> {
  const choice = await useBackend(name as BackendKind | undefined);
  return { ...choice, description: `backend: ${choice.name} — ${choice.description} [${choice.reason}]` };
}

/** The `--model` path: the option's value, or the shipped model (found from the project, not the working directory). */
export function modelPath(args: ParsedArgs): string {
  return args.has("model") ? args.string("model")! : DEFAULT_MODEL_PATH;
}

/**
 * Chooses the backend and loads the model of `--model` on it, printing both choices on standard error.
 *
 * @throws {InputError} when the backend cannot be had or the model's files are missing or do not fit.
 */
export async function loadForCommand(args: ParsedArgs): Promise<Pretrained & { backendLine: string }> {
  const { backend, description } = await chooseBackend(args.string("backend"));
  const pretrained = await loadPretrained(modelPath(args), { backend });
  // Printed once both succeeded, so a mistake in either is the only line on stderr.
  status(description);
  status(`model: ${pretrained.dir} (${pretrained.model.parameterCount.toLocaleString("en-US")} parameters)`);
  return { ...pretrained, backendLine: description };
}

/** Prints a status line on standard error (results go to standard output). */
export function status(line: string): void {
  console.error(line);
}
