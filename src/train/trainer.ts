/**
 * The training loop: pre-training, SFT and the autoregressive twin, resumable bit for bit.
 *
 * What one run does (the paper §2.4; `docs/architecture.md`, "How a training step flows"):
 *
 *     for step = start … steps − 1:
 *       lr    = warmup-stable-decay(step)         linear warmup, a long constant stage, a linear decay at the end
 *       batch = next rows of the seeded iterator  (each epoch a fresh permutation of the packed rows)
 *       loss  = trainStep(model, AdamW, batch)    masks drawn from the run's mask stream; clip the gradient norm
 *       stop on a NaN/∞ or exploding loss         the last good checkpoint on disk stays as it is
 *       every logEvery steps: a line of metrics.jsonl; every evalEvery: the held-out bound in bits/char
 *       every checkpointEvery steps, at the end and on Ctrl-C: an atomic checkpoint
 *
 * **Resuming** restores the weights, AdamW's moments and step, the mask generator, the data iterator's position,
 * the partial logging window and the divergence detector from `checkpoint/trainer_state.json`, so a run
 * interrupted at step k and resumed computes exactly the weights an uninterrupted run would (the test compares
 * them bit for bit). Lines of `metrics.jsonl` written after the checkpoint are dropped on resume, as those steps
 * are trained again.
 *
 * **Divergence.** The loss of every step is read back (one read per step). A NaN or infinite loss, or a loss
 * whose mean over the last 10 steps exceeds `explodeFactor` times the mean of the first 10, stops the run with
 * status `"diverged"` and a message naming the step; nothing is saved after that point. A checkpoint is also
 * refused if any weight is NaN or infinite, so a good checkpoint is never replaced by a broken model.
 *
 * **Interruption.** When `signal` aborts (the CLI wires Ctrl-C to it, see {@link interruptOnSigint}), the step
 * in progress finishes, a checkpoint is saved and the run returns with status `"interrupted"`.
 *
 * The pieces the loop calls are in files of their own, each tested alone: the settings (`settings.ts`), the
 * divergence detector (`divergence.ts`), re-planning to a time budget (`time_budget.ts`) and the metrics log with
 * what is due after each step (`metrics.ts`).
 *
 * Files in the run directory:
 *
 *     checkpoint/      config.json, model.safetensors (a loadable model), optimizer.safetensors,
 *                      trainer_state.json, tokenizer.json — replaced atomically at every save
 *     metrics.jsonl    one JSON object per log step: step, loss, lr, tokens_per_s, grad_norm, elapsed_s,
 *                      and eval_bpc at evaluation steps
 *
 * @module
 */

import type { LLaDAModel } from "../model/llada.ts";
import { AdamW } from "../optim/adamw.ts";
import type { Schedule } from "../optim/schedule.ts";
import { Rng, type RngState } from "../rng.ts";
import { BatchIterator, type BatchIteratorState } from "../data/batches.ts";
import type { TokenRows } from "../data/packing.ts";
import type { SftRows } from "../data/sft.ts";
import { hasCheckpoint, restoreCheckpoint, saveCheckpoint, type TrainerState } from "../io/checkpoint.ts";
import { type TokenBatch, trainStep } from "./step.ts";
import { padSftBatch } from "../llada/forward_masking.ts";
import { type EvalSet, heldOutBitsPerChar } from "./eval.ts";
import { formatDuration, type ProgressReporter, silentProgress } from "./progress.ts";
import { resumeConflicts, scheduleOf, type TrainSettings, trainSettings } from "./settings.ts";
import { checkTimeBudget, type Plan, replan, type TimeBudget } from "./time_budget.ts";
import { divergedMessage, type DivergenceState, freshDivergence, observeLoss } from "./divergence.ts";
import {
  addStep,
  type Duties,
  dutiesAfter,
  emptyWindow,
  type LogWindow,
  metricsEntry,
  round,
  truncateMetrics,
  windowLoss,
  windowTokensPerSecond,
} from "./metrics.ts";

/** What one step reports to {@link TrainOptions.onStep}. */
export interface StepInfo {
  /** Steps done, counting this one. */
  step: number;
  /** This step's loss. */
  loss: number;
  /** This step's learning rate. */
  lr: number;
}

/** Everything a run needs. */
export interface TrainOptions {
  /** The network to train (freshly initialised, or loaded for fine-tuning); its `causal` flag must match. */
  model: LLaDAModel;
  /** Training rows (with `promptLengths` for SFT). */
  data: TokenRows | SftRows;
  /** The run's settings ({@link trainSettings}). */
  settings: TrainSettings;
  /** The run directory (created if needed): `checkpoint/` and `metrics.jsonl`. */
  runDir: string;
  /** Held-out data for the bits/char evaluations; none: no evaluation. */
  evalSet?: EvalSet;
  /** Continue from `runDir/checkpoint` instead of starting afresh. */
  resume?: boolean;
  /** Saved as `tokenizer.json` with every checkpoint. */
  tokenizerJSON?: string;
  /** Extra JSON saved in `trainer_state.json` (the CLI stores how to rebuild the data and the model). */
  extraState?: Record<string, unknown>;
  /** Progress display (default: none). */
  progress?: ProgressReporter;
  /** Abort to interrupt: the current step finishes, a checkpoint is saved. */
  signal?: AbortSignal;
  /** Replaces the warmup-stable-decay schedule (e.g. to test divergence handling). */
  schedule?: Schedule;
  /** Called after every step with its loss. */
  onStep?: (info: StepInfo) => void;
  /** Fit the run to a wall-clock budget instead of a fixed number of steps: see {@link TimeBudget}. */
  timeBudget?: TimeBudget;
}

/** How a run ended. */
export interface TrainResult {
  /**
   * `"completed"`: all steps done, or a time budget's hard limit reached; `"interrupted"`: stopped by the signal
   * and saved; `"diverged"`: NaN/explosion.
   */
  status: "completed" | "interrupted" | "diverged";
  /** Steps done (for `"diverged"`, the steps of the last good checkpoint's run plus those trained since). */
  step: number;
  /** Mean loss of the last logging window. */
  loss: number;
  /** The last held-out evaluation, bits/char, or null. */
  evalBpc: number | null;
  /** The step of the checkpoint now on disk, or null if there is none. */
  checkpointStep: number | null;
  /** One line saying what happened and what to do next. */
  message: string;
  /** Wall time of this session, seconds. */
  seconds: number;
}

/** Where a run keeps its checkpoint. */
export function checkpointDir(runDir: string): string {
  return `${runDir.replace(/\/+$/, "")}/checkpoint`;
}

/** Reads a run's saved trainer state (settings, step and the caller's extra state), or null without a checkpoint. */
export async function readRunState(
  runDir: string,
): Promise<(TrainerState & { settings: TrainSettings }) | null> {
  const dir = checkpointDir(runDir);
  if (!(await hasCheckpoint(dir))) return null;
  return JSON.parse(await Deno.readTextFile(`${dir}/trainer_state.json`));
}

/** Runs training; see the module documentation. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const settings = trainSettings(options.settings); // validates settings built by hand
  checkRunInputs(options, settings);
  const run = await openRun(options, settings);
  run.progress.start(run.plan.steps, run.step);
  let end: RunEnd | null = null;
  try {
    while (end === null && run.step < run.plan.steps) {
      const done = await takeStep(run);
      // Each piece returns how the run ended, or null to go on to the next piece (and then the next step).
      end = judgeLoss(run, done) ?? await logAndEvaluate(run, done) ?? await checkpointIfDue(run, done);
    }
  } finally {
    run.progress.finish();
    run.optimizer.dispose();
  }
  return result(run, end);
}

/** @throws when the model, the data, the settings and the time budget do not fit together. */
function checkRunInputs({ model, data, timeBudget }: TrainOptions, s: TrainSettings): void {
  if (timeBudget) checkTimeBudget(timeBudget);
  const causal = s.objective === "autoregressive";
  if (causal !== model.causal) {
    throw new Error(
      `the ${s.objective} objective needs ${causal ? "a causal" : "the bidirectional"} ` +
        `model (createModel(..., { causal: ${causal} }))`,
    );
  }
  if (s.objective === "pretrain" && "promptLengths" in data) {
    throw new Error("SFT rows train with the sft objective (or autoregressive for the twin), not pretrain");
  }
  if (s.objective === "sft" && !("promptLengths" in data)) {
    throw new Error("the sft objective needs SFT rows with promptLengths (padSftPairs)");
  }
  if (data.length > model.config.max_sequence_length) {
    throw new Error(
      `rows of ${data.length} tokens exceed the model's max_sequence_length ${model.config.max_sequence_length}`,
    );
  }
}

/** The trainer's state saved with each checkpoint, beyond the step and the caller's extra state. */
interface SavedState {
  settings: TrainSettings;
  maskRng: RngState;
  data: BatchIteratorState;
  window: LogWindow;
  divergence: DivergenceState;
  lastEval: number | null;
  elapsed: number;
}

/** A run in progress: its fixed inputs, the objects it trains with, and the state a checkpoint saves. */
interface Run {
  readonly options: TrainOptions;
  /** The validated settings, never changed; a time budget changes {@link plan} instead. */
  readonly settings: TrainSettings;
  readonly progress: ProgressReporter;
  readonly ckptDir: string;
  readonly metricsPath: string;
  readonly optimizer: AdamW;
  readonly iterator: BatchIterator;
  readonly maskRng: Rng;
  /** `performance.now()` when this session began, and the steps done and seconds trained before it. */
  readonly session: { began: number; startStep: number; elapsedBefore: number };
  plan: Plan;
  schedule: Schedule;
  step: number;
  checkpointStep: number | null;
  window: LogWindow;
  divergence: DivergenceState;
  lastEval: number | null;
  /** Mean loss of the last window written to the metrics. */
  lastWindowLoss: number;
}

/** Seconds of training so far, over every session of the run. */
function elapsedSeconds(run: Run): number {
  return run.session.elapsedBefore + (performance.now() - run.session.began) / 1000;
}

/** Builds the optimiser and the random streams, then starts afresh or restores everything a checkpoint holds. */
async function openRun(options: TrainOptions, settings: TrainSettings): Promise<Run> {
  const { model, data, runDir } = options;
  await Deno.mkdir(runDir, { recursive: true });
  const ckptDir = checkpointDir(runDir);
  const metricsPath = `${runDir}/metrics.jsonl`;
  const optimizer = new AdamW(model.namedParameters(), {
    lr: settings.lr,
    weightDecay: settings.weightDecay,
    beta2: settings.beta2,
  });
  const root = new Rng(settings.seed);
  const iterator = new BatchIterator(data, { batchSize: settings.batchSize, seed: root.fork(1) });
  const maskRng = root.fork(2);
  const saved = options.resume
    ? await restoreRun(options, settings, ckptDir, optimizer)
    : await startRun(runDir, ckptDir, metricsPath);
  if (saved) {
    maskRng.setState(saved.maskRng);
    iterator.setState(saved.data);
    await truncateMetrics(metricsPath, saved.step);
  }
  const step = saved?.step ?? 0;
  return {
    options,
    settings,
    progress: options.progress ?? silentProgress,
    ckptDir,
    metricsPath,
    optimizer,
    iterator,
    maskRng,
    session: { began: performance.now(), startStep: step, elapsedBefore: saved?.elapsed ?? 0 },
    plan: { steps: settings.steps, decaySteps: settings.decaySteps, warmupSteps: settings.warmupSteps },
    schedule: options.schedule ?? scheduleOf(settings),
    step,
    checkpointStep: saved ? step : null,
    window: saved?.window ?? emptyWindow(),
    divergence: saved?.divergence ?? freshDivergence(),
    lastEval: saved?.lastEval ?? null,
    lastWindowLoss: NaN,
  };
}

/** A fresh run: refuses a directory that already holds one, and starts an empty metrics file. */
async function startRun(runDir: string, ckptDir: string, metricsPath: string): Promise<null> {
  if (await hasCheckpoint(ckptDir)) {
    const existing = await readRunState(runDir);
    throw new Error(
      `${runDir} already holds a run (checkpoint at step ${existing?.step}); resume it with --resume or ` +
        `choose another run directory`,
    );
  }
  await Deno.writeTextFile(metricsPath, "");
  return null;
}

/**
 * Restores the weights and the optimiser from the checkpoint and returns the saved state, after checking that
 * the run is resumed with its own settings (up to those that may change, `RESUMABLE_SETTINGS` in `settings.ts`).
 */
async function restoreRun(
  { model }: TrainOptions,
  settings: TrainSettings,
  ckptDir: string,
  optimizer: AdamW,
): Promise<SavedState & { step: number }> {
  if (!(await hasCheckpoint(ckptDir))) {
    throw new Error(`there is no checkpoint to resume in ${ckptDir}; start the run without --resume`);
  }
  const state = await restoreCheckpoint(ckptDir, model, optimizer) as TrainerState & Partial<SavedState>;
  if (!state.settings || !state.maskRng || !state.data || !state.window || !state.divergence) {
    throw new Error(
      `${ckptDir}/trainer_state.json was not written by the trainer (no settings or RNG state)`,
    );
  }
  // Settings saved before a setting existed take its default.
  const changed = resumeConflicts(trainSettings(state.settings), settings);
  if (changed.length > 0) {
    throw new Error(
      `cannot resume with different settings (${
        changed.join(", ")
      }); resume with the run's own settings or ` +
        `start a new run`,
    );
  }
  if (state.step > settings.steps) {
    throw new Error(`the checkpoint is at step ${state.step}, beyond the run's ${settings.steps} steps`);
  }
  return {
    step: state.step,
    settings,
    maskRng: state.maskRng,
    data: state.data,
    window: state.window,
    divergence: state.divergence,
    lastEval: state.lastEval ?? null,
    elapsed: state.elapsed ?? 0,
  };
}

/** What one step did, and what is due after it. */
interface StepDone {
  lr: number;
  loss: number;
  tokens: number;
  seconds: number;
  gradNorm: number | null;
  duties: Duties;
  /** The plan's last step, or the one a time limit ends the run at. */
  last: boolean;
  /** The time budget's hard limit ends the run at this step, as if it were the plan's last. */
  overTime: boolean;
}

/** One step: schedule, batch, loss/backward/clip/AdamW, one read-back (two at a logging step). */
async function takeStep(run: Run): Promise<StepDone> {
  const { settings: s, options } = run;
  const lr = run.schedule(run.step);
  const batch = toStepBatch(run.iterator.next(), options.model.config.eos_token_id);
  const t0 = performance.now();
  const result = trainStep(options.model, run.optimizer, batch, {
    objective: s.objective,
    lr,
    clip: s.clip,
    rng: run.maskRng,
    randomLength: s.randomLength,
    timeSampling: s.timeSampling,
    maskCount: s.maskCount,
  });
  const loss = await result.loss.item();
  result.loss.dispose();
  const limit = options.timeBudget?.limitSeconds;
  const overTime = limit !== undefined && run.step + 1 < run.plan.steps && elapsedSeconds(run) >= limit;
  const last = run.step + 1 === run.plan.steps || overTime;
  const duties = dutiesAfter(run.step + 1, s, { last, canEvaluate: options.evalSet !== undefined });
  const gradNorm = duties.log && result.gradNorm ? await result.gradNorm.item() : null;
  result.gradNorm?.dispose();
  run.step++;
  return {
    lr,
    loss,
    tokens: result.tokens,
    seconds: (performance.now() - t0) / 1000,
    gradNorm,
    duties,
    last,
    overTime,
  };
}

/**
 * A mini-batch as the step takes it. SFT rows are cut back to their pairs and padded again with EOS only to the
 * longest pair of this mini-batch (`padSftBatch`), as the paper's SFT pads "within each mini-batch": padding every
 * row to the corpus's longest pair would lengthen the answers the loss averages over and the share of EOS targets.
 */
export function toStepBatch(batch: TokenRows | SftRows, eosId: number): TokenBatch {
  if (!("promptLengths" in batch)) return { tokens: batch.tokens, batch: batch.rows, length: batch.length };
  const { tokens, length, promptLengths, pairLengths } = batch;
  const pairs = Array.from(promptLengths, (promptLength, b) => {
    const row = Array.from(tokens.subarray(b * length, b * length + pairLengths[b]));
    return { prompt: row.slice(0, promptLength), response: row.slice(promptLength) };
  });
  const padded = padSftBatch(pairs, { eosId });
  return {
    tokens: padded.tokens,
    batch: padded.batch,
    length: padded.length,
    promptLengths: padded.promptLengths,
  };
}

/** How a run ended early, or where a time limit stopped it. */
type RunEnd =
  | { status: "diverged" | "interrupted"; message: string }
  | { status: "completed"; stoppedAt: number };

/** Stops the run on a NaN/∞ or exploding loss (nothing is saved after that point); else counts the step. */
function judgeLoss(run: Run, done: StepDone): RunEnd | null {
  const { state, problem } = observeLoss(run.divergence, done.loss, run.settings.explodeFactor);
  run.divergence = state;
  if (problem !== null) {
    const advice = `Lower the learning rate (now ${run.settings.lr}) or clip the gradients harder`;
    return {
      status: "diverged",
      message: divergedMessage(problem, run.step, run.checkpointStep, run.ckptDir, advice),
    };
  }
  run.window = addStep(run.window, done.loss, done.tokens, done.seconds);
  const tokensPerS = windowTokensPerSecond(run.window);
  run.progress.update({ step: run.step, loss: windowLoss(run.window), tokensPerS, lr: done.lr });
  run.options.onStep?.({ step: run.step, loss: done.loss, lr: done.lr });
  return null;
}

/** At a logging or evaluation step: evaluates, writes the metrics line, starts a new window, and re-plans. */
async function logAndEvaluate(run: Run, done: StepDone): Promise<null> {
  if (!done.duties.log && !done.duties.evaluate) return null;
  const entry = metricsEntry(run.step, run.window, done.lr, done.gradNorm);
  run.lastWindowLoss = entry.loss;
  if (done.duties.evaluate) {
    run.lastEval = await evaluate(run);
    if (run.lastEval !== null) entry.eval_bpc = run.lastEval;
  }
  entry.elapsed_s = round(elapsedSeconds(run), 2);
  await Deno.writeTextFile(run.metricsPath, JSON.stringify(entry) + "\n", { append: true });
  run.window = emptyWindow();
  const budget = run.options.timeBudget;
  if (budget) {
    const plan = replan(run.plan, budget, {
      step: run.step,
      sessionSteps: run.step - run.session.startStep,
      sessionSeconds: (performance.now() - run.session.began) / 1000,
      elapsedSeconds: elapsedSeconds(run),
    });
    if (plan !== run.plan) {
      run.plan = plan;
      if (!run.options.schedule) run.schedule = scheduleOf({ ...run.settings, ...plan });
      run.progress.retarget?.(plan.steps);
    }
  }
  return null;
}

/** The held-out bound (or the twin's NLL) in bits/char, reported as a progress message; null without a set. */
async function evaluate(run: Run): Promise<number | null> {
  const { model, evalSet } = run.options;
  if (!evalSet) return null;
  const t0 = performance.now();
  const s = run.settings;
  const bpc = await heldOutBitsPerChar(model, evalSet, { mcSamples: s.evalSamples, seed: s.evalSeed });
  run.progress.message(
    `step ${run.step}: held-out ${model.causal ? "NLL" : "bound"} ${bpc.toFixed(4)} bits/char ` +
      `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return bpc;
}

/**
 * Saves a checkpoint at intervals, at the end and when interrupted (refusing one with a NaN/∞ weight, which ends
 * the run), then ends the run if it was interrupted or is over its time limit.
 */
async function checkpointIfDue(run: Run, done: StepDone): Promise<RunEnd | null> {
  const interrupted = run.options.signal?.aborted ?? false;
  if (done.duties.checkpoint || interrupted) {
    if (!(await allFinite(run.options.model))) {
      const problem = "a weight became NaN or infinite";
      const advice = `Lower the learning rate (now ${run.settings.lr})`;
      return {
        status: "diverged",
        message: divergedMessage(problem, run.step, run.checkpointStep, run.ckptDir, advice),
      };
    }
    await save(run);
    if (!interrupted && !done.last) {
      run.progress.message(`step ${run.step}: checkpoint saved to ${run.ckptDir}`);
    }
  }
  if (interrupted) {
    return {
      status: "interrupted",
      message: `interrupted at step ${run.step}/${run.plan.steps}; checkpoint saved to ${run.ckptDir}; ` +
        `continue with --resume`,
    };
  }
  if (done.overTime) return { status: "completed", stoppedAt: run.options.timeBudget!.limitSeconds! };
  return null;
}

/** Writes the checkpoint: weights, optimiser, random streams, data position, windows and the current plan. */
async function save(run: Run): Promise<void> {
  const state: SavedState = {
    settings: { ...run.settings, ...run.plan },
    maskRng: run.maskRng.getState(),
    data: run.iterator.getState(),
    window: run.window,
    divergence: run.divergence,
    lastEval: run.lastEval,
    elapsed: elapsedSeconds(run),
  };
  const { model, extraState, tokenizerJSON } = run.options;
  await saveCheckpoint(
    run.ckptDir,
    model,
    run.optimizer,
    { ...(extraState ?? {}), ...state, step: run.step },
    tokenizerJSON,
  );
  run.checkpointStep = run.step;
}

/** The run's result, with its one-line message. */
function result(run: Run, end: RunEnd | null): TrainResult {
  const seconds = (performance.now() - run.session.began) / 1000;
  let message: string;
  if (end === null) {
    message = `trained ${run.plan.steps} steps in ${formatDuration(seconds)}; checkpoint in ${run.ckptDir}`;
  } else if (end.status === "completed") {
    message =
      `trained ${run.step} of the planned ${run.plan.steps} steps in ${formatDuration(seconds)}: the ` +
      `time limit (${end.stoppedAt} s of training) ended the run before its learning rate had fully decayed; ` +
      `checkpoint in ${run.ckptDir} (--resume finishes the plan)`;
  } else {
    message = end.message;
  }
  return {
    status: end?.status ?? "completed",
    step: run.step,
    loss: run.lastWindowLoss,
    evalBpc: run.lastEval,
    checkpointStep: run.checkpointStep,
    message,
    seconds,
  };
}

/** Whether every parameter of the model is finite. */
async function allFinite(model: LLaDAModel): Promise<boolean> {
  for (const [, p] of model.namedParameters()) {
    const data = await p.data();
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  }
  return true;
}

/**
 * Wires Ctrl-C to an abort signal for {@link train}: the first Ctrl-C lets the current step finish and the run
 * save a checkpoint; a second one exits at once (code 130), which is safe because checkpoints are written
 * atomically. Call `dispose()` when training is over.
 *
 * @param say where to print the notice (default stderr).
 */
export function interruptOnSigint(
  say: (text: string) => void = (t) => console.error(t),
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) Deno.exit(130);
    say("\nCtrl-C: finishing this step and saving a checkpoint (press Ctrl-C again to quit without saving)");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", handler);
  return { signal: controller.signal, dispose: () => Deno.removeSignalListener("SIGINT", handler) };
}

/**
 * {@link train} with Ctrl-C wired to its `signal` by {@link interruptOnSigint} for as long as the run lasts (the
 * CLI's `train` and the demo).
 */
export async function trainInterruptibly(options: Omit<TrainOptions, "signal">): Promise<TrainResult> {
  const sigint = interruptOnSigint();
  try {
    return await train({ ...options, signal: sigint.signal });
  } finally {
    sigint.dispose();
  }
}
