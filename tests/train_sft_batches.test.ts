/** SFT mini-batches are padded to their own longest pair; the twin's SFT loss scores only the answers. */

import assert from "node:assert/strict";
import { padSftPairs } from "../src/data/sft.ts";
import { BatchIterator } from "../src/data/batches.ts";
import { toStepBatch } from "../src/train/trainer.ts";
import { autoregressiveSftWeights } from "../src/train/step.ts";

const EOS = 1;

Deno.test("toStepBatch pads an SFT mini-batch with EOS to its longest pair, not to the corpus's row length", () => {
  // Pairs of 3, 4 and 9 tokens in rows of 12.
  const rows = padSftPairs([
    { prompt: [5, 6], response: [7] },
    { prompt: [5], response: [8, 8, EOS] },
    { prompt: [5, 6, 6, 6], response: [9, 9, 9, 9, EOS] },
  ], { length: 12, eosId: EOS });
  assert.deepEqual([...rows.pairLengths], [3, 4, 9]);
  const firstTwo = {
    tokens: rows.tokens.slice(0, 24),
    rows: 2,
    length: 12,
    promptLengths: rows.promptLengths.slice(0, 2),
    pairLengths: rows.pairLengths.slice(0, 2),
  };
  const short = toStepBatch(firstTwo, EOS);
  assert.equal(short.length, 4);
  assert.deepEqual([...short.tokens], [5, 6, 7, EOS, 5, 8, 8, EOS]);
  assert.deepEqual([...short.promptLengths!], [2, 1]);
  const all = toStepBatch(rows, EOS);
  assert.equal(all.length, 9);
  assert.deepEqual([...all.tokens.subarray(18)], [5, 6, 6, 6, 9, 9, 9, 9, EOS]);
  // Pre-training rows pass through whole.
  const plain = toStepBatch({ tokens: Int32Array.of(1, 2, 3, 4), rows: 2, length: 2 }, EOS);
  assert.equal(plain.length, 2);
  assert.equal(plain.promptLengths, undefined);
});

Deno.test("the batch iterator carries pair lengths, so every trained SFT batch is as long as its longest pair", () => {
  const pairs = Array.from({ length: 8 }, (_, i) => ({ prompt: [5, 6], response: new Array(i + 1).fill(7) }));
  const rows = padSftPairs(pairs, { length: 16, eosId: EOS });
  const it = new BatchIterator(rows, { batchSize: 3, seed: 4 });
  for (let k = 0; k < 5; k++) {
    const batch = it.next();
    const step = toStepBatch(batch, EOS);
    const longest = Math.max(...[...batch.indices].map((row) => 2 + row + 1));
    assert.equal(step.length, longest);
  }
});

Deno.test("autoregressiveSftWeights: only answer targets, each row weighted 1/(answer length · B)", () => {
  // B = 2, L = 5: row 0 has a prompt of 2 (targets 2…4 are answer), row 1 a prompt of 4 (target 4 only).
  const w = autoregressiveSftWeights(2, 5, [2, 4]);
  const a = 1 / (3 * 2);
  const b = 1 / (1 * 2);
  assert.deepEqual([...w].map((x) => Math.fround(x)), [0, a, a, a, 0, 0, 0, b].map(Math.fround));
  // Each row's weights sum to 1/B, as the mask predictor's SFT loss gives each pair.
  assert.ok(Math.abs(w.slice(0, 4).reduce((s, x) => s + x, 0) - 0.5) < 1e-6);
});
