import assert from "node:assert/strict";
import fc from "fast-check";
import { splitTrainValid } from "../src/data/split.ts";

Deno.test("split: disjoint, complete, order-preserving and determined by the seed (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 300 }),
      fc.double({ min: 0, max: 0.5, noNaN: true }),
      fc.integer(),
      (n, fraction, seed) => {
        const items = Array.from({ length: n }, (_, i) => `doc${i}`);
        const s = splitTrainValid(items, { validFraction: fraction, seed });
        assert.equal(s.valid.length, Math.max(1, Math.round(n * fraction)));
        assert.equal(s.train.length + s.valid.length, n);
        assert.equal(new Set([...s.trainIndices, ...s.validIndices]).size, n, "train and valid overlap");
        assert.deepEqual(s.train, s.trainIndices.map((i) => items[i]));
        assert.deepEqual(s.valid, s.validIndices.map((i) => items[i]));
        assert.deepEqual([...s.validIndices].sort((a, b) => a - b), s.validIndices, "original order kept");
        assert.deepEqual(splitTrainValid(items, { validFraction: fraction, seed }), s);
      },
    ),
    { numRuns: 100, seed: 5 },
  );
});

Deno.test("split: another seed holds out other documents; impossible splits are explained", () => {
  const items = Array.from({ length: 500 }, (_, i) => i);
  const a = splitTrainValid(items, { seed: 0 });
  const b = splitTrainValid(items, { seed: 1 });
  assert.equal(a.valid.length, 50); // default fraction 0.1
  assert.notDeepEqual(a.validIndices, b.validIndices);
  assert.equal(splitTrainValid(items, { validCount: 7, seed: 0 }).valid.length, 7);
  assert.throws(() => splitTrainValid([1], { seed: 0 }), /cannot hold out 1 of 1 items/);
  assert.throws(
    () => splitTrainValid(items, { validFraction: 1, seed: 0 }),
    /validFraction must be in \[0, 1\)/,
  );
});
