/**
 * Text in, text out: {@link generateText} runs LLaDA's reverse process (`llada/reverse_sampling.ts`) on a loaded
 * model's tokenizer and returns the completion with its denoising trace, and {@link resolveSampling} turns the
 * settings a caller gave, the model's `generation_config.json` and the built-in defaults into the sampler's
 * options, adapting the defaults to the model (a generation that fits its `max_sequence_length`).
 *
 * @module
 */

import { InputError } from "./errors.ts";
import { generate, type GenerateOptions, type Remasking, type StepState } from "./llada/reverse_sampling.ts";
import type { GenerationConfig, Pretrained } from "./pretrained.ts";
import { renderCanvas } from "./tokenizer/render.ts";
import type { Tokenizer } from "./tokenizer/tokenizer.ts";
import { keepEncodable } from "./tokenizer/coverage.ts";

/** The sampler's built-in defaults, used where neither the caller nor `generation_config.json` sets a value. */
export const SAMPLING_DEFAULTS: Readonly<{
  genLength: number;
  temperature: number;
  cfgScale: number;
  remasking: Remasking;
  seed: number;
}> = Object.freeze({ genLength: 64, temperature: 0, cfgScale: 0, remasking: "low_confidence", seed: 0 });

/**
 * Sampler settings a caller may give, as `generate` names and documents them; each one left out comes from the
 * model's `generation_config.json`, else {@link SAMPLING_DEFAULTS} (steps: one per generated token; block: the
 * whole generation), and a length that was not given is capped to what fits the model ({@link resolveSampling}).
 */
export type SamplingSettings = Partial<
  Pick<
    GenerateOptions,
    | "genLength"
    | "steps"
    | "blockLength"
    | "temperature"
    | "cfgScale"
    | "remasking"
    | "threshold"
    | "logitsEosInf"
    | "confidenceEosInf"
    | "seed"
  >
>;

/** What {@link resolveSampling} decided. */
export interface ResolvedSampling {
  /** The options for `generate` (special ids from the tokenizer). */
  options: GenerateOptions;
  /** Where each setting came from: `"given"`, `"generation_config.json"`, `"default"` or `"adapted"`. */
  sources: Record<keyof SamplingSettings, "given" | "generation_config.json" | "default" | "adapted">;
  /** One line per default that was adapted to the model, e.g. `genLength 64 → 24: …`. */
  notes: string[];
}

/**
 * The sampler options for a prompt of `promptLength` tokens: each setting from `given`, else from the model's
 * `generationConfig`, else `defaults`, else {@link SAMPLING_DEFAULTS}. A generation length that was not given is capped to what
 * fits the model's `max_sequence_length` after the prompt, and block length and steps that were not given are
 * adapted to it (one block; one step per token); each such change is listed in `notes`.
 *
 * @throws {InputError} when the prompt leaves no room, a given `genLength` does not fit, or given settings do
 *   not divide (`blockLength` must divide `genLength`; `steps` must be a multiple of the number of blocks).
 */
export function resolveSampling(
  pretrained: Pick<Pretrained, "model" | "tokenizer" | "generationConfig">,
  promptLength: number,
  given: SamplingSettings = {},
  defaults: Partial<typeof SAMPLING_DEFAULTS> = {},
): ResolvedSampling {
  const builtIn = { ...SAMPLING_DEFAULTS, ...defaults };
  const gc: GenerationConfig = pretrained.generationConfig;
  const max = pretrained.model.config.max_sequence_length;
  const sources = {} as ResolvedSampling["sources"];
  const notes: string[] = [];
  const pick = <T>(key: keyof SamplingSettings, fromConfig: T | undefined, fallback: T): T => {
    const value = given[key] as T | undefined;
    if (value !== undefined) {
      sources[key] = "given";
      return value;
    }
    sources[key] = fromConfig !== undefined ? "generation_config.json" : "default";
    return fromConfig ?? fallback;
  };
  const fit: Fitting = { sources, notes };
  const genLength = fitGenLength(fit, pick("genLength", gc.gen_length, builtIn.genLength), promptLength, max);
  const blockLength = fitBlockLength(fit, pick("blockLength", gc.block_length, genLength), genLength);
  const threshold = pick("threshold", gc.threshold, undefined as number | undefined);
  let steps: number | undefined;
  if (threshold === undefined) {
    steps = fitSteps(fit, pick("steps", gc.steps, genLength), genLength, blockLength);
  } else sources.steps = "default";

  const tok = pretrained.tokenizer;
  const options: GenerateOptions = {
    genLength,
    steps,
    blockLength,
    threshold,
    temperature: pick("temperature", gc.temperature, builtIn.temperature),
    cfgScale: pick("cfgScale", gc.cfg, builtIn.cfgScale),
    remasking: pick("remasking", gc.remasking, builtIn.remasking),
    logitsEosInf: pick("logitsEosInf", gc.logits_eos_inf, false),
    confidenceEosInf: pick("confidenceEosInf", gc.confidence_eos_inf, false),
    seed: pick("seed", gc.seed, builtIn.seed),
    maskId: tok.maskId,
    eosId: tok.eosId,
    padId: tok.padId,
  };
  return { options, sources, notes };
}

/** Where each setting came from and the notes on those adapted, shared by the fitting steps below. */
interface Fitting {
  sources: ResolvedSampling["sources"];
  notes: string[];
}

/** The generation length, capped to what fits after the prompt unless it was given (then it must fit). */
function fitGenLength(fit: Fitting, genLength: number, promptLength: number, max: number): number {
  const room = max - promptLength;
  if (room < 1) {
    throw new InputError(
      "prompt",
      `${promptLength} tokens leave no room to generate in the model's max_sequence_length ${max}`,
      `shorten it to at most ${max - 1} tokens`,
    );
  }
  if (genLength <= room) return genLength;
  if (fit.sources.genLength === "given") {
    throw new InputError(
      "genLength",
      `${genLength} tokens after a ${promptLength}-token prompt exceed the model's max_sequence_length ${max}`,
      `pass at most ${room}, or a shorter prompt`,
    );
  }
  fit.notes.push(
    `genLength ${genLength} → ${room}: what fits the model's max_sequence_length ${max} after ` +
      `a ${promptLength}-token prompt`,
  );
  fit.sources.genLength = "adapted";
  return room;
}

/** The block length: one block when a setting that was not given does not divide the generation length. */
function fitBlockLength(fit: Fitting, blockLength: number, genLength: number): number {
  if (genLength % blockLength === 0 && blockLength <= genLength) return blockLength;
  if (fit.sources.blockLength === "given") {
    throw new InputError(
      "blockLength",
      `${blockLength} does not divide genLength ${genLength}`,
      "pass a divisor of genLength (or leave it out: one block)",
    );
  }
  if (fit.sources.genLength === "adapted") {
    fit.notes.push(`blockLength ${blockLength} → ${genLength}: one block of the adapted length`);
  }
  fit.sources.blockLength = "adapted";
  return genLength;
}

/** The fixed schedule's steps: a multiple of the blocks, and at most one per token after an adapted length. */
function fitSteps(fit: Fitting, steps: number, genLength: number, blockLength: number): number {
  const blocks = genLength / blockLength;
  if (steps % blocks !== 0) {
    if (fit.sources.steps === "given") {
      throw new InputError(
        "steps",
        `${steps} is not a multiple of the ${blocks} blocks (genLength ${genLength} / blockLength ${blockLength})`,
        `pass a multiple of ${blocks}`,
      );
    }
    const rounded = Math.max(blocks, Math.round(steps / blocks) * blocks);
    fit.notes.push(`steps ${steps} → ${rounded}: a multiple of the ${blocks} blocks`);
    fit.sources.steps = "adapted";
    return rounded;
  }
  if (fit.sources.genLength === "adapted" && fit.sources.steps !== "given" && steps > genLength) {
    fit.notes.push(`steps ${steps} → ${genLength}: one per generated token at most`);
    fit.sources.steps = "adapted";
    return genLength;
  }
  return steps;
}

/** Options for {@link generateText}: sampler settings, a way to stop, and a per-step callback. */
export interface GenerateTextOptions extends SamplingSettings {
  /** Stops generation before its next step; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after every step, as `generate`'s `onStep`. */
  onStep?: (state: StepState) => void | Promise<void>;
}

/** One step of a denoising trace. */
export interface TraceStep {
  /** Network evaluations so far (the step's number, counted from 1). */
  nfe: number;
  /** The canvas after the step: prompt and answer, masked positions drawn as `▒` (see `renderCanvas`). */
  canvas: string;
  /** The answer positions revealed at this step (indices into the canvas). */
  committed: number[];
}

/** What {@link generateText} returns. */
export interface GenerateTextResult {
  /** The prompt followed by the completion. */
  text: string;
  /** The generated text after the prompt, up to the first EOS, special tokens dropped. */
  completion: string;
  /** Prompt and generated token ids (all `genLength` of them, EOS included). */
  tokens: number[];
  /** Network evaluations. */
  nfe: number;
  /** The canvas before the first step and after every step. */
  trace: TraceStep[];
  /** The sampler settings used, and which defaults were adapted to the model. */
  sampling: ResolvedSampling;
}

/**
 * Encodes `text` as a prompt. A character the tokenizer has no id for is an {@link InputError} that names the
 * argument, the character and where it is (a prompt is never silently changed; see `tokenizer/coverage.ts`).
 */
export function encodePrompt(tokenizer: Tokenizer, text: string, argument = "prompt"): number[] {
  const { leftOut } = keepEncodable(tokenizer, text);
  if (leftOut.size > 0) {
    const [ch] = leftOut.keys();
    const code = "U+" + ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    const others = leftOut.size > 1 ? ` (and ${leftOut.size - 1} other unknown characters)` : "";
    throw new InputError(
      argument,
      `character ${JSON.stringify(ch)} (${code}) at index ${text.indexOf(ch)} is not in the model's ` +
        `vocabulary${others}`,
      "use only characters the model was trained on",
    );
  }
  return tokenizer.encode(text);
}

/**
 * Continues `prompt` with a loaded model (see {@link loadPretrained}): the text, the completion, the tokens, the
 * number of network evaluations and the denoising trace. Settings not given come from the model's
 * `generation_config.json`, else the defaults, adapted to fit the model (see {@link resolveSampling}).
 *
 * @throws {InputError} when the prompt has characters outside the vocabulary or the settings do not fit, or the
 *   model is an autoregressive twin.
 *
 * @example
 * ```ts
 * const pretrained = await loadPretrained("models/brown-char");
 * const { text, nfe, trace } = await generateText(pretrained, "The jury said", { genLength: 32, seed: 1 });
 * ```
 */
export async function generateText(
  pretrained: Pretrained,
  prompt: string,
  options: GenerateTextOptions = {},
): Promise<GenerateTextResult> {
  const { tokenizer, model } = pretrained;
  if (model.causal) {
    throw new InputError(
      pretrained.dir,
      "is an autoregressive twin, which the reverse process cannot run",
      "decode it left to right with generateAutoregressive (llada/autoregressive_sampling.ts) or llada sample",
    );
  }
  const ids = encodePrompt(tokenizer, prompt);
  const sampling = resolveSampling(pretrained, ids.length, options);
  const { signal, onStep } = options;
  const start = [...ids, ...new Array<number>(sampling.options.genLength).fill(tokenizer.maskId)];
  const trace: TraceStep[] = [{ nfe: 0, canvas: renderCanvas(tokenizer, start), committed: [] }];
  const { tokens, nfe } = await generate(model, [ids], {
    ...sampling.options,
    signal,
    onStep: async (state) => {
      trace.push({
        nfe: state.nfe,
        canvas: renderCanvas(tokenizer, state.tokens[0]),
        committed: state.committed[0],
      });
      if (onStep) await onStep(state);
    },
  });
  const answer = tokens[0].slice(ids.length);
  const end = answer.indexOf(tokenizer.eosId);
  const completion = tokenizer.decode(end < 0 ? answer : answer.slice(0, end), { skipSpecial: true });
  return { text: prompt + completion, completion, tokens: tokens[0], nfe, trace, sampling };
}
