/**
 * The trainer's pure pieces, each alone: the divergence window, re-planning to a time budget, what is due after
 * a step, the metrics line, and which settings may change on resume.
 */

import assert from "node:assert/strict";
import { divergedMessage, DIVERGENCE_WINDOW, freshDivergence, observeLoss } from "../src/train/divergence.ts";
import { checkTimeBudget, type Plan, replan } from "../src/train/time_budget.ts";
import { addStep, dutiesAfter, emptyWindow, metricsEntry } from "../src/train/metrics.ts";
import { RESUMABLE_SETTINGS, resumeConflicts, trainSettings } from "../src/train/settings.ts";

/** Feeds losses to a fresh detector; returns the first problem and the step (1-based) it came at. */
function firstProblem(losses: number[], explodeFactor = 3): { problem: string | null; at: number } {
  let state = freshDivergence();
  for (let i = 0; i < losses.length; i++) {
    const judged = observeLoss(state, losses[i], explodeFactor);
    if (judged.problem !== null) return { problem: judged.problem, at: i + 1 };
    state = judged.state;
  }
  return { problem: null, at: -1 };
}

Deno.test("divergence: a NaN or infinite loss stops at once; an explosion only once the first window is full", () => {
  assert.deepEqual(firstProblem([2, 2, NaN]), { problem: "the loss became NaN", at: 3 });
  assert.deepEqual(firstProblem([2, Infinity]), { problem: "the loss became Infinity", at: 2 });
  // A huge loss at step 2 is not an explosion: the initial window is not full yet.
  assert.equal(firstProblem([1, 100, 1, 1, 1, 1, 1, 1, 1]).problem, null);
  // Ten losses of 1, then 4s: the mean of the last ten passes 3 × 1 when seven of them are 4 (mean 3.1).
  const { problem, at } = firstProblem([...new Array(DIVERGENCE_WINDOW).fill(1), ...new Array(20).fill(4)]);
  assert.equal(at, DIVERGENCE_WINDOW + 7);
  assert.equal(problem, "the loss exploded (mean of the last 10 steps 3.100 > 3 × the initial 1.000)");
});

Deno.test("divergence: the state keeps the first and the last ten losses and is not changed in place", () => {
  let state = freshDivergence();
  for (let i = 1; i <= 25; i++) {
    const before = JSON.stringify(state);
    const next = observeLoss(state, i, 100).state;
    assert.equal(JSON.stringify(state), before);
    state = next;
  }
  assert.deepEqual(state.initial, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(state.recent, [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
});

Deno.test("divergence: the message says what happened, what is kept on disk and what to do", () => {
  assert.equal(
    divergedMessage("the loss became NaN", 8, 6, "runs/x/checkpoint", "Lower the learning rate (now 0.1)"),
    "the loss became NaN at step 8; the last good checkpoint (step 6) is kept in runs/x/checkpoint. " +
      "Lower the learning rate (now 0.1), and start again.",
  );
  assert.match(
    divergedMessage("p", 3, null, "d", "a"),
    /^p at step 3; no checkpoint was saved before it\. a, and/,
  );
});

const plan: Plan = { steps: 1000, decaySteps: 200, warmupSteps: 50 };
const budget = { seconds: 100, decayFraction: 0.25 };

Deno.test("time budget: the plan follows the measured speed until the decay begins", () => {
  // 20 steps in 4 s (0.2 s each) with 96 s left: 20 + 480 steps, a quarter of them decay.
  const at = { step: 20, sessionSteps: 20, sessionSeconds: 4, elapsedSeconds: 4 };
  assert.deepEqual(replan(plan, budget, at), { steps: 500, decaySteps: 125, warmupSteps: 50 });
  // A resumed session measures its own steps; the time before it only shortens what is left.
  const resumed = { step: 120, sessionSteps: 20, sessionSeconds: 2, elapsedSeconds: 60 };
  assert.deepEqual(replan(plan, budget, resumed), { steps: 520, decaySteps: 130, warmupSteps: 50 });
  // Too few steps measured, or the decay begun: the plan stays (the same object).
  assert.equal(replan(plan, budget, { ...at, sessionSteps: 9 }), plan);
  assert.equal(replan(plan, budget, { ...at, step: 800 }), plan);
});

Deno.test("time budget: a plan cut short starts its decay now and cuts the warmup; a bad limit is refused", () => {
  // 0.2 s per step and 1 s left: 5 more steps planned, but a quarter of 35 is 9 > 5, so the decay starts now and
  // is still a quarter of the whole run: 10 of 40 steps (a decay cut to what the budget left would be 9 of 39).
  const late = replan(plan, budget, { step: 30, sessionSteps: 30, sessionSeconds: 6, elapsedSeconds: 99 });
  assert.deepEqual(late, { steps: 40, decaySteps: 10, warmupSteps: 30 });
  const same = { steps: 500, decaySteps: 125, warmupSteps: 50 };
  assert.equal(
    replan(same, budget, { step: 20, sessionSteps: 20, sessionSeconds: 4, elapsedSeconds: 4 }),
    same,
  );
  assert.throws(
    () => checkTimeBudget({ ...budget, limitSeconds: 90 }),
    /limit \(90 s\) must be at least .*100/,
  );
  checkTimeBudget({ ...budget, limitSeconds: 100 });
  for (const decayFraction of [0, 1, Number.NaN]) {
    assert.throws(() => checkTimeBudget({ ...budget, decayFraction }), /decayFraction must be in \(0, 1\)/);
  }
});

Deno.test("duties: a line, an evaluation and a checkpoint at their intervals, all three at the last step", () => {
  const every = { logEvery: 2, evalEvery: 4, checkpointEvery: 3 };
  const due = (step: number, last = false, canEvaluate = true) =>
    dutiesAfter(step, every, { last, canEvaluate });
  assert.deepEqual(due(1), { log: false, evaluate: false, checkpoint: false });
  assert.deepEqual(due(4), { log: true, evaluate: true, checkpoint: false });
  assert.deepEqual(due(6), { log: true, evaluate: false, checkpoint: true });
  assert.deepEqual(due(7, true), { log: true, evaluate: true, checkpoint: true });
  assert.deepEqual(due(8, false, false), { log: true, evaluate: false, checkpoint: false });
  const never = dutiesAfter(6, { logEvery: 5, evalEvery: 0, checkpointEvery: 0 }, {
    last: false,
    canEvaluate: true,
  });
  assert.deepEqual(never, { log: false, evaluate: false, checkpoint: false });
});

Deno.test("metrics: a line averages its window's loss and throughput", () => {
  const w = addStep(addStep(emptyWindow(), 2, 100, 0.5), 4, 300, 1.5);
  assert.deepEqual(metricsEntry(8, w, 0.01, 1.25), {
    step: 8,
    loss: 3,
    lr: 0.01,
    tokens_per_s: 200,
    grad_norm: 1.25,
  });
  assert.deepEqual(metricsEntry(8, w, 0.01, null), { step: 8, loss: 3, lr: 0.01, tokens_per_s: 200 });
});

Deno.test("resume: only the resumable settings may differ, each named with its saved and given value", () => {
  const saved = trainSettings({ steps: 100, batchSize: 8, lr: 1e-3 });
  assert.deepEqual(resumeConflicts(saved, { ...saved, steps: 200, logEvery: 5, decaySteps: 40 }), []);
  assert.deepEqual(resumeConflicts(saved, { ...saved, lr: 0.01, seed: 3 }).sort(), [
    "lr: 0.001 → 0.01",
    "seed: 0 → 3",
  ]);
  assert.deepEqual(Object.keys(RESUMABLE_SETTINGS).sort(), [
    "checkpointEvery",
    "decaySteps",
    "evalEvery",
    "logEvery",
    "steps",
  ]);
});
