/**
 * The autoregressive twin's decoder as the twin's callers use it (EOS before the prompt as the document
 * boundary): greedy and temperature sampling from the last position's logits. Its batch, seed, top-k and early
 * stop properties are in `llada_strategies.test.ts`, beside the mask predictor's.
 */

import assert from "node:assert/strict";
import { generateAutoregressive } from "../src/llada/autoregressive_sampling.ts";
import { TableModel } from "./llada_fakes.ts";

const EOS = 1;
const MASK = 0;

Deno.test("greedy decoding puts bosId before the prompt and takes each position's argmax, never the mask", async () => {
  // Position i's logits: the mask has the largest logit everywhere, then token 2 + i.
  const table = [0, 1, 2, 3].map((i) => [9, 0, ...[0, 1, 2, 3, 4, 5].map((v) => (v === i ? 5 : 0))]);
  const model = new TableModel(table);
  const { tokens, nfe } = await generateAutoregressive(model, [[6]], {
    genLength: 3,
    bosId: EOS,
    maskId: MASK,
  });
  // Input [EOS, 6] → position 1 predicts: argmax of table[1] without the mask is 2 + 1 = 3; then 4, 5.
  assert.deepEqual(tokens, [[6, 3, 4, 5]]);
  assert.equal(nfe, 3);
  assert.deepEqual(model.calls.map((c) => [...c.tokens]), [[EOS, 6], [EOS, 6, 3], [EOS, 6, 3, 4]]);
});

Deno.test("temperature sampling draws tokens with probabilities softmax(logits / T), reproducibly per seed", async () => {
  const logits = [0, 0, 1, 0, Math.log(3)];
  const model = new TableModel([logits]);
  const temperature = 0.5;
  const weights = logits.map((l, v) => (v === MASK ? 0 : Math.exp(l / temperature)));
  const total = weights.reduce((a, b) => a + b, 0);
  const counts = new Array(logits.length).fill(0);
  const n = 4000;
  for (let seed = 0; seed < n; seed++) {
    const { tokens } = await generateAutoregressive(model, [[]], {
      genLength: 1,
      temperature,
      seed,
      bosId: EOS,
      maskId: MASK,
    });
    counts[tokens[0][0]]++;
  }
  assert.equal(counts[MASK], 0);
  for (let v = 1; v < logits.length; v++) {
    const p = weights[v] / total;
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(counts[v] / n - p) < 4 * sd, `token ${v}: ${counts[v] / n} vs ${p.toFixed(4)}`);
  }
  const again = await generateAutoregressive(model, [[2]], {
    genLength: 5,
    temperature: 1,
    seed: 7,
    bosId: EOS,
    maskId: MASK,
  });
  const same = await generateAutoregressive(model, [[2]], {
    genLength: 5,
    temperature: 1,
    seed: 7,
    bosId: EOS,
    maskId: MASK,
  });
  assert.deepEqual(again.tokens, same.tokens);
});

Deno.test("generateAutoregressive refuses unpadded prompts of different lengths, a bad length, temperature or bosId", async () => {
  const model = new TableModel([[0, 0, 1]]);
  const o = { bosId: EOS, maskId: MASK };
  await assert.rejects(
    () => generateAutoregressive(model, [[2], [2, 2]], { ...o, genLength: 1 }),
    /different lengths: pass padId/,
  );
  await assert.rejects(() => generateAutoregressive(model, [[2]], { ...o, genLength: 0 }), /genLength/);
  await assert.rejects(
    () => generateAutoregressive(model, [[2]], { ...o, genLength: 1, temperature: -1 }),
    /temperature/,
  );
  await assert.rejects(
    () => generateAutoregressive(model, [[2]], { genLength: 1, bosId: 3 }),
    /bosId = 3 is not a token id in \[0, 3\)/,
  );
  // Without bosId a prompt must give the first prediction something to read.
  await assert.rejects(() => generateAutoregressive(model, [[]], { genLength: 1 }), /or give bosId/);
});
