/**
 * `deno task lab`: the sampler lab. Every decoding strategy of `llada/strategies.ts` on one bench, scored on
 * quality and cost, written to `docs/results/sampling.json` and `docs/results/sampling.md`.
 *
 * Two tasks:
 * - **synthetic**: choosing one of two symbols and writing it 8 times (`p q | p…p` or `p q | q…q`, see
 *   `choice_task.ts`). The answer's tokens depend on each other: given the prompt each position is a coin flip
 *   between the candidates, and one committed token settles all the others, so committing many positions from
 *   one evaluation mixes the candidates while the confidence rules must wait for the first commitment. A small
 *   mask predictor is trained here, from a fixed seed, for a fixed number of SFT steps (a few minutes on the
 *   CPU), enough for the training loss to come near the task's floor (the report gives both): the targets
 *   compare decoding rules at the accuracy a trained model reaches, and a model stopped early is one whose errors
 *   more steps only add to. Every prompt is sampled (temperature 1) under a few seeds and scored by exact match
 *   (either whole candidate).
 * - **brown**: continuations of prompts cut from the held-out Brown documents (split seed 0, as the shipped
 *   models were trained), by the shipped character model (`--model`). Scored by the word-validity rate (the
 *   share of generated words — maximal runs of letters, lower-cased, neither cut by the end of the generation
 *   nor continuing the prompt's last word — that occur anywhere in the Brown corpus), the entropy of the
 *   generated tokens (bits; low values flag repetition), and the generative perplexity under an autoregressive
 *   twin when one is given (`--twin`; `null` otherwise): `exp` of the twin's mean negative log-likelihood of
 *   the generated tokens given everything before them.
 *
 * Each cell is one decoding configuration (strategy, steps, block length, threshold or factor, cache) run on
 * every prompt of its task in one batch; NFE is that call's network evaluations (with a parallel rule a block
 * takes as many as its slowest row needs), tokens/s the generated tokens over its wall time. Timings are
 * wall-clock on a shared machine: compare cells of one run, not across runs.
 *
 * `--task synthetic` (or `brown`) reruns one task's cells and keeps the other's, and the cache speeds, from the
 * results already in `--out`; the results file's command then lists both runs.
 *
 * @module
 */

import { type CommandSpec, parseCommand } from "../cli/args.ts";
import { BACKEND_OPTION, chooseBackend } from "../cli/common.ts";
import { loadPretrained } from "../pretrained.ts";
import type { Backend } from "../backend/backend.ts";
import { createModel, type LLaDAModel } from "../model/llada.ts";
import { AdamW } from "../optim/adamw.ts";
import { trainStep } from "../train/step.ts";
import { Rng } from "../rng.ts";
import { type CacheMode, sample, type SampleOptions, type Strategy } from "../llada/strategies.ts";
import { loadBrown } from "../data/brown.ts";
import { splitTrainValid } from "../data/split.ts";
import { loadModel } from "../io/model_files.ts";
import { softmaxNormaliser } from "../llada/softmax.ts";
import { generateAutoregressive } from "../llada/autoregressive_sampling.ts";
import { getBackend } from "../backend/select.ts";
import { InputError } from "../errors.ts";
import {
  CHOICE,
  CHOICE_PROMPT_LENGTH,
  CHOICE_VOCAB_SIZE,
  CHOICE_WIDTH,
  choiceCorrect,
  choiceExample,
  choiceLossFloor,
  choicePrompt,
  choiceRow,
  everyChoicePrompt,
} from "./choice_task.ts";

/** One cell of `sampling.json` (field names as the file has them). */
export interface LabCell {
  task: "synthetic" | "brown";
  strategy: string;
  steps: number | null;
  block_length: number;
  gen_length: number;
  threshold: number | null;
  factor: number | null;
  cache: CacheMode;
  backend: string;
  accuracy: number | null;
  gen_ppl: number | null;
  word_validity: number | null;
  entropy: number | null;
  nfe: number;
  /**
   * Mean over the cell's rows of the evaluations each made while its block still had a mask: what decoding one
   * sequence alone costs (absent from cells run before it was recorded).
   */
  nfe_per_sequence?: number;
  tokens_per_s: number;
}

/** What `sampling.json` holds. */
export interface LabResults {
  command: string;
  cells: LabCell[];
}

/** A decoding configuration of the grid. */
interface Config {
  strategy: "low_confidence" | "random" | "margin" | "entropy" | "ancestral" | "remdm" | "autoregressive";
  steps?: number;
  blockLength: number;
  threshold?: number;
  factor?: number;
  cache: CacheMode;
}

/** SFT steps of the synthetic task's model: the full lab (converged, see the report) and `--quick` (CI). */
const CHOICE_TRAIN_STEPS = { full: 2000, quick: 60 } as const;

/** The synthetic task's network (the task fixes its vocabulary and context). */
const CHOICE_MODEL = { d_model: 48, n_layers: 2, n_heads: 4, mlp_hidden_size: 96 } as const;

/** The synthetic task's optimiser: examples per step and AdamW's peak learning rate (decayed linearly to 0). */
const CHOICE_TRAINING = { batch: 32, lr: 3e-3 } as const;

/** Seeds each synthetic cell samples every prompt under: the full lab and `--quick`. */
const CHOICE_SEEDS = { full: 4, quick: 1 } as const;

/**
 * The synthetic cells sample at temperature 1: a parallel step then draws from the product of the marginals, the
 * error Fast-dLLM's rules bound. Greedy decoding would break every position's ½/½ tie by the same preference and
 * pick a whole candidate (see `choice_task.ts`).
 */
const CHOICE_TEMPERATURE = 1;

/** Prompts decoded together in each Brown cell. */
const BROWN_ROWS = { full: 8, quick: 4 } as const;

/** The lab's tasks; `all` runs both. */
export const LAB_TASKS = ["all", "synthetic", "brown"] as const;

/** ReMDM's cap η in the grid's `remdm` cells. */
const REMDM_ETA = 0.3;

/** Settings of a lab run. */
export interface LabSettings {
  /** The reduced grid (CI). */
  quick: boolean;
  /** Which task's cells to run (default `all`); the other task's are kept from `outDir`'s results. */
  task?: typeof LAB_TASKS[number];
  /** Where sampling.json and sampling.md go. */
  outDir: string;
  /** The shipped mask predictor for the Brown task. */
  model: string;
  /** An autoregressive twin for generative perplexity (optional). */
  twin?: string;
  backend: Backend;
  /** Seed of everything random (training, prompts, sampling). */
  seed: number;
  /** The command line to record. */
  command: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The values of τ and f a task's grid tries. */
interface RuleValues {
  thresholds: number[];
  factors: number[];
}

/** The grid: the fixed schedule for every strategy, the parallel rules, and the caches. */
function grid(
  genLength: number,
  quick: boolean,
  stepsList: number[],
  blocks: number[],
  rules: RuleValues,
): Config[] {
  const strategies = ["low_confidence", "random", "margin", "entropy", "ancestral", "remdm"] as const;
  const configs: Config[] = [];
  for (const blockLength of blocks) {
    for (const strategy of quick ? (["low_confidence", "ancestral", "remdm"] as const) : strategies) {
      for (const steps of stepsList) {
        if (steps % (genLength / blockLength) === 0) {
          configs.push({ strategy, steps, blockLength, cache: "none" });
        }
      }
    }
    for (const threshold of rules.thresholds) {
      configs.push({ strategy: "low_confidence", threshold, blockLength, cache: "none" });
    }
    for (const factor of rules.factors) {
      configs.push({ strategy: "low_confidence", factor, blockLength, cache: "none" });
    }
  }
  // The caches, on the finest block layout: the fixed schedule at full steps, and threshold decoding.
  const blockLength = Math.min(...blocks);
  for (const cache of ["prefix", "dual"] as const) {
    configs.push({ strategy: "low_confidence", steps: genLength, blockLength, cache });
    configs.push({ strategy: "low_confidence", threshold: 0.9, blockLength, cache });
  }
  return configs;
}

/** Sampler options of a configuration. */
function sampleOptions(c: Config, genLength: number, maskId: number, seed: number): SampleOptions {
  return {
    genLength,
    steps: c.steps,
    blockLength: c.blockLength,
    strategy: c.strategy === "remdm" ? "low_confidence" : c.strategy as Strategy, // the grid has no twin cells
    remask: c.strategy === "remdm" ? REMDM_ETA : 0,
    threshold: c.threshold,
    factor: c.factor,
    cache: c.cache,
    maskId,
    seed,
  };
}

/** Runs one configuration on a batch of prompts; returns the tokens, NFE and generated tokens per second. */
async function runCell(model: LLaDAModel, prompts: number[][], options: SampleOptions) {
  const t0 = performance.now();
  const { tokens, nfe, nfePerRow } = await sample(model, prompts, options);
  const seconds = (performance.now() - t0) / 1000;
  return { tokens, nfe, nfePerRow, tokensPerS: (prompts.length * options.genLength) / seconds };
}

/**
 * Trains the synthetic task's mask predictor: SFT on fresh examples every step (the prompt `a ; b |` is never
 * masked), a fixed number of steps from a fixed seed. Returns the model and its mean SFT loss over the last
 * (up to) 50 steps, the figure that says whether training converged (compare {@link choiceLossFloor}).
 */
export async function trainChoiceModel(
  backend: Backend,
  steps: number,
  seed: number,
): Promise<{ model: LLaDAModel; loss: number }> {
  const model = await createModel({
    ...CHOICE_MODEL,
    vocab_size: CHOICE_VOCAB_SIZE,
    max_sequence_length: CHOICE_WIDTH,
    mask_token_id: CHOICE.mask,
    eos_token_id: CHOICE.sep,
    init_std: 0.06,
  }, { seed, backend });
  const optimizer = new AdamW(model.namedParameters(), { lr: CHOICE_TRAINING.lr, weightDecay: 0 });
  const rng = new Rng(seed).fork(1);
  const { batch, lr } = CHOICE_TRAINING;
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const tokens = new Int32Array(batch * CHOICE_WIDTH);
    for (let b = 0; b < batch; b++) tokens.set(choiceRow(choiceExample(rng)), b * CHOICE_WIDTH);
    const promptLengths = new Int32Array(batch).fill(CHOICE_PROMPT_LENGTH);
    const r = trainStep(model, optimizer, { tokens, batch, length: CHOICE_WIDTH, promptLengths }, {
      objective: "sft",
      lr: lr * (1 - step / steps),
      rng,
      clip: 1,
    });
    losses.push(await r.loss.item());
    r.loss.dispose();
    r.gradNorm?.dispose();
  }
  const last = losses.slice(-50);
  return { model, loss: last.reduce((a, b) => a + b, 0) / Math.max(1, last.length) };
}

/** How the synthetic task's model was trained (for the report). */
interface ChoiceTraining {
  steps: number;
  loss: number;
  seconds: number;
}

/** The synthetic task's cells: exact match of the chosen string (either candidate, whole). */
async function syntheticCells(s: LabSettings): Promise<{ cells: LabCell[]; training: ChoiceTraining }> {
  const trainSteps = s.quick ? CHOICE_TRAIN_STEPS.quick : CHOICE_TRAIN_STEPS.full;
  s.log?.(`synthetic: training the choice model for ${trainSteps} steps`);
  const t0 = performance.now();
  const { model, loss } = await trainChoiceModel(s.backend, trainSteps, s.seed);
  const seconds = (performance.now() - t0) / 1000;
  s.log?.(
    `synthetic: mean SFT loss over the last 50 steps ${loss.toFixed(4)} (floor ${
      choiceLossFloor().toFixed(4)
    }), ${seconds.toFixed(0)} s`,
  );
  // Every prompt, sampled under several seeds: the sampler draws a row's randomness from its prompt and the seed,
  // so rows with the same prompt in one call would repeat one draw.
  const candidates = everyChoicePrompt();
  const prompts = candidates.map(choicePrompt);
  const seeds = Array.from(
    { length: s.quick ? CHOICE_SEEDS.quick : CHOICE_SEEDS.full },
    (_, k) => s.seed + k,
  );
  const L = CHOICE.length;
  const rules = s.quick
    ? { thresholds: [0.9], factors: [1] }
    : { thresholds: [0.5, 0.7, 0.9], factors: [0.5, 1, 2] };
  const cells: LabCell[] = [];
  for (const c of grid(L, s.quick, s.quick ? [1, 8] : [1, 2, 4, 8], s.quick ? [8] : [4, 8], rules)) {
    let [correct, nfe, seconds] = [0, 0, 0];
    const perRow: number[] = [];
    for (const seed of seeds) {
      const o = { ...sampleOptions(c, L, CHOICE.mask, seed), temperature: CHOICE_TEMPERATURE };
      const run = await runCell(model, prompts, o);
      correct += run.tokens.filter((t, i) =>
        choiceCorrect(candidates[i], t.slice(CHOICE_PROMPT_LENGTH))
      ).length;
      // a cell's NFE is its slowest call's, as within a call it is its slowest row's
      nfe = Math.max(nfe, run.nfe);
      perRow.push(...run.nfePerRow);
      seconds += (prompts.length * L) / run.tokensPerS;
    }
    const accuracy = correct / (prompts.length * seeds.length);
    const tokensPerS = (prompts.length * L * seeds.length) / seconds;
    cells.push(cell("synthetic", c, L, s.backend, { nfe, perRow }, tokensPerS, { accuracy }));
    s.log?.(`synthetic ${describe(c)}: accuracy ${accuracy.toFixed(3)}, NFE ${nfe}`);
  }
  model.dispose();
  return { cells, training: { steps: trainSteps, loss, seconds } };
}

/** The Brown task's cells: word validity, token entropy and (with a twin) generative perplexity. */
async function brownCells(s: LabSettings): Promise<LabCell[]> {
  const { model, tokenizer } = await loadPretrained(s.model, { backend: s.backend });
  // The twin is the same architecture with causal attention (loaded as such whatever its files say).
  const twin = s.twin ? await loadModel(s.twin, { backend: s.backend, causal: true }) : undefined;
  if (twin && twin.config.vocab_size !== model.config.vocab_size) {
    throw new Error(
      `--twin ${s.twin} has vocab_size ${twin.config.vocab_size}, the model ${model.config.vocab_size}`,
    );
  }
  const documents = await loadBrown();
  const lexicon = new Set(documents.flatMap((d) => words(d.text)));
  const { valid } = splitTrainValid(documents, { validFraction: 0.1, seed: 0 });
  // Prompts: 32 characters of held-out text starting at a word, one per document from a seeded offset.
  const rng = new Rng(s.seed).fork(3);
  const promptChars = 32;
  const prompts = valid.slice(0, s.quick ? BROWN_ROWS.quick : BROWN_ROWS.full).map((d) => {
    let at = rng.int(0, Math.max(0, d.text.length - 200));
    while (at > 0 && /[A-Za-z]/.test(d.text[at - 1])) at++;
    return tokenizer.encode(d.text.slice(at, at + promptChars));
  });
  const genLength = s.quick ? 32 : 64;
  const cells: LabCell[] = [];
  const rules = s.quick ? { thresholds: [0.9], factors: [1] } : { thresholds: [0.7, 0.9], factors: [0.5, 1] };
  for (const c of grid(genLength, s.quick, s.quick ? [8, 32] : [16, 64], s.quick ? [16] : [16, 64], rules)) {
    const o = sampleOptions(c, genLength, tokenizer.maskId, s.seed);
    const { tokens, nfe, nfePerRow, tokensPerS } = await runCell(model, prompts, o);
    const answers = tokens.map((t, i) => t.slice(prompts[i].length));
    const texts = answers.map((a) => tokenizer.decode(a, { skipSpecial: true }));
    const generated = texts.flatMap((text, i) => innerWords(tokenizer.decode(prompts[i]), text));
    const validity = generated.length
      ? generated.filter((w) => lexicon.has(w)).length / generated.length
      : null;
    const gen_ppl = twin ? await generativePerplexity(twin, tokens, prompts.map((p) => p.length)) : null;
    cells.push(
      cell("brown", c, genLength, s.backend, { nfe, perRow: nfePerRow }, tokensPerS, {
        word_validity: validity,
        entropy: tokenEntropy(answers.flat()),
        gen_ppl,
      }),
    );
    s.log?.(
      `brown ${describe(c)}: word validity ${validity?.toFixed(3)}, NFE ${nfe}, ${
        tokensPerS.toFixed(0)
      } tok/s`,
    );
  }
  if (twin) {
    // The twin's own continuations on the same prompts (greedy, and nucleus sampling), scored the same way.
    for (const o of [{}, { temperature: 0.8, topP: 0.9 }]) {
      const t0 = performance.now();
      const { tokens, nfe, nfePerRow } = await generateAutoregressive(twin, prompts, {
        ...o,
        genLength,
        maskId: tokenizer.maskId,
        seed: s.seed,
      });
      const tokensPerS = (prompts.length * genLength) / ((performance.now() - t0) / 1000);
      const answers = tokens.map((t, i) => t.slice(prompts[i].length));
      const generated = answers.flatMap((a, i) =>
        innerWords(tokenizer.decode(prompts[i]), tokenizer.decode(a, { skipSpecial: true }))
      );
      const c: Config = { strategy: "autoregressive", steps: genLength, blockLength: 1, cache: "none" };
      cells.push(
        cell("brown", c, genLength, s.backend, { nfe, perRow: nfePerRow }, tokensPerS, {
          word_validity: generated.length
            ? generated.filter((w) => lexicon.has(w)).length / generated.length
            : null,
          entropy: tokenEntropy(answers.flat()),
          gen_ppl: await generativePerplexity(twin, tokens, prompts.map((p) => p.length)),
        }),
      );
    }
  }
  model.dispose();
  twin?.dispose();
  return cells;
}

/** A cell of the results file. */
function cell(
  task: LabCell["task"],
  c: Config,
  genLength: number,
  backend: Backend,
  evaluations: { nfe: number; perRow: readonly number[] },
  tokensPerS: number,
  scores: Partial<Pick<LabCell, "accuracy" | "gen_ppl" | "word_validity" | "entropy">>,
): LabCell {
  const { nfe, perRow } = evaluations;
  return {
    task,
    strategy: c.strategy,
    steps: c.steps ?? null,
    block_length: c.blockLength,
    gen_length: genLength,
    threshold: c.threshold ?? null,
    factor: c.factor ?? null,
    cache: c.cache,
    backend: backend.name,
    accuracy: scores.accuracy ?? null,
    gen_ppl: scores.gen_ppl ?? null,
    word_validity: scores.word_validity ?? null,
    entropy: scores.entropy ?? null,
    nfe,
    nfe_per_sequence: round(perRow.reduce((a, b) => a + b, 0) / perRow.length, 2),
    tokens_per_s: round(tokensPerS, 1),
  };
}

/** The lower-cased maximal runs of letters of a text. */
export function words(text: string): string[] {
  return (text.match(/[A-Za-z]+/g) ?? []).map((w) => w.toLowerCase());
}

/**
 * The generated words that are whole: the maximal runs of letters of `generated`, without one that continues the
 * prompt's last word (the prompt ends in a letter and the generation starts with one) or that the end of the
 * generation may have cut.
 */
export function innerWords(prompt: string, generated: string): string[] {
  const runs = [...generated.matchAll(/[A-Za-z]+/g)];
  return runs.filter((m) => {
    const start = m.index!;
    const end = start + m[0].length;
    if (start === 0 && /[A-Za-z]$/.test(prompt)) return false;
    return end < generated.length;
  }).map((m) => m[0].toLowerCase());
}

/** Shannon entropy in bits of the tokens' empirical distribution. */
export function tokenEntropy(tokens: readonly number[]): number | null {
  if (tokens.length === 0) return null;
  const counts = new Map<number, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / tokens.length;
    h -= p * Math.log2(p);
  }
  return round(h, 4);
}

/**
 * Generative perplexity under an autoregressive twin: `exp` of the mean of `−log p_twin(x_t | x_<t)` over the
 * generated tokens (positions from `promptLengths[i]` on), the twin reading `prompt ‖ answer`.
 */
export async function generativePerplexity(
  twin: LLaDAModel,
  rows: readonly number[][],
  promptLengths: readonly number[],
): Promise<number> {
  if (!twin.causal) throw new Error("generative perplexity needs an autoregressive (causal) twin");
  let nll = 0;
  let count = 0;
  const V = twin.vocabSize;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const logits = await twin.logits(Int32Array.from(row), 1, row.length);
    for (let t = Math.max(1, promptLengths[r]); t < row.length; t++) {
      // the twin's logits at t − 1 predict token t
      const { max, sum } = softmaxNormaliser(logits, (t - 1) * V, V);
      nll -= logits[(t - 1) * V + row[t]] - max - Math.log(sum);
      count++;
    }
  }
  return round(Math.exp(nll / count), 3);
}

/** One measurement of the cache's speed at the issue's setting (generation 256, blocks of 32). */
export interface CacheSpeed {
  backend: string;
  cache: CacheMode;
  gen_length: number;
  block_length: number;
  steps: number;
  nfe: number;
  tokens_per_s: number;
}

/** The speed setting: Fast-dLLM's generation length 256 in blocks of 32, 128 steps, after a 32-token prompt. */
const SPEED = { genLength: 256, blockLength: 32, steps: 128, prompt: 32 } as const;

/**
 * Tokens per second of the three cache modes at generation length 256 on each backend available (the CPU, and
 * WebGPU when an adapter exists). The shipped model's context (128) is too short for this length, so the network
 * has its shape with a longer context and freshly initialised weights: the arithmetic of a step is the same
 * whatever the weights, and quality is measured by the tasks, not here.
 */
async function cacheSpeeds(s: LabSettings): Promise<CacheSpeed[]> {
  const shape = JSON.parse(await Deno.readTextFile(`${s.model}/config.json`));
  const out: CacheSpeed[] = [];
  const backends: Backend[] = [await getBackend("cpu")];
  try {
    backends.push(await getBackend("webgpu"));
  } catch {
    s.log?.("speed: no WebGPU adapter, CPU only");
  }
  for (const backend of backends) {
    const model = await createModel({
      ...shape,
      max_sequence_length: SPEED.prompt + SPEED.genLength,
    }, { seed: s.seed, backend });
    const rng = new Rng(s.seed).fork(4);
    const prompt = Array.from({ length: SPEED.prompt }, () => rng.int(2, model.vocabSize - 1));
    for (const cache of ["none", "prefix", "dual"] as const) {
      const { nfe, tokensPerS } = await runCell(model, [prompt], {
        genLength: SPEED.genLength,
        steps: SPEED.steps,
        blockLength: SPEED.blockLength,
        maskId: model.config.mask_token_id,
        cache,
      });
      out.push({
        backend: backend.name,
        cache,
        gen_length: SPEED.genLength,
        block_length: SPEED.blockLength,
        steps: SPEED.steps,
        nfe,
        tokens_per_s: round(tokensPerS, 2),
      });
      s.log?.(`speed ${backend.name} cache ${cache}: ${tokensPerS.toFixed(1)} tok/s`);
    }
    model.dispose();
  }
  return out;
}

/**
 * Runs both tasks (and, outside `--quick`, the cache speed) and writes the results to `outDir`. With `task` set
 * to one task, only its cells run: the other task's cells and the cache speeds are read from `outDir`.
 */
export async function runLab(s: LabSettings): Promise<LabResults> {
  const t0 = performance.now();
  const task = s.task ?? "all";
  const kept = task === "all" ? undefined : await keptResults(s.outDir, task);
  let training: ChoiceTraining | undefined;
  const cells: LabCell[] = [];
  if (kept && task === "brown") cells.push(...kept.results.cells.filter((c) => c.task === "synthetic"));
  else {
    const synthetic = await syntheticCells(s);
    cells.push(...synthetic.cells);
    training = synthetic.training;
  }
  if (kept && task === "synthetic") cells.push(...kept.results.cells.filter((c) => c.task === "brown"));
  else cells.push(...await brownCells(s));
  const speeds = kept ? kept.speeds : s.quick ? [] : await cacheSpeeds(s);
  // A partial rerun's file is reproduced by the earlier run and this one, in that order.
  const command = kept
    ? [...kept.results.command.split(" && ").filter((c) => !c.includes(`--task ${task}`)), s.command].join(
      " && ",
    )
    : s.command;
  const results: LabResults = { command, cells };
  const wall = (performance.now() - t0) / 1000;
  await Deno.mkdir(s.outDir, { recursive: true });
  await Deno.writeTextFile(`${s.outDir}/sampling.json`, JSON.stringify(results, null, 1) + "\n");
  if (speeds.length && !kept) {
    const speed = { command: s.command, measurements: speeds };
    await Deno.writeTextFile(`${s.outDir}/sampling_cache_speed.json`, JSON.stringify(speed, null, 1) + "\n");
  }
  await Deno.writeTextFile(`${s.outDir}/sampling.md`, report(results, speeds, s, { wall, task, training }));
  return results;
}

/** The results a partial rerun keeps: `sampling.json` and, if there, `sampling_cache_speed.json` in `outDir`. */
async function keptResults(
  outDir: string,
  task: "synthetic" | "brown",
): Promise<{ results: LabResults; speeds: CacheSpeed[] }> {
  let results: LabResults;
  try {
    results = JSON.parse(await Deno.readTextFile(`${outDir}/sampling.json`));
  } catch (e) {
    throw new InputError(
      "--task",
      `${task} reruns one task and keeps the other's cells from ${outDir}/sampling.json, which cannot be read ` +
        `(${(e as Error).message})`,
      "run the whole lab first (without --task), or give --out the directory of its results",
    );
  }
  let speeds: CacheSpeed[] = [];
  try {
    speeds = JSON.parse(await Deno.readTextFile(`${outDir}/sampling_cache_speed.json`)).measurements;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return { results, speeds };
}

/** A short label of a configuration. */
function describe(c: Config): string {
  const rule = c.threshold !== undefined
    ? `τ=${c.threshold}`
    : c.factor !== undefined
    ? `f=${c.factor}`
    : `${c.steps} steps`;
  return `${c.strategy} ${rule} block ${c.blockLength} cache ${c.cache}`;
}

/** `n word`, with the word in the plural unless `n` is 1. */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Rounds to `digits` decimals. */
function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** What the report says about the run itself: its wall time, which task it ran, the copy model's training. */
interface RunFacts {
  wall: number;
  task: typeof LAB_TASKS[number];
  training?: ChoiceTraining;
}

/** The markdown report: the command, the findings computed from the cells, tables and plots. */
function report(r: LabResults, speeds: CacheSpeed[], s: LabSettings, run: RunFacts): string {
  const out: string[] = [];
  out.push("# The sampler lab", "");
  out.push(
    "Every decoding strategy of `src/llada/strategies.ts` on two tasks; written by `src/experiments/sampling_lab.ts`",
    "(do not edit by hand).",
    "",
    "```bash",
    r.command,
    "```",
    "",
    `Seed ${s.seed} (training, prompts and sampling); backend ${s.backend.name}; ${r.cells.length} cells; ` +
      (run.task === "all"
        ? `wall time of the whole run ${run.wall.toFixed(0)} s`
        : `the last command reran the ${run.task} cells in ${run.wall.toFixed(0)} s, the other cells` +
          `${speeds.length ? " and the cache speeds" : ""} are the first command's`) +
      " on a shared 2-core machine (timings are noisy: compare cells of one task).",
    "",
  );
  if (run.training) {
    out.push(
      `The synthetic task's model: ${run.training.steps} SFT steps; mean training loss over the last 50 steps ` +
        `${
          run.training.loss.toFixed(4)
        } (LLaDA's SFT loss: nats per answer token, weighed by 1/t), against ` +
        `${
          choiceLossFloor().toFixed(4)
        } for the task's exact conditional, the lowest any model can reach (a ` +
        `wholly masked answer leaves every position a coin flip); training took ${
          run.training.seconds.toFixed(0)
        } s ` +
        `(${CHOICE_MODEL.n_layers} layers, d_model ${CHOICE_MODEL.d_model}, ${CHOICE_TRAINING.batch} fresh ` +
        `examples per step, AdamW at ${CHOICE_TRAINING.lr}).`,
      "",
    );
  }
  out.push(...findings(r.cells), ...speedFindings(speeds), "");
  for (const task of ["synthetic", "brown"] as const) {
    const cells = r.cells.filter((c) => c.task === task);
    if (cells.length === 0) continue;
    const quality = task === "synthetic" ? "accuracy" : "word_validity";
    out.push(
      `## ${
        task === "synthetic"
          ? "Synthetic choice task (exact match, either whole candidate)"
          : "Brown continuations"
      }`,
      "",
    );
    out.push(plot(cells, quality), "");
    out.push(
      "| strategy | steps | block | τ | f | cache | accuracy | word validity | entropy (bits) | gen. ppl | NFE | NFE per sequence | tokens/s |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    );
    const f = (x: number | null, d = 3) => (x === null ? "–" : x.toFixed(d));
    for (const c of cells) {
      out.push(
        `| ${c.strategy} | ${c.steps ?? "–"} | ${c.block_length} | ${c.threshold ?? "–"} | ${
          c.factor ?? "–"
        } | ` +
          `${c.cache} | ${f(c.accuracy)} | ${f(c.word_validity)} | ${f(c.entropy, 2)} | ${
            f(c.gen_ppl, 2)
          } | ` +
          `${c.nfe} | ${c.nfe_per_sequence ?? "–"} | ${c.tokens_per_s.toFixed(0)} |`,
      );
    }
    out.push("");
  }
  if (speeds.length) {
    out.push(
      `## KV-cache speed at generation length ${SPEED.genLength}`,
      "",
      `Blocks of ${SPEED.blockLength}, ${SPEED.steps} steps, one ${SPEED.prompt}-token prompt, the shipped model's shape ` +
        `with a ${SPEED.prompt + SPEED.genLength}-token context and fresh weights (also in ` +
        "`sampling_cache_speed.json`).",
      "",
      "| backend | cache | NFE | tokens/s | × uncached |",
      "|---|---|---|---|---|",
    );
    for (const m of speeds) {
      const base = speeds.find((b) => b.backend === m.backend && b.cache === "none")!;
      out.push(
        `| ${m.backend} | ${m.cache} | ${m.nfe} | ${m.tokens_per_s.toFixed(1)} | ` +
          `${(m.tokens_per_s / base.tokens_per_s).toFixed(2)} |`,
      );
    }
    out.push("");
  }
  out.push("## Reading", "", ...reading(r.cells, s.quick), "");
  return out.join("\n");
}

/** A figure to three decimals, or "–". */
const f3 = (x: number | null) => (x === null ? "–" : x.toFixed(3));

/** What sets a cell apart within its block: its threshold, its factor or its number of steps. */
const ruleLabel = (c: LabCell) =>
  c.threshold !== null
    ? `τ = ${c.threshold}`
    : c.factor !== null
    ? `f = ${c.factor}`
    : plural(c.steps!, "step");

/**
 * The reading: which strategies win where, and where this scale differs from the papers, every figure taken from
 * the cells.
 */
export function reading(cells: LabCell[], quick: boolean): string[] {
  return [
    `- \`remdm\` is the low-confidence fixed schedule with ReMDM remasking at η = ${REMDM_ETA}.`,
    `- The synthetic cells sample at temperature ${CHOICE_TEMPERATURE} (each of the task's ${everyChoicePrompt().length} ` +
    `prompts under ${
      quick ? CHOICE_SEEDS.quick : CHOICE_SEEDS.full
    } seed(s)), the Brown cells decode greedily.`,
    `- NFE counts the evaluations of one batched call (the ${everyChoicePrompt().length} synthetic prompts; ${
      quick ? BROWN_ROWS.quick : BROWN_ROWS.full
    } Brown prompts), the most of a synthetic cell's calls: with a threshold or factor rule a block takes as many ` +
    "steps as its slowest row needs. " +
    "NFE per sequence is the mean over rows of the evaluations made while the row's block still had a mask: what " +
    "decoding that sequence alone costs, the figure the parallel-decoding papers report.",
    ...syntheticReading(cells.filter((c) => c.task === "synthetic" && c.cache === "none")),
    ...brownReading(
      cells.filter((c) => c.task === "brown" && c.cache === "none" && c.word_validity !== null),
    ),
    ...twinReading(cells.filter((c) => c.strategy === "autoregressive")),
    "- Scale: the Brown task runs the shipped character model (its model card gives its size and training) and " +
    `the synthetic task a ${CHOICE_MODEL.n_layers}-layer choice model; LLaDA's and Fast-dLLM's figures come from 8 B models on ` +
    "reasoning and code benchmarks.",
  ];
}

/** Synthetic (uncached cells): what committing dependent tokens together costs, and what the rules save. */
function syntheticReading(syn: LabCell[]): string[] {
  if (syn.length === 0) return [];
  const best = syn.slice().sort((a, b) => b.accuracy! - a.accuracy! || a.nfe - b.nfe)[0];
  const worst = syn.slice().sort((a, b) => a.accuracy! - b.accuracy! || a.nfe - b.nfe)[0];
  const lines = [
    `- Synthetic: accuracy from ${f3(worst.accuracy)} (${worst.strategy}, ${ruleLabel(worst)}, block ` +
    `${worst.block_length}) to ${f3(best.accuracy)} (${best.strategy}, ${ruleLabel(best)}, block ` +
    `${best.block_length}, ${best.nfe} NFE).`,
  ];
  for (const block of [...new Set(syn.map((c) => c.block_length))]) {
    const inBlock = syn.filter((c) => c.block_length === block);
    lines.push(...fixedScheduleReading(inBlock, block));
    const rules = inBlock.filter((c) => c.threshold !== null || c.factor !== null);
    if (rules.length) {
      lines.push(
        "  Threshold and factor decoding: " +
          rules.map((c) => `${ruleLabel(c)} ${f3(c.accuracy)} in ${c.nfe} NFE`).join(", ") +
          ". At the first evaluation every position is about ½ sure; a rule that admits a second token at that " +
          "confidence (τ ≤ ½, or f ≥ 3 · ½) commits two coin flips together and mixes the candidates, one that " +
          "does not commits the most confident token alone and the rest once they are sure.",
      );
    }
  }
  return lines;
}

/** Synthetic, one block length: the fixed schedule against the score of independent coins, and who beats it. */
function fixedScheduleReading(inBlock: LabCell[], block: number): string[] {
  const fixed = inBlock.filter((c) => c.strategy === "low_confidence" && c.steps !== null)
    .sort((a, b) => a.nfe - b.nfe);
  if (fixed.length === 0) return [];
  // The first step of the first block commits k = genLength / steps positions that are coin flips given the
  // prompt; if they were decided as independent fair coins, the answer would stay whole with probability
  // 2^(1 − k), and every later step is determined by it.
  const ideal = (c: LabCell) => 2 ** (1 - c.gen_length / c.steps!);
  // Counts where a step commits several positions but not a whole block: there the ranking chooses which.
  const partial = inBlock.filter((c) =>
    c.steps !== null && c.gen_length / c.steps > 1 && c.steps > c.gen_length / block
  );
  const names = [...new Set(partial.map((c) => c.strategy))];
  const beat = names.filter((n) => partial.some((c) => c.strategy === n && c.accuracy! > ideal(c) + 0.05));
  const lines = [
    `- Synthetic, block ${block}, the low-confidence fixed schedule: ` +
    fixed.map((c) =>
      `${plural(c.steps!, "step")} (${c.gen_length / c.steps!} per evaluation) ${f3(c.accuracy)}, ` +
      `ideal ${f3(ideal(c))}`
    ).join("; ") +
    ". The ideal is the score if the k positions a step commits were decided as independent fair coins." +
    (beat.length
      ? ` Where a step commits several positions but not a whole block, ${beat.join(", ")} score above ` +
        `it${
          names.length > beat.length ? `, ${names.filter((n) => !beat.includes(n)).join(", ")} do not` : ""
        }.` +
        (beat.includes("low_confidence")
          ? " Low-confidence ranking orders positions by the probability of the token each drew: when the " +
            "model leans even slightly to one symbol, the positions that drew it are the most confident, so " +
            "the ranking commits the same symbol together; margin and entropy rank by the distribution " +
            "alone, whatever was drawn."
          : "")
      : ""),
  ];
  for (const steps of new Set([fixed[0].steps, fixed[fixed.length - 1].steps])) {
    const same = inBlock.filter((c) => c.steps === steps);
    if (same.length < 2) continue;
    lines.push(
      `  At ${plural(steps!, "step")} (${plural(fixed[0].gen_length / steps!, "token")} per evaluation on ` +
        "average): " +
        same.map((c) => `${c.strategy} ${f3(c.accuracy)}`).join(", ") + ".",
    );
  }
  return lines;
}

/** Brown (uncached cells with a word validity): who wins at the full schedule, what fewer steps and the rules cost. */
function brownReading(brown: LabCell[]): string[] {
  const lines: string[] = [];
  for (const block of [...new Set(brown.map((c) => c.block_length))]) {
    const full = brown.filter((c) => c.block_length === block && c.steps === c.gen_length)
      .sort((a, b) => b.word_validity! - a.word_validity!);
    if (full.length === 0) continue;
    lines.push(
      `- Brown, block ${block}, full schedule (${full[0].steps} steps): word validity ` +
        full.map((c) => `${c.strategy} ${f3(c.word_validity)}`).join(", ") +
        `; token entropy ${Math.min(...full.map((c) => c.entropy!)).toFixed(2)}–` +
        `${Math.max(...full.map((c) => c.entropy!)).toFixed(2)} bits.`,
    );
    const byName = (name: string) => full.find((c) => c.strategy === name);
    const lc = byName("low_confidence");
    const compare = (name: string, claim: string) => {
      const other = byName(name);
      if (!lc || !other) return;
      const verdict = lc.word_validity! > other.word_validity!
        ? "agrees"
        : lc.word_validity! < other.word_validity!
        ? "disagrees"
        : "ties";
      lines.push(
        `  ${claim}; here low_confidence ${f3(lc.word_validity)} vs ${name} ${f3(other.word_validity)}: ` +
          `${verdict}.`,
      );
    };
    compare("random", "The LLaDA paper finds low-confidence remasking better than random remasking");
    compare(
      "ancestral",
      "Algorithm 4's independent reveals are random remasking with a random count per step, which the paper " +
        "ranks below low-confidence remasking",
    );
    const fewer = brown.filter((c) => c.block_length === block && c.steps !== null && c.steps < c.gen_length);
    const drops = fewer.map((c) => {
      const same = full.find((d) => d.strategy === c.strategy);
      return same ? c.word_validity! - same.word_validity! : 0;
    });
    if (fewer.length) {
      lines.push(
        `  With ${fewer[0].steps} steps (${
          fewer[0].gen_length / fewer[0].steps!
        } tokens per evaluation) word ` +
          `validity falls for ${drops.filter((d) => d < 0).length} of ${fewer.length} strategies ` +
          `(mean change ${(drops.reduce((a, b) => a + b, 0) / drops.length).toFixed(3)}).`,
      );
    }
    const rules = brown.filter((c) =>
      c.block_length === block && (c.threshold !== null || c.factor !== null)
    );
    if (rules.length && lc) {
      lines.push(
        `  Threshold and factor decoding: ${
          rules.map((c) => `${ruleLabel(c)} ${c.nfe} NFE`).join(", ")
        } of ` +
          `${lc.nfe}, word validity ${rules.map((c) => f3(c.word_validity)).join(", ")} (full schedule ` +
          `${f3(lc.word_validity)}). ` +
          (Math.min(...rules.map((c) => c.nfe)) > lc.nfe / 2
            ? "The character model is seldom confident enough to commit several characters at once, so the " +
              "rules save little here, unlike the several-fold savings the papers report for 8 B models."
            : "The rules save most of the evaluations here too."),
      );
    }
  }
  return lines;
}

/** The autoregressive twin's cells, on the same prompts. */
function twinReading(twin: LabCell[]): string[] {
  if (twin.length === 0) return [];
  return [
    "- The autoregressive twin on the same prompts: " +
    twin.map((c) => `word validity ${f3(c.word_validity)}, gen. ppl ${c.gen_ppl?.toFixed(2)}`).join("; ") +
    " (greedy, then nucleus sampling).",
  ];
}

/** A cell's NFE per sequence, or its batched NFE for cells recorded before the former was. */
const perSequence = (c: LabCell) => c.nfe_per_sequence ?? c.nfe;

/** The NFE target on the synthetic task, per block length: the fixed schedule against the best parallel rule. */
function nfeTargetFindings(syn: LabCell[]): string[] {
  const lines: string[] = [];
  const rule = (c: LabCell) =>
    c.threshold !== null ? `threshold τ = ${c.threshold}` : `factor f = ${c.factor}`;
  for (const block of [...new Set(syn.map((c) => c.block_length))]) {
    const fixed = syn.filter((c) =>
      c.strategy === "low_confidence" && c.block_length === block && c.steps !== null
    )
      .sort((a, b) => a.nfe - b.nfe);
    const base = fixed.find((c) => c.steps === c.gen_length);
    if (!base) continue;
    const head = `- Synthetic, block ${block}: the fixed schedule (${base.steps} steps) reaches accuracy ` +
      `${base.accuracy!.toFixed(3)} in ${perSequence(base)} NFE per sequence`;
    // The dependence between the answer's tokens, in numbers: what the fewest steps (most tokens per step) score.
    const fewest = fixed[0];
    const dependence = fewest !== base
      ? ` (with ${plural(fewest.steps!, "step")}, ${
        plural(fewest.gen_length / fewest.steps!, "token")
      } per evaluation: ` +
        `${fewest.accuracy!.toFixed(3)})`
      : "";
    const parallel = syn.filter((c) =>
      c.block_length === block && (c.threshold !== null || c.factor !== null)
    );
    const ok = parallel.filter((c) => base.accuracy! - c.accuracy! <= 0.01);
    const best = ok.sort((a, b) => perSequence(a) - perSequence(b) || a.nfe - b.nfe)[0];
    if (best) {
      const ratio = perSequence(base) / perSequence(best);
      lines.push(
        `${head}${dependence}; ${rule(best)} reaches ${best.accuracy!.toFixed(3)} in ${
          perSequence(best)
        } NFE ` +
          `per sequence: ${ratio.toFixed(1)}× fewer (target ≥ 3× within 1 point: ${
            ratio >= 3 ? "met" : "not met"
          }). A batched call waits for its slowest row in every block: ${best.nfe} NFE against ${base.nfe}, ` +
          `${(base.nfe / best.nfe).toFixed(1)}× fewer.`,
      );
    } else if (parallel.length) {
      const top = parallel.sort((a, b) => b.accuracy! - a.accuracy! || a.nfe - b.nfe)[0];
      lines.push(
        `${head}${dependence}; no threshold or factor cell stays within 1 point of it (the most accurate, ` +
          `${rule(top)}, reaches ${
            top.accuracy!.toFixed(3)
          } in ${top.nfe} NFE; target ≥ 3× within 1 point: ` +
          "not met).",
      );
    }
  }
  return lines;
}

/** The findings the issue's targets ask about, computed from the cells. */
function findings(cells: LabCell[]): string[] {
  const lines = ["## Findings", ""];
  lines.push(...nfeTargetFindings(cells.filter((c) => c.task === "synthetic" && c.cache === "none")));
  for (const task of ["synthetic", "brown"] as const) {
    const none = cells.find((c) =>
      c.task === task && c.cache === "none" && c.strategy === "low_confidence" && c.steps === c.gen_length &&
      c.block_length === Math.min(...cells.filter((d) => d.task === task).map((d) => d.block_length))
    );
    for (const cache of ["prefix", "dual"] as const) {
      const cached = cells.find((c) =>
        c.task === task && c.cache === cache && c.steps !== null && none &&
        c.block_length === none.block_length
      );
      if (!none || !cached) continue;
      const q = (c: LabCell) => (task === "synthetic" ? c.accuracy : c.word_validity) ?? 0;
      lines.push(
        `- ${task}, ${cache} cache (block ${none.block_length}, ${none.steps} steps): ` +
          `${(cached.tokens_per_s / none.tokens_per_s).toFixed(2)}× the uncached tokens/s ` +
          `(${cached.tokens_per_s.toFixed(0)} vs ${none.tokens_per_s.toFixed(0)}); quality ` +
          `${q(none).toFixed(3)} → ${q(cached).toFixed(3)}.`,
      );
    }
  }
  const bestOf = (task: LabCell["task"], key: "accuracy" | "word_validity") => {
    const cs = cells.filter((c) => c.task === task && c[key] !== null);
    const top = cs.sort((a, b) => b[key]! - a[key]! || a.nfe - b.nfe)[0];
    return top
      ? `- Best ${task} ${key.replace("_", " ")}: ${top[key]!.toFixed(3)} by ${top.strategy} ` +
        `(${top.steps ?? "–"} steps, block ${top.block_length}, τ ${top.threshold ?? "–"}, f ${
          top.factor ?? "–"
        }, ` +
        `cache ${top.cache}, ${top.nfe} NFE).`
      : "";
  };
  lines.push(bestOf("synthetic", "accuracy"), bestOf("brown", "word_validity"));
  return lines.filter((l) => l !== "");
}

/** The dual-cache target at generation length 256, per backend. */
function speedFindings(speeds: CacheSpeed[]): string[] {
  return speeds.filter((m) => m.cache === "dual").map((m) => {
    const base = speeds.find((b) => b.backend === m.backend && b.cache === "none")!;
    const ratio = m.tokens_per_s / base.tokens_per_s;
    return `- ${m.backend}, generation ${m.gen_length}, block ${m.block_length}: the dual cache runs at ` +
      `${ratio.toFixed(2)}× the uncached tokens/s (target ≥ 2×: ${ratio >= 2 ? "met" : "not met"}).`;
  });
}

/** An SVG plot of quality against NFE: one polyline per strategy (uncached cells), log-scaled NFE. */
function plot(cells: LabCell[], quality: "accuracy" | "word_validity"): string {
  const [W, H, left, bottom, top, right] = [640, 320, 50, 40, 20, 150];
  const points = cells.filter((c) => c[quality] !== null && c.cache === "none");
  const series = new Map<string, LabCell[]>();
  for (const c of points) {
    const key = c.threshold !== null ? `threshold` : c.factor !== null ? `factor` : c.strategy;
    series.set(key, [...(series.get(key) ?? []), c]);
  }
  const nfes = points.map((c) => c.nfe);
  const lo = Math.log(Math.min(...nfes));
  const hi = Math.max(Math.log(Math.max(...nfes)), lo + 1e-9);
  const x = (n: number) => left + ((Math.log(n) - lo) / (hi - lo)) * (W - left - right);
  const y = (q: number) => H - bottom - q * (H - bottom - top);
  const colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="black"/>`,
    `<text x="${(W - right + left) / 2}" y="${H - 8}" text-anchor="middle">NFE (log scale)</text>`,
    `<text x="12" y="${(H - bottom + top) / 2}" transform="rotate(-90 12 ${(H - bottom + top) / 2})" ` +
    `text-anchor="middle">${quality.replace("_", " ")}</text>`,
  ];
  for (const q of [0, 0.5, 1]) {
    svg.push(`<text x="${left - 6}" y="${y(q) + 4}" text-anchor="end">${q}</text>`);
  }
  for (const n of [...new Set(nfes)].sort((a, b) => a - b)) {
    svg.push(`<text x="${x(n).toFixed(1)}" y="${H - bottom + 14}" text-anchor="middle">${n}</text>`);
  }
  [...series.entries()].forEach(([name, cs], k) => {
    const colour = colours[k % colours.length];
    const sorted = cs.slice().sort((a, b) => a.nfe - b.nfe);
    const path = sorted.map((c) => `${x(c.nfe).toFixed(1)},${y(c[quality]!).toFixed(1)}`).join(" ");
    svg.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    for (const c of sorted) {
      svg.push(
        `<circle cx="${x(c.nfe).toFixed(1)}" cy="${y(c[quality]!).toFixed(1)}" r="3" fill="${colour}"/>`,
      );
    }
    svg.push(`<text x="${W - right + 10}" y="${top + 14 * k + 4}" fill="${colour}">${name}</text>`);
  });
  svg.push("</svg>");
  return svg.join("\n");
}

/** The `lab` command's options. */
export const LAB_SPEC: CommandSpec = {
  name: "lab",
  summary: "the sampler lab: every decoding strategy scored on quality and cost (docs/results/sampling.*)",
  options: {
    quick: { type: "boolean", default: false, help: "the reduced grid (CI, about a minute)" },
    task: {
      type: "string",
      default: "all",
      choices: LAB_TASKS,
      help: "rerun one task's cells, keeping the other's (and the cache speeds) from the results in --out",
    },
    out: { type: "string", default: "docs/results", help: "directory for sampling.json and sampling.md" },
    model: { type: "string", default: "models/brown-char", help: "the mask predictor for the Brown task" },
    twin: { type: "string", help: "an autoregressive twin for generative perplexity (optional)" },
    seed: { type: "int", default: 0, min: 0, help: "seed of training, prompts and sampling" },
    backend: { ...BACKEND_OPTION, default: "cpu" },
  },
  examples: ["deno task lab", "deno task lab --task synthetic", "deno task lab --quick --out /tmp/lab"],
};

if (import.meta.main) {
  const argv = Deno.args;
  const args = parseCommand(LAB_SPEC, argv, "deno task lab");
  if (args) {
    const { backend } = await chooseBackend(args.string("backend"));
    const command = ["npx -y deno@2.9.6 task lab", ...argv].join(" ");
    await runLab({
      quick: args.bool("quick"),
      task: args.string("task") as LabSettings["task"],
      outDir: args.string("out")!,
      model: args.string("model")!,
      twin: args.string("twin"),
      backend,
      seed: args.number("seed")!,
      command,
      log: (line) => console.error(line),
    });
    console.error(`wrote ${args.string("out")}/sampling.json and sampling.md`);
  }
}
