/**
 * `llada sample`: generate text with LLaDA's reverse process (`src/llada/reverse_sampling.ts`), every sampler
 * option on the command line, and `--show-steps` to watch the masks disappear step by step.
 *
 * @module
 */

import { type CommandSpec, parseCommand, type ParsedArgs, UsageError, withDefaults } from "./args.ts";
import {
  BACKEND_OPTION,
  chooseBackend,
  loadModelAndTokenizer,
  MODEL_OPTION,
  renderCanvas,
} from "./common.ts";
import {
  generate,
  type GenerateOptions,
  type Remasking,
  REMASKINGS,
  type StepState,
} from "../llada/reverse_sampling.ts";
import { CACHES, sample, type SampleOptions, STRATEGIES, type Strategy } from "../llada/strategies.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { LLaDAModel } from "../model/llada.ts";

/** Sampler options shared by `sample` and `chat`. */
export const SAMPLER_OPTIONS: CommandSpec["options"] = {
  "gen-length": { type: "int", default: 64, min: 1, help: "tokens to generate" },
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

/** The sampler lab's options (`llada/strategies.ts`); given any of them, `sample` decodes with the lab's sampler. */
const LAB_OPTIONS: CommandSpec["options"] = {
  strategy: {
    type: "string",
    choices: STRATEGIES,
    help: "which predictions to commit (replaces --remasking; ancestral: Algorithm 4's random reveals)",
  },
  factor: { type: "number", min: 0, help: "Fast-dLLM's factor-based parallel decoding (ignores --steps)" },
  "top-k": { type: "int", min: 1, help: "sample among the k most likely tokens (temperature > 0)" },
  "top-p": {
    type: "number",
    min: 0,
    max: 1,
    help: "sample from the smallest set with this mass (temperature > 0)",
  },
  remask: { type: "number", min: 0, max: 1, help: "ReMDM's η: remask committed low-confidence tokens" },
  "early-stop": { type: "boolean", help: "stop once a block comes out all EOS" },
  cache: {
    type: "string",
    choices: CACHES,
    help: "KV cache (Fast-dLLM): none, prefix or dual (default none)",
  },
  "cache-refresh": {
    type: "int",
    min: 1,
    help: "steps between KV-cache refreshes (default: once per block)",
  },
};

/** The lab's settings when any lab option is given (then `sample` decodes with `llada/strategies.ts`). */
function labOptions(args: ParsedArgs, options: GenerateOptions): SampleOptions | undefined {
  if (!Object.keys(LAB_OPTIONS).some((name) => args.has(name))) return undefined;
  const factor = args.number("factor");
  const { remasking, onStep: _, ...rest } = options;
  return {
    ...rest,
    steps: factor === undefined ? options.steps : undefined,
    strategy: (args.string("strategy") as Strategy | undefined) ?? remasking,
    factor,
    topK: args.number("top-k"),
    topP: args.number("top-p"),
    remask: args.number("remask"),
    earlyStop: args.bool("early-stop"),
    cache: args.string("cache") as SampleOptions["cache"],
    cacheRefresh: args.number("cache-refresh"),
  };
}

/** The `sample` command's options. */
export const SAMPLE_SPEC: CommandSpec = {
  name: "sample",
  summary: "generate text by iterative unmasking",
  description:
    `Starts from [prompt | ▒ × gen-length] and reveals the masked positions step by step. A model folder may
recommend sampler settings in generation_config.json (the shipped model does); options given here win.
With --show-steps every step's canvas is printed, ▒ marking positions still masked (¶ is EOS, ↵ a newline).`,
  options: {
    model: MODEL_OPTION,
    prompt: { type: "string", default: "", help: "text to continue" },
    samples: { type: "int", default: 1, min: 1, help: "how many samples (seeds seed, seed+1, …)" },
    "show-steps": { type: "boolean", help: "print the denoising trace" },
    "mask-char": { type: "string", default: "▒", help: "how --show-steps draws a masked position" },
    ...SAMPLER_OPTIONS,
    ...LAB_OPTIONS,
  },
  examples: [
    'deno task llada sample --prompt "The jury said" --show-steps',
    'deno task llada sample --prompt "He was" --gen-length 96 --block-length 32 --steps 48 --temperature 0.8',
    "deno task llada sample --model runs/demo --samples 3",
  ],
};

/**
 * The options with the model's recommended sampler settings as defaults: `generation_config.json` beside the
 * weights (as in Hugging Face model folders), e.g. `{ "remasking": "random", "temperature": 0.8 }` with the
 * sampler options' names (`block_length`, `gen_length`, …). Options given on the command line win.
 */
export async function withGenerationConfig(args: ParsedArgs, modelDir: string): Promise<ParsedArgs> {
  const path = `${modelDir}/generation_config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return args;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new UsageError(`${path} must hold a JSON object of sampler settings`);
  }
  const known = Object.keys(SAMPLER_OPTIONS).map((k) => k.replaceAll("-", "_"));
  const settings = Object.fromEntries(Object.entries(json).filter(([k]) => known.includes(k)));
  return withDefaults(args, settings, path);
}

/** The sampler settings from parsed options (shared with `chat`). */
export function samplerOptions(args: ParsedArgs, tokenizer: Tokenizer): GenerateOptions {
  const genLength = args.number("gen-length")!;
  const threshold = args.number("threshold");
  return {
    genLength,
    steps: threshold === undefined ? args.number("steps") ?? genLength : undefined,
    blockLength: args.number("block-length") ?? genLength,
    temperature: args.number("temperature"),
    cfgScale: args.number("cfg"),
    remasking: args.string("remasking") as Remasking,
    threshold,
    maskId: tokenizer.maskId,
    padId: tokenizer.padId,
    eosId: tokenizer.eosId,
    logitsEosInf: args.bool("logits-eos-inf"),
    confidenceEosInf: args.bool("confidence-eos-inf"),
    seed: args.number("seed"),
  };
}

/** Checks that prompt + generation fit the model, with a message that says what to shorten. */
export function checkFits(model: LLaDAModel, promptLength: number, genLength: number): void {
  const max = model.config.max_sequence_length;
  if (promptLength + genLength > max) {
    throw new UsageError(
      `the prompt (${promptLength} tokens) plus --gen-length ${genLength} exceed the model's ` +
        `max_sequence_length ${max}; shorten one of them`,
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
export function useColor(): boolean {
  return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
}

/** Runs `llada sample`; returns the exit code. */
export async function sampleCommand(argv: string[]): Promise<number> {
  const given = parseCommand(SAMPLE_SPEC, argv);
  if (!given) return 0;
  const { backend } = await chooseBackend(given.string("backend"));
  const { model, tokenizer, dir } = await loadModelAndTokenizer(given.string("model")!, backend);
  const args = await withGenerationConfig(given, dir);
  const prompt = tokenizer.encode(args.string("prompt")!);
  const options = samplerOptions(args, tokenizer);
  checkFits(model, prompt.length, options.genLength);
  const showSteps = args.bool("show-steps");
  const color = useColor();
  const lab = labOptions(args, options);
  const total = options.threshold === undefined && lab?.factor === undefined ? String(options.steps) : "?";
  const seed = args.number("seed")!;
  for (let i = 0; i < args.number("samples")!; i++) {
    if (showSteps) {
      console.log(
        traceLine(tokenizer, initialState(prompt, options), total, { maskChar: args.string("mask-char") }),
      );
    }
    const onStep = showSteps
      ? (state: StepState) =>
        console.log(traceLine(tokenizer, state, total, { maskChar: args.string("mask-char"), color }))
      : undefined;
    const { tokens, nfe } = lab
      ? await sample(model, [prompt], { ...lab, seed: seed + i, onStep })
      : await generate(model, [prompt], { ...options, seed: seed + i, onStep });
    const answer = tokens[0].slice(prompt.length);
    const end = answer.indexOf(tokenizer.eosId);
    const text = tokenizer.decode(end < 0 ? answer : answer.slice(0, end), { skipSpecial: true });
    if (showSteps) console.log(`(${nfe} network evaluations)`);
    console.log(args.string("prompt") + text);
    if (i + 1 < args.number("samples")!) console.log("---");
  }
  return 0;
}

/** The canvas before the first step (prompt and all masks), as a step-0 state for the trace. */
function initialState(prompt: number[], options: GenerateOptions): StepState {
  const tokens = [...prompt, ...new Array(options.genLength).fill(options.maskId)];
  return { block: 0, step: -1, nfe: 0, tokens: [tokens], committed: [[]], confidence: [[]], predicted: [[]] };
}
