import assert from "node:assert/strict";
import fc from "fast-check";
import { corruptForPretraining, corruptForSft } from "../src/llada/forward_masking.ts";
import { guidedLogits } from "../src/llada/guidance.ts";
import {
  conditionalLogLikelihood,
  estimateConditionalLogLikelihood,
  evaluateBound,
  exactConditionalLogLikelihoodBound,
  type LikelihoodSampler,
  pretrainingLoss,
  pretrainingLossWeights,
  sftLoss,
  sftLossWeights,
  stratifiedMaskCounts,
  weightedCrossEntropy,
} from "../src/llada/loss_bound.ts";
import { Rng } from "../src/rng.ts";
import { HashModel, JointModel, logSoftmax, randomJoint, TableModel } from "./llada_fakes.ts";

const FC = { seed: 20250214 };

function randomLogits(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => 4 * rng.normal());
}

// ── Training losses ────────────────────────────────────────────────────────────────────────────────────────────

Deno.test("pre-training weights: Σ w·CE equals the official Σ_masked CE/p / (B·L)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer(),
      (B, L, seed) => {
        const V = 5;
        const MASK = 4;
        const rng = new Rng(seed);
        const x0 = Int32Array.from({ length: B * L }, () => rng.int(0, 3));
        const c = corruptForPretraining(x0, B, L, { maskId: MASK, seed: rng });
        const logits = randomLogits(B * L * V, seed);
        // the official code, written out: token_loss = CE[masked] / p_mask[masked]; loss = Σ / (B·L)
        let official = 0;
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < L; i++) {
            const n = b * L + i;
            if (c.masked[n]) official += -logSoftmax(logits.subarray(n * V, (n + 1) * V), x0[n]) / c.p[b];
          }
        }
        official /= B * L;
        const w = pretrainingLossWeights(c);
        for (let n = 0; n < B * L; n++) if (!c.masked[n]) assert.equal(w[n], 0);
        assert.ok(Math.abs(pretrainingLoss(logits, x0, c) - official) <= 1e-6 * Math.max(1, official));
      },
    ),
    { ...FC, numRuns: 50 },
  );
});

Deno.test("SFT weights: Σ w·CE equals the official Σ_b (Σ_masked CE/p)/answerLength_b / B", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }),
      fc.integer(),
      (promptLengths, seed) => {
        const V = 5;
        const MASK = 4;
        const L = 10;
        const B = promptLengths.length;
        const rng = new Rng(seed);
        const x0 = Int32Array.from({ length: B * L }, () => rng.int(0, 3));
        const c = corruptForSft(x0, B, L, promptLengths, { maskId: MASK, seed: rng });
        const logits = randomLogits(B * L * V, seed);
        let official = 0;
        for (let b = 0; b < B; b++) {
          const answerLength = L - promptLengths[b];
          for (let i = 0; i < L; i++) {
            const n = b * L + i;
            if (c.noisy[n] === MASK) {
              official += -logSoftmax(logits.subarray(n * V, (n + 1) * V), x0[n]) / c.p[b] / answerLength;
            }
          }
        }
        official /= B;
        const w = sftLossWeights(c);
        for (let b = 0; b < B; b++) for (let i = 0; i < promptLengths[b]; i++) assert.equal(w[b * L + i], 0);
        assert.ok(Math.abs(sftLoss(logits, x0, c) - official) <= 1e-6 * Math.max(1, official));
      },
    ),
    { ...FC, numRuns: 50 },
  );
});

Deno.test("weightedCrossEntropy: a two-position example by hand, and zero weights never read their logits", () => {
  const logits = [0, Math.log(3), NaN, NaN, 1, 1];
  // position 0: p(target 1) = 3/4 → CE = log(4/3); position 1 skipped; position 2: CE = log 2
  const got = weightedCrossEntropy(logits, [1, 0, 0], [2, 0, 0.5], 2);
  assert.ok(Math.abs(got - (2 * Math.log(4 / 3) + 0.5 * Math.log(2))) < 1e-12);
});

// ── Stratification ─────────────────────────────────────────────────────────────────────────────────────────────

Deno.test("stratified counts: in 1..L, the official formula, and each l_i uniform over k", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (L, b) => {
      const seen: number[][] = Array.from({ length: b }, () => []);
      for (let k = 1; k <= L; k++) {
        const counts = stratifiedMaskCounts(L, b, k);
        counts.forEach((l, i) => {
          assert.ok(l >= 1 && l <= L);
          const x = k + (i * L) / b;
          // the official ((round(k + i·L/b) − 1) mod L) + 1 wherever rounding is unambiguous
          if (Math.abs((x % 1) - 0.5) > 1e-9) assert.equal(l, ((Math.round(x) - 1) % L) + 1);
          seen[i].push(l);
        });
      }
      // as k runs over 1..L, every l_i runs over 1..L: each sample is marginally uniform (unbiased)
      for (const s of seen) {
        assert.deepEqual(
          s.sort((p, q) => p - q),
          Array.from({ length: L }, (_, j) => j + 1),
        );
      }
    }),
    { ...FC, numRuns: 100 },
  );
  // spread evenly: L = 8, b = 4, k = 3 → 3, 5, 7, 1
  assert.deepEqual(Array.from(stratifiedMaskCounts(8, 4, 3)), [3, 5, 7, 1]);
  // the half-way case (L = 3, b = 2): half-up keeps l_1 uniform (torch.round's half-to-even would give 2, 1, 1)
  assert.deepEqual([1, 2, 3].map((k) => stratifiedMaskCounts(3, 2, k)[1]), [3, 1, 2]);
});

// ── The exact bound ────────────────────────────────────────────────────────────────────────────────────────────

Deno.test("exact bound by hand: a two-token answer after a prompt, with and without guidance", async () => {
  const M = 5;
  const model = new HashModel(6, { seed: 11 });
  const prompt = [1, 2];
  const [a, b] = [3, 0];
  const at = async (row: number[], pos: number, target: number, w = 0): Promise<number> => {
    const c = await model.logits(Int32Array.from(row), 1, 4);
    const u = await model.logits(Int32Array.from([M, M, row[2], row[3]]), 1, 4);
    const guided = Array.from({ length: 6 }, (_, v) => {
      const ci = c[pos * 6 + v];
      const ui = u[pos * 6 + v];
      return ui + (w + 1) * (ci - ui);
    });
    return logSoftmax(guided, target);
  };
  for (const w of [0, 1.5]) {
    // l = 1 (probability 1/2, each of the 2 patterns 1/2, weight L/l = 2) and l = 2 (1/2, one pattern, weight 1)
    const hand = 0.5 * 0.5 * 2 * (await at([1, 2, M, b], 2, a, w)) +
      0.5 * 0.5 * 2 * (await at([1, 2, a, M], 3, b, w)) +
      0.5 * 1 * ((await at([1, 2, M, M], 2, a, w)) + (await at([1, 2, M, M], 3, b, w)));
    const exact = await exactConditionalLogLikelihoodBound(model, prompt, [a, b], { maskId: M, cfgScale: w });
    assert.ok(Math.abs(exact - hand) < 1e-9, `w=${w}: exact ${exact} vs hand ${hand}`);
  }
});

Deno.test("exact bound: for a context-free model it is the exact log-likelihood Σ log q_i(r_i)", async () => {
  const table = [[0, 1, 2, -9], [2, 0, 1, -9], [1, 1, 0, -9], [0, 3, 0, -9]];
  const model = new TableModel(table);
  const answer = [2, 0, 1];
  const prompt = [1];
  const direct = answer.reduce((s, r, j) => s + logSoftmax(table[1 + j], r), 0);
  const exact = await exactConditionalLogLikelihoodBound(model, prompt, answer, { maskId: 3 });
  assert.ok(Math.abs(exact - direct) < 1e-9, `${exact} vs ${direct}`);
});

Deno.test("exact bound: with the exact conditionals of a joint q it is tight, = log q(answer | prompt)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer(),
      async (P, L, seed) => {
        const R = 3;
        const T = P + L;
        const q = randomJoint(R, T, seed);
        const model = new JointModel(R, T, q);
        const rng = new Rng(seed);
        const x = Array.from({ length: T }, () => rng.int(0, R - 1));
        // log q(answer | prompt) = log q(x) − log Σ_{answers} q(prompt ‖ ·)
        let promptMass = 0;
        for (let s = 0; s < q.length; s++) {
          if (model.decode(s).slice(0, P).every((v, i) => v === x[i])) {
            promptMass += q[s];
          }
        }
        const truth = Math.log(q[model.encode(x)]) - Math.log(promptMass);
        const exact = await exactConditionalLogLikelihoodBound(model, x.slice(0, P), x.slice(P), {
          maskId: R,
        });
        assert.ok(Math.abs(exact - truth) < 1e-5, `bound ${exact} vs log q ${truth}`);
      },
    ),
    { ...FC, numRuns: 25 },
  );
});

// ── The Monte Carlo estimator ──────────────────────────────────────────────────────────────────────────────────

Deno.test("MC estimator: agrees with the exact enumeration within its standard error (all samplers)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 6 }),
      fc.constantFrom(0, 2),
      fc.integer(),
      async (P, L, w, seed) => {
        const V = 6;
        const M = 5;
        const rng = new Rng(seed);
        const model = new HashModel(V, { seed });
        const prompt = Array.from({ length: P }, () => rng.int(0, 4));
        const answer = Array.from({ length: L }, () => rng.int(0, 4));
        const exact = await exactConditionalLogLikelihoodBound(model, prompt, answer, {
          maskId: M,
          cfgScale: w,
        });
        for (const sampler of ["stratified", "iid_l", "iid_t"] as LikelihoodSampler[]) {
          const est = await estimateConditionalLogLikelihood(model, prompt, answer, {
            maskId: M,
            mcSamples: 256,
            batchSize: 16,
            cfgScale: w,
            seed,
            sampler,
          });
          // 16 batch means → a t-statistic with 15 degrees of freedom; 5 standard errors almost never fail.
          // iid_t is biased by O(ε) relative; a stratified estimate of L = 1 is exact (stdErr 0).
          const slack = sampler === "iid_t" ? 2e-3 * Math.abs(exact) : 1e-9;
          assert.ok(
            Math.abs(est.logLikelihood - exact) <= 5 * est.stdErr + slack,
            `${sampler}: estimate ${est.logLikelihood} ± ${est.stdErr}, exact ${exact}`,
          );
        }
      },
    ),
    { ...FC, numRuns: 12 },
  );
});

/** A "sticky" joint over R^T: q(x) ∝ exp(β·#{i : x_i = x_(i−1)}), so predictions improve with context, as in text. */
function stickyJoint(R: number, T: number, beta: number): JointModel {
  const shape = new JointModel(R, T, new Float64Array(R ** T).fill(1));
  const q = new Float64Array(R ** T);
  for (let s = 0; s < q.length; s++) {
    const x = shape.decode(s);
    q[s] = Math.exp(beta * x.slice(1).filter((v, i) => v === x[i]).length);
  }
  const z = q.reduce((a, b) => a + b, 0);
  return new JointModel(R, T, q.map((v) => v / z));
}

Deno.test("MC estimator: stratified l has a smaller variance than i.i.d. t (Eq. 6 vs Eq. 5, measured)", async () => {
  const model = stickyJoint(3, 6, 2);
  const prompt = [1];
  const answer = [1, 0, 2, 2, 1];
  const variance = async (sampler: LikelihoodSampler): Promise<number> => {
    const xs: number[] = [];
    for (let r = 0; r < 300; r++) {
      const options = { maskId: 3, mcSamples: 8, batchSize: 8, seed: 1000 + r, sampler };
      xs.push((await estimateConditionalLogLikelihood(model, prompt, answer, options)).logLikelihood);
    }
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    return xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
  };
  const stratified = await variance("stratified");
  const iidT = await variance("iid_t");
  // Measured: stratified ≈ 0.94, iid_t ≈ 7.1 (8 samples per estimate, 300 estimates). Demand a clear factor.
  assert.ok(3 * stratified < iidT, `stratified ${stratified} vs iid_t ${iidT}`);
});

Deno.test("MC estimator: stratifying l lowers the variance of Eq. 6 (exact variances by enumeration)", async () => {
  // Var(estimate) of b samples, computed exactly from every mask pattern's value v_S = (L/l)·Σ_{i∈S} log p:
  //   i.i.d. l:    (E_l[σ²(l)] + Var_l[g(l)]) / b        with g(l), σ²(l) the mean and variance of v_S given l
  //   stratified:  E_l[σ²(l)] / b + Var_k[(1/b) Σ_i g(l_i(k))]
  // Stratification removes most of the between-l part Var_l[g(l)], which is large when predictions improve with
  // context. (It could lose for a g periodic in l with the stride's period; models of text are not like that.)
  const b = 8;
  for (const beta of [1, 2, 3]) {
    const model = stickyJoint(3, 7, beta);
    for (const answer of [[1, 1, 2, 2, 2, 0], [0, 0, 0, 0, 0, 0], [1, 0, 2, 2, 1, 1]]) {
      const L = answer.length;
      const values: number[][] = Array.from({ length: L + 1 }, () => []);
      for (let s = 1; s < 2 ** L; s++) {
        const row = [1, ...answer.map((r, j) => ((s >> j) & 1 ? 3 : r))];
        const l = row.filter((t) => t === 3).length;
        const logits = await model.logits(Int32Array.from(row), 1, L + 1);
        let sum = 0;
        for (let j = 0; j < L; j++) {
          if ((s >> j) & 1) sum += logSoftmax(logits.subarray((j + 1) * 4, (j + 2) * 4), answer[j]);
        }
        values[l].push((L / l) * sum);
      }
      const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const g = values.map((v) => (v.length ? mean(v) : 0));
      const within = mean(values.slice(1).map((v, i) => mean(v.map((x) => (x - g[i + 1]) ** 2))));
      const gBar = mean(g.slice(1));
      const between = mean(g.slice(1).map((x) => (x - gBar) ** 2));
      const iidL = (within + between) / b;
      const overK = Array.from(
        { length: L },
        (_, k) => mean(Array.from(stratifiedMaskCounts(L, b, k + 1), (l) => g[l])),
      );
      const stratified = within / b + mean(overK.map((m) => (m - gBar) ** 2));
      assert.ok(stratified < iidL, `β=${beta}, answer ${answer}: stratified ${stratified} vs iid_l ${iidL}`);
      // and the exact mean over patterns is the exact bound
      const exact = await exactConditionalLogLikelihoodBound(model, [1], answer, { maskId: 3 });
      assert.ok(Math.abs(gBar - exact) < 1e-6);
    }
  }
});

Deno.test("conditionalLogLikelihood: seeded, one call per mini-batch of 2b rows with guidance, ragged last batch", async () => {
  const model = new HashModel(6, { seed: 2 });
  const args = [[1, 2], [3, 4, 0]] as const;
  const a = await conditionalLogLikelihood(model, ...args, { maskId: 5, seed: 9 });
  const b = await conditionalLogLikelihood(model, ...args, { maskId: 5, seed: 9 });
  const c = await conditionalLogLikelihood(model, ...args, { maskId: 5, seed: 10 });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.ok(a < 0);
  assert.equal(model.calls.length, 3 * (128 / 16)); // defaults: 128 samples, batches of 16

  model.calls.length = 0;
  await conditionalLogLikelihood(model, ...args, {
    maskId: 5,
    mcSamples: 20,
    batchSize: 8,
    cfgScale: 1,
    seed: 0,
  });
  // 8 + 8 + 4 samples; guidance doubles the rows, never the calls
  assert.deepEqual(model.calls.map((c) => c.batch), [16, 16, 8]);
  // the unconditional half masks the prompt and nothing else
  const { tokens } = model.calls[2];
  for (let r = 0; r < 4; r++) {
    const cond = Array.from(tokens.subarray(r * 5, r * 5 + 5));
    const uncond = Array.from(tokens.subarray((r + 4) * 5, (r + 4) * 5 + 5));
    assert.deepEqual(cond.slice(0, 2), [1, 2]);
    assert.deepEqual(uncond, [5, 5, ...cond.slice(2)]);
  }
});

Deno.test("guidedLogits: u + (w+1)(c − u), and w = 0 is the network's output", async () => {
  const model = new HashModel(4, { seed: 8 });
  const tokens = Int32Array.from([0, 1, 3, 2, 2, 3]);
  const isPrompt = Uint8Array.from([1, 1, 0, 1, 0, 0]);
  const plain = await guidedLogits(model, tokens, 2, 3, isPrompt, { maskId: 3, cfgScale: 0 });
  assert.deepEqual(plain, await model.logits(tokens, 2, 3));
  const c = plain;
  const u = await model.logits(Int32Array.from([3, 3, 3, 3, 2, 3]), 2, 3);
  const g = await guidedLogits(model, tokens, 2, 3, isPrompt, { maskId: 3, cfgScale: 2 });
  for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i] - (u[i] + 3 * (c[i] - u[i]))) < 1e-12);
});

// ── The held-out bound ─────────────────────────────────────────────────────────────────────────────────────────

Deno.test("evaluateBound: a uniform model gives exactly log V nats/token; bits per character", async () => {
  const V = 8;
  const model = new TableModel([new Array(V).fill(0)]);
  const seqs = [[1, 2, 3], [4, 5, 6, 0, 1], [2, 2]];
  const r = await evaluateBound(model, seqs, { maskId: 7, mcSamples: 5, batchSize: 4, charCount: 40 });
  assert.equal(r.tokens, 10);
  assert.ok(Math.abs(r.natsPerToken - Math.log(V)) < 1e-12);
  assert.ok(Math.abs(r.bitsPerToken - 3) < 1e-12);
  assert.ok(Math.abs(r.bitsPerChar! - (10 * 3) / 40) < 1e-12);
});

Deno.test("evaluateBound: fixed masks (same seed → same number, any batch size), close to the exact bound", async () => {
  const model = new HashModel(6, { seed: 4 });
  const seqs = [[1, 2, 3, 4], [0, 4, 4, 1], [3, 3, 1]];
  const a = await evaluateBound(model, seqs, { maskId: 5, mcSamples: 64, batchSize: 7 });
  const b = await evaluateBound(model, seqs, { maskId: 5, mcSamples: 64, batchSize: 64 });
  assert.equal(a.nats, b.nats);
  let exact = 0;
  for (const s of seqs) exact -= await exactConditionalLogLikelihoodBound(model, [], s, { maskId: 5 });
  assert.ok(Math.abs(a.nats - exact) < 0.05 * exact, `${a.nats} vs exact ${exact}`);
});

Deno.test("likelihood errors say what was wrong and what to do", async () => {
  const model = new HashModel(6);
  await assert.rejects(
    () => exactConditionalLogLikelihoodBound(model, [], new Array(15).fill(1), { maskId: 5 }),
    /the answer has 15 tokens.*limited to 14 answer tokens — use conditionalLogLikelihood/,
  );
  await assert.rejects(() => conditionalLogLikelihood(model, [1], [], { maskId: 5 }), /the answer is empty/);
  await assert.rejects(
    () => conditionalLogLikelihood(model, [1], [2, 5], { maskId: 5 }),
    /answer\[1\] is the mask id 5; the answer must be clean text/,
  );
  await assert.rejects(
    () => conditionalLogLikelihood(model, [1], [2], { maskId: 6 }),
    /maskId must be a token id in \[0, 6\), got 6/,
  );
  await assert.rejects(
    () => conditionalLogLikelihood(model, [1], [2], { maskId: 5, batchSize: 0 }),
    /batchSize must be a positive integer, got 0/,
  );
  await assert.rejects(
    () => evaluateBound(model, [[1], [9]], { maskId: 5 }),
    /evaluateBound \(sequence 1\): answer\[0\] = 9/,
  );
});
