/**
 * Fitting a training run to a wall-clock budget: the run re-plans its number of steps from its measured speed.
 *
 * The settings' `steps` is the first plan; then, at every metrics line while the learning rate is still warming
 * up or stable, the run re-plans its total from the time its steps have taken so far (evaluations and
 * checkpoints included): `steps = step + remaining time / time per step`, and `decaySteps` = `decayFraction` of
 * that. The warmup-stable-decay schedule is what makes this sound: the stable phase has no set length, so moving
 * the start of the decay changes nothing already trained. Once the decay has begun the plan is fixed (past that,
 * only `limitSeconds` stops a late run). A machine slower than expected (another job starting) then shortens the
 * run instead of overrunning the budget, and a faster one lengthens it. The re-planned `steps`, `decaySteps` (and
 * `warmupSteps`, if a plan is cut below it) are saved with each checkpoint, so a resumed run finishes the plan it
 * had when it is given the saved settings.
 *
 * @module
 */

/** A wall-clock budget for a run (e.g. what the demo leaves for training); see the module documentation. */
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

/** The part of a run's settings that re-planning changes. */
export interface Plan {
  /** Total steps. */
  steps: number;
  /** Steps of the final decay. */
  decaySteps: number;
  /** Steps of the warmup (cut only when a plan is cut below it). */
  warmupSteps: number;
}

/** Where a run stands when it re-plans. */
export interface Progress {
  /** Steps done. */
  step: number;
  /** Steps done in this session (since the run started or resumed). */
  sessionSteps: number;
  /** Seconds this session has taken. */
  sessionSeconds: number;
  /** Seconds of training so far, over every session of the run. */
  elapsedSeconds: number;
}

/** Fewest steps of a session before its speed is trusted for a plan. */
const MIN_MEASURED_STEPS = 10;

/** @throws when the decay's share is not in (0, 1) or the budget's hard limit is below its planned seconds. */
export function checkTimeBudget(budget: TimeBudget): void {
  if (!(budget.decayFraction > 0 && budget.decayFraction < 1)) {
    throw new Error(`the time budget's decayFraction must be in (0, 1), got ${budget.decayFraction}`);
  }
  if (budget.limitSeconds !== undefined && !(budget.limitSeconds >= budget.seconds)) {
    throw new Error(
      `the time budget's limit (${budget.limitSeconds} s) must be at least its planned seconds (${budget.seconds})`,
    );
  }
}

/**
 * The plan that fits the budget from the speed measured so far, or `plan` itself when it stays (the decay has
 * begun, too few steps were measured, or the new plan is the same).
 */
export function replan(plan: Plan, budget: TimeBudget, at: Progress): Plan {
  if (at.step >= plan.steps - plan.decaySteps || at.sessionSteps < MIN_MEASURED_STEPS) return plan;
  const perStep = at.sessionSeconds / at.sessionSteps;
  const planned = at.step + Math.max(0, Math.floor((budget.seconds - at.elapsedSeconds) / perStep));
  const f = budget.decayFraction;
  let decay = Math.max(1, Math.round(planned * f));
  let total = planned;
  if (at.step + decay > planned) {
    // The budget is spent sooner than a full decay fits: the decay starts now, still `f` of the whole run
    // (`decay = f · (step + decay)`), so a slow spell costs a short overrun, never a truncated decay.
    decay = Math.max(1, Math.round((at.step * f) / (1 - f)));
    total = at.step + decay;
  }
  if (total === plan.steps && decay === plan.decaySteps) return plan;
  return { steps: total, decaySteps: decay, warmupSteps: Math.min(plan.warmupSteps, total - decay) };
}
