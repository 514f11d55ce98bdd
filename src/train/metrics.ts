/**
 * The run's metrics log (`metrics.jsonl`): the window of steps each line averages, which steps log, evaluate and
 * save a checkpoint, the line itself, and dropping the lines a resumed run trains again.
 *
 * @module
 */

import { writeFileAtomic } from "../io/atomic.ts";

/** The steps since the last metrics line: their summed loss, count, tokens and seconds. */
export interface LogWindow {
  lossSum: number;
  steps: number;
  tokens: number;
  seconds: number;
}

/** A window with no steps in it. */
export function emptyWindow(): LogWindow {
  return { lossSum: 0, steps: 0, tokens: 0, seconds: 0 };
}

/** The window with one more step. */
export function addStep(w: LogWindow, loss: number, tokens: number, seconds: number): LogWindow {
  return {
    lossSum: w.lossSum + loss,
    steps: w.steps + 1,
    tokens: w.tokens + tokens,
    seconds: w.seconds + seconds,
  };
}

/** The window's mean loss. */
export function windowLoss(w: LogWindow): number {
  return w.lossSum / w.steps;
}

/** The window's training throughput. */
export function windowTokensPerSecond(w: LogWindow): number {
  return w.tokens / Math.max(1e-9, w.seconds);
}

/** What a run does after a step, besides training. */
export interface Duties {
  /** Write a metrics line. */
  log: boolean;
  /** Evaluate on the held-out set (and put the result in the line). */
  evaluate: boolean;
  /** Save a checkpoint. */
  checkpoint: boolean;
}

/**
 * What is due after step `step` (counting it): a line every `logEvery` steps, an evaluation every `evalEvery`, a
 * checkpoint every `checkpointEvery` (0: neither in between), and all three at the last step. Without a held-out
 * set nothing is evaluated. (An interruption also saves a checkpoint; the trainer checks for it separately, as
 * late as it can.)
 */
export function dutiesAfter(
  step: number,
  every: { logEvery: number; evalEvery: number; checkpointEvery: number },
  when: { last: boolean; canEvaluate: boolean },
): Duties {
  const at = (interval: number) => interval > 0 && step % interval === 0;
  return {
    log: when.last || at(every.logEvery),
    evaluate: when.canEvaluate && (when.last || at(every.evalEvery)),
    checkpoint: when.last || at(every.checkpointEvery),
  };
}

/** One line of `metrics.jsonl`, without the evaluation and the elapsed time the caller adds. */
export function metricsEntry(
  step: number,
  window: LogWindow,
  lr: number,
  gradNorm: number | null,
): Record<string, number> {
  const entry: Record<string, number> = {
    step,
    loss: windowLoss(window),
    lr,
    tokens_per_s: round(windowTokensPerSecond(window), 1),
  };
  if (gradNorm !== null) entry.grad_norm = gradNorm;
  return entry;
}

/** `x` rounded to `digits` decimals. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Drops the lines of `metrics.jsonl` for steps after `step` (they are trained again after resuming). */
export async function truncateMetrics(path: string, step: number): Promise<void> {
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
