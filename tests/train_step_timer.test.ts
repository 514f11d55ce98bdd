/** The training-step timer the demo plans with and the benchmarks report: what it runs and what it returns. */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { measureTrainStep, timeTrainSteps } from "../src/train/step_timer.ts";

const config = {
  d_model: 16,
  n_layers: 1,
  n_heads: 2,
  mlp_hidden_size: 24,
  vocab_size: 12,
  max_sequence_length: 8,
};
const tiny = { ...config, mask_token_id: 0, eos_token_id: 1 };

Deno.test("timeTrainSteps runs the warm-up and the timed steps, each on a batch drawn from its generator", async () => {
  let batches = 0;
  const { secondsPerStep, params } = await timeTrainSteps({
    config: tiny,
    backend: new CpuBackend(),
    warmup: 1,
    steps: 3,
    timeSampling: "stratified",
    maskCount: "exact",
    batch: (rng) => {
      batches++;
      return { tokens: Int32Array.from({ length: 2 * 8 }, () => rng.int(2, 11)), batch: 2, length: 8 };
    },
  });
  assert.equal(batches, 4);
  assert.ok(secondsPerStep > 0 && secondsPerStep < 5, `${secondsPerStep} s per step`);
  // wte and ff_out [12, 16], 2 norms [16], q/k/v/attn_out [16, 16], ff_proj/up_proj [24, 16], ff_out [16, 24], ln_f.
  assert.equal(params, 2 * 12 * 16 + 3 * 16 + 4 * 16 * 16 + 3 * 24 * 16);
});

Deno.test("measureTrainStep reports one benchmark record whose figures agree with each other", async () => {
  const r = await measureTrainStep(new CpuBackend(), tiny, {
    label: "t",
    batch: 2,
    length: 8,
    warmup: 1,
    steps: 2,
  });
  assert.equal(r.bench, "train_step");
  assert.equal(r.config, "t");
  assert.equal(r.backend, "cpu");
  assert.deepEqual([r.batch, r.length, r.steps], [2, 8, 2]);
  assert.ok(r.ms_per_step > 0);
  const expected = (2 * 8) / (r.ms_per_step / 1000);
  assert.ok(Math.abs(r.tokens_per_s - expected) / expected < 0.01, `${r.tokens_per_s} vs ${expected}`);
});
