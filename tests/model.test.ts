/** The LLaDA network on the CPU backend: whole-model gradients, overfitting, padding invariance. */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import { AdamW } from "../src/optim/adamw.ts";
import { Rng } from "../src/rng.ts";
import { Tensor, tidy } from "../src/tensor.ts";
import { objectiveLoss, trainStep } from "../src/train/step.ts";
import type { Backend } from "../src/backend/backend.ts";
import { centralDifference, f64 } from "./gradcheck.ts";
import { compareArrays, gpuTest } from "./parity_helper.ts";

const micro = {
  d_model: 8,
  n_layers: 2,
  n_heads: 2,
  mlp_hidden_size: 12,
  vocab_size: 7,
  max_sequence_length: 16,
  mask_token_id: 6,
  eos_token_id: 5,
  init_std: 0.3,
};

Deno.test("whole-model gradients match finite differences (float64), both objectives", async () => {
  for (const objective of ["pretrain", "autoregressive"] as const) {
    const model = await createModel(micro, { seed: 3, backend: f64, causal: objective === "autoregressive" });
    const data = { tokens: Int32Array.from([0, 1, 2, 3, 4, 5, 1, 0, 2, 2, 4, 3]), batch: 2, length: 6 };
    const lossAt = async () => {
      const t = tidy(() => objectiveLoss(model, data, objective, new Rng(11)).loss);
      const v = await t.item();
      t.dispose();
      return v;
    };
    tidy(() => objectiveLoss(model, data, objective, new Rng(11)).loss.backward());
    const h = 1e-6;
    for (const [name, p] of model.namedParameters()) {
      const analytic = await p.grad!.data();
      const values = Float64Array.from(await p.data());
      for (const j of [0, Math.floor(values.length / 2), values.length - 1]) {
        const numeric = await centralDifference(async (delta) => {
          const shifted = values.slice();
          shifted[j] += delta;
          p.assign(Tensor.from(shifted, p.shape, { backend: f64 }));
          return await lossAt();
        }, h);
        p.assign(Tensor.from(values, p.shape, { backend: f64 }));
        const err = Math.abs(numeric - analytic[j]) / Math.max(1e-3, Math.abs(numeric));
        assert.ok(err < 1e-5, `${objective} ${name}[${j}]: autograd ${analytic[j]}, numeric ${numeric}`);
      }
    }
    model.dispose();
  }
});

/** Trains the mask predictor and the causal twin on four sequences and checks both memorise them. */
async function overfitFourSequences(backend: Backend) {
  const config = {
    ...micro,
    d_model: 32,
    n_heads: 4,
    mlp_hidden_size: 64,
    vocab_size: 12,
    mask_token_id: 11,
    eos_token_id: 10,
    init_std: 0.05,
  };
  const rows = [[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1], [1, 3, 5, 7, 9, 1, 3, 5], [
    2,
    4,
    6,
    8,
    2,
    4,
    6,
    8,
  ]];
  const data = { tokens: Int32Array.from(rows.flat()), batch: 4, length: 8 };
  // The LLaDA loss is a high-variance estimate (weights 1/p up to 1000), so it trains on the four rows repeated
  // four times, with a smaller step, for longer than the causal twin needs.
  const repeated = {
    tokens: Int32Array.from([...rows, ...rows, ...rows, ...rows].flat()),
    batch: 16,
    length: 8,
  };
  const plan = {
    pretrain: { steps: 400, lr: 3e-3, batch: repeated },
    autoregressive: { steps: 150, lr: 1e-2, batch: data },
  };
  for (const objective of ["pretrain", "autoregressive"] as const) {
    const model = await createModel(config, { seed: 1, backend, causal: objective === "autoregressive" });
    const { steps, lr, batch } = plan[objective];
    const opt = new AdamW(model.namedParameters(), { lr, weightDecay: 0 });
    const rng = new Rng(5);
    const heldOut = async () => {
      // A fixed, informative probe: every other position masked (LLaDA) or next-token prediction (twin);
      // the mean cross-entropy of the predicted positions, in nats.
      const input = Int32Array.from(data.tokens);
      if (objective === "pretrain") {
        for (let i = 0; i < input.length; i += 2) input[i] = config.mask_token_id;
      }
      const logits = await model.logits(input, 4, 8);
      let ce = 0;
      let n = 0;
      for (let i = 0; i < input.length; i++) {
        const predicts = objective === "pretrain" ? i % 2 === 0 : i % 8 !== 7;
        if (!predicts) continue;
        const target = objective === "pretrain" ? data.tokens[i] : data.tokens[i + 1];
        const row = logits.subarray(i * 12, (i + 1) * 12);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
        ce += lse - row[target];
        n++;
      }
      return ce / n;
    };
    const before = await heldOut();
    for (let step = 0; step < steps; step++) {
      const r = trainStep(model, opt, batch, { objective, lr, clip: 1, rng, randomLength: false });
      r.loss.dispose();
      r.gradNorm?.dispose();
    }
    const after = await heldOut();
    assert.ok(before > 2, `${objective}: initial cross-entropy ${before} should be near ln(12) ≈ 2.5`);
    // The twin cannot know a row's first token and rows 1 and 3 share the prefix "1" (a floor near 0.1); the
    // mask predictor sees four unmasked tokens that identify the row.
    assert.ok(after < 0.6, `${objective}: cross-entropy after ${steps} steps is ${after}, expected < 0.6`);
    model.dispose();
    opt.dispose();
  }
}

Deno.test("a tiny model overfits four sequences on the CPU (LLaDA loss and the causal twin)", () =>
  overfitFourSequences(new CpuBackend()));

await gpuTest(
  "a tiny model overfits four sequences on WebGPU (LLaDA loss and the causal twin)",
  overfitFourSequences,
);

await gpuTest(
  "WebGPU and CPU agree on the logits and on every parameter gradient of a model",
  async (gpu) => {
    const cpu = new CpuBackend();
    const [onCpu, onGpu] = await Promise.all(
      [cpu, gpu].map((backend) => createModel({ ...micro, n_layers: 2, d_model: 16 }, { seed: 8, backend })),
    );
    const tokens = Int32Array.from([1, 2, 6, 6, 3, 0, 5, 5, 4, 6, 2, 1]);
    const mask = Uint8Array.from([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]);
    compareArrays("logits", await onGpu.logits(tokens, 2, 6, mask), await onCpu.logits(tokens, 2, 6, mask), {
      atol: 1e-4,
      rtol: 1e-4,
    });
    const data = { tokens: Int32Array.from([0, 1, 2, 3, 4, 5, 1, 0, 2, 2, 4, 3]), batch: 2, length: 6 };
    for (const model of [onCpu, onGpu]) {
      tidy(() => objectiveLoss(model, data, "pretrain", new Rng(11)).loss.backward());
    }
    const gpuParams = new Map(onGpu.namedParameters());
    for (const [name, p] of onCpu.namedParameters()) {
      compareArrays(`grad of ${name}`, await gpuParams.get(name)!.grad!.data(), await p.grad!.data(), {
        atol: 1e-4,
        rtol: 1e-3,
      });
    }
    onCpu.dispose();
    onGpu.dispose();
  },
);

Deno.test("left padding changes nothing for the padded row (positions come from the attention mask)", async () => {
  const model = await createModel(micro, { seed: 2, backend: f64 });
  const alone = await model.logits(Int32Array.from([1, 2, 3]), 1, 3);
  const padded = await model.logits(Int32Array.from([5, 5, 1, 2, 3]), 1, 5, Uint8Array.from([0, 0, 1, 1, 1]));
  const tail = padded.slice(2 * 7);
  for (let i = 0; i < alone.length; i++) {
    assert.ok(Math.abs(alone[i] - tail[i]) < 1e-9, `logit ${i}: ${alone[i]} vs ${tail[i]}`);
  }
  model.dispose();
});
