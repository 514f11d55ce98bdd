/**
 * The sampler's Gumbel noise must stay float64 (the official code casts to float64 because float32 noise degrades
 * sampling). Counting draws cannot see 1e-8 of rounding, so this test builds a race that is decided by 1e-10: it
 * recomputes the noise the sampler will draw — the row's generator is `new Rng(seed).fork(hash(prompt))`, as
 * documented in `reverse_sampling.ts`, with `hash` FNV-1a over the prompt's length and tokens as 32-bit words —
 * and sets the temperature so that token 0 beats token 1 by ±1e-10.
 */

import assert from "node:assert/strict";
import { generate } from "../src/llada/reverse_sampling.ts";
import { Rng } from "../src/rng.ts";
import { TableModel } from "./llada_fakes.ts";

/** FNV-1a over the bytes of the prompt's length and tokens (little-endian 32-bit words). */
function hashTokens(tokens: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const word of [tokens.length, ...tokens]) {
    for (let k = 0; k < 4; k++) {
      h ^= (word >>> (8 * k)) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}

const MASK = 2; // vocabulary: tokens 0 and 1, and the mask

Deno.test("temperature: Gumbel-max compares l/T + g in float64 (a 1e-10 lead decides the token)", async () => {
  for (const seed of [0, 1, 2, 3]) {
    const rng = new Rng(seed).fork(hashTokens([]));
    const g = [rng.gumbel(), rng.gumbel(), rng.gumbel()]; // one draw per vocabulary entry, the mask's included
    // Logits [1, 0] at temperature T: token 0 scores 1/T + g0, token 1 scores g1. Pick T so that the difference
    // is exactly `lead` in float64; that needs g1 > g0, so the two tokens swap roles when g0 > g1.
    const [a, b] = g[0] < g[1] ? [0, 1] : [1, 0];
    for (const lead of [1e-10, -1e-10]) {
      const T = 1 / (g[b] - g[a] + lead);
      const logits = [0, 0, 0];
      logits[a] = 1;
      const model = new TableModel([logits]);
      const { tokens } = await generate(model, [[]], {
        genLength: 1,
        steps: 1,
        maskId: MASK,
        temperature: T,
        seed,
      });
      const expected = lead > 0 ? a : b;
      assert.equal(
        tokens[0][0],
        expected,
        `seed ${seed}: g = [${g}], T = ${T}: token ${expected} leads by ${Math.abs(lead)} but ${
          tokens[0][0]
        } won`,
      );
    }
  }
});
