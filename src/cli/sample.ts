/**
 * `llada sample`: generate text with LLaDA's reverse process (`src/llada/reverse_sampling.ts`), every sampler
 * option on the command line, and `--show-steps` to watch the masks disappear step by step. A model folder whose
 * `config.json` marks the autoregressive twin is decoded left to right instead (`autoregressive_decoding.ts`).
 *
 * @module
 */

import {
  type CommandSpec,
  formatHelp,
  type OptionSpec,
  parseArgs,
  type ParsedArgs,
  UsageError,
} from "./args.ts";
import { BACKEND_OPTION, loadForCommand, MODEL_OPTION, modelPath, status } from "./common.ts";
import { generate, type GenerateOptions, REMASKINGS, type StepState } from "../llada/reverse_sampling.ts";
import { decodeAutoregressive } from "../llada/autoregressive_decoding.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { renderCanvas } from "../tokenizer/render.ts";
import { InputError } from "../errors.ts";
import { type GenerationConfig, readGenerationConfig, resolveModelDir } from "../pretrained.ts";
import { encodePrompt, resolveSampling, type SamplingSettings } from "../generate_text.ts";

/** Sampler options shared by `sample` and `chat`. */
export const SAMPLER_OPTIONS: CommandSpec["options"] = {
  "gen-length": {
    type: "int",
    default: 64,
    min: 1,
    help: "tokens to generate",
    defaultNote: "capped to what fits the model after the prompt",
  },
  steps: { type: "int", min: 1, help: "denoising steps (default: --gen-length, one token per step)" },
  "block-length": { type: "int", min: 1, help: "semi-autoregressive block length (default: --gen-length)" },
  temperature: { type: "number", default: 0, min: 0, help: "0: greedy; above 0: Gumbel-max sampling" },
  cfg: { type: "number", default: 0, min: 0, help: "classifier-free guidance scale" },
  remasking: {
    type: "string",
    default: "low_confidence",
    choices: REMASKINGS,
    help: "which predictions to keep at each step",
  },
  threshold: { type: "number", help: "confidence-threshold parallel decoding (ignores --steps)" },
  "logits-eos-inf": { type: "boolean", help: "never sample EOS" },
  "confidence-eos-inf": { type: "boolean", help: "sample EOS but commit it last" },
  seed: { type: "int", default: 0, help: "seed of the sampler's randomness" },
  backend: BACKEND_OPTION,
};

/** The `sample` command's options. */
export const SAMPLE_SPEC: CommandSpec = {
  name: "sample",
  summary: "generate text by iterative unmasking",
  description:
    `Starts from [prompt | ▒ × gen-length] and reveals the masked positions step by step. A model folder may
recommend sampler settings in generation_config.json (the shipped model does): they replace the defaults
below, which show the model's own where it has them; options given here win. Defaults that do not fit the
model (a generation longer than its max_sequence_length allows) are adapted to it, with a note on stderr.
With --show-steps every step's canvas is printed, ▒ marking positions still masked (¶ is EOS, ↵ a newline).
Results go to stdout (with --json, one JSON object per sample: prompt, completion, tokens, nfe, backend,
model); the backend, the model and notes go to stderr.`,
  options: {
    model: MODEL_OPTION,
    prompt: { type: "string", default: "", help: "text to continue" },
    "prompt-file": { type: "string", placeholder: "FILE", help: "read the prompt from FILE (- for stdin)" },
    json: { type: "boolean", help: "print one JSON object per sample instead of text" },
    samples: { type: "int", default: 1, min: 1, help: "how many samples (seeds seed, seed+1, …)" },
    "show-steps": { type: "boolean", help: "print the denoising trace" },
    "mask-char": { type: "string", default: "▒", help: "how --show-steps draws a masked position" },
    ...SAMPLER_OPTIONS,
  },
  examples: [
    'deno task llada sample --prompt "The jury said" --show-steps',
    'deno task llada sample --prompt "He was" --gen-length 96 --block-length 32 --steps 48 --temperature 0.8',
    "deno task llada sample --model runs/demo --samples 3",
    'echo "The jury said" | deno task llada sample --prompt-file - --json',
  ],
};

/** Sampler option names on the command line, by the library's setting names (for notes and errors). */
const OPTION_NAMES: Readonly<Record<keyof SamplingSettings, string>> = {
  genLength: "gen-length",
  steps: "steps",
  blockLength: "block-length",
  temperature: "temperature",
  cfgScale: "cfg",
  remasking: "remasking",
  threshold: "threshold",
  logitsEosInf: "logits-eos-inf",
  confidenceEosInf: "confidence-eos-inf",
  seed: "seed",
};

/** The same text with the library's setting names (`genLength`) written as options (`--gen-length`). */
function asOptions(text: string): string {
  return text.replace(
    /\b(genLength|blockLength|steps|cfgScale|threshold)\b/g,
    (name) => `--${OPTION_NAMES[name as keyof SamplingSettings]}`,
  );
}

/** The sampler settings given on the command line (not their defaults: those come from the model or the library). */
export function givenSettings(args: ParsedArgs): SamplingSettings {
  const settings: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(OPTION_NAMES)) {
    if (!args.has(option)) continue;
    const spec = args.spec.options[option];
    settings[key] = spec.type === "boolean"
      ? args.bool(option)
      : spec.type === "string"
      ? args.string(option)
      : args.number(option);
  }
  return settings as SamplingSettings;
}

/**
 * The sampler options for a prompt: given options, else the model's generation_config.json, else the defaults,
 * adapted to the model (see `resolveSampling`); each adaptation is noted on stderr, and errors name options.
 */
export function samplerOptions(
  pretrained: Parameters<typeof resolveSampling>[0],
  promptLength: number,
  settings: SamplingSettings,
  defaults: Parameters<typeof resolveSampling>[3] = {},
): GenerateOptions {
  try {
    const resolved = resolveSampling(pretrained, promptLength, settings, defaults);
    for (const note of resolved.notes) status(`note: ${asOptions(note)}`);
    return resolved.options;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new InputError(asOptions(e.argument), asOptions(e.problem), asOptions(e.fix));
  }
}

/** The `--help` text with the defaults that apply to the model of `--model` (its generation_config.json). */
export async function helpWithModelDefaults(spec: CommandSpec, args: ParsedArgs): Promise<string> {
  let config: GenerationConfig = {};
  let source = "";
  try {
    const dir = await resolveModelDir(modelPath(args));
    config = await readGenerationConfig(dir);
    source = args.has("model")
      ? `${dir}/generation_config.json`
      : "the shipped model's generation_config.json";
  } catch {
    // No model there (yet): the help shows the built-in defaults.
  }
  const options: Record<string, OptionSpec> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const value = (config as Record<string, unknown>)[name.replaceAll("-", "_")];
    options[name] = value === undefined || !(name in SAMPLER_OPTIONS)
      ? option
      : { ...option, default: value as string | number | boolean, defaultNote: `from ${source}` };
  }
  return formatHelp({ ...spec, options });
}

/**
 * The prompt text: `--prompt`, or the contents of `--prompt-file` (`-` reads standard input) without its final
 * line break (the one `echo` and editors add).
 */
export async function readPrompt(args: ParsedArgs): Promise<string> {
  const file = args.string("prompt-file");
  if (file === undefined) return args.string("prompt") ?? "";
  if (args.has("prompt")) throw new UsageError("give the prompt with --prompt or --prompt-file, not both");
  try {
    const text = file === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(file);
    return text.replace(/\r?\n$/, "");
  } catch (e) {
    throw new InputError(
      `--prompt-file ${file}`,
      e instanceof Deno.errors.NotFound ? "does not exist" : `cannot be read (${(e as Error).message})`,
      "give a readable UTF-8 text file, or - for standard input",
    );
  }
}

/** Prints one denoising step: the canvas with masks visible, newly revealed tokens highlighted on a terminal. */
export function traceLine(
  tokenizer: Tokenizer,
  state: StepState,
  totalSteps: string,
  options: { maskChar?: string; color?: boolean } = {},
): string {
  const row = state.tokens[0];
  const fresh = new Set(state.committed[0]);
  const parts = row.map((id, i) => {
    const text = renderCanvas(tokenizer, [id], options);
    return options.color && fresh.has(i) ? `\x1b[1;32m${text}\x1b[0m` : text;
  });
  const label = `step ${String(state.nfe).padStart(totalSteps.length)}/${totalSteps}`;
  return `${label} │${parts.join("")}│`;
}

/** Whether to colour the trace: a terminal, and `NO_COLOR` unset. */
export function useColor(stream: { isTerminal(): boolean } = Deno.stdout): boolean {
  return stream.isTerminal() && !Deno.env.get("NO_COLOR");
}

/** Runs `llada sample`; returns the exit code. */
export async function sampleCommand(argv: string[]): Promise<number> {
  const args = parseArgs(SAMPLE_SPEC, argv);
  if (args.help) {
    console.log(await helpWithModelDefaults(SAMPLE_SPEC, args));
    return 0;
  }
  const promptText = await readPrompt(args);
  const pretrained = await loadForCommand(args);
  const { model, tokenizer } = pretrained;
  const prompt = encodePrompt(tokenizer, promptText, args.has("prompt-file") ? "--prompt-file" : "--prompt");
  const options = samplerOptions(pretrained, prompt.length, givenSettings(args));
  if (model.causal) refuseReverseProcessOptions(args, pretrained.dir);
  const json = args.bool("json");
  const showSteps = args.bool("show-steps");
  // The trace is a result of --show-steps; with --json the results are the JSON lines, so it goes to stderr.
  const trace = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const color = useColor(json ? Deno.stderr : Deno.stdout);
  const maskChar = args.string("mask-char");
  const total = options.threshold === undefined ? String(options.steps) : "?";
  const seed = options.seed ?? 0;
  const samples = args.number("samples")!;
  for (let i = 0; i < samples; i++) {
    if (showSteps) trace(traceLine(tokenizer, initialState(prompt, options), total, { maskChar }));
    const { tokens, nfe } = model.causal
      ? await decodeAutoregressive(model, [prompt], {
        genLength: options.genLength,
        temperature: options.temperature,
        seed: seed + i,
        eosId: tokenizer.eosId,
        maskId: tokenizer.maskId,
      })
      : await generate(model, [prompt], {
        ...options,
        seed: seed + i,
        onStep: showSteps
          ? (state) => trace(traceLine(tokenizer, state, total, { maskChar, color }))
          : undefined,
      });
    const answer = tokens[0].slice(prompt.length);
    const end = answer.indexOf(tokenizer.eosId);
    const completion = tokenizer.decode(end < 0 ? answer : answer.slice(0, end), { skipSpecial: true });
    if (json) {
      console.log(JSON.stringify({
        prompt: promptText,
        completion,
        tokens: answer,
        nfe,
        backend: pretrained.backend.name,
        model: pretrained.dir,
      }));
      continue;
    }
    if (showSteps) status(`(${nfe} network evaluations)`);
    console.log(promptText + completion);
    if (i + 1 < samples) console.log("---");
  }
  return 0;
}

/** The options that only the mask predictor's reverse process reads. */
const REVERSE_PROCESS_ONLY = [
  "steps",
  "block-length",
  "cfg",
  "remasking",
  "threshold",
  "logits-eos-inf",
  "confidence-eos-inf",
  "show-steps",
];

/**
 * A model folder marked as the autoregressive twin is decoded left to right (greedy at temperature 0, sampled
 * above it; `--gen-length`, `--temperature`, `--samples` and `--seed` apply): options of the reverse process given
 * on the command line are refused rather than silently ignored.
 */
function refuseReverseProcessOptions(args: ParsedArgs, dir: string): void {
  const refused = REVERSE_PROCESS_ONLY.filter((k) => args.has(k));
  if (refused.length === 0) return;
  throw new UsageError(
    `${dir} is an autoregressive twin, which writes left to right: ${
      refused.map((k) => `--${k}`).join(", ")
    } belong to the mask predictor's reverse process; drop them (the twin takes --gen-length, --temperature, ` +
      "--samples and --seed)",
  );
}

/** The canvas before the first step (prompt and all masks), as a step-0 state for the trace. */
function initialState(prompt: number[], options: GenerateOptions): StepState {
  const tokens = [...prompt, ...new Array(options.genLength).fill(options.maskId)];
  return { block: 0, step: -1, nfe: 0, tokens: [tokens], committed: [[]], confidence: [[]], predicted: [[]] };
}
