import assert from "node:assert/strict";
import { BatchIterator } from "../src/data/batches.ts";
import { packSequences } from "../src/data/packing.ts";
import { padSftPairs } from "../src/data/sft.ts";
import { Rng } from "../src/rng.ts";

/** 10 rows of length 3 whose first token is the row number, so batches show which rows they hold. */
const data = packSequences(Array.from({ length: 10 }, (_, i) => [100 + i, 200 + i]), 3);

Deno.test("batches: [B, L] rows gathered from the data, each row once per epoch", () => {
  const it = new BatchIterator(data, { batchSize: 4, seed: 1 });
  const seen: number[] = [];
  for (let b = 0; b < 5; b++) { // 20 rows = two epochs of 10
    const batch = it.next();
    assert.equal(batch.rows, 4);
    assert.equal(batch.length, 3);
    assert.equal(batch.tokens.length, 12);
    batch.indices.forEach((row, i) => {
      assert.deepEqual([...batch.tokens.subarray(i * 3, i * 3 + 3)], [100 + row, 200 + row, 1]);
    });
    seen.push(...batch.indices);
  }
  assert.deepEqual([...seen.slice(0, 10)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...seen.slice(10)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(seen.slice(0, 10), seen.slice(10), "each epoch has its own order");
  assert.equal(it.epoch, 1);
});

Deno.test("batches are reproducible from the seed and differ across seeds", () => {
  const draw = (seed: number | Rng) => {
    const it = new BatchIterator(data, { batchSize: 3, seed });
    return Array.from({ length: 7 }, () => [...it.nextIndices()]);
  };
  assert.deepEqual(draw(5), draw(5));
  assert.notDeepEqual(draw(5), draw(6));
  assert.deepEqual(draw(new Rng(9)), draw(new Rng(9)));
});

Deno.test("save and restore the position: resumed batches equal uninterrupted ones, bit for bit", () => {
  for (const stopAfter of [0, 1, 3, 4, 9]) {
    const straight = new BatchIterator(data, { batchSize: 4, seed: 42 });
    const expected = Array.from({ length: 12 }, () => straight.next());

    const first = new BatchIterator(data, { batchSize: 4, seed: 42 });
    for (let i = 0; i < stopAfter; i++) first.next();
    const saved = JSON.parse(JSON.stringify(first.getState())); // as in a checkpoint
    const resumed = new BatchIterator(data, { batchSize: 4, seed: 12345 }); // the seed is overridden by the state
    resumed.setState(saved);
    for (let i = stopAfter; i < 12; i++) {
      const batch = resumed.next();
      assert.deepEqual(batch.indices, expected[i].indices, `batch ${i} after stopping at ${stopAfter}`);
      assert.deepEqual(batch.tokens, expected[i].tokens);
    }
  }
  const it = new BatchIterator(data, { batchSize: 4, seed: 0 });
  assert.throws(
    () => new BatchIterator(data, { batchSize: 2, seed: 0 }).setState(it.getState()),
    /state is for 10 rows in batches of 4, but this iterator has 10 rows in batches of 2/,
  );
});

Deno.test("SFT batches carry their rows' prompt lengths", () => {
  const sft = padSftPairs(
    Array.from({ length: 6 }, (_, i) => ({ prompt: new Array(i + 1).fill(2), response: [1] })),
  );
  const batch = new BatchIterator(sft, { batchSize: 4, seed: 3 }).next();
  assert.deepEqual([...batch.promptLengths], [...batch.indices].map((row) => row + 1));
  assert.throws(
    () => new BatchIterator(sft, { batchSize: 0, seed: 0 }),
    /batchSize must be a positive integer/,
  );
});
