/**
 * The learning-rate schedule, as a function of the step (0-based): warmup–stable–decay, the LLaDA paper's
 * pre-training schedule (§2.4: a linear warmup to the peak, a long constant stage, then a decay; the paper decays
 * in two stages, here the decay is one linear ramp to `finalLr` over the last `decaySteps`). The stable stage has
 * no set length, which is what lets a run re-plan its length to a time budget (`train/time_budget.ts`).
 *
 * @module
 */

/** A learning rate for each step. */
export type Schedule = (step: number) => number;

/** Settings of a schedule. */
export interface ScheduleOptions {
  /** Peak learning rate. */
  peakLr: number;
  /** Total number of steps. */
  totalSteps: number;
  /** Steps of linear warmup from 0 to the peak. */
  warmupSteps: number;
  /** Learning rate at the end. */
  finalLr?: number;
}

function check(o: ScheduleOptions, decaySteps: number): void {
  if (!(o.peakLr > 0)) throw new Error(`schedule: peakLr must be > 0, got ${o.peakLr}`);
  if (o.warmupSteps < 0 || decaySteps < 0 || o.warmupSteps + decaySteps > o.totalSteps) {
    throw new Error(
      `schedule: warmup (${o.warmupSteps}) + decay (${decaySteps}) steps must fit in totalSteps (${o.totalSteps})`,
    );
  }
}

/** Warmup, a constant stage at the peak, then a linear decay over the last `decaySteps` steps. */
export function warmupStableDecay(o: ScheduleOptions & { decaySteps: number }): Schedule {
  check(o, o.decaySteps);
  const final = o.finalLr ?? 0.1 * o.peakLr;
  const decayStart = o.totalSteps - o.decaySteps;
  return (step) => {
    if (step < o.warmupSteps) return (o.peakLr * (step + 1)) / o.warmupSteps;
    if (step < decayStart) return o.peakLr;
    const f = Math.min(1, (step - decayStart + 1) / o.decaySteps);
    return o.peakLr + (final - o.peakLr) * f;
  };
}
