/**
 * A training run's settings: what they are, their defaults and checks, the learning-rate schedule they imply,
 * and which of them may change when a run is resumed.
 *
 * @module
 */

import { type Schedule, warmupStableDecay } from "../optim/schedule.ts";
import { MASK_COUNTS, type MaskCount, TIME_SAMPLINGS, type TimeSampling } from "../llada/forward_masking.ts";
import { type Objective, OBJECTIVES } from "./step.ts";

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
  /** Pre-training: how each row's time `t` is drawn ({@link TIME_SAMPLINGS}). */
  timeSampling: TimeSampling;
  /** Pre-training: how many tokens each row loses to the mask ({@link MASK_COUNTS}). */
  maskCount: MaskCount;
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
 * The settings that may change when resuming without changing the trajectory of the steps already planned, each
 * with the `llada train` option that sets it (null: changed only by a time budget's re-planning, see
 * `time_budget.ts`).
 */
export const RESUMABLE_SETTINGS: Readonly<Partial<Record<keyof TrainSettings, string | null>>> = {
  steps: "steps",
  logEvery: "log-every",
  evalEvery: "eval-every",
  checkpointEvery: "checkpoint-every",
  decaySteps: null,
};

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
  checkSettings(s);
  return s;
}

/** Throws on the first setting that cannot work, naming it. */
function checkSettings(s: TrainSettings): void {
  for (const k of ["steps", "batchSize", "logEvery", "evalSamples"] as const) {
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
  checkChoice("maskCount", s.maskCount, MASK_COUNTS);
  checkChoice("timeSampling", s.timeSampling, TIME_SAMPLINGS);
  checkChoice("objective", s.objective, OBJECTIVES);
}

/** Throws unless `value` is one of `choices`: `maskCount must be independent or exact, got "x"`. */
function checkChoice(name: string, value: string, choices: readonly string[]): void {
  if (choices.includes(value)) return;
  const listed = choices.length > 2
    ? `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`
    : choices.join(" or ");
  throw new Error(`${name} must be ${listed}, got ${JSON.stringify(value)}`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The settings that differ between a run's saved settings and those it is resumed with, beyond
 * {@link RESUMABLE_SETTINGS}, as `name: saved → given` (empty when the run may resume).
 */
export function resumeConflicts(saved: TrainSettings, given: TrainSettings): string[] {
  return (Object.keys(given) as (keyof TrainSettings)[])
    .filter((k) => !(k in RESUMABLE_SETTINGS) && JSON.stringify(given[k]) !== JSON.stringify(saved[k]))
    .map((k) => `${k}: ${saved[k]} → ${given[k]}`);
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
