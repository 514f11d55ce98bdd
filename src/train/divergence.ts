/**
 * Divergence detection for the training loop: a NaN or infinite loss, or a loss that explodes, stops a run.
 *
 * The detector keeps the losses of the first {@link DIVERGENCE_WINDOW} steps and of the last
 * {@link DIVERGENCE_WINDOW}; once the first window is full, a recent mean above `explodeFactor` times the initial
 * mean is an explosion. Its state is plain JSON, saved with every checkpoint so a resumed run judges the same way.
 *
 * @module
 */

/** Steps in each of the two windows. */
export const DIVERGENCE_WINDOW = 10;

/** The losses the detector remembers. */
export interface DivergenceState {
  /** The losses of the run's first steps (at most {@link DIVERGENCE_WINDOW}). */
  initial: number[];
  /** The losses of its last steps (at most {@link DIVERGENCE_WINDOW}). */
  recent: number[];
}

/** A detector that has seen nothing. */
export function freshDivergence(): DivergenceState {
  return { initial: [], recent: [] };
}

/**
 * Adds one step's loss and judges it.
 *
 * @returns the new state, and what went wrong (`the loss became NaN`, `the loss exploded (…)`) or null.
 */
export function observeLoss(
  state: DivergenceState,
  loss: number,
  explodeFactor: number,
): { state: DivergenceState; problem: string | null } {
  const initial = state.initial.length < DIVERGENCE_WINDOW ? [...state.initial, loss] : state.initial;
  const recent = [...state.recent, loss].slice(-DIVERGENCE_WINDOW);
  const next = { initial, recent };
  if (!Number.isFinite(loss)) return { state: next, problem: `the loss became ${loss}` };
  const initialMean = mean(initial);
  const recentMean = mean(recent);
  if (initial.length === DIVERGENCE_WINDOW && recentMean > explodeFactor * initialMean) {
    return {
      state: next,
      problem: `the loss exploded (mean of the last ${DIVERGENCE_WINDOW} steps ${recentMean.toFixed(3)} > ` +
        `${explodeFactor} × the initial ${initialMean.toFixed(3)})`,
    };
  }
  return { state: next, problem: null };
}

/**
 * The one-line message of a diverged run: what happened at which step, what is kept on disk, and what to do.
 *
 * @param problem what went wrong (from {@link observeLoss}, or about the weights).
 * @param checkpointStep the step of the checkpoint on disk, or null.
 * @param advice what to change before starting again.
 */
export function divergedMessage(
  problem: string,
  step: number,
  checkpointStep: number | null,
  checkpointDir: string,
  advice: string,
): string {
  const kept = checkpointStep === null
    ? "no checkpoint was saved before it."
    : `the last good checkpoint (step ${checkpointStep}) is kept in ${checkpointDir}.`;
  return `${problem} at step ${step}; ${kept} ${advice}, and start again.`;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}
