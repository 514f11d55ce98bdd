import assert from "node:assert/strict";
import fc from "fast-check";
import {
  corruptForPretraining,
  corruptForSft,
  MASK_EPS,
  maskExactly,
  maybeTruncateBatch,
  padSftBatch,
  truncateBatch,
} from "../src/llada/forward_masking.ts";
import { pretrainingLossWeights } from "../src/llada/loss_bound.ts";
import { Rng } from "../src/rng.ts";

const MASK = 99;
const FC = { seed: 20250214, numRuns: 40 };

/** A batch of random clean tokens in [0, 50). */
function cleanBatch(batch: number, length: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: batch * length }, () => rng.int(0, 49));
}

Deno.test("pre-training corruption: masks exactly the flagged tokens, and the rate concentrates around p", () => {
  fc.assert(
    fc.property(fc.integer(), (seed) => {
      const B = 4;
      const L = 2000;
      const x0 = cleanBatch(B, L, seed);
      const c = corruptForPretraining(x0, B, L, { maskId: MASK, seed });
      for (let b = 0; b < B; b++) {
        const p = c.p[b];
        assert.ok(p >= MASK_EPS * (1 - 1e-6) && p <= 1, `p = ${p} outside [ε, 1]`);
        let n = 0;
        for (let i = b * L; i < (b + 1) * L; i++) {
          // noisy = M exactly where masked, x_0 elsewhere
          assert.equal(c.noisy[i], c.masked[i] ? MASK : x0[i]);
          n += c.masked[i];
        }
        // Binomial(L, p): within 5 standard deviations (+1 for tiny p)
        const sd = Math.sqrt(L * p * (1 - p));
        assert.ok(Math.abs(n - L * p) <= 5 * sd + 1, `row ${b}: ${n} masks, expected ${L * p} ± ${sd}`);
      }
    }),
    FC,
  );
});

Deno.test("pre-training corruption: t is uniform, so p = (1 − ε)t + ε has mean (1 + ε)/2 and fills [ε, 1]", () => {
  const B = 4000;
  const c = corruptForPretraining(new Int32Array(B), B, 1, { maskId: MASK, seed: 3 });
  const mean = c.p.reduce((s, p) => s + p, 0) / B;
  // sd of U(0,1) is 0.2887; the mean of 4000 is within 5·0.2887/√4000 ≈ 0.023
  assert.ok(Math.abs(mean - (1 + MASK_EPS) / 2) < 0.023, `mean p = ${mean}`);
  const below = c.p.filter((p) => p < 0.25).length / B;
  assert.ok(Math.abs(below - (0.25 - MASK_EPS) / (1 - MASK_EPS)) < 0.035, `P(p < 0.25) = ${below}`);
});

Deno.test("pre-training corruption: same seed, same corruption; another seed, another one", () => {
  const x0 = cleanBatch(3, 64, 1);
  const a = corruptForPretraining(x0, 3, 64, { maskId: MASK, seed: 42 });
  const b = corruptForPretraining(x0, 3, 64, { maskId: MASK, seed: 42 });
  const c = corruptForPretraining(x0, 3, 64, { maskId: MASK, seed: 43 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.noisy, c.noisy);
  // the clean input is not modified
  assert.deepEqual(x0, cleanBatch(3, 64, 1));
});

Deno.test("SFT corruption: prompts are never masked; responses (EOS padding included) are, at rate p", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 4 }),
      fc.integer(),
      (promptLengths, seed) => {
        const L = 1500;
        const B = promptLengths.length;
        const x0 = cleanBatch(B, L, seed);
        const c = corruptForSft(x0, B, L, promptLengths, { maskId: MASK, seed });
        assert.deepEqual(Array.from(c.promptLengths), promptLengths);
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < promptLengths[b]; i++) {
            assert.equal(c.masked[b * L + i], 0, `row ${b}: prompt position ${i} masked`);
            assert.equal(c.noisy[b * L + i], x0[b * L + i]);
          }
          const answer = L - promptLengths[b];
          let n = 0;
          for (let i = promptLengths[b]; i < L; i++) n += c.masked[b * L + i];
          const p = c.p[b];
          const sd = Math.sqrt(answer * p * (1 - p));
          assert.ok(Math.abs(n - answer * p) <= 5 * sd + 1, `row ${b}: ${n} of ${answer} masked at p = ${p}`);
        }
      },
    ),
    FC,
  );
});

Deno.test("padSftBatch: prompt ‖ response ‖ EOS…, and the EOS padding can be masked as response", () => {
  const EOS = 2;
  const batch = padSftBatch(
    [{ prompt: [10, 11], response: [20] }, { prompt: [12], response: [21, 22, 23] }],
    {
      eosId: EOS,
      length: 6,
    },
  );
  assert.deepEqual(Array.from(batch.tokens), [10, 11, 20, EOS, EOS, EOS, 12, 21, 22, 23, EOS, EOS]);
  assert.deepEqual(Array.from(batch.promptLengths), [2, 1]);
  // with every response token masked (eps = 1 − tiny forces p ≈ 1), the EOS padding is masked too
  const c = corruptForSft(batch.tokens, 2, 6, batch.promptLengths, { maskId: MASK, seed: 0, eps: 0.999999 });
  assert.deepEqual(Array.from(c.masked), [0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
  // the default length is the longest pair
  assert.equal(padSftBatch([{ prompt: [1], response: [1, 1] }], { eosId: EOS }).length, 3);
  assert.throws(
    () => padSftBatch([{ prompt: [1, 2, 3], response: [4] }], { eosId: EOS, length: 3 }),
    /length \(3\) must be an integer at least the longest pair \(4 tokens\)/,
  );
});

Deno.test("random-length truncation: happens 1% of the time, to a uniform length in [1, L], keeping prefixes", () => {
  const B = 2;
  const L = 4;
  const x0 = cleanBatch(B, L, 5);
  let cuts = 0;
  const N = 20000;
  for (let s = 0; s < N; s++) if (maybeTruncateBatch(x0, B, L, { seed: s }).truncated) cuts++;
  // Binomial(20000, 0.01): mean 200, sd 14
  assert.ok(Math.abs(cuts - 200) < 70, `${cuts} cuts in ${N}`);

  const seen = new Array(L + 1).fill(0);
  const rng = new Rng(9);
  for (let s = 0; s < 4000; s++) {
    const r = maybeTruncateBatch(x0, B, L, { seed: rng, probability: 1 });
    assert.ok(r.truncated && r.length >= 1 && r.length <= L);
    assert.deepEqual(Array.from(r.tokens), [...x0.subarray(0, r.length), ...x0.subarray(L, L + r.length)]);
    seen[r.length]++;
  }
  // each length 1..4 about 1000 times (sd ≈ 27)
  for (let l = 1; l <= L; l++) assert.ok(Math.abs(seen[l] - 1000) < 140, `length ${l} seen ${seen[l]} times`);
  // no cut: the same array comes back
  const same = maybeTruncateBatch(x0, B, L, { seed: 0, probability: 0 });
  assert.equal(same.tokens, x0);
  assert.equal(same.length, L);
  assert.throws(() => truncateBatch(x0, B, L, 0), /newLength must be an integer in \[1, 4\], got 0/);
});

Deno.test("exactly-l masking: l answer tokens, none in the prompt, every answer position equally likely", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer(),
      (P, L, seed) => {
        const row = Array.from({ length: P + L }, (_, i) => i);
        const rng = new Rng(seed);
        const l = rng.int(0, L);
        const m = maskExactly(row, P, l, { maskId: MASK, seed: rng });
        assert.equal(m.masked.reduce((s, f) => s + f, 0), l);
        for (let i = 0; i < P + L; i++) {
          if (i < P) assert.equal(m.masked[i], 0);
          assert.equal(m.noisy[i], m.masked[i] ? MASK : row[i]);
        }
      },
    ),
    FC,
  );
  // uniformity: with L = 5, l = 2, each position is masked with probability 2/5
  const hits = new Array(5).fill(0);
  const rng = new Rng(1);
  const N = 5000;
  for (let s = 0; s < N; s++) {
    maskExactly([7, 1, 2, 3, 4, 5], 1, 2, { maskId: MASK, seed: rng }).masked.forEach((f, i) =>
      i > 0 && (hits[i - 1] += f)
    );
  }
  // each count ~ Binomial(5000, 0.4): sd ≈ 35
  for (const h of hits) assert.ok(Math.abs(h - 0.4 * N) < 175, `hits ${hits}`);
});

Deno.test("forward masking errors say what was wrong", () => {
  assert.throws(
    () => corruptForPretraining(new Int32Array(5), 2, 3, { maskId: MASK, seed: 0 }),
    /expected tokens of length batch·length = 2·3 = 6, got 5/,
  );
  assert.throws(
    () => corruptForSft(new Int32Array(6), 2, 3, [1, 3], { maskId: MASK, seed: 0 }),
    /prompt length of row 1 must be an integer in \[0, 2\] \(the response needs at least one token\), got 3/,
  );
  assert.throws(
    () => corruptForSft(new Int32Array(6), 2, 3, [1], { maskId: MASK, seed: 0 }),
    /expected 2 prompt lengths/,
  );
  assert.throws(
    () => maskExactly([1, 2, 3], 1, 3, { maskId: MASK, seed: 0 }),
    /cannot mask 3 tokens of an answer of 2/,
  );
  assert.throws(
    () => corruptForPretraining(new Int32Array(1), 1, 1, { maskId: MASK, seed: 0, eps: 1 }),
    /eps must be in \[0, 1\)/,
  );
});

Deno.test("stratified times put exactly one row in each slice [k/B, (k+1)/B) of t, and stay uniform on average", () => {
  const B = 16;
  const L = 4;
  const tokens = new Int32Array(B * L).fill(3);
  const eps = 1e-3;
  let meanT = 0;
  const runs = 200;
  for (let seed = 0; seed < runs; seed++) {
    const c = corruptForPretraining(tokens, B, L, { maskId: 0, seed, timeSampling: "stratified" });
    const times = Array.from(c.p, (p) => (p - eps) / (1 - eps));
    const slices = times.map((t) => Math.min(B - 1, Math.floor(t * B))).sort((a, b) => a - b);
    assert.deepEqual(slices, [...Array(B).keys()], `seed ${seed}: times ${times}`);
    meanT += times.reduce((a, t) => a + t, 0) / B / runs;
  }
  assert.ok(Math.abs(meanT - 0.5) < 0.01, `mean t ${meanT}`);
});

Deno.test("exact mask counts (Eq. 6): l ~ U{1…L} tokens per row, p = l/L, every position equally likely", () => {
  const B = 8;
  const L = 6;
  const tokens = new Int32Array(B * L).fill(3);
  const counts = new Array(L + 1).fill(0); // how often each l occurs
  const perPosition = new Array(L).fill(0); // how often each position is masked
  const runs = 3000;
  for (let seed = 0; seed < runs; seed++) {
    const timeSampling = seed % 2 ? "stratified" : "iid";
    const c = corruptForPretraining(tokens, B, L, { maskId: 0, seed, maskCount: "exact", timeSampling });
    for (let b = 0; b < B; b++) {
      const row = c.masked.subarray(b * L, (b + 1) * L);
      const l = row.reduce((a, m) => a + m, 0);
      assert.ok(l >= 1 && l <= L, `a row masks 1…L tokens, got ${l}`);
      assert.equal(c.p[b], Math.fround(l / L), "p is the masked fraction");
      for (let i = 0; i < L; i++) {
        assert.equal(c.noisy[b * L + i], row[i] ? 0 : 3, "masked tokens, and only they, become the mask id");
        perPosition[i] += row[i];
      }
      counts[l]++;
    }
  }
  const rows = runs * B;
  for (let l = 1; l <= L; l++) {
    assert.ok(
      Math.abs(counts[l] / rows - 1 / L) < 0.01,
      `P(l = ${l}) = ${counts[l] / rows}, expected ${1 / L}`,
    );
  }
  // E[l] = (L + 1)/2, spread evenly over the L positions.
  for (let i = 0; i < L; i++) {
    const rate = perPosition[i] / rows;
    assert.ok(Math.abs(rate - (L + 1) / (2 * L)) < 0.01, `position ${i} masked at rate ${rate}`);
  }
});

Deno.test("exact and independent mask counts: the same expected loss Σ_i c_i / (B·L); exact, less variance", () => {
  // Fixed per-position losses c_i: E[Σ weight · c] must be Σ c / (B·L) under both maskings (unbiased, Eq. 3/6).
  const B = 4;
  const L = 5;
  const tokens = new Int32Array(B * L).fill(3);
  const c = Array.from({ length: B * L }, (_, i) => 0.5 + ((i * 7) % 11) / 4);
  const expected = c.reduce((a, x) => a + x, 0) / (B * L);
  const variance: Record<string, number> = {};
  for (const maskCount of ["independent", "exact"] as const) {
    const runs = 20_000;
    let mean = 0;
    let meanSq = 0;
    for (let seed = 0; seed < runs; seed++) {
      const batch = corruptForPretraining(tokens, B, L, { maskId: 0, seed, maskCount });
      const w = pretrainingLossWeights(batch);
      const loss = w.reduce((a, wi, i) => a + wi * c[i], 0);
      mean += loss / runs;
      meanSq += (loss * loss) / runs;
    }
    variance[maskCount] = meanSq - mean * mean;
    const stderr = Math.sqrt(variance[maskCount] / runs);
    assert.ok(
      Math.abs(mean - expected) < 4 * stderr,
      `${maskCount}: mean ${mean} vs ${expected} (± ${stderr})`,
    );
  }
  assert.ok(variance.exact < variance.independent / 2, `variances ${JSON.stringify(variance)}`);
});
