import assert from "node:assert/strict";
import fc from "fast-check";
import { packSequences } from "../src/data/packing.ts";
import { EOS_ID } from "../src/tokenizer/special.ts";

Deno.test("packing: documents back to back with EOS after each, cut into rows [n, L]", () => {
  const docs = [[7, 8, 9], [10, 11], [12, 13, 14, 15, 16]];
  const dropped = packSequences(docs, 4);
  // stream: 7 8 9 E 10 11 E 12 13 14 15 16 E (13 tokens) → 3 rows of 4, the last token dropped.
  assert.equal(dropped.rows, 3);
  assert.equal(dropped.length, 4);
  assert.deepEqual([...dropped.tokens], [7, 8, 9, 1, 10, 11, 1, 12, 13, 14, 15, 16]);
  const padded = packSequences(docs, 4, { remainder: "pad" });
  assert.equal(padded.rows, 4);
  assert.deepEqual([...padded.tokens.subarray(12)], [1, 1, 1, 1]);
  assert.deepEqual([...packSequences([[5, 6]], 2, { eosId: 99, remainder: "pad" }).tokens], [5, 6, 99, 99]);
  assert.throws(() => packSequences([[5, 6]], 8), /stream has 3 tokens, fewer than one row of 8/);
  assert.throws(() => packSequences(docs, 0), /length must be a positive integer/);
});

Deno.test("packing keeps every token in order, separated by EOS (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 5, max: 50 }), { maxLength: 20 }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 16 }),
      (docs, length) => {
        const { tokens, rows } = packSequences(docs, length, { remainder: "pad" });
        const stream = docs.flatMap((d) => [...d, EOS_ID]);
        assert.equal(rows, Math.ceil(stream.length / length));
        assert.equal(tokens.length, rows * length);
        assert.deepEqual([...tokens.subarray(0, stream.length)], stream);
        assert.ok(tokens.subarray(stream.length).every((t) => t === EOS_ID));
      },
    ),
    { numRuns: 200, seed: 3 },
  );
});
