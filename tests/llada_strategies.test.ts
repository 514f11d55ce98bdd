import assert from "node:assert/strict";
import fc from "fast-check";
import {
  generate,
  type GenerateOptions,
  numTransferTokens,
  type Remasking,
} from "../src/llada/reverse_sampling.ts";
import {
  infill,
  sample,
  type SampleOptions,
  type SampleStepState,
  STRATEGIES,
  type Strategy,
} from "../src/llada/strategies.ts";
import { parallelCommitCount } from "../src/llada/parallel_decoding.ts";
import { ancestralReveal, revealProbability } from "../src/llada/ancestral.ts";
import { chooseRemasks, remaskProbability } from "../src/llada/remdm.ts";
import { filterLogits } from "../src/llada/token_filters.ts";
import { generateAutoregressive } from "../src/llada/autoregressive_sampling.ts";
import type { LogitsModel } from "../src/llada/logits_model.ts";
import { Rng } from "../src/rng.ts";
import { CachedHashModel, HashModel, TableModel } from "./llada_fakes.ts";

const V = 8;
const MASK = 7;
const PAD = 6;
const EOS = 0;
const FC = { seed: 20250301, numRuns: 120 };
const RANKINGS = ["low_confidence", "random", "margin", "entropy"] as const;

/** Runs sample and keeps every step's state. */
async function traced(model: LogitsModel, prompts: number[][], options: SampleOptions) {
  const states: SampleStepState[] = [];
  const result = await sample(model, prompts, { ...options, onStep: (s) => void states.push(s) });
  return { ...result, states };
}

/** Random small settings, as in the official sampler's tests. */
const settings = fc.record({
  prompts: fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 5 }), {
    minLength: 1,
    maxLength: 3,
  }),
  blocks: fc.integer({ min: 1, max: 3 }),
  blockLength: fc.integer({ min: 1, max: 4 }),
  stepsPerBlock: fc.integer({ min: 1, max: 5 }),
  ranking: fc.constantFrom(...RANKINGS),
  temperature: fc.constantFrom(0, 0.8),
  cfgScale: fc.constantFrom(0, 1.5),
  confidenceEosInf: fc.boolean(),
  levels: fc.constantFrom(undefined, 3),
  modelSeed: fc.integer(),
  seed: fc.integer(),
});

type Settings = typeof settings extends fc.Arbitrary<infer S> ? S : never;

/** The options every test shares, from random settings. */
function baseOptions(s: Settings): SampleOptions {
  return {
    genLength: s.blocks * s.blockLength,
    steps: s.blocks * s.stepsPerBlock,
    blockLength: s.blockLength,
    strategy: s.ranking,
    temperature: s.temperature,
    cfgScale: s.cfgScale,
    confidenceEosInf: s.confidenceEosInf,
    maskId: MASK,
    padId: PAD,
    eosId: EOS,
    seed: s.seed,
  };
}

/** The same settings for the official sampler (its option names). */
function forGenerate(o: SampleOptions, remasking: Remasking): GenerateOptions {
  const { strategy: _, onStep: __, ...rest } = o;
  return { ...rest, remasking };
}

/** A lab strategy on top of the base options: ancestral, factor, top-k/p, ReMDM, early stop, or threshold. */
const labStrategy = fc.oneof(
  fc.constant<Partial<SampleOptions>>({ strategy: "ancestral" }),
  fc.double({ min: 0.05, max: 4, noNaN: true }).map((factor): Partial<SampleOptions> => ({ factor })),
  fc.double({ min: -0.2, max: 1.1, noNaN: true }).map((threshold): Partial<SampleOptions> => ({ threshold })),
  fc.record({ topK: fc.integer({ min: 1, max: 4 }), topP: fc.double({ min: 0.05, max: 1, noNaN: true }) })
    .map((f): Partial<SampleOptions> => ({ ...f, temperature: 1 })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((remask): Partial<SampleOptions> => ({ remask })),
  fc.constant<Partial<SampleOptions>>({ earlyStop: true }),
);

Deno.test("sample: without the lab's options it is generate, token for token", async () => {
  await fc.assert(
    fc.asyncProperty(settings, fc.constantFrom(undefined, 0.3), async (s, threshold) => {
      const model = new HashModel(V, { seed: s.modelSeed, levels: s.levels });
      const o = { ...baseOptions(s), threshold };
      const official = await generate(model, s.prompts, forGenerate(o, s.ranking));
      const lab = await sample(model, s.prompts, { ...o, remask: 0, cache: "none" });
      assert.deepEqual(lab.tokens, official.tokens);
      assert.ok(lab.nfe <= official.nfe);
    }),
    FC,
  );
});

Deno.test("every strategy: prompt unchanged, no mask left, commits only masked block positions, blocks in order", async () => {
  await fc.assert(
    fc.asyncProperty(settings, labStrategy, async (s, lab) => {
      const model = new HashModel(V, { seed: s.modelSeed, levels: s.levels });
      const o = { ...baseOptions(s), ...lab };
      const { tokens, nfe, states } = await traced(model, s.prompts, o);
      assert.equal(nfe, states.length);
      assert.equal(model.calls.length, nfe);
      s.prompts.forEach((prompt, b) => {
        const P = prompt.length;
        assert.deepEqual(tokens[b].slice(0, P), prompt);
        assert.equal(tokens[b].length, P + o.genLength);
        assert.ok(!tokens[b].includes(MASK), `row ${b} still has a mask: ${tokens[b]}`);
        let previous = [...prompt, ...new Array(o.genLength).fill(MASK)];
        let lastBlock = 0;
        for (const state of states) {
          assert.ok(state.block >= lastBlock);
          lastBlock = state.block;
          const [from, to] = [P + state.block * s.blockLength, P + (state.block + 1) * s.blockLength];
          const now = state.tokens[b];
          for (const i of state.committed[b]) {
            assert.ok(i >= from && i < to && previous[i] === MASK, `position ${i} outside [${from}, ${to})`);
            assert.equal(now[i], state.predicted[b][i]);
          }
          for (const i of state.remasked[b]) {
            assert.ok(i >= from && i < to && previous[i] !== MASK && now[i] === MASK);
          }
          const touched = new Set([...state.committed[b], ...state.remasked[b]]);
          // (early stop fills a stopped row's later masks with EOS between steps)
          now.forEach((t, i) =>
            touched.has(i) || (o.earlyStop && previous[i] === MASK && t === EOS) ||
            assert.equal(t, previous[i], `position ${i}`)
          );
          previous = now;
        }
        if (!o.earlyStop) assert.deepEqual(previous, tokens[b]);
      });
    }),
    FC,
  );
});

Deno.test("every strategy: a row's output and NFE are what its prompt alone gives, and the same seed gives the same output", async () => {
  await fc.assert(
    fc.asyncProperty(settings, labStrategy, fc.nat(), async (s, lab, rotation) => {
      const model = new HashModel(V, { seed: s.modelSeed, levels: s.levels });
      const o = { ...baseOptions(s), ...lab };
      const k = rotation % s.prompts.length;
      const batch = [...s.prompts.slice(k), [1, 2, 3, 4, 5, 6], ...s.prompts.slice(0, k)];
      const together = await sample(model, batch, o);
      assert.deepEqual(await sample(model, batch, o), together);
      for (let b = 0; b < s.prompts.length; b++) {
        const alone = await sample(model, [s.prompts[b]], o);
        const at = b >= k ? b - k : s.prompts.length - k + 1 + b;
        assert.deepEqual(together.tokens[at], alone.tokens[0], `prompt ${s.prompts[b]}`);
        // Decoding a row alone costs what the row took in the batch.
        assert.deepEqual(alone.nfePerRow, [alone.nfe]);
        assert.equal(together.nfePerRow[at], alone.nfe, `prompt ${s.prompts[b]}: NFE`);
      }
      // Each block waits for its slowest row, so the batch costs at least its slowest row's whole count.
      assert.ok(Math.max(...together.nfePerRow) <= together.nfe);
    }),
    { ...FC, numRuns: 80 },
  );
});

Deno.test("ancestral: the first step's reveal count follows Binomial(m, 1/N) (chi-square, α = 0.001)", async () => {
  // Context-free logits: only the reveal's coin flips vary between seeds.
  const model = new TableModel([[0, 1, 2, 0.5, 0, 0, 0, -9]]);
  const m = 12;
  const N = 3;
  const runs = 1500;
  const counts = new Array(m + 1).fill(0);
  const total = new Array(N).fill(0);
  for (let seed = 0; seed < runs; seed++) {
    const { states } = await traced(model, [[1]], {
      genLength: m,
      steps: N,
      strategy: "ancestral",
      maskId: MASK,
      seed,
    });
    counts[states[0].committed[0].length]++;
    // every mask is gone after the last step (probability 1 there)
    assert.ok(!states.at(-1)!.tokens[0].includes(MASK));
    states.forEach((st) => total[st.step] += st.committed[0].length);
  }
  // Binomial(12, 1/3) probabilities; bins with expected count < 5 merged into their neighbour.
  const p = 1 / N;
  const choose = (n: number, k: number): number => (k === 0 ? 1 : (choose(n, k - 1) * (n - k + 1)) / k);
  const expected = counts.map((_, k) => runs * choose(m, k) * p ** k * (1 - p) ** (m - k));
  const bins: { o: number; e: number }[] = [];
  let acc = { o: 0, e: 0 };
  for (let k = 0; k <= m; k++) {
    acc = { o: acc.o + counts[k], e: acc.e + expected[k] };
    if (acc.e >= 5) {
      bins.push(acc);
      acc = { o: 0, e: 0 };
    }
  }
  bins[bins.length - 1].o += acc.o;
  bins[bins.length - 1].e += acc.e;
  const chi2 = bins.reduce((s, { o, e }) => s + (o - e) ** 2 / e, 0);
  // Critical values of χ² at α = 0.001 for df = bins − 1.
  const critical: Record<number, number> = { 5: 20.52, 6: 22.46, 7: 24.32, 8: 26.12, 9: 27.88 };
  const df = bins.length - 1;
  assert.ok(critical[df] !== undefined, `unexpected df ${df}`);
  assert.ok(chi2 < critical[df], `χ² = ${chi2.toFixed(2)} ≥ ${critical[df]} (df ${df}): ${counts}`);
  // the mean reveal per step is the fixed schedule's m/N (each step reveals 1/(N−k) of the expected m(N−k)/N left)
  total.forEach((t) =>
    assert.ok(Math.abs(t / runs - m / N) < 0.3, `mean per step ${total.map((x) => x / runs)}`)
  );
  // and the fixed schedule is not what it does: counts vary
  assert.ok(counts.filter((c) => c > 0).length >= 5);
});

Deno.test("ancestral pieces: reveal probability 1/(N − k), one uniform per candidate", () => {
  assert.deepEqual([0, 1, 2, 3].map((k) => revealProbability(k, 4)), [1 / 4, 1 / 3, 1 / 2, 1]);
  const a = new Rng(9);
  const b = new Rng(9);
  const revealed = ancestralReveal([3, 5, 8], 0.5, a);
  const draws = [3, 5, 8].filter(() => b.uniform() < 0.5);
  assert.deepEqual(revealed, draws);
  assert.equal(a.uniform(), b.uniform()); // both streams advanced by exactly three draws
  assert.throws(() => revealProbability(4, 4), /0 ≤ step < steps/);
});

Deno.test("factor rule: commits the top n while (i + 1)(1 − c_(i)) ≤ f; threshold commits every c ≥ τ (at least one)", () => {
  // (i+1)(1 − c): i=1 always; i=2: 3·0.1 = 0.3; i=3: 4·0.2 = 0.8; i=4: 5·0.5 = 2.5
  const ranked = [0.95, 0.9, 0.8, 0.5];
  assert.equal(parallelCommitCount(ranked, "factor", 0.2), 1);
  assert.equal(parallelCommitCount(ranked, "factor", 0.3), 2);
  assert.equal(parallelCommitCount(ranked, "factor", 1), 3);
  assert.equal(parallelCommitCount(ranked, "factor", 2.5), 4);
  assert.equal(parallelCommitCount(ranked, "threshold", 0.85), 2);
  assert.equal(parallelCommitCount(ranked, "threshold", 0.99), 1);
  // A confidence exactly at τ is committed (c ≥ τ, as Fast-dLLM's rule), and one exactly at the factor's bound too.
  assert.equal(parallelCommitCount(ranked, "threshold", 0.8), 3);
  assert.equal(parallelCommitCount([0.75, 0.5, 0.5, 0.25], "threshold", 0.5), 3);
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 10 }),
      fc.double({ min: 0.01, max: 5, noNaN: true }),
      (xs, f) => {
        const r = xs.sort((a, b) => b - a);
        const n = parallelCommitCount(r, "factor", f);
        assert.ok(n >= 1 && n <= r.length);
        for (let i = 2; i <= n; i++) assert.ok((i + 1) * (1 - r[i - 1]) <= f);
        if (n < r.length) assert.ok((n + 2) * (1 - r[n]) > f);
        // a larger factor never commits fewer
        assert.ok(parallelCommitCount(r, "factor", f * 2) >= n);
      },
    ),
    FC,
  );
});

Deno.test("factor decoding: every step commits ≥ 1 by the rule on its ranked confidences; fewer NFE with a larger factor", async () => {
  await fc.assert(
    fc.asyncProperty(settings, fc.double({ min: 0.1, max: 3, noNaN: true }), async (s, factor) => {
      const model = new HashModel(V, { seed: s.modelSeed, levels: s.levels });
      const o: SampleOptions = { ...baseOptions(s), steps: undefined, strategy: "low_confidence", factor };
      const { states, nfe } = await traced(model, s.prompts, o);
      assert.ok(nfe >= s.blocks && nfe <= o.genLength);
      for (const st of states) {
        st.committed.forEach((committed, b) => {
          const conf = st.confidence[b];
          const candidates = conf.flatMap((c, i) => (st.predicted[b][i] >= 0 ? [c] : []));
          if (candidates.length === 0) return assert.equal(committed.length, 0);
          const ranked = candidates.sort((x, y) => y - x);
          assert.equal(committed.length, parallelCommitCount(ranked, "factor", factor));
        });
      }
      const wider = await sample(model, s.prompts, { ...o, confidenceEosInf: false, factor: 1e9 }); // all at once
      assert.equal(wider.nfe, s.blocks);
    }),
    { ...FC, numRuns: 80 },
  );
});

Deno.test("top-k / top-p: the kept set by hand, and draws never leave it", async () => {
  const l = Float64Array.from([1, 3, 2, 3, -1]);
  filterLogits(l, { topK: 2 }, 1);
  assert.deepEqual(Array.from(l), [-Infinity, 3, -Infinity, 3, -Infinity]); // ties to the lower id
  // probabilities ∝ e^[2, 1, 0]: 0.665, 0.245, 0.090 → top-p 0.7 keeps two, 0.6 keeps one
  const p = () => Float64Array.from([0, 1, 2]);
  const a = p();
  filterLogits(a, { topP: 0.7 }, 1);
  assert.deepEqual(Array.from(a), [-Infinity, 1, 2]);
  const b = p();
  filterLogits(b, { topP: 0.6 }, 1);
  assert.deepEqual(Array.from(b), [-Infinity, -Infinity, 2]);
  // The smallest set whose mass reaches p: probabilities exactly ½, ¼, ¼ and p = ½ keep the first token alone.
  const half = Float64Array.from([Math.log(0.5), Math.log(0.25), Math.log(0.25)]);
  filterLogits(half, { topP: 0.5 }, 1);
  assert.deepEqual(Array.from(half).map(Number.isFinite), [true, false, false]);
  // at a high temperature the distribution flattens and top-p keeps more
  const c = p();
  filterLogits(c, { topP: 0.6 }, 10);
  assert.equal(c.filter(Number.isFinite).length, 2);
  // in the sampler: with top-k 2 the draws are always one of the two best tokens of the position
  const table = [[0, 4, 3.9, 1, 1, 1, 1, -9]];
  const seen = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const { tokens } = await sample(new TableModel(table), [[2]], {
      genLength: 4,
      steps: 2,
      temperature: 2,
      topK: 2,
      maskId: MASK,
      seed,
    });
    tokens[0].slice(1).forEach((t) => seen.add(t));
  }
  assert.deepEqual([...seen].sort(), [1, 2]);
});

Deno.test("ReMDM: σ = min(η, s/(1 − t)); with η = 0 nothing is remasked; the lowest-probability tokens go back", async () => {
  assert.equal(remaskProbability(0.5, 0, 4), 0.5);
  assert.equal(remaskProbability(0.9, 2, 4), 1 / 2); // t = 1/2, s = 1/4: s/(1 − t) = 1/2
  assert.equal(remaskProbability(0.9, 3, 4), 0); // last step: nothing remasked
  // Early steps, where s/(1 − t) exceeds η (here 2/1 = 2), are capped at η: σ is a probability.
  assert.equal(remaskProbability(0.3, 1, 4), 0.3);
  assert.deepEqual(chooseRemasks([4, 5, 6, 7], [0, 0, 0, 0, 0.9, 0.2, 0.2, 0.7], 0.5), [6, 5]);
  await fc.assert(
    fc.asyncProperty(settings, fc.double({ min: 0.05, max: 1, noNaN: true }), async (s, eta) => {
      const model = new HashModel(V, { seed: s.modelSeed, levels: s.levels });
      const o = baseOptions(s);
      const off = await sample(model, s.prompts, { ...o, remask: 0 });
      assert.deepEqual(off.tokens, (await generate(model, s.prompts, forGenerate(o, s.ranking))).tokens);
      const { states } = await traced(model, s.prompts, { ...o, remask: eta });
      for (const st of states) {
        st.remasked.forEach((r, b) => {
          assert.ok(r.every((i) => !st.committed[b].includes(i)), "a token committed this step is remasked");
          if (st.step === s.stepsPerBlock - 1) assert.equal(r.length, 0);
        });
      }
    }),
    { ...FC, numRuns: 80 },
  );
  // something is actually remasked on a longer block
  const { states } = await traced(new HashModel(V, { seed: 4 }), [[1, 2]], {
    genLength: 12,
    steps: 6,
    remask: 0.5,
    maskId: MASK,
  });
  assert.ok(states.some((st) => st.remasked[0].length > 0));
});

Deno.test("early stop: a block that is all EOS ends the row, its rest is EOS, and no further evaluations are spent", async () => {
  // EOS most likely everywhere: the first block is all EOS, so one block's steps are all that is spent.
  const eosModel = new TableModel([[5, 1, 1, 1, 1, 1, 1, -9]]);
  const o: SampleOptions = {
    genLength: 12,
    steps: 6,
    blockLength: 4,
    maskId: MASK,
    eosId: EOS,
    earlyStop: true,
  };
  const stopped = await sample(eosModel, [[3, 4]], o);
  assert.deepEqual(stopped.tokens[0], [3, 4, ...new Array(12).fill(EOS)]);
  assert.equal(stopped.nfe, 2);
  assert.equal((await sample(eosModel, [[3, 4]], { ...o, earlyStop: false })).nfe, 6);
  await assert.rejects(() => sample(eosModel, [[1]], { ...o, eosId: undefined }), /earlyStop needs eosId/);
  // In general: the same tokens as without early stop up to the first all-EOS block, EOS after it.
  await fc.assert(
    fc.asyncProperty(settings, async (s) => {
      const model = new HashModel(V, { seed: s.modelSeed, levels: 2, fixed: [{ id: EOS, logit: 2.9 }] });
      const opts = baseOptions(s);
      const full = await sample(model, s.prompts, opts);
      const early = await sample(model, s.prompts, { ...opts, earlyStop: true });
      assert.ok(early.nfe <= full.nfe);
      s.prompts.forEach((prompt, b) => {
        const answer = full.tokens[b].slice(prompt.length);
        let end = answer.length;
        for (let k = 0; k < s.blocks; k++) {
          const block = answer.slice(k * s.blockLength, (k + 1) * s.blockLength);
          if (block.every((t) => t === EOS)) {
            end = (k + 1) * s.blockLength;
            break;
          }
        }
        const expected = [...prompt, ...answer.slice(0, end), ...new Array(answer.length - end).fill(EOS)];
        // rows stop independently, so a row's tokens before its stop are those of the full run
        assert.deepEqual(early.tokens[b], expected);
      });
    }),
    { ...FC, numRuns: 80 },
  );
});

Deno.test("infill: given tokens kept, holes filled, the schedule per block; a trailing hole is sample's answer", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 12 }).filter((c) =>
        c.includes(MASK)
      ),
      fc.constantFrom(...STRATEGIES),
      fc.integer(),
      fc.integer({ min: 1, max: 3 }),
      async (canvas, strategy: Strategy, modelSeed, stepsPerBlock) => {
        const model = new HashModel(V, { seed: modelSeed });
        const holes = canvas.flatMap((t, i) => (t === MASK ? [i] : []));
        const { tokens, nfe } = await infill(model, [canvas, canvas], {
          steps: stepsPerBlock,
          strategy,
          maskId: MASK,
          seed: modelSeed,
        });
        assert.ok(nfe <= stepsPerBlock);
        tokens.forEach((row) => {
          assert.ok(!row.includes(MASK));
          canvas.forEach((t, i) => holes.includes(i) || assert.equal(row[i], t));
        });
        assert.deepEqual(tokens[0], tokens[1]); // equal rows, equal streams
      },
    ),
    FC,
  );
  // a canvas [prompt | M × n] in one block is exactly the continuation sample gives (greedy)
  const model = new HashModel(V, { seed: 11 });
  const prompt = [1, 2, 3];
  const gen = await sample(model, [prompt], { genLength: 6, steps: 3, maskId: MASK });
  const fill = await infill(model, [[...prompt, ...new Array(6).fill(MASK)]], { steps: 3, maskId: MASK });
  assert.deepEqual(fill.tokens[0], gen.tokens[0]);
  // blocks without a hole take no steps: two holes in blocks 0 and 2 of three, 2 steps each
  const two = await infill(model, [[MASK, 1, 2, 3, 4, 5, MASK, 6, 1]], {
    steps: 4,
    blockLength: 3,
    maskId: MASK,
  });
  assert.equal(two.nfe, 2); // one mask per block: gone after each block's first step
  await assert.rejects(() => infill(model, [[1, 2], [MASK]], { steps: 1, maskId: MASK }), /equal lengths/);
  await assert.rejects(() => infill(model, [[1, 2]], { steps: 1, maskId: MASK }), /no mask/);
});

Deno.test("KV cache: refreshed every step it is the uncached sampler; refreshed per block, the cached windows are the block (dual) or the block and the suffix (prefix)", async () => {
  await fc.assert(
    fc.asyncProperty(
      settings,
      fc.constantFrom("prefix" as const, "dual" as const),
      fc.constantFrom(undefined, 0.4),
      async (s, cache, threshold) => {
        const o = { ...baseOptions(s), cfgScale: 0, threshold };
        const plain = await sample(new HashModel(V, { seed: s.modelSeed, levels: s.levels }), s.prompts, o);
        const model = new CachedHashModel(V, { seed: s.modelSeed, levels: s.levels });
        const every = await sample(model, s.prompts, { ...o, cache, cacheRefresh: 1 });
        assert.deepEqual(every.tokens, plain.tokens);
        assert.equal(every.nfe, plain.nfe);
        assert.ok(model.kinds.every((k) => k === "full"));
        // refreshed only when a block starts: one full evaluation per block, cached ones between
        const lazy = new CachedHashModel(V, { seed: s.modelSeed, levels: s.levels });
        const { nfe, states } = await traced(lazy, s.prompts, { ...o, cache });
        assert.equal(lazy.kinds.length, nfe);
        const firstSteps = states.filter((st) => st.step === 0).length;
        assert.equal(lazy.kinds.filter((k) => k === "full").length, firstSteps);
      },
    ),
    { ...FC, numRuns: 80 },
  );
  // the window: dual recomputes [block], prefix [block … end]
  for (const cache of ["prefix", "dual"] as const) {
    const model = new CachedHashModel(V, { seed: 1 });
    await sample(model, [[1, 2]], { genLength: 6, steps: 6, blockLength: 2, maskId: MASK, cache });
    assert.deepEqual(model.kinds, ["full", "cached", "full", "cached", "full", "cached"]);
    assert.deepEqual(model.windows, cache === "dual" ? [[2, 4], [4, 6], [6, 8]] : [[2, 8], [4, 8], [6, 8]]);
  }
  const plain = new HashModel(V);
  await assert.rejects(
    () => sample(plain, [[1]], { genLength: 2, steps: 2, maskId: MASK, cache: "dual" }),
    /logitsCached/,
  );
});

Deno.test("sample: the lab's options are validated with messages that say what to change", async () => {
  const model = new HashModel(V);
  const o: SampleOptions = { genLength: 4, steps: 4, maskId: MASK };
  const bad: [Partial<SampleOptions>, RegExp][] = [
    [{ strategy: "best" as Strategy }, /strategy must be one of/],
    [{ threshold: 0.5, factor: 1 }, /set one/],
    [{ factor: 0 }, /factor must be/],
    [{ strategy: "ancestral", factor: 1 }, /not threshold or factor/],
    [{ remask: 2 }, /remask .* must be in \[0, 1\]/],
    [{ remask: 0.5, threshold: 0.9 }, /fixed schedule/],
    [{ topK: 0 }, /topK must be an integer ≥ 1/],
    [{ topP: 1.5 }, /topP must be in/],
    [{ cache: "full" as "dual" }, /cache must be one of/],
    [{ steps: 3 }, /multiple of the number of blocks|steps/],
  ];
  for (const [extra, message] of bad) {
    await assert.rejects(() => sample(model, [[1]], { ...o, blockLength: 2, ...extra }), message);
  }
  assert.equal(numTransferTokens(4, 4).length, 4);
});

Deno.test("autoregressive decoder: greedy is the argmax at the last position; batch-invariant, seeded, top-k kept, early stop", async () => {
  const model = new HashModel(V, { seed: 5 });
  const { tokens, nfe } = await generateAutoregressive(model, [[1, 2]], { genLength: 4, maskId: MASK });
  assert.equal(nfe, 4);
  // by hand: each next token is the argmax (mask excluded) of the logits at the last position of the row so far
  const row = [1, 2];
  for (let t = 0; t < 4; t++) {
    const logits = await new HashModel(V, { seed: 5 }).logits(Int32Array.from(row), 1, row.length);
    const last = Array.from(logits.subarray((row.length - 1) * V, row.length * V));
    last[MASK] = -Infinity;
    row.push(last.indexOf(Math.max(...last)));
  }
  assert.deepEqual(tokens[0], row);
  // top-k 1 at any temperature is greedy
  const top1 = { genLength: 4, maskId: MASK, temperature: 1, topK: 1, seed: 3 };
  assert.deepEqual((await generateAutoregressive(model, [[1, 2]], top1)).tokens[0], row);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 }), {
        minLength: 1,
        maxLength: 3,
      }),
      fc.integer(),
      fc.constantFrom(0, 1),
      fc.integer({ min: 1, max: 3 }),
      async (prompts, seed, temperature, topK) => {
        const m = new HashModel(V, { seed: 1 });
        const o = { genLength: 3, temperature, topK, maskId: MASK, padId: PAD, seed };
        const together = await generateAutoregressive(m, [...prompts, [1, 2, 3, 4, 5]], o);
        assert.deepEqual(await generateAutoregressive(m, [...prompts, [1, 2, 3, 4, 5]], o), together);
        for (const [b, p] of prompts.entries()) {
          const alone = await generateAutoregressive(m, [p], o);
          assert.deepEqual(alone.tokens[0], together.tokens[b]);
          assert.equal(alone.nfe, together.nfePerRow[b]); // early stop ends each row on its own
        }
      },
    ),
    { ...FC, numRuns: 60 },
  );
  const eos = await generateAutoregressive(new TableModel([[5, 1, 1, 1, 1, 1, 1, -9]]), [[3]], {
    genLength: 5,
    eosId: EOS,
    earlyStop: true,
  });
  assert.deepEqual(eos, { tokens: [[3, 0, 0, 0, 0, 0]], nfe: 1, nfePerRow: [1] });
  await assert.rejects(() => generateAutoregressive(model, [[]], { genLength: 1 }), /at least one token/);
});
