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
import { type Schedule, warmupStableDecay } from "../optim/schedule.ts";
import { Rng, type RngState } from "../rng.ts";
import { BatchIterator, type BatchIteratorState } from "../data/batches.ts";
import type { TokenRows } from "../data/packing.ts";
import type { SftRows } from "../data/sft.ts";
import { hasCheckpoint, restoreCheckpoint, saveCheckpoint, type TrainerState } from "../io/checkpoint.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { type Objective, trainStep } from "./step.ts";
import { type EvalSet, heldOutBitsPerChar } from "./eval.ts";
import { formatDuration, type ProgressReporter, silentProgress } from "./progress.ts";

/**
 * The settings of a run that shape its trajectory; saved in every checkpoint (plain JSON) so that `--resume`
 * continues with exactly the same ones.
 */
export interface TrainSettings {
  /** What is trained: LLaDA pre-training, SFT, or the causal twin. */
  objective: Objective;
  /** Total optimiser steps. */
  steps: number;
  /** Rows per batch. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Linear warmup steps. */
  warmupSteps: number;
  /** Steps of the final linear decay (warmup-stable-decay). */
  decaySteps: number;
  /** Learning rate at the end of the decay. */
  finalLr: number;
  /** AdamW's decoupled weight decay (the paper uses 0.1). */
  weightDecay: number;
  /** AdamW β2. */
  beta2: number;
  /** Global gradient-norm clip (0: none). */
  clip: number;
  /** Seed of the data order and the masks (the weights' seed is the model's). */
  seed: number;
  /** Apply the 1 % random-length truncation of pre-training. */
  randomLength: boolean;
  /**
   * Pre-training: each row's time `t` drawn i.i.d. (`"iid"`, the official code) or stratified over the batch
   * (`"stratified"`: one uniform offset, rows spread evenly over (0, 1]; still unbiased, lower variance).
   */
  timeSampling: "iid" | "stratified";
  /**
   * Pre-training: each token masked independently with the row's probability (`"independent"`, the official
   * code, Eq. 3) or exactly `l ~ U{1 … L}` tokens per row (`"exact"`, the paper's lower-variance Eq. 6 form of the
   * same bound; see `forward_masking.ts`).
   */
  maskCount: "independent" | "exact";
  /** A metrics line every this many steps. */
  logEvery: number;
  /** Held-out evaluation every this many steps (0: only at the end). */
  evalEvery: number;
  /** A checkpoint every this many steps (0: only at the end and on interruption). */
  checkpointEvery: number;
  /** Monte Carlo samples per held-out sequence. */
  evalSamples: number;
  /** Seed of the evaluation masks (fixed for the run, so curves are comparable). */
  evalSeed: number;
  /** Stop when the recent mean loss exceeds this multiple of the initial mean loss. */
  explodeFactor: number;
}

/** Settings a caller must give; the rest have defaults ({@link trainSettings}). */
export type TrainSettingsInput = Partial<TrainSettings> & Pick<TrainSettings, "steps" | "batchSize" | "lr">;

/**
 * Complete settings from the required ones: pre-training, warmup 5 % of the steps (at least 1), decay over the
 * last 20 % to a tenth of the peak, weight decay 0.1, β2 0.95, clip 1, seed 0, a line every 10 steps, an
 * evaluation every 10 % of the run, a checkpoint every 20 %, 16 evaluation samples.
 *
 * @throws on values that cannot work (non-positive steps or batch size, a non-finite learning rate, …).
 */
export function trainSettings(input: TrainSettingsInput): TrainSettings {
  const steps = input.steps;
  const s: TrainSettings = {
    objective: "pretrain",
    warmupSteps: Math.max(1, Math.round(steps * 0.05)),
    decaySteps: Math.round(steps * 0.2),
    finalLr: input.lr * 0.1,
    weightDecay: 0.1,
    beta2: 0.95,
    clip: 1,
    seed: 0,
    randomLength: (input.objective ?? "pretrain") === "pretrain",
    timeSampling: "iid",
    maskCount: "independent",
    logEvery: 10,
    evalEvery: Math.max(1, Math.round(steps / 10)),
    checkpointEvery: Math.max(1, Math.round(steps / 5)),
    evalSamples: 16,
    evalSeed: 0,
    explodeFactor: 3,
    ...stripUndefined(input),
    steps,
    batchSize: input.batchSize,
    lr: input.lr,
  };
  const positiveInt = ["steps", "batchSize", "logEvery", "evalSamples"] as const;
  for (const k of positiveInt) {
    if (!Number.isInteger(s[k]) || s[k] < 1) throw new Error(`${k} must be a positive integer, got ${s[k]}`);
  }
  for (const k of ["warmupSteps", "decaySteps", "evalEvery", "checkpointEvery"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 0) throw new Error(`${k} must be an integer ≥ 0, got ${s[k]}`);
  }
  if (s.warmupSteps + s.decaySteps > s.steps) {
    throw new Error(
      `warmup (${s.warmupSteps}) + decay (${s.decaySteps}) steps must fit in the ${s.steps} steps of the run`,
    );
  }
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new Error(`lr must be a positive number, got ${s.lr}`);
  if (!(s.finalLr >= 0 && s.finalLr <= s.lr)) throw new Error(`finalLr must be in [0, lr], got ${s.finalLr}`);
  if (!(s.clip >= 0)) throw new Error(`clip must be ≥ 0, got ${s.clip}`);
  if (!(s.weightDecay >= 0)) throw new Error(`weightDecay must be ≥ 0, got ${s.weightDecay}`);
  if (!(s.beta2 > 0 && s.beta2 < 1)) throw new Error(`beta2 must be in (0, 1), got ${s.beta2}`);
  if (!(s.explodeFactor > 1)) throw new Error(`explodeFactor must be > 1, got ${s.explodeFactor}`);
  if (!["independent", "exact"].includes(s.maskCount)) {
    throw new Error(`maskCount must be independent or exact, got ${JSON.stringify(s.maskCount)}`);
  }
  if (!["iid", "stratified"].includes(s.timeSampling)) {
    throw new Error(`timeSampling must be iid or stratified, got ${JSON.stringify(s.timeSampling)}`);
  }
  if (!["pretrain", "sft", "autoregressive"].includes(s.objective)) {
    throw new Error(`objective must be pretrain, sft or autoregressive, got ${JSON.stringify(s.objective)}`);
  }
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The learning rate of each step: warmup-stable-decay from the settings. */
export function scheduleOf(s: TrainSettings): Schedule {
  return warmupStableDecay({
    peakLr: s.lr,
    totalSteps: s.steps,
    warmupSteps: s.warmupSteps,
    decaySteps: s.decaySteps,
    finalLr: s.finalLr,
  });
}

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

/**
 * A wall-clock budget for a run (e.g. what the demo leaves for training). The settings' `steps` is the first
 * plan; then, at every metrics line while the learning rate is still warming up or stable, the run re-plans its
 * total from the time its steps have taken so far (evaluations and checkpoints included): `steps = step +
 * remaining time / time per step`, and `decaySteps` = `decayFraction` of that. The warmup-stable-decay schedule
 * is what makes this sound: the stable phase has no set length, so moving the start of the decay changes nothing
 * already trained. Once the decay has begun the plan is fixed (past that, only `limitSeconds` stops a late run).
 * A machine slower than expected (another job starting) then shortens the run instead of overrunning the
 * budget, and a faster one lengthens it. The re-planned `steps`, `decaySteps` (and `warmupSteps`, if a plan is
 * cut below it) are saved with each checkpoint, so a resumed run finishes the plan it had when it is given the
 * saved settings.
 */
export interface TimeBudget {
  /** Seconds of training (from the start of the run, across resumed sessions). */
  seconds: number;
  /** The decay's share of the re-planned steps (the warmup-stable-decay `decaySteps / steps`). */
  decayFraction: number;
  /**
   * A hard limit, in the same seconds (at least `seconds`; default none). The plan is fixed once the decay begins,
   * so a machine that slows down during the decay would finish late; with a limit the run ends at the first step
   * past it instead, evaluating and saving a checkpoint as at a planned end, with the learning rate not yet fully
   * decayed. It counts as completed (the message says where it stopped); `--resume` would finish the plan.
   */
  limitSeconds?: number;
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

/** The state saved with each checkpoint, beyond the step. */
interface LoopState {
  settings: TrainSettings;
  maskRng: RngState;
  data: BatchIteratorState;
  window: { lossSum: number; steps: number; tokens: number; seconds: number };
  divergence: { initial: number[]; recent: number[] };
  lastEval: number | null;
  elapsed: number;
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

/** The settings that may change when resuming without changing the trajectory of the steps already planned. */
const RESUMABLE_CHANGES = new Set(["steps", "logEvery", "evalEvery", "checkpointEvery", "decaySteps"]);

/** Runs training; see the module documentation. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { model, data, runDir, evalSet } = options;
  const s = trainSettings(options.settings); // validates settings built by hand
  const progress = options.progress ?? silentProgress;
  const began = performance.now();
  const budget = options.timeBudget;
  if (budget?.limitSeconds !== undefined && !(budget.limitSeconds >= budget.seconds)) {
    throw new Error(
      `the time budget's limit (${budget.limitSeconds} s) must be at least its planned seconds (${budget.seconds})`,
    );
  }
  if ((s.objective === "autoregressive") !== model.causal) {
    throw new Error(
      `the ${s.objective} objective needs ${
        s.objective === "autoregressive" ? "a causal" : "the bidirectional"
      } ` +
        `model (createModel(..., { causal: ${s.objective === "autoregressive"} }))`,
    );
  }
  if (s.objective === "sft" && !("promptLengths" in data)) {
    throw new Error("the sft objective needs SFT rows with promptLengths (padSftPairs)");
  }
  if (data.length > model.config.max_sequence_length) {
    throw new Error(
      `rows of ${data.length} tokens exceed the model's max_sequence_length ${model.config.max_sequence_length}`,
    );
  }
  await Deno.mkdir(runDir, { recursive: true });
  const ckptDir = checkpointDir(runDir);
  const metricsPath = `${runDir}/metrics.jsonl`;

  const optimizer = new AdamW(model.namedParameters(), {
    lr: s.lr,
    weightDecay: s.weightDecay,
    beta2: s.beta2,
  });
  const root = new Rng(s.seed);
  const iterator = new BatchIterator(data, { batchSize: s.batchSize, seed: root.fork(1) });
  const maskRng = root.fork(2);
  let schedule = options.schedule ?? scheduleOf(s);
  let loop: LoopState = {
    settings: s,
    maskRng: maskRng.getState(),
    data: iterator.getState(),
    window: { lossSum: 0, steps: 0, tokens: 0, seconds: 0 },
    divergence: { initial: [], recent: [] },
    lastEval: null,
    elapsed: 0,
  };
  let step = 0;
  let checkpointStep: number | null = null;

  // ── Start afresh, or restore everything a checkpoint holds. ──
  if (options.resume) {
    if (!(await hasCheckpoint(ckptDir))) {
      throw new Error(`there is no checkpoint to resume in ${ckptDir}; start the run without --resume`);
    }
    const state = await restoreCheckpoint(ckptDir, model, optimizer) as TrainerState & Partial<LoopState>;
    if (!state.settings || !state.maskRng || !state.data || !state.window || !state.divergence) {
      throw new Error(
        `${ckptDir}/trainer_state.json was not written by the trainer (no settings or RNG state)`,
      );
    }
    // Settings saved before a setting existed take its default.
    const saved = trainSettings(state.settings);
    const changed = Object.keys(s).filter((k) =>
      !RESUMABLE_CHANGES.has(k) &&
      JSON.stringify(s[k as keyof TrainSettings]) !== JSON.stringify(saved[k as keyof TrainSettings])
    );
    if (changed.length > 0) {
      throw new Error(
        `cannot resume with different settings (${
          changed.map((k) => `${k}: ${saved[k as keyof TrainSettings]} → ${s[k as keyof TrainSettings]}`)
            .join(", ")
        }); resume with the run's own settings or start a new run`,
      );
    }
    if (state.step > s.steps) {
      throw new Error(`the checkpoint is at step ${state.step}, beyond the run's ${s.steps} steps`);
    }
    step = state.step;
    checkpointStep = step;
    loop = {
      settings: s,
      maskRng: state.maskRng,
      data: state.data,
      window: state.window,
      divergence: state.divergence,
      lastEval: state.lastEval ?? null,
      elapsed: state.elapsed ?? 0,
    };
    maskRng.setState(loop.maskRng);
    iterator.setState(loop.data);
    await truncateMetrics(metricsPath, step);
  } else {
    if (await hasCheckpoint(ckptDir)) {
      const existing = await readRunState(runDir);
      throw new Error(
        `${runDir} already holds a run (checkpoint at step ${existing?.step}); resume it with --resume or ` +
          `choose another run directory`,
      );
    }
    await Deno.writeTextFile(metricsPath, "");
  }

  const save = async (): Promise<boolean> => {
    if (!(await allFinite(model))) return false;
    loop.maskRng = maskRng.getState();
    loop.data = iterator.getState();
    loop.elapsed += (performance.now() - sessionMark) / 1000;
    sessionMark = performance.now();
    await saveCheckpoint(
      ckptDir,
      model,
      optimizer,
      { ...(options.extraState ?? {}), ...loop, step },
      options.tokenizerJSON,
    );
    checkpointStep = step;
    return true;
  };
  let sessionMark = performance.now();
  /** Seconds of training so far, over every session of the run. */
  const elapsedSeconds = () => loop.elapsed + (performance.now() - sessionMark) / 1000;

  const evaluate = async (): Promise<number | null> => {
    if (!evalSet) return null;
    const t0 = performance.now();
    const bpc = await heldOutBitsPerChar(model, evalSet, { mcSamples: s.evalSamples, seed: s.evalSeed });
    progress.message(
      `step ${step}: held-out ${model.causal ? "NLL" : "bound"} ${bpc.toFixed(4)} bits/char ` +
        `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return bpc;
  };

  // A time budget re-plans the total from this session's measured seconds per step (see TimeBudget).
  const sessionStart = { step, at: performance.now() };
  const replan = () => {
    if (!budget || step >= s.steps - s.decaySteps) return; // no budget, or the decay has begun
    const done = step - sessionStart.step;
    if (done < 10) return;
    const perStep = (performance.now() - sessionStart.at) / 1000 / done;
    const planned = step + Math.max(0, Math.floor((budget.seconds - elapsedSeconds()) / perStep));
    const decay = Math.max(1, Math.round(planned * budget.decayFraction));
    // The decay starts now at the latest (an overrun of at most the few steps since the last plan).
    const total = Math.max(planned, step + decay);
    if (total === s.steps && decay === s.decaySteps) return;
    s.steps = total;
    s.decaySteps = decay;
    s.warmupSteps = Math.min(s.warmupSteps, total - decay); // a plan cut very short also cuts the warmup
    if (!options.schedule) schedule = scheduleOf(s);
    progress.retarget?.(total);
  };

  progress.start(s.steps, step);
  let status: TrainResult["status"] = "completed";
  let message = "";
  let lastWindowLoss = NaN;
  /** The time limit that ended the run, if one did. */
  let stoppedAt: number | null = null;
  try {
    while (step < s.steps) {
      // ── One step: schedule, batch, loss/backward/clip/AdamW, one read-back. ──
      const lr = schedule(step);
      const batch = iterator.next();
      const t0 = performance.now();
      const result = trainStep(model, optimizer, {
        tokens: batch.tokens,
        batch: batch.rows,
        length: batch.length,
        promptLengths: (batch as Partial<SftRows>).promptLengths,
      }, {
        objective: s.objective,
        lr,
        clip: s.clip,
        rng: maskRng,
        randomLength: s.randomLength,
        timeSampling: s.timeSampling,
        maskCount: s.maskCount,
      });
      const loss = await result.loss.item();
      result.loss.dispose();
      // The time budget's hard limit ends the run at this step, as if it were the plan's last.
      const limit = budget?.limitSeconds;
      const overTime = limit !== undefined && step + 1 < s.steps && elapsedSeconds() >= limit;
      const lastStep = step + 1 === s.steps || overTime;
      const logStep = (step + 1) % s.logEvery === 0 || lastStep;
      const gradNorm = logStep && result.gradNorm ? await result.gradNorm.item() : null;
      result.gradNorm?.dispose();
      const seconds = (performance.now() - t0) / 1000;
      step++;

      // ── Divergence: NaN/∞ now, or a recent mean far above the initial one. ──
      const div = loop.divergence;
      if (div.initial.length < 10) div.initial.push(loss);
      div.recent.push(loss);
      if (div.recent.length > 10) div.recent.shift();
      const initialMean = mean(div.initial);
      const recentMean = mean(div.recent);
      if (
        !Number.isFinite(loss) || (div.initial.length === 10 && recentMean > s.explodeFactor * initialMean)
      ) {
        status = "diverged";
        const what = Number.isFinite(loss)
          ? `the loss exploded (mean of the last 10 steps ${
            recentMean.toFixed(3)
          } > ${s.explodeFactor} × the ` +
            `initial ${initialMean.toFixed(3)})`
          : `the loss became ${loss}`;
        message = `${what} at step ${step}; ` +
          (checkpointStep === null
            ? "no checkpoint was saved before it. "
            : `the last good checkpoint (step ${checkpointStep}) is kept in ${ckptDir}. `) +
          `Lower the learning rate (now ${s.lr}) or clip the gradients harder, and start again.`;
        break;
      }

      loop.window.lossSum += loss;
      loop.window.steps++;
      loop.window.tokens += result.tokens;
      loop.window.seconds += seconds;
      const tokensPerS = loop.window.tokens / Math.max(1e-9, loop.window.seconds);
      progress.update({ step, loss: loop.window.lossSum / loop.window.steps, tokensPerS, lr });
      options.onStep?.({ step, loss, lr });

      // ── Evaluation and the metrics line. ──
      const evalStep = evalSet !== undefined &&
        (lastStep || (s.evalEvery > 0 && step % s.evalEvery === 0));
      if (logStep || evalStep) {
        const entry: Record<string, number> = {
          step,
          loss: loop.window.lossSum / loop.window.steps,
          lr,
          tokens_per_s: round(tokensPerS, 1),
        };
        if (gradNorm !== null) entry.grad_norm = gradNorm;
        lastWindowLoss = entry.loss;
        if (evalStep) {
          loop.lastEval = await evaluate();
          if (loop.lastEval !== null) entry.eval_bpc = loop.lastEval;
        }
        entry.elapsed_s = round(elapsedSeconds(), 2);
        await Deno.writeTextFile(metricsPath, JSON.stringify(entry) + "\n", { append: true });
        loop.window = { lossSum: 0, steps: 0, tokens: 0, seconds: 0 };
        replan();
      }

      // ── Checkpoints: at intervals, at the end, and when interrupted. ──
      const interrupted = options.signal?.aborted ?? false;
      const due = lastStep || interrupted ||
        (s.checkpointEvery > 0 && step % s.checkpointEvery === 0);
      if (due) {
        if (!(await save())) {
          status = "diverged";
          message = `a weight became NaN or infinite at step ${step}; ` +
            (checkpointStep === null
              ? "no checkpoint was saved. "
              : `the last good checkpoint (step ${checkpointStep}) is kept in ${ckptDir}. `) +
            `Lower the learning rate (now ${s.lr}) and start again.`;
          break;
        }
        if (!interrupted && !lastStep) {
          progress.message(`step ${step}: checkpoint saved to ${ckptDir}`);
        }
      }
      if (interrupted) {
        status = "interrupted";
        message = `interrupted at step ${step}/${s.steps}; checkpoint saved to ${ckptDir}; ` +
          `continue with --resume`;
        break;
      }
      if (overTime) {
        stoppedAt = limit;
        break;
      }
    }
  } finally {
    progress.finish();
    optimizer.dispose();
  }
  const seconds = (performance.now() - began) / 1000;
  if (status === "completed" && stoppedAt === null) {
    message = `trained ${s.steps} steps in ${formatDuration(seconds)}; checkpoint in ${ckptDir}`;
  } else if (status === "completed") {
    message =
      `trained ${step} of the planned ${s.steps} steps in ${formatDuration(seconds)}: the time limit ` +
      `(${stoppedAt} s of training) ended the run before its learning rate had fully decayed; checkpoint in ` +
      `${ckptDir} (--resume finishes the plan)`;
  }
  return {
    status,
    step,
    loss: lastWindowLoss,
    evalBpc: loop.lastEval,
    checkpointStep,
    message,
    seconds,
  };
}

/** Drops the lines of `metrics.jsonl` for steps after `step` (they are trained again after resuming). */
async function truncateMetrics(path: string, step: number): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const kept = text.split("\n").filter((line) => {
    if (line.trim() === "") return false;
    try {
      return JSON.parse(line).step <= step;
    } catch {
      return false;
    }
  });
  await writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
}

/** Whether every parameter of the model is finite. */
async function allFinite(model: LLaDAModel): Promise<boolean> {
  for (const [, p] of model.namedParameters()) {
    const data = await p.data();
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  }
  return true;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
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
