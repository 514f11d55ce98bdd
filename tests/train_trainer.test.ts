/** The trainer: bit-exact resumption, metrics.jsonl, divergence handling, settings and run-directory rules. */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel, type LLaDAModel } from "../src/model/llada.ts";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import { copyTask } from "../src/data/synthetic.ts";
import { packSequences } from "../src/data/packing.ts";
import { makeEvalSet } from "../src/train/eval.ts";
import { checkpointDir, train, type TrainOptions } from "../src/train/trainer.ts";
import { scheduleOf, trainSettings } from "../src/train/settings.ts";
import { loadModel } from "../src/io/model_files.ts";

const backend = new CpuBackend();
const docs = copyTask({ count: 60, length: 6, seed: 3 }).map((p) => p.prompt + p.response);
const tokenizer = CharTokenizer.fromTexts(docs);
const data = packSequences(docs.slice(0, 50).map((d) => tokenizer.encode(d)), 16);
const evalSet = makeEvalSet(docs.slice(50), tokenizer, { length: 16, count: 4 });

function tinyModel(seed = 1, causal = false): Promise<LLaDAModel> {
  return createModel({
    d_model: 16,
    n_layers: 1,
    n_heads: 2,
    mlp_hidden_size: 24,
    vocab_size: tokenizer.vocabSize,
    max_sequence_length: 16,
    mask_token_id: tokenizer.maskId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
  }, { seed, backend, causal });
}

const base = {
  steps: 8,
  batchSize: 4,
  lr: 1e-2,
  seed: 5,
  logEvery: 2,
  evalEvery: 4,
  checkpointEvery: 3,
  evalSamples: 2,
};
const settings = trainSettings(base);
/** The same settings for a run of `steps` steps (warmup and decay scale with it). */
const withSteps = (steps: number) => trainSettings({ ...base, steps });

async function weights(model: LLaDAModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of model.namedParameters()) out.set(name, (await p.data()) as Float32Array);
  return out;
}

async function metrics(runDir: string): Promise<Record<string, number>[]> {
  const text = await Deno.readTextFile(`${runDir}/metrics.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

/** The fields of a metrics line that do not depend on timing. */
function deterministic(lines: Record<string, number>[]) {
  return lines.map(({ step, loss, lr, grad_norm, eval_bpc }) => ({ step, loss, lr, grad_norm, eval_bpc }));
}

function run(model: LLaDAModel, runDir: string, extra: Partial<TrainOptions> = {}) {
  return train({
    model,
    data,
    settings,
    runDir,
    evalSet,
    tokenizerJSON: JSON.stringify(tokenizer.toJSON()),
    ...extra,
  });
}

Deno.test("an interrupted and resumed run ends with bit-identical weights and the same metrics", async () => {
  const root = await Deno.makeTempDir();
  // Uninterrupted: 8 steps.
  const straight = await tinyModel();
  const a = await run(straight, `${root}/a`);
  assert.equal(a.status, "completed");
  assert.equal(a.step, 8);

  // Interrupted after step 5 (Ctrl-C arrives during step 5: it finishes, saves, returns).
  const controller = new AbortController();
  const first = await tinyModel();
  const b1 = await run(first, `${root}/b`, {
    signal: controller.signal,
    onStep: ({ step }) => step === 5 && controller.abort(),
  });
  assert.equal(b1.status, "interrupted");
  assert.equal(b1.step, 5);
  assert.equal(b1.checkpointStep, 5);
  assert.match(b1.message, /interrupted at step 5\/8.*--resume/);

  // A fresh model with other initial weights: everything must come from the checkpoint.
  const resumed = await tinyModel(99);
  const b2 = await run(resumed, `${root}/b`, { resume: true });
  assert.equal(b2.status, "completed");
  assert.equal(b2.step, 8);

  const wa = await weights(straight);
  const wb = await weights(resumed);
  for (const [name, v] of wa) assert.deepEqual(wb.get(name), v, `${name} differs after resuming`);
  assert.deepEqual(deterministic(await metrics(`${root}/b`)), deterministic(await metrics(`${root}/a`)));
  assert.equal(b2.evalBpc, a.evalBpc);

  // The checkpoint directory is a loadable model with the final weights.
  const loaded = await loadModel(checkpointDir(`${root}/b`), { backend });
  assert.deepEqual(await weights(loaded), wa);
  await Deno.remove(root, { recursive: true });
});

Deno.test("metrics.jsonl has one line per log step with step, loss, lr, tokens_per_s, and eval_bpc at evaluations", async () => {
  const root = await Deno.makeTempDir();
  const result = await run(await tinyModel(), root);
  const lines = await metrics(root);
  assert.deepEqual(lines.map((l) => l.step), [2, 4, 6, 8]);
  for (const l of lines) {
    for (const key of ["step", "loss", "lr", "tokens_per_s", "grad_norm", "elapsed_s"]) {
      assert.equal(typeof l[key], "number", `${key} in ${JSON.stringify(l)}`);
      assert.ok(Number.isFinite(l[key]), `${key} finite`);
    }
    assert.ok(l.tokens_per_s > 0);
    assert.ok(l.loss > 0 && l.loss < 20, `loss ${l.loss}`);
  }
  // Evaluations at steps 4 and 8 (evalEvery 4), nowhere else.
  assert.deepEqual(lines.filter((l) => "eval_bpc" in l).map((l) => l.step), [4, 8]);
  for (const l of lines.filter((l) => "eval_bpc" in l)) assert.ok(l.eval_bpc > 0.1 && l.eval_bpc < 10);
  assert.equal(result.evalBpc, lines[3].eval_bpc);
  // The schedule: warmup to the peak, then decay to lr/10 at the last step.
  assert.ok(Math.abs(lines[3].lr - settings.finalLr) < 1e-12, `final lr ${lines[3].lr}`);
  assert.ok(lines[1].lr === settings.lr);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a NaN loss stops the run and keeps the last good checkpoint", async () => {
  const root = await Deno.makeTempDir();
  // The reference: 6 good steps.
  const goodSettings = trainSettings({ ...base, steps: 6, checkpointEvery: 2 });
  const good = await tinyModel();
  await run(good, `${root}/good`, { settings: goodSettings });

  // The same run, but from step 6 on the learning rate is absurd: the weights blow up, the loss becomes NaN.
  const bad = await tinyModel();
  const goodSchedule = scheduleOf(goodSettings);
  const result = await run(bad, `${root}/bad`, {
    settings: trainSettings({ ...base, steps: 12, checkpointEvery: 2 }),
    schedule: (step) => (step < 6 ? goodSchedule(step) : 1e30),
  });
  assert.equal(result.status, "diverged");
  assert.match(result.message, /the loss became NaN at step 8; the last good checkpoint \(step 6\) is kept/);
  assert.equal(result.checkpointStep, 6);
  // The checkpoint on disk holds the good step-6 weights, not the broken model.
  const kept = await loadModel(checkpointDir(`${root}/bad`), { backend });
  assert.deepEqual(await weights(kept), await weights(good));
  const state = JSON.parse(await Deno.readTextFile(`${checkpointDir(`${root}/bad`)}/trainer_state.json`));
  assert.equal(state.step, 6);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a run refuses to overwrite another run, to resume nothing, or to resume with other settings", async () => {
  const root = await Deno.makeTempDir();
  await run(await tinyModel(), root, { settings: withSteps(2) });
  await assert.rejects(
    run(await tinyModel(), root),
    /already holds a run \(checkpoint at step 2\).*--resume/,
  );
  await assert.rejects(
    run(await tinyModel(), `${root}/empty`, { resume: true }),
    /no checkpoint to resume/,
  );
  await assert.rejects(
    run(await tinyModel(), root, { resume: true, settings: { ...settings, lr: 0.5 } }),
    /cannot resume with different settings \(lr: 0.01 → 0.5\)/,
  );
  // More steps are allowed: the run continues from step 2 to 4.
  const more = await run(await tinyModel(), root, { resume: true, settings: withSteps(4) });
  assert.equal(more.status, "completed");
  assert.equal(more.step, 4);
  await Deno.remove(root, { recursive: true });
});

Deno.test("trainSettings fills defaults and rejects values that cannot work", () => {
  const s = trainSettings({ steps: 100, batchSize: 8, lr: 1e-3 });
  assert.equal(s.warmupSteps, 5);
  assert.equal(s.decaySteps, 20);
  assert.equal(s.finalLr, 1e-4);
  assert.equal(s.evalEvery, 10);
  assert.equal(s.objective, "pretrain");
  assert.throws(
    () => trainSettings({ steps: 0, batchSize: 8, lr: 1e-3 }),
    /steps must be a positive integer/,
  );
  assert.throws(() => trainSettings({ steps: 10, batchSize: 8, lr: -1 }), /lr must be a positive number/);
  assert.throws(
    () => trainSettings({ steps: 10, batchSize: 8, lr: 1e-3, warmupSteps: 8, decaySteps: 5 }),
    /must fit in the 10 steps/,
  );
});

Deno.test("the autoregressive twin trains and is scored by its exact NLL; the objective must match the model", async () => {
  const root = await Deno.makeTempDir();
  const twin = await tinyModel(1, true);
  const ar = trainSettings({ ...settings, objective: "autoregressive", steps: 4, evalEvery: 4 });
  const result = await run(twin, root, { settings: ar });
  assert.equal(result.status, "completed");
  assert.ok(
    result.evalBpc! > 0.5 && result.evalBpc! < Math.log2(tokenizer.vocabSize) + 1,
    `${result.evalBpc}`,
  );
  await assert.rejects(run(await tinyModel(), `${root}/x`, { settings: ar }), /needs a causal/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a time budget re-plans the steps: a long plan is cut short, a short one grows, and both end decayed", async () => {
  const root = await Deno.makeTempDir();
  const plan = (steps: number) =>
    trainSettings({
      ...base,
      steps,
      logEvery: 5,
      evalEvery: 0,
      checkpointEvery: 0,
      warmupSteps: 2,
      decaySteps: 1,
    });
  const lrs = (runDir: string) => metrics(runDir).then((lines) => lines.map((l) => l.lr));
  const saved = async (runDir: string) =>
    JSON.parse(await Deno.readTextFile(`${checkpointDir(runDir)}/trainer_state.json`)).settings;

  // First measure this machine: the budget is twice the time of 30 steps (the first probe warms up the JIT).
  await run(await tinyModel(), `${root}/warm`, { settings: plan(30), evalSet: undefined });
  const probe = await run(await tinyModel(), `${root}/probe`, { settings: plan(30), evalSet: undefined });
  const timeBudget = { seconds: 2 * probe.seconds, decayFraction: 0.25 };

  // A plan of 10,000 steps is cut to what the budget holds (far fewer), decaying over its last quarter.
  const long = await run(await tinyModel(), `${root}/long`, {
    settings: plan(10_000),
    evalSet: undefined,
    timeBudget,
  });
  assert.equal(long.status, "completed");
  assert.ok(long.step < 5000, `a 10,000-step plan should be cut to the budget, ran ${long.step}`);
  const longSettings = await saved(`${root}/long`);
  assert.equal(longSettings.steps, long.step, "the saved plan is the re-planned one");
  assert.ok(
    Math.abs(longSettings.decaySteps - 0.25 * long.step) <= 2,
    `decay ${longSettings.decaySteps} of ${long.step} steps`,
  );
  const longLrs = await lrs(`${root}/long`);
  assert.ok(longLrs.at(-1)! < base.lr / 2, `the run ends in its decay (last lr ${longLrs.at(-1)})`);

  // A plan of 12 steps grows to fill the budget.
  const short = await run(await tinyModel(), `${root}/short`, {
    settings: plan(12),
    evalSet: undefined,
    timeBudget,
  });
  assert.equal(short.status, "completed");
  assert.ok(short.step > 12, `a 12-step plan should grow to fill the budget, ran ${short.step}`);
  assert.equal((await saved(`${root}/short`)).steps, short.step);
  assert.ok((await lrs(`${root}/short`)).at(-1)! < base.lr / 2);
});

Deno.test("a time budget's hard limit ends a run in its decay at that step, evaluated and saved", async () => {
  const root = await Deno.makeTempDir();
  // A 10,000-step plan whose decay begins at step 10, so re-planning has stopped long before the limit.
  const settings = trainSettings({
    ...base,
    steps: 10_000,
    logEvery: 1,
    evalEvery: 0,
    checkpointEvery: 0,
    warmupSteps: 2,
    decaySteps: 9_990,
  });
  const limitSeconds = 1.5;
  const result = await run(await tinyModel(), root, {
    settings,
    timeBudget: { seconds: 1, decayFraction: 0.25, limitSeconds },
  });
  assert.equal(result.status, "completed");
  assert.ok(result.step > 10 && result.step < 10_000, `stopped at step ${result.step}`);
  assert.match(result.message, /of the planned 10000 steps/);
  assert.match(result.message, /time limit \(1\.5 s of training\)/);
  // The last step is evaluated, logged and saved like a planned end: the first past the limit, not a later one
  // (a step here takes milliseconds; the line before the last was written within half a second of the limit).
  const lines = await metrics(root);
  const last = lines.at(-1)!;
  assert.equal(last.step, result.step);
  assert.ok(typeof last.eval_bpc === "number", "the last step is evaluated");
  assert.ok(last.elapsed_s >= limitSeconds, `stopped at ${last.elapsed_s} s, before the limit`);
  assert.ok(lines.at(-2)!.elapsed_s < limitSeconds + 0.5, `ran on to ${lines.at(-2)!.elapsed_s} s`);
  assert.equal(result.checkpointStep, result.step);
  const state = JSON.parse(await Deno.readTextFile(`${checkpointDir(root)}/trainer_state.json`));
  assert.equal(state.step, result.step);
  assert.equal(state.settings.steps, 10_000, "the plan is kept, so --resume can finish it");
  // A limit below the planned seconds is a mistake, caught before anything runs.
  await assert.rejects(
    run(await tinyModel(), `${root}/bad`, {
      settings,
      timeBudget: { seconds: 2, decayFraction: 0.2, limitSeconds: 1 },
    }),
    /limit \(1 s\) must be at least its planned seconds \(2\)/,
  );
  await Deno.remove(root, { recursive: true });
});
