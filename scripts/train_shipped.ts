/**
 * Trains the shipped Brown models: the mask predictor (`models/brown-mdm`) and its autoregressive twin
 * (`models/brown-arm`), the same blocks, tokenizer (`models/brown-bpe`), data, token budget and seed, each with
 * its own objective.
 *
 * ```bash
 * deno task train:shipped --model mdm            # runs/brown-mdm, then exports models/brown-mdm
 * deno task train:shipped --model mdm --resume   # continue after Ctrl-C or in a later sitting
 * deno task train:shipped --model arm            # the twin, after the mask predictor: same steps, same tokens
 * ```
 *
 * The mask predictor trains against a wall-clock budget ({@link SHIPPED_RECIPE}`.budgetSeconds`, with a hard
 * limit at three hours): it re-plans its number of steps from its measured speed while the learning rate is
 * stable (`train/time_budget.ts`), so a loaded machine shortens the run instead of overrunning it. The twin then
 * takes the mask predictor's final plan (steps, warmup, decay) from its checkpoint, so both see exactly the same
 * tokens in the same order; it is no slower per step (the same network, and its evaluation is one pass instead
 * of Monte Carlo samples).
 *
 * Each invocation appends one line to the run directory's `sittings.jsonl` (when it began and ended, the steps
 * it took, the seconds of training the checkpoint counts, the load average at both ends), so a model card can add
 * up a run spread over several sittings; a mask predictor resumed with `--resume` keeps re-planning to the same
 * budget, counting the seconds of the sittings before.
 *
 * A run is an ordinary `llada train` run directory (checkpoints every {@link SHIPPED_RECIPE}`.checkpointEvery`
 * steps, `metrics.jsonl`, the tokenizer and the data settings in the checkpoint), so `--resume` hands it to
 * `llada train --resume`, which rebuilds the same data from the checkpoint and finishes the saved plan
 * bit-identically. At the end the model, its tokenizer and its metrics (`training_metrics.jsonl`) are written to
 * the export folder.
 *
 * The shape options of {@link startRun} exist for the sizing runs of `shipped_sizing.ts`; the shipped models use
 * the recipe.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { chooseBackend, tokenizerConfig } from "../src/cli/common.ts";
import { type CliRecord, trainCommand, trainOnCorpus } from "../src/cli/train.ts";
import { type CorpusSettings, prepareCorpus } from "../src/train/corpus.ts";
import { makeEvalSet } from "../src/train/eval.ts";
import { trainSettings } from "../src/train/settings.ts";
import { readRunState, type TrainResult } from "../src/train/trainer.ts";
import type { TimeBudget } from "../src/train/time_budget.ts";
import { createModel } from "../src/model/llada.ts";
import { type Tokenizer, tokenizerFromJSON } from "../src/tokenizer/tokenizer.ts";

/** Which of the two shipped models: the mask predictor or its autoregressive twin. */
export type ShippedModel = "mdm" | "arm";

/** A network shape and a training plan (the recipe, or one configuration of the sizing runs). */
export interface ShippedConfig {
  dModel: number;
  layers: number;
  heads: number;
  mlp: number;
  seqLen: number;
  batch: number;
  lr: number;
  /**
   * Standard deviation of the initial weights (`init_std`; output projections get it over √(2·layers)). Runs
   * recorded before this field existed used the project's default, 0.02.
   */
  initStd?: number;
  /** RoPE base θ (`rope_theta`). Runs recorded before this field existed used 500,000 (LLaDA-8B's). */
  ropeTheta?: number;
  /** Steps: the first plan of a run with a time budget (it sets the warmup), else the length of the run. */
  steps: number;
  seed: number;
  logEvery: number;
  evalEvery: number;
  evalSeqs: number;
  evalSamples: number;
  checkpointEvery: number;
}

/** The recipe: a shape and plan, and the mask predictor's wall-clock budget. */
export interface ShippedRecipe extends ShippedConfig {
  /** Seconds of training the mask predictor plans for (evaluations and checkpoints included). */
  budgetSeconds: number;
  /** Seconds after which it stops even in the middle of its decay. */
  limitSeconds: number;
}

/**
 * The shipped models' recipe, chosen from the sizing runs of `docs/results/shipped_model_sizing.md`; `steps` is
 * the first plan, which the time budget then re-plans.
 */
export const SHIPPED_RECIPE: Readonly<ShippedRecipe> = Object.freeze({
  dModel: 128,
  layers: 4,
  heads: 4,
  mlp: 352,
  seqLen: 128,
  batch: 16,
  lr: 3e-3,
  initStd: 0.0884,
  ropeTheta: 10_000,
  steps: 2500,
  seed: 0,
  logEvery: 10,
  evalEvery: 250,
  evalSeqs: 64,
  evalSamples: 16,
  checkpointEvery: 250,
  budgetSeconds: 10_200,
  limitSeconds: 10_800,
});

/** The shipped tokenizer (trained by `scripts/brown_bpe.ts`). */
export const SHIPPED_TOKENIZER = "models/brown-bpe/tokenizer.json";

/** The training objective of each shipped model. */
const OBJECTIVE = { mdm: "pretrain", arm: "autoregressive" } as const;

/** One sitting of a run: a line of `sittings.jsonl`. */
export interface Sitting {
  /** ISO times the sitting began and ended (null when recorded afterwards from a checkpoint). */
  began: string | null;
  ended: string;
  fromStep: number;
  toStep: number;
  /** Seconds of training the checkpoint counts for the sitting (its `elapsed` grew by this much). */
  trainingSeconds: number;
  /** Load average (1 minute) at its start and end: other jobs on the machine slow a sitting down. */
  loadBegan: number | null;
  loadEnded: number | null;
}

/** The 1-minute load average (null where `/proc/loadavg` cannot be read). */
async function loadAverage(): Promise<number | null> {
  try {
    return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return null;
  }
}

/** The sittings recorded in a `sittings.jsonl` file (none when the file does not exist). */
export async function readSittings(path: string): Promise<Sitting[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Sitting);
}

/**
 * Runs `sitting` and appends what it did to `runDir/sittings.jsonl`, from the checkpoint before and after. A
 * checkpoint from sittings that were not recorded is recorded first as one sitting of its step and seconds.
 */
export async function recordSitting(runDir: string, sitting: () => Promise<number>): Promise<number> {
  // The trainer's state records the seconds of training over every session of the run.
  const elapsed = (state: Record<string, unknown> | null) => Number(state?.elapsed ?? 0);
  const before = await readRunState(runDir);
  const recorded = await readSittings(`${runDir}/sittings.jsonl`);
  const append = (s: Sitting) =>
    Deno.writeTextFile(`${runDir}/sittings.jsonl`, JSON.stringify(s) + "\n", { append: true });
  const recordedTo = recorded.at(-1)?.toStep ?? 0;
  if (before && before.step > recordedTo) {
    const seconds = elapsed(before) - recorded.reduce((n, s) => n + s.trainingSeconds, 0);
    await append({
      began: null,
      ended: new Date((await Deno.stat(`${runDir}/checkpoint/trainer_state.json`)).mtime!).toISOString(),
      fromStep: recordedTo,
      toStep: before.step,
      trainingSeconds: Math.round(seconds * 100) / 100,
      loadBegan: null,
      loadEnded: null,
    });
  }
  const began = new Date().toISOString();
  const loadBegan = await loadAverage();
  const code = await sitting();
  const after = await readRunState(runDir);
  if (after && after.step > (before?.step ?? 0)) {
    await append({
      began,
      ended: new Date().toISOString(),
      fromStep: before?.step ?? 0,
      toStep: after.step,
      trainingSeconds: Math.round((elapsed(after) - elapsed(before)) * 100) / 100,
      loadBegan,
      loadEnded: await loadAverage(),
    });
  }
  return code;
}

/** Reads the shipped BPE tokenizer, or says how to make it. */
export async function readShippedTokenizer(path = SHIPPED_TOKENIZER): Promise<Tokenizer> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new Error(`${path} not found; make it with deno task bpe:brown`);
  }
  return tokenizerFromJSON(text);
}

/**
 * Starts a new run of `model` with `config` in `runDir` (Brown, split seed = `config.seed`, the given BPE
 * tokenizer) and trains it to the end or to Ctrl-C. The checkpoint records everything `llada train --resume`
 * needs. Returns how the run ended and the model's parameter count.
 */
export async function startRun(r: {
  model: ShippedModel;
  config: ShippedConfig;
  tokenizer: Tokenizer;
  runDir: string;
  backend?: string;
  /** Re-plan the steps to fit this budget (see `train/time_budget.ts`). */
  timeBudget?: TimeBudget;
  /** Warmup and decay steps (default: the settings' shares of `config.steps`). */
  schedule?: { warmupSteps: number; decaySteps: number };
}): Promise<{ result: TrainResult; parameters: number }> {
  const { config: c, tokenizer } = r;
  const { backend } = await chooseBackend(r.backend);
  const objective = OBJECTIVE[r.model];
  const corpus: CorpusSettings = {
    corpus: "brown",
    objective,
    seqLength: c.seqLen,
    tokenizer: "bpe",
    vocabSize: tokenizer.vocabSize,
    splitSeed: c.seed,
  };
  const record: CliRecord = { corpus, evalSeqs: c.evalSeqs };
  const prepared = await prepareCorpus(corpus, tokenizer);
  const settings = trainSettings({
    objective,
    steps: c.steps,
    batchSize: c.batch,
    lr: c.lr,
    seed: c.seed,
    logEvery: c.logEvery,
    evalEvery: c.evalEvery,
    evalSamples: c.evalSamples,
    checkpointEvery: c.checkpointEvery,
    ...r.schedule,
  });
  const model = await createModel({
    d_model: c.dModel,
    n_layers: c.layers,
    n_heads: c.heads,
    mlp_hidden_size: c.mlp,
    max_sequence_length: c.seqLen,
    ...(c.initStd === undefined ? {} : { init_std: c.initStd }),
    ...(c.ropeTheta === undefined ? {} : { rope_theta: c.ropeTheta }),
    ...tokenizerConfig(tokenizer),
  }, { seed: c.seed, backend, causal: objective === "autoregressive" });
  const evalSet = makeEvalSet(prepared.validTexts, tokenizer, { length: c.seqLen, count: c.evalSeqs });
  console.log(
    `train:shipped ${r.model}: ${prepared.description}; ${model.parameterCount} parameters; ` +
      `${c.steps} steps × ${c.batch} × ${c.seqLen} tokens; run directory ${r.runDir}`,
  );
  const result = await trainOnCorpus({
    model,
    prepared,
    tokenizer,
    settings,
    runDir: r.runDir,
    evalSet,
    resume: false,
    record,
    timeBudget: r.timeBudget,
  });
  return { result, parameters: model.parameterCount };
}

/**
 * The twin's plan: the mask predictor's final steps, warmup and decay, read from its completed run.
 *
 * @throws when the mask predictor's run has no checkpoint or has not finished its plan.
 */
export async function maskPredictorPlan(
  mdmRunDir: string,
): Promise<{ steps: number; warmupSteps: number; decaySteps: number }> {
  const state = await readRunState(mdmRunDir);
  if (!state) {
    throw new Error(`${mdmRunDir} has no checkpoint: train the mask predictor first (--model mdm)`);
  }
  const { steps, warmupSteps, decaySteps } = state.settings;
  if (state.step < steps) {
    throw new Error(
      `the mask predictor in ${mdmRunDir} has trained ${state.step} of its ${steps} steps; finish it first ` +
        "(--model mdm --resume), so the twin gets its final plan",
    );
  }
  return { steps, warmupSteps, decaySteps };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string" },
      "mdm-run-dir": { type: "string", default: "runs/brown-mdm" },
      resume: { type: "boolean", default: false },
      "run-dir": { type: "string" },
      export: { type: "string" },
      backend: { type: "string" },
    },
  });
  const which = values.model;
  if (which !== "mdm" && which !== "arm") {
    console.error(
      "usage: deno task train:shipped --model mdm|arm [--resume] [--run-dir DIR] [--export DIR] [--mdm-run-dir DIR]",
    );
    Deno.exit(2);
  }
  const runDir = values["run-dir"] ?? `runs/brown-${which}`;
  const exportDir = values.export ?? `models/brown-${which}`;
  const backendArgs = values.backend ? ["--backend", values.backend] : [];
  const recipe = SHIPPED_RECIPE;
  // The mask predictor fits a wall-clock budget, counted over all its sittings; the twin takes its final plan.
  const budget: TimeBudget | undefined = which === "mdm"
    ? { seconds: recipe.budgetSeconds, decayFraction: 0.2, limitSeconds: recipe.limitSeconds }
    : undefined;
  const code = await recordSitting(runDir, async () => {
    // A new run trains until done or interrupted; then (or when resumed) `llada train --resume` finishes it, which
    // also exports the model: a run that is already complete only exports.
    if (!values.resume) {
      const plan = which === "arm" ? await maskPredictorPlan(values["mdm-run-dir"]) : undefined;
      const { result } = await startRun({
        model: which,
        config: plan ? { ...recipe, steps: plan.steps } : recipe,
        tokenizer: await readShippedTokenizer(),
        runDir,
        backend: values.backend,
        schedule: plan,
        timeBudget: budget,
      });
      console.log(result.message);
      if (result.status !== "completed") return result.status === "interrupted" ? 130 : 1;
    }
    return await trainCommand(["--run-dir", runDir, "--resume", "--export", exportDir, ...backendArgs], {
      timeBudget: budget,
    });
  });
  if (code === 0) {
    await Deno.copyFile(`${runDir}/metrics.jsonl`, `${exportDir}/training_metrics.jsonl`);
    await Deno.copyFile(`${runDir}/sittings.jsonl`, `${exportDir}/training_sittings.jsonl`);
  }
  Deno.exit(code);
}
