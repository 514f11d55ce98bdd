/**
 * The defaults a run gets when the caller gives only steps, batch size and learning rate: `trainSettings` per
 * objective, and the step's own default for the 1 % random-length rule of pre-training (the CLI always passes
 * the objective, so only these tests see what a library caller gets).
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import { AdamW } from "../src/optim/adamw.ts";
import { Rng } from "../src/rng.ts";
import { objectiveLoss, trainStep } from "../src/train/step.ts";
import { trainSettings } from "../src/train/settings.ts";

Deno.test("trainSettings: a pre-training run by default keeps LLaDA's recipe and the 1 % random-length rule", () => {
  const s = trainSettings({ steps: 1000, batchSize: 8, lr: 4e-4 });
  assert.deepEqual(s, {
    objective: "pretrain",
    steps: 1000,
    batchSize: 8,
    lr: 4e-4,
    warmupSteps: 50, // 5 % of the steps
    decaySteps: 200, // the last 20 %
    finalLr: 4e-4 * 0.1,
    weightDecay: 0.1,
    beta2: 0.95,
    clip: 1,
    seed: 0,
    randomLength: true,
    timeSampling: "iid",
    maskCount: "independent",
    logEvery: 10,
    evalEvery: 100,
    checkpointEvery: 200,
    evalSamples: 16,
    evalSeed: 0,
    explodeFactor: 3,
  });
  // Rounding and the floor of one warmup step on short runs.
  const short = trainSettings({ steps: 7, batchSize: 1, lr: 1 });
  assert.deepEqual([short.warmupSteps, short.decaySteps, short.evalEvery, short.checkpointEvery], [
    1,
    1,
    1,
    1,
  ]);
});

Deno.test("trainSettings: SFT and the autoregressive twin never cut batches unless asked; an explicit choice wins", () => {
  for (const objective of ["sft", "autoregressive"] as const) {
    const s = trainSettings({ steps: 100, batchSize: 2, lr: 1e-3, objective });
    assert.equal(s.objective, objective);
    assert.equal(s.randomLength, false, objective);
    assert.equal(
      trainSettings({ steps: 100, batchSize: 2, lr: 1e-3, objective, randomLength: true }).randomLength,
      true,
    );
  }
  assert.equal(
    trainSettings({ steps: 100, batchSize: 2, lr: 1e-3, randomLength: false }).randomLength,
    false,
  );
  // undefined means "the default", not false
  assert.equal(
    trainSettings({ steps: 100, batchSize: 2, lr: 1e-3, randomLength: undefined }).randomLength,
    true,
  );
});

const config = {
  d_model: 8,
  n_layers: 1,
  n_heads: 2,
  mlp_hidden_size: 8,
  vocab_size: 6,
  max_sequence_length: 16,
  mask_token_id: 5,
  eos_token_id: 4,
};

/** A seed whose generator's first uniform draw is below 1 %: the batch's coin says "cut". */
function cuttingSeed(): number {
  for (let s = 0;; s++) if (new Rng(s).uniform() < 0.01) return s;
}

Deno.test("trainStep: pre-training cuts the batch on the 1 % coin by default; SFT and an explicit false do not", async () => {
  const backend = new CpuBackend();
  const model = await createModel(config, { seed: 1, backend });
  const seed = cuttingSeed();
  const B = 2;
  const L = 12;
  const data = {
    tokens: new Int32Array(B * L).map((_, i) => i % 4),
    batch: B,
    length: L,
    promptLengths: Int32Array.of(3, 3),
  };
  const tokens = (options: { objective: "pretrain" | "sft"; randomLength?: boolean }) => {
    const opt = new AdamW(model.namedParameters(), { lr: 0 });
    const r = trainStep(model, opt, data, { lr: 0, rng: new Rng(seed), ...options });
    r.loss.dispose();
    opt.dispose();
    return r.tokens;
  };
  assert.ok(tokens({ objective: "pretrain" }) < B * L, "the default pre-training step did not cut the batch");
  assert.equal(tokens({ objective: "pretrain", randomLength: false }), B * L);
  assert.equal(tokens({ objective: "sft" }), B * L);
  // objectiveLoss on its own applies no cut unless asked (evaluation must score whole rows).
  const plain = objectiveLoss(model, data, "pretrain", new Rng(seed));
  assert.equal(plain.tokens, B * L);
  plain.loss.dispose();
  const cut = objectiveLoss(model, data, "pretrain", new Rng(seed), { randomLength: true });
  assert.ok(cut.tokens < B * L);
  cut.loss.dispose();
});
