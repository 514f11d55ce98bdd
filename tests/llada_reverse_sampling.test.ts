import assert from "node:assert/strict";
import fc from "fast-check";
import type { LogitsModel } from "../src/llada/logits_model.ts";
import {
  generate,
  type GenerateOptions,
  numTransferTokens,
  type Remasking,
  type StepState,
} from "../src/llada/reverse_sampling.ts";
import { HashModel, TableModel } from "./llada_fakes.ts";

const V = 8;
const MASK = 7;
const PAD = 6;
const EOS = 0;
const FC = { seed: 20250214, numRuns: 200 };
const REMASKING: Remasking[] = ["low_confidence", "random", "margin", "entropy"];

/** Runs generate and keeps every step's state. */
async function traced(model: LogitsModel, prompts: number[][], options: GenerateOptions) {
  const states: StepState[] = [];
  const result = await generate(model, prompts, { ...options, onStep: (s) => void states.push(s) });
  return { ...result, states };
}

/** Random sampler settings over small sizes (the fixed schedule; threshold decoding has its own tests). */
const settings = fc.record({
  prompts: fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 5 }), {
    minLength: 1,
    maxLength: 3,
  }),
  blocks: fc.integer({ min: 1, max: 3 }),
  blockLength: fc.integer({ min: 1, max: 4 }),
  stepsPerBlock: fc.integer({ min: 1, max: 5 }),
  remasking: fc.constantFrom(...REMASKING),
  temperature: fc.constantFrom(0, 0.8),
  cfgScale: fc.constantFrom(0, 1.5),
  confidenceEosInf: fc.boolean(),
  levels: fc.constantFrom(undefined, 3), // 3 logit levels: many exact ties
  modelSeed: fc.integer(),
  seed: fc.integer(),
});

Deno.test("numTransferTokens: ⌊m/N⌋ per step, one more on the first m mod N steps", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 30 }), (m, N) => {
      const counts = Array.from(numTransferTokens(m, N));
      assert.equal(counts.length, N);
      assert.equal(counts.reduce((a, b) => a + b, 0), m);
      counts.forEach((c, i) => assert.equal(c, Math.floor(m / N) + (i < m % N ? 1 : 0)));
    }),
    FC,
  );
  assert.deepEqual(Array.from(numTransferTokens(10, 4)), [3, 3, 2, 2]);
});

Deno.test("generate: prompt unchanged, no mask left, schedule followed, committed tokens frozen, blocks in order", async () => {
  await fc.assert(
    fc.asyncProperty(settings, async (s) => {
      const genLength = s.blocks * s.blockLength;
      const steps = s.blocks * s.stepsPerBlock;
      const model = new HashModel(V, { seed: s.modelSeed, levels: s.levels });
      const { tokens, nfe, states } = await traced(model, s.prompts, {
        genLength,
        steps,
        blockLength: s.blockLength,
        remasking: s.remasking,
        temperature: s.temperature,
        cfgScale: s.cfgScale,
        confidenceEosInf: s.confidenceEosInf,
        maskId: MASK,
        padId: PAD,
        eosId: EOS,
        seed: s.seed,
      });
      // one network evaluation per step, guided or not
      assert.equal(nfe, steps);
      assert.equal(model.calls.length, steps);
      assert.equal(states.length, steps);
      s.prompts.forEach((prompt, b) => {
        const P = prompt.length;
        // the prompt is unchanged, followed by genLength tokens none of which is a mask
        assert.equal(tokens[b].length, P + genLength);
        assert.deepEqual(tokens[b].slice(0, P), prompt);
        assert.ok(!tokens[b].includes(MASK), `row ${b} still has a mask: ${tokens[b]}`);
        let previous = [...prompt, ...new Array(genLength).fill(MASK)];
        states.forEach((state, k) => {
          const block = Math.floor(k / s.stepsPerBlock);
          const step = k % s.stepsPerBlock;
          assert.equal(state.block, block);
          assert.equal(state.step, step);
          const now = state.tokens[b];
          const committed = state.committed[b];
          // per-step reveal count follows the schedule of the block (m = blockLength masks at its start)
          assert.equal(committed.length, numTransferTokens(s.blockLength, s.stepsPerBlock)[step]);
          // committed positions lie in the current block and were masked; they now hold the prediction
          const [from, to] = [P + block * s.blockLength, P + (block + 1) * s.blockLength];
          for (const i of committed) {
            assert.ok(i >= from && i < to, `step ${k}: position ${i} outside block [${from}, ${to})`);
            assert.equal(previous[i], MASK);
            assert.equal(now[i], state.predicted[b][i]);
          }
          // every other position is unchanged: committed tokens never change, nothing else is revealed
          now.forEach((t, i) =>
            committed.includes(i) || assert.equal(t, previous[i], `step ${k}, position ${i}`)
          );
          // candidates (finite or −∞ confidence with a prediction) are exactly the masked block positions
          state.predicted[b].forEach((x, i) =>
            assert.equal(x >= 0, previous[i] === MASK && i >= from && i < to)
          );
          // selection is the top-k by confidence, ties to the lower position
          const conf = state.confidence[b];
          const rest = state.predicted[b].flatMap((x, i) => (x >= 0 && !committed.includes(i) ? [i] : []));
          for (const c of committed) {
            for (const u of rest) {
              assert.ok(conf[c] > conf[u] || (conf[c] === conf[u] && c < u), `step ${k}: ${c} before ${u}?`);
            }
          }
          previous = now;
        });
        assert.deepEqual(previous, tokens[b]);
      });
    }),
    FC,
  );
});

Deno.test("generate: matches a literal port of the official generate.py (temperature 0, low_confidence)", async () => {
  /** ML-GSAI/LLaDA generate.py, transcribed line by line for one prompt (topk ties: lower index first). */
  async function official(
    model: LogitsModel,
    prompt: number[],
    o: Required<Pick<GenerateOptions, "steps" | "genLength" | "blockLength" | "cfgScale">>,
  ) {
    const P = prompt.length;
    const x = [...prompt, ...new Array(o.genLength).fill(MASK)];
    const promptIndex = x.map((t) => t !== MASK);
    const numBlocks = o.genLength / o.blockLength;
    const steps = o.steps / numBlocks;
    for (let nb = 0; nb < numBlocks; nb++) {
      const blockMask = x.slice(P + nb * o.blockLength, P + (nb + 1) * o.blockLength).filter((t) =>
        t === MASK
      );
      const base = Math.floor(blockMask.length / steps);
      const ntt = Array.from({ length: steps }, (_, i) => base + (i < blockMask.length % steps ? 1 : 0));
      for (let i = 0; i < steps; i++) {
        const maskIndex = x.map((t) => t === MASK);
        let logits: number[];
        if (o.cfgScale > 0) {
          const unX = x.map((t, j) => (promptIndex[j] ? MASK : t));
          const both = await model.logits(Int32Array.from([...x, ...unX]), 2, x.length);
          const n = x.length * V;
          logits = Array.from(
            { length: n },
            (_, j) => both[n + j] + (o.cfgScale + 1) * (both[j] - both[n + j]),
          );
        } else logits = Array.from(await model.logits(Int32Array.from(x), 1, x.length));
        const x0: number[] = [];
        const x0p: number[] = [];
        for (let j = 0; j < x.length; j++) {
          const row = logits.slice(j * V, (j + 1) * V);
          const arg = row.indexOf(Math.max(...row));
          const z = row.reduce((s, l) => s + Math.exp(l - row[arg]), 0);
          x0.push(arg);
          x0p.push(1 / z); // softmax(logits)[argmax]
        }
        for (let j = P + (nb + 1) * o.blockLength; j < x.length; j++) x0p[j] = -Infinity;
        const confidence = x0p.map((c, j) => (maskIndex[j] ? c : -Infinity));
        const order = confidence.map((_, j) => j).sort((a, b) => confidence[b] - confidence[a] || a - b);
        for (const j of order.slice(0, ntt[i])) x[j] = maskIndex[j] ? x0[j] : x[j];
      }
    }
    return x;
  }
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 4 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom(0, 2),
      fc.integer(),
      async (prompt, blocks, blockLength, stepsPerBlock, cfgScale, modelSeed) => {
        // the mask token gets a very low logit (a trained model never predicts it), as the official code assumes
        const model = new HashModel(V, { seed: modelSeed, fixed: [{ id: MASK, logit: -30 }] });
        const o = { genLength: blocks * blockLength, steps: blocks * stepsPerBlock, blockLength, cfgScale };
        const ours = await generate(model, [prompt], { ...o, maskId: MASK });
        assert.deepEqual(ours.tokens[0], await official(model, prompt, o));
      },
    ),
    { ...FC, numRuns: 150 },
  );
});

Deno.test("generate: ties in confidence go to the lower position", async () => {
  // every position has the same logits, so every candidate has the same confidence
  const model = new TableModel([[0, 2, 1, 0, 0, 0, 0, -5]]);
  for (const remasking of ["low_confidence", "margin", "entropy"] as Remasking[]) {
    const { states, tokens } = await traced(model, [[3, 4]], {
      genLength: 6,
      steps: 3,
      maskId: MASK,
      remasking,
    });
    assert.deepEqual(states.map((s) => s.committed[0]), [[2, 3], [4, 5], [6, 7]]);
    assert.deepEqual(tokens[0], [3, 4, 1, 1, 1, 1, 1, 1]);
  }
  // two blocks: left block first even though its confidences equal the right block's
  const { states } = await traced(model, [[]], { genLength: 4, steps: 4, blockLength: 2, maskId: MASK });
  assert.deepEqual(states.map((s) => [s.block, ...s.committed[0]]), [[0, 0], [0, 1], [1, 2], [1, 3]]);
});

Deno.test("generate: same seed, same output; different seeds explore", async () => {
  const model = new HashModel(V, { seed: 3, scale: 2 });
  const options: GenerateOptions = {
    genLength: 8,
    steps: 4,
    maskId: MASK,
    temperature: 1,
    remasking: "random",
  };
  const a = await generate(model, [[1, 2], [3]], { ...options, padId: PAD, seed: 5 });
  const b = await generate(model, [[1, 2], [3]], { ...options, padId: PAD, seed: 5 });
  assert.deepEqual(a, b);
  const outputs = new Set<string>();
  for (let seed = 0; seed < 8; seed++) {
    outputs.add(JSON.stringify((await generate(model, [[1, 2]], { ...options, seed })).tokens));
  }
  assert.ok(outputs.size >= 6, `only ${outputs.size} distinct outputs from 8 seeds`);
});

Deno.test("generate: a row's output is what its prompt alone gives, whatever its batch-mates", async () => {
  await fc.assert(
    fc.asyncProperty(
      settings,
      fc.constantFrom(undefined, 0.3),
      fc.nat(),
      async (s, threshold, rotation) => {
        const model = new HashModel(V, { seed: s.modelSeed, levels: s.levels });
        const options: GenerateOptions = {
          genLength: s.blocks * s.blockLength,
          steps: s.blocks * s.stepsPerBlock,
          blockLength: s.blockLength,
          remasking: s.remasking,
          temperature: s.temperature,
          cfgScale: s.cfgScale,
          confidenceEosInf: s.confidenceEosInf,
          threshold,
          maskId: MASK,
          padId: PAD,
          eosId: EOS,
          seed: s.seed,
        };
        // the batch in another order, with an extra long prompt so that every row is padded
        const k = rotation % s.prompts.length;
        const batch = [...s.prompts.slice(k), [1, 2, 3, 4, 5, 6], ...s.prompts.slice(0, k)];
        const together = await generate(model, batch, options);
        for (let b = 0; b < s.prompts.length; b++) {
          const alone = await generate(model, [s.prompts[b]], options);
          const at = b >= k ? b - k : s.prompts.length - k + 1 + b;
          assert.deepEqual(together.tokens[at], alone.tokens[0], `prompt ${s.prompts[b]}`);
        }
        // padding is announced to the model, and only when there is some
        // (alone: 1 row, or 2 with guidance, never padded; together: always padded by the long prompt)
        const aloneRows = options.cfgScale ? 2 : 1;
        assert.ok(model.calls.every((c) => (c.attentionMask !== undefined) === (c.batch > aloneRows)));
      },
    ),
    { ...FC, numRuns: 150 },
  );
});

Deno.test("generate: classifier-free guidance with w = 0 equals no guidance; w > 0 is one batched call", async () => {
  await fc.assert(
    fc.asyncProperty(settings, async (s) => {
      const model = new HashModel(V, { seed: s.modelSeed });
      const options: GenerateOptions = {
        genLength: s.blocks * s.blockLength,
        steps: s.blocks * s.stepsPerBlock,
        blockLength: s.blockLength,
        remasking: s.remasking,
        temperature: s.temperature,
        maskId: MASK,
        padId: PAD,
        seed: s.seed,
      };
      const plain = await generate(model, s.prompts, { ...options, cfgScale: 0 });
      // the guided path (two halves, u + (w+1)(c − u)) with a vanishing w degenerates to no guidance
      model.calls.length = 0;
      const guided = await generate(model, s.prompts, { ...options, cfgScale: 1e-12 });
      assert.deepEqual(guided.tokens, plain.tokens);
      assert.equal(guided.nfe, options.steps);
      assert.ok(model.calls.every((c) => c.batch === 2 * s.prompts.length));
      // the unconditional half masks exactly the real prompt tokens (not the padding, not the answer)
      const { tokens, length } = model.calls[0];
      const B = s.prompts.length;
      s.prompts.forEach((prompt, b) => {
        const P = length - options.genLength;
        const uncond = Array.from(tokens.subarray((B + b) * length, (B + b + 1) * length));
        const cond = Array.from(tokens.subarray(b * length, (b + 1) * length));
        assert.deepEqual(uncond.slice(P - prompt.length, P), new Array(prompt.length).fill(MASK));
        assert.deepEqual(uncond.slice(0, P - prompt.length), cond.slice(0, P - prompt.length));
        assert.deepEqual(uncond.slice(P), cond.slice(P));
      });
    }),
    { ...FC, numRuns: 100 },
  );
});

Deno.test("threshold decoding: ≥ 1 token per step, never more steps than tokens, all above τ or the best one", async () => {
  await fc.assert(
    fc.asyncProperty(settings, fc.double({ min: -0.2, max: 1.1, noNaN: true }), async (s, threshold) => {
      const genLength = s.blocks * s.blockLength;
      const model = new HashModel(V, { seed: s.modelSeed, levels: s.levels });
      const { tokens, nfe, states } = await traced(model, s.prompts, {
        genLength,
        blockLength: s.blockLength,
        threshold,
        remasking: s.remasking,
        temperature: s.temperature,
        cfgScale: s.cfgScale,
        maskId: MASK,
        padId: PAD,
        seed: s.seed,
      });
      assert.ok(
        nfe >= s.blocks && nfe <= genLength,
        `nfe ${nfe} for ${genLength} tokens in ${s.blocks} blocks`,
      );
      tokens.forEach((row) => assert.ok(!row.includes(MASK)));
      for (const state of states) {
        s.prompts.forEach((_, b) => {
          const candidates = state.predicted[b].flatMap((x, i) => (x >= 0 ? [i] : []));
          const committed = state.committed[b];
          if (candidates.length === 0) return assert.equal(committed.length, 0); // this row's block is done
          assert.ok(committed.length >= 1);
          const conf = state.confidence[b];
          const above = candidates.filter((i) => conf[i] >= threshold);
          if (above.length > 0) assert.deepEqual([...committed].sort((a, c) => a - c), above);
          else {
            const best = Math.max(...candidates.map((i) => conf[i]));
            assert.deepEqual(committed, [candidates.find((i) => conf[i] === best)]);
          }
        });
      }
    }),
    { ...FC, numRuns: 150 },
  );
  // extremes: τ below every probability commits a whole block per step; τ above 1 commits one token per step
  const model = new HashModel(V, { seed: 1 });
  const base: GenerateOptions = { genLength: 8, blockLength: 4, maskId: MASK, steps: 1234 };
  assert.equal((await generate(model, [[1]], { ...base, threshold: 0 })).nfe, 2);
  assert.equal((await generate(model, [[1]], { ...base, threshold: 1.01 })).nfe, 8);
});

Deno.test("EOS control: logitsEosInf never writes EOS; confidenceEosInf writes it last, with the schedule kept", async () => {
  // EOS (id 0) is by far the most likely token at every position
  const model = new HashModel(V, { seed: 2, fixed: [{ id: EOS, logit: 10 }] });
  const options: GenerateOptions = { genLength: 8, steps: 4, blockLength: 4, maskId: MASK, eosId: EOS };
  const plain = await generate(model, [[1, 2]], options);
  assert.deepEqual(plain.tokens[0].slice(2), new Array(8).fill(EOS));
  const forbidden = await generate(model, [[1, 2]], { ...options, logitsEosInf: true });
  assert.ok(!forbidden.tokens[0].slice(2).includes(EOS), `${forbidden.tokens[0]}`);

  // a model preferring EOS at some positions only: confidenceEosInf commits those after every other candidate
  await fc.assert(
    fc.asyncProperty(fc.integer(), fc.constantFrom(0, 1), async (seed, temperature) => {
      const mixed = new HashModel(V, { seed, levels: 4 });
      const { states, tokens } = await traced(mixed, [[3]], {
        ...options,
        temperature,
        confidenceEosInf: true,
        seed,
      });
      assert.ok(!tokens[0].includes(MASK));
      for (const state of states) {
        assert.equal(state.committed[0].length, numTransferTokens(4, 2)[state.step]);
        const isEos = (i: number) => state.predicted[0][i] === EOS;
        state.predicted[0].forEach((x, i) => x === EOS && assert.equal(state.confidence[0][i], -Infinity));
        // if an EOS prediction was committed, no non-EOS candidate was left behind
        if (state.committed[0].some(isEos)) {
          const left = state.predicted[0].flatMap((
            x,
            i,
          ) => (x >= 0 && !state.committed[0].includes(i) ? [i] : []));
          assert.ok(left.every(isEos), `step ${state.step}: EOS committed before ${left}`);
        }
      }
    }),
    { ...FC, numRuns: 100 },
  );
});

Deno.test("temperature: Gumbel-max draws x̂ from softmax(l/T) over the non-mask tokens", async () => {
  const logits = [1, 0, -1, 2, 0.5, -2, 0, 3];
  const model = new TableModel([logits]); // the mask (id 7) has the largest logit but is never predicted
  const T = 0.7;
  const weights = logits.slice(0, MASK).map((l) => Math.exp(l / T));
  const z = weights.reduce((a, b) => a + b, 0);
  const counts = new Array(V).fill(0);
  const N = 3000;
  for (let seed = 0; seed < N; seed++) {
    counts[
      (await generate(model, [[]], { genLength: 1, steps: 1, maskId: MASK, temperature: T, seed }))
        .tokens[0][0]
    ]++;
  }
  assert.equal(counts[MASK], 0);
  weights.forEach((w, v) => {
    const p = w / z;
    const sd = Math.sqrt(N * p * (1 - p));
    assert.ok(Math.abs(counts[v] - N * p) <= 5 * sd + 1, `token ${v}: ${counts[v]} vs ${N * p}`);
  });
});

Deno.test("confidences: low_confidence, margin and entropy by hand; random is uniform over positions", async () => {
  const row = [2, 1, 0, -1, 0, 0, 0, -3];
  const model = new TableModel([row]);
  const z = row.reduce((s, l) => s + Math.exp(l), 0);
  const p = row.map((l) => Math.exp(l) / z);
  const expected: Record<string, number> = {
    low_confidence: p[0],
    margin: p[0] - p[1],
    entropy: p.reduce((s, q) => s + q * Math.log(q), 0),
  };
  for (const [remasking, value] of Object.entries(expected)) {
    const { states } = await traced(model, [[5]], {
      genLength: 2,
      steps: 2,
      maskId: MASK,
      remasking: remasking as Remasking,
    });
    assert.ok(
      Math.abs(states[0].confidence[0][1] - value) < 1e-12,
      `${remasking}: ${states[0].confidence[0][1]} vs ${value}`,
    );
    assert.equal(states[0].confidence[0][0], -Infinity); // the prompt is never a candidate
    assert.equal(states[0].predicted[0][1], 0);
  }
  // random remasking: the first committed position is uniform over the block
  const first = new Array(4).fill(0);
  for (let seed = 0; seed < 2000; seed++) {
    const { states } = await traced(model, [[]], {
      genLength: 4,
      steps: 4,
      maskId: MASK,
      remasking: "random",
      seed,
    });
    first[states[0].committed[0][0]]++;
  }
  first.forEach((n) =>
    assert.ok(Math.abs(n - 500) < 5 * Math.sqrt(2000 * 0.25 * 0.75), `first positions ${first}`)
  );
});

Deno.test("generate: options are validated with messages that say what to change", async () => {
  const model = new HashModel(V);
  const ok: GenerateOptions = { genLength: 8, steps: 8, maskId: MASK };
  const cases: [Partial<GenerateOptions>, RegExp, number[][]?][] = [
    [
      { genLength: 30, blockLength: 8 },
      /generate: genLength \(30\) must be a multiple of blockLength \(8\)$/,
    ],
    [
      { blockLength: 4, steps: 3 },
      /steps \(3\) must be a multiple of the number of blocks \(genLength \/ blockLength = 2\)/,
    ],
    [{ steps: undefined }, /steps is required \(or set threshold for threshold decoding\)/],
    [{ maskId: undefined }, /maskId is required/],
    [{ maskId: 8 }, /maskId must be a token id in \[0, 8\), got 8/],
    [{}, /prompts have different lengths \(1, 2\): pass padId to left-pad them/, [[1], [1, 2]]],
    [{ padId: MASK }, /padId must be a token id in \[0, 8\) other than maskId \(7\)/],
    [{}, /prompts\[0\]\[1\] is the mask id; generate fills only the 8 answer positions/, [[1, MASK]]],
    [{ logitsEosInf: true }, /logitsEosInf and confidenceEosInf need eosId/],
    [
      { remasking: "lowest" as Remasking },
      /remasking must be one of "low_confidence", "random", "margin", "entropy"/,
    ],
    [{ temperature: -1 }, /temperature must be a finite number ≥ 0, got -1/],
    [{ threshold: NaN }, /threshold must be a finite number/],
    [{}, /expected at least one prompt/, []],
  ];
  for (const [change, message, prompts] of cases) {
    await assert.rejects(
      () => generate(model, prompts ?? [[1]], { ...ok, ...change } as GenerateOptions),
      message,
    );
  }
  assert.equal(model.calls.length, 0);
});
