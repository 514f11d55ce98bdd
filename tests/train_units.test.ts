/**
 * The units of what training and evaluation report, against sums written out here: the autoregressive twin's loss
 * is the mean cross-entropy over its B·(L−1) next-token targets, and the held-out score of an SFT set is the
 * conditional negative log-likelihood in bits (not nats) per character.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { estimateConditionalLogLikelihood } from "../src/llada/loss_bound.ts";
import { createModel } from "../src/model/llada.ts";
import { Rng } from "../src/rng.ts";
import { heldOutBitsPerChar } from "../src/train/eval.ts";
import { objectiveLoss } from "../src/train/step.ts";
import { Tensor } from "../src/tensor.ts";

const backend = new CpuBackend();
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

Deno.test("autoregressive loss: the mean of −log p(x_{t+1} | x_≤t) over the B·(L−1) targets", async () => {
  const model = await createModel(config, { seed: 3, backend, causal: true });
  const B = 2;
  const L = 5;
  const tokens = Int32Array.of(0, 1, 2, 3, 1, 3, 3, 0, 2, 1);
  const { loss } = objectiveLoss(model, { tokens, batch: B, length: L }, "autoregressive", new Rng(0));
  const inputs = new Int32Array(B * (L - 1));
  for (let b = 0; b < B; b++) inputs.set(tokens.subarray(b * L, (b + 1) * L - 1), b * (L - 1));
  const logits = await model.forward(Tensor.from(inputs, [B, L - 1], { backend, dtype: "i32" })).data();
  const V = logits.length / (B * (L - 1));
  let nll = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L - 1; t++) {
      const row = Array.from(logits.subarray((b * (L - 1) + t) * V, (b * (L - 1) + t + 1) * V));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, l) => s + Math.exp(l - max), 0));
      nll += lse - row[tokens[b * L + t + 1]];
    }
  }
  const expected = nll / (B * (L - 1));
  const actual = await loss.item();
  assert.ok(Math.abs(actual - expected) < 1e-5 * expected, `loss ${actual}, expected ${expected}`);
});

Deno.test("held-out score of an SFT set: −Σ log p(answer | prompt) / ln 2 / characters", async () => {
  const model = await createModel(config, { seed: 4, backend });
  const set = {
    prompts: [Int32Array.of(0, 1), Int32Array.of(2)],
    sequences: [Int32Array.of(3, 2), Int32Array.of(1, 1, 0)],
    charCount: 7,
    text: "abcdefg",
  };
  const options = { mcSamples: 4, batchSize: 4, seed: 9 };
  let nats = 0;
  for (let j = 0; j < 2; j++) {
    const est = await estimateConditionalLogLikelihood(
      model,
      Array.from(set.prompts[j]),
      Array.from(set.sequences[j]),
      { maskId: config.mask_token_id, mcSamples: 4, batchSize: 4, seed: 9 + j },
    );
    nats -= est.logLikelihood;
  }
  const bits = await heldOutBitsPerChar(model, set, options);
  const expected = nats / Math.LN2 / set.charCount;
  assert.ok(Math.abs(bits - expected) < 1e-9 * expected, `${bits} bits/char, expected ${expected}`);
});
