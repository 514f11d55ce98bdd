/**
 * `llada sample`: generate text with LLaDA's reverse process (`src/llada/reverse_sampling.ts`), every sampler
 * option on the command line, and `--show-steps` to watch the masks disappear step by step. The strategies of the
 * extended sampler (`src/llada/strategies.ts`: ancestral, ReMDM, factor decoding, top-k/top-p, EOS early stop, the
 * KV caches, infilling) are options too; with none of them the official sampler (`generate`) runs, as before. A
 * model folder whose `config.json` marks the autoregressive twin is decoded left to right instead
 * (`autoregressive_sampling.ts`), with the same `--temperature`, `--top-k`, `--top-p` and `--early-stop`.
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
import {
  generate,
  type GenerateOptions,
  type Remasking,
  REMASKINGS,
  type StepState,
} from "../llada/reverse_sampling.ts";
import {
  type CacheMode,
  CACHES,
  infill,
  sample,
  type SampleOptions,
  type SampleResult,
  STRATEGIES,
} from "../llada/strategies.ts";
import { generateAutoregressive } from "../llada/autoregressive_sampling.ts";
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

/** The strategies `--strategy` takes: the extended sampler's, and `remdm` (a ranking plus ReMDM remasking). */
export const CLI_STRATEGIES = [...STRATEGIES, "remdm"] as const;

/** ReMDM's cap η when `--strategy remdm` is given without `--remask`. */
const DEFAULT_REMASK = 0.3;

/** The marker `--infill` reads as one masked position. */
export const MASK_MARKER = "[MASK]";

/** Options of the extended sampler (`strategies.ts`), `sample` only. */
const STRATEGY_OPTIONS: CommandSpec["options"] = {
  strategy: {
    type: "string",
    choices: CLI_STRATEGIES,
    help:
      "how each step commits: a ranking (as --remasking), ancestral (Algorithm 4: a random count per step) " +
      "or remdm (the --remasking ranking, remasking committed low-confidence tokens)",
    defaultNote: "--remasking",
  },
  factor: {
    type: "number",
    help: "Fast-dLLM's factor rule: commit the top n while (n + 1)(1 − c_n) ≤ FACTOR (ignores --steps)",
  },
  "top-k": {
    type: "int",
    min: 1,
    help: "sample only among the K most likely tokens (needs --temperature > 0)",
  },
  "top-p": {
    type: "number",
    help: "sample only among the most likely tokens of mass ≥ P (needs --temperature > 0)",
  },
  remask: {
    type: "number",
    min: 0,
    max: 1,
    help:
      `ReMDM's cap η on the share of committed tokens remasked per step (with --strategy remdm; default ${DEFAULT_REMASK})`,
  },
  cache: {
    type: "string",
    default: "none",
    choices: CACHES,
    help: "Fast-dLLM's KV cache: prefix (prompt and finished blocks) or dual (the masked suffix too)",
  },
  "cache-refresh": {
    type: "int",
    min: 1,
    help: "refresh the cache every N steps inside a block (default: when a block starts; 1: exact)",
  },
  "early-stop": {
    type: "boolean",
    help: "stop once a block comes out all EOS (the rest is EOS, no more evaluations)",
  },
  infill: {
    type: "string",
    placeholder: "TEXT",
    help: `fill the holes of TEXT, each ${MASK_MARKER} one token (instead of --prompt and --gen-length)`,
  },
  suffix: {
    type: "string",
    placeholder: "TEXT",
    help: "fixed text after the --gen-length generated tokens (infilling between --prompt and TEXT)",
  },
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
--strategy ancestral|remdm, --factor, --top-k, --top-p, --cache, --early-stop, --infill and --suffix run the
extended sampler (src/llada/strategies.ts); without them the official sampler runs. --infill fills a canvas
with holes written ${MASK_MARKER}, one token each; --suffix fixes text after the generated tokens; both decode the
canvas as one block unless --block-length (dividing the canvas length) is given.
Results go to stdout (with --json, one JSON object per sample: prompt, completion, tokens, nfe, strategy,
cache, backend, model); the backend, the model and notes go to stderr.`,
  options: {
    model: MODEL_OPTION,
    prompt: { type: "string", default: "", help: "text to continue" },
    "prompt-file": { type: "string", placeholder: "FILE", help: "read the prompt from FILE (- for stdin)" },
    json: { type: "boolean", help: "print one JSON object per sample instead of text" },
    samples: { type: "int", default: 1, min: 1, help: "how many samples (seeds seed, seed+1, …)" },
    "show-steps": { type: "boolean", help: "print the denoising trace" },
    "mask-char": { type: "string", default: "▒", help: "how --show-steps draws a masked position" },
    ...SAMPLER_OPTIONS,
    ...STRATEGY_OPTIONS,
  },
  examples: [
    'deno task llada sample --prompt "The jury said" --show-steps',
    'deno task llada sample --prompt "He was" --gen-length 96 --block-length 32 --steps 48 --temperature 0.8',
    "deno task llada sample --model runs/demo --samples 3",
    'deno task llada sample --prompt "The jury said" --block-length 16 --threshold 0.9 --cache dual --json',
    'deno task llada sample --infill "The [MASK][MASK][MASK] said" --steps 3',
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
  const infillText = args.string("infill");
  if (infillText !== undefined) refuseBesideInfill(args);
  const promptText = infillText === undefined ? await readPrompt(args) : "";
  const pretrained = await loadForCommand(args);
  const { model, tokenizer } = pretrained;
  if (model.causal) refuseReverseProcessOptions(args, pretrained.dir);
  const task = sampleTask(args, pretrained, promptText, infillText);
  const { options, canvas } = task;
  const json = args.bool("json");
  const showSteps = args.bool("show-steps");
  // The trace is a result of --show-steps; with --json the results are the JSON lines, so it goes to stderr.
  const trace = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const color = useColor(json ? Deno.stderr : Deno.stdout);
  const maskChar = args.string("mask-char");
  const total = options.steps === undefined ? "?" : String(options.steps);
  const seed = options.seed ?? 0;
  const samples = args.number("samples")!;
  for (let i = 0; i < samples; i++) {
    if (showSteps) trace(traceLine(tokenizer, initialState(canvas), total, { maskChar }));
    const onStep = showSteps
      ? (state: StepState) => trace(traceLine(tokenizer, state, total, { maskChar, color }))
      : undefined;
    const { tokens, nfe } = model.causal
      ? await generateAutoregressive(model, [task.prompt], {
        genLength: options.genLength,
        temperature: options.temperature,
        topK: task.sampler.topK,
        topP: task.sampler.topP,
        earlyStop: task.sampler.earlyStop,
        seed: seed + i,
        bosId: tokenizer.eosId,
        eosId: tokenizer.eosId,
        maskId: tokenizer.maskId,
      })
      : await runSampler(model, task, seed + i, onStep);
    const row = tokens[0];
    const generated = task.kind === "infill"
      ? row
      : row.slice(task.prompt.length, task.prompt.length + options.genLength);
    const end = task.kind === "infill" ? -1 : generated.indexOf(tokenizer.eosId);
    const completion = tokenizer.decode(end < 0 ? generated : generated.slice(0, end), { skipSpecial: true });
    if (json) {
      console.log(JSON.stringify({
        ...(task.kind === "infill" ? { infill: infillText } : { prompt: promptText }),
        ...(task.kind === "suffix" ? { suffix: args.string("suffix") } : {}),
        completion,
        tokens: generated,
        nfe,
        strategy: model.causal ? "autoregressive" : strategyName(task),
        cache: task.sampler.cache ?? "none",
        threshold: task.options.threshold ?? null,
        factor: task.sampler.factor ?? null,
        backend: pretrained.backend.name,
        model: pretrained.dir,
      }));
      continue;
    }
    if (showSteps) status(`(${nfe} network evaluations)`);
    const suffix = task.kind === "suffix" ? args.string("suffix")! : "";
    console.log(task.kind === "infill" ? completion : promptText + completion + suffix);
    if (i + 1 < samples) console.log("---");
  }
  return 0;
}

/** What `sample` decodes: a prompt to continue, a prompt and a fixed suffix, or a canvas with holes. */
interface SampleTask {
  kind: "continue" | "suffix" | "infill";
  /** The prompt's tokens (empty for `--infill`). */
  prompt: number[];
  /** The canvas before the first step: the prompt (or given tokens) and the masks. */
  canvas: number[];
  /** The official sampler's options (what `generate` and the twin read). */
  options: GenerateOptions;
  /** The extended sampler's options (`strategies.ts`), or undefined when the official sampler runs. */
  sampler: Partial<SampleOptions>;
  /** Whether the extended sampler runs (`--strategy ancestral`, a cache, infilling, …). */
  extended: boolean;
  /** The strategy given (`--strategy`, else `--remasking`'s value or default). */
  strategy: string;
}

/** The strategy that runs, as `--strategy` names it: a ranking may be the model's recommended one. */
function strategyName(task: SampleTask): string {
  const { strategy, options } = task;
  return strategy === "ancestral" || strategy === "remdm" ? strategy : options.remasking!;
}

/** Which sampler runs with which options, from the command line, the model's defaults and the canvas. */
function sampleTask(
  args: ParsedArgs,
  pretrained: Parameters<typeof resolveSampling>[0],
  promptText: string,
  infillText: string | undefined,
): SampleTask {
  const { tokenizer } = pretrained;
  const strategy = resolveStrategy(args);
  const given = givenSettings(args);
  if (args.has("strategy") && (REMASKINGS as readonly string[]).includes(strategy)) {
    given.remasking = strategy as Remasking;
  }
  const sampler = extendedOptions(args, strategy);
  // A canvas sets its own length and blocks: the model's recommended lengths and steps are for continuations.
  const { steps: _, block_length: __, gen_length: genLength, ...rest } = pretrained.generationConfig;
  const forCanvas = { ...pretrained, generationConfig: rest };
  const { steps: ___, blockLength: ____, ...canvasSettings } = given;
  if (infillText !== undefined) {
    const canvas = infillCanvas(tokenizer, infillText, pretrained.model.config.max_sequence_length);
    const shared = samplerOptions(forCanvas, 0, { ...canvasSettings, genLength: canvas.length });
    return infillTask("infill", args, [], canvas, shared, sampler, strategy);
  }
  const prompt = encodePrompt(tokenizer, promptText, args.has("prompt-file") ? "--prompt-file" : "--prompt");
  const suffixText = args.string("suffix");
  if (suffixText !== undefined) {
    const suffix = encodePrompt(tokenizer, suffixText, "--suffix");
    const shared = samplerOptions(
      { ...forCanvas, generationConfig: { ...rest, gen_length: genLength } },
      prompt.length + suffix.length,
      canvasSettings,
    );
    const canvas = [...prompt, ...new Array(shared.genLength).fill(tokenizer.maskId), ...suffix];
    return infillTask("suffix", args, prompt, canvas, shared, sampler, strategy);
  }
  const options = samplerOptions(pretrained, prompt.length, given);
  const extended = Object.keys(sampler).length > 0 || strategy === "ancestral" || strategy === "remdm";
  checkTemperatureFilter(sampler, options.temperature ?? 0);
  const canvas = [...prompt, ...new Array(options.genLength).fill(tokenizer.maskId)];
  return {
    kind: "continue",
    prompt,
    canvas,
    // A factor given here replaces the fixed schedule and a threshold the model may recommend.
    options: sampler.factor === undefined ? options : { ...options, steps: undefined, threshold: undefined },
    sampler,
    extended,
    strategy,
  };
}

/** The options of an infilling canvas: one block unless `--block-length` is given; steps one per hole by default. */
function infillTask(
  kind: "suffix" | "infill",
  args: ParsedArgs,
  prompt: number[],
  canvas: number[],
  shared: GenerateOptions,
  sampler: Partial<SampleOptions>,
  strategy: string,
): SampleTask {
  const maskId = shared.maskId!;
  const width = canvas.length;
  const blockLength = args.number("block-length") ?? width;
  if (width % blockLength !== 0) {
    throw new InputError(
      "--block-length",
      `${blockLength} does not divide the canvas's ${width} tokens (infilling cuts the whole canvas into blocks)`,
      `give a divisor of ${width}, or leave it out for one block`,
    );
  }
  // Holes per block that has any: the default gives the fullest block one step per hole.
  const holes: number[] = [];
  for (let start = 0; start < width; start += blockLength) {
    const n = canvas.slice(start, start + blockLength).filter((t) => t === maskId).length;
    if (n > 0) holes.push(n);
  }
  const parallel = shared.threshold !== undefined || sampler.factor !== undefined;
  const steps = parallel ? undefined : args.number("steps") ?? holes.length * Math.max(...holes);
  if (steps !== undefined && steps % holes.length !== 0) {
    throw new InputError(
      "--steps",
      `${steps} steps do not spread evenly over the ${holes.length} blocks that have holes`,
      `give a multiple of ${holes.length}`,
    );
  }
  checkTemperatureFilter(sampler, shared.temperature ?? 0);
  return {
    kind,
    prompt,
    canvas,
    options: {
      ...shared,
      genLength: kind === "suffix" ? shared.genLength : width, // the gap, or the whole canvas
      blockLength,
      steps,
      threshold: sampler.factor === undefined ? shared.threshold : undefined,
    },
    sampler,
    extended: true,
    strategy,
  };
}

/**
 * The canvas of `--infill`: its text with each {@link MASK_MARKER} one masked position. The pieces between markers
 * are encoded one by one (a BPE tokenizer does not merge across a hole).
 */
function infillCanvas(tokenizer: Tokenizer, text: string, maxLength: number): number[] {
  const pieces = text.split(MASK_MARKER);
  if (pieces.length === 1) {
    throw new InputError(
      "--infill",
      `has no ${MASK_MARKER} to fill`,
      `write ${MASK_MARKER} where each token is to be filled`,
    );
  }
  const canvas: number[] = [];
  pieces.forEach((piece, i) => {
    if (i > 0) canvas.push(tokenizer.maskId);
    canvas.push(...encodePrompt(tokenizer, piece, "--infill"));
  });
  if (canvas.length > maxLength) {
    throw new InputError(
      "--infill",
      `its ${canvas.length} tokens exceed the model's max_sequence_length ${maxLength}`,
      "give a shorter canvas",
    );
  }
  return canvas;
}

/** The strategy: `--strategy`, else the `--remasking` ranking (given or the model's); the two must agree. */
function resolveStrategy(args: ParsedArgs): string {
  const strategy = args.string("strategy");
  if (strategy === undefined) return args.string("remasking")!;
  const ranking = (REMASKINGS as readonly string[]).includes(strategy);
  if (args.has("remasking") && ranking && strategy !== args.string("remasking")) {
    throw new UsageError(
      `--strategy ${strategy} and --remasking ${
        args.string("remasking")
      } name two rankings; give one of them`,
    );
  }
  if (args.has("remasking") && strategy === "ancestral") {
    throw new UsageError("--strategy ancestral reveals at random and ranks nothing; drop --remasking");
  }
  return strategy;
}

/** The extended sampler's options given on the command line (only those given), checked against each other. */
function extendedOptions(args: ParsedArgs, strategy: string): Partial<SampleOptions> {
  const o: Partial<SampleOptions> = {};
  const parallel = args.has("threshold") ? "--threshold" : args.has("factor") ? "--factor" : undefined;
  if (args.has("threshold") && args.has("factor")) {
    throw new UsageError("--threshold and --factor are two parallel decoding rules; give one of them");
  }
  if (args.has("factor")) {
    const factor = args.number("factor")!;
    if (!(factor > 0)) throw new UsageError(`--factor must be above 0, got ${factor}`);
    o.factor = factor;
  }
  if (strategy === "ancestral") {
    if (parallel) {
      throw new UsageError(
        `--strategy ancestral reveals a random count per step: it takes --steps, not ${parallel}`,
      );
    }
    o.strategy = "ancestral";
  }
  if (args.has("remask") && strategy !== "remdm") {
    throw new UsageError("--remask is ReMDM's cap η: give it with --strategy remdm");
  }
  if (strategy === "remdm") {
    if (parallel) {
      throw new UsageError(
        `--strategy remdm remasks on the fixed schedule: it takes --steps, not ${parallel}`,
      );
    }
    o.remask = args.number("remask") ?? DEFAULT_REMASK; // on the --remasking ranking (given or the model's)
  }
  if (args.has("top-k")) o.topK = args.number("top-k");
  if (args.has("top-p")) {
    const p = args.number("top-p")!;
    if (!(p > 0 && p <= 1)) throw new UsageError(`--top-p must be in (0, 1], got ${p}`);
    o.topP = p;
  }
  const cache = args.string("cache") as CacheMode;
  if (cache !== "none") {
    if (args.number("cfg")! > 0) {
      throw new UsageError("--cfg runs without a KV cache: drop --cache or --cfg");
    }
    o.cache = cache;
  }
  if (args.has("cache-refresh")) {
    if (cache === "none") {
      throw new UsageError("--cache-refresh refreshes a KV cache: give --cache prefix or dual");
    }
    o.cacheRefresh = args.number("cache-refresh");
  }
  if (args.bool("early-stop")) o.earlyStop = true;
  return o;
}

/** Top-k and top-p filter temperature sampling: at temperature 0 (greedy) they would silently do nothing. */
function checkTemperatureFilter(o: Partial<SampleOptions>, temperature: number): void {
  const filter = o.topK !== undefined ? "--top-k" : o.topP !== undefined ? "--top-p" : undefined;
  if (filter && temperature === 0) {
    throw new UsageError(
      `${filter} filters temperature sampling, and the temperature is 0: give --temperature > 0`,
    );
  }
}

/** Runs the official sampler, or the extended one when any of its options is given (see {@link sampleTask}). */
async function runSampler(
  model: Parameters<typeof generate>[0],
  task: SampleTask,
  seed: number,
  onStep: ((state: StepState) => void) | undefined,
): Promise<SampleResult> {
  const { options, sampler } = task;
  if (!task.extended) {
    // The official loop runs its fixed count of steps for every row.
    const result = await generate(model, [task.prompt], { ...options, seed, onStep });
    return { ...result, nfePerRow: [result.nfe] };
  }
  const { remasking, genLength, ...shared } = options;
  const o = { strategy: remasking, ...shared, ...sampler, seed, onStep };
  try {
    return task.kind === "continue"
      ? await sample(model, [task.prompt], { ...o, genLength })
      : await infill(model, [task.canvas], o);
  } catch (e) {
    // The library's checks of the options (the command line checked most of them before).
    if (!(e instanceof Error) || !e.message.startsWith("generate: ")) throw e;
    throw new InputError("sampler options", e.message.slice("generate: ".length), "see llada sample --help");
  }
}

/** `--infill` gives the whole canvas: the options that build one from a prompt are refused beside it. */
function refuseBesideInfill(args: ParsedArgs): void {
  const refused = ["prompt", "prompt-file", "gen-length", "suffix", "early-stop"].filter((k) => args.has(k));
  if (refused.length > 0) {
    throw new UsageError(
      `--infill gives the whole canvas (its ${MASK_MARKER} holes are what is generated): drop ${
        refused.map((k) => `--${k}`).join(", ")
      }`,
    );
  }
}

/** The options that only the mask predictor's reverse process reads. */
const REVERSE_PROCESS_ONLY = [
  "strategy",
  "factor",
  "remask",
  "cache",
  "cache-refresh",
  "infill",
  "suffix",
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
 * above it; `--gen-length`, `--temperature`, `--top-k`, `--top-p`, `--early-stop`, `--samples` and `--seed`
 * apply): options of the reverse process given on the command line are refused rather than silently ignored.
 */
function refuseReverseProcessOptions(args: ParsedArgs, dir: string): void {
  const refused = REVERSE_PROCESS_ONLY.filter((k) => args.has(k));
  if (refused.length === 0) return;
  throw new UsageError(
    `${dir} is an autoregressive twin, which writes left to right: ${
      refused.map((k) => `--${k}`).join(", ")
    } belong to the mask predictor's reverse process; drop them (the twin takes --gen-length, --temperature, ` +
      "--top-k, --top-p, --early-stop, --samples and --seed)",
  );
}

/** The canvas before the first step, as a step-0 state for the trace. */
function initialState(canvas: number[]): StepState {
  return { block: 0, step: -1, nfe: 0, tokens: [canvas], committed: [[]], confidence: [[]], predicted: [[]] };
}
