import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../src/rng.ts";
import {
  CHOICE,
  CHOICE_PROMPT_LENGTH,
  CHOICE_VOCAB_SIZE,
  CHOICE_WIDTH,
  choiceCandidates,
  choiceCorrect,
  choiceExample,
  choiceLossFloor,
  choicePrompt,
  choiceRow,
  everyChoicePrompt,
} from "../src/experiments/choice_task.ts";
import { corruptForSft } from "../src/llada/forward_masking.ts";
import { sftLossWeights } from "../src/llada/loss_bound.ts";
import { sample } from "../src/llada/strategies.ts";
import type { LogitsModel } from "../src/llada/logits_model.ts";

const L = CHOICE.length;
const symbol = fc.integer({ min: CHOICE.firstSymbol, max: CHOICE_VOCAB_SIZE - 1 });

Deno.test("choice task: two different symbols, their candidates differ at every position, the answer one of them whole", () => {
  fc.assert(
    fc.property(fc.integer(), (seed) => {
      const e = choiceExample(new Rng(seed));
      for (const s of [e.p, e.q]) assert.ok(s >= CHOICE.firstSymbol && s < CHOICE_VOCAB_SIZE, `${s}`);
      assert.notEqual(e.p, e.q);
      assert.deepEqual(e.a, Array(L).fill(e.p));
      assert.deepEqual(e.b, Array(L).fill(e.q));
      assert.ok(e.answer === e.a || e.answer === e.b);
      assert.deepEqual(choicePrompt(e), [e.p, e.q, CHOICE.sep]);
      assert.equal(choicePrompt(e).length, CHOICE_PROMPT_LENGTH);
      assert.deepEqual(choiceRow(e), [...choicePrompt(e), ...e.answer]);
      assert.equal(choiceRow(e).length, CHOICE_WIDTH);
      assert.deepEqual(choiceExample(new Rng(seed)), e); // seeded
    }),
    { numRuns: 300 },
  );
  assert.throws(() => choiceCandidates(3, 3), /two different symbols .* got 3 and 3/);
  assert.throws(() => choiceCandidates(CHOICE.sep, 3), /two different symbols/);
  assert.throws(() => choiceCandidates(3, CHOICE_VOCAB_SIZE), /two different symbols/);
});

Deno.test("choice task: the answer is a or b half the time each, every ordered pair of symbols drawn", () => {
  const rng = new Rng(7);
  const n = 4000;
  let picksA = 0;
  const pairs = new Set<string>();
  for (let k = 0; k < n; k++) {
    const e = choiceExample(rng);
    if (e.answer === e.a) picksA++;
    pairs.add(`${e.p} ${e.q}`);
  }
  // Binomial(4000, ½): standard deviation ≈ 32, so ±150 is over 4.7 of them.
  assert.ok(Math.abs(picksA - n / 2) < 150, `${picksA} of ${n}`);
  const every = everyChoicePrompt();
  assert.equal(every.length, CHOICE.alphabet * (CHOICE.alphabet - 1));
  assert.deepEqual([...pairs].sort(), every.map((e) => `${e.p} ${e.q}`).sort());
});

Deno.test("choice task scorer: either whole candidate is right, any mix of the two and any other length wrong", () => {
  fc.assert(
    fc.property(
      symbol,
      symbol,
      fc.integer({ min: 1, max: 2 ** L - 2 }), // a proper, non-empty set of positions taken from b
      (p, q, fromB) => {
        fc.pre(p !== q);
        const e = choiceCandidates(p, q);
        assert.ok(choiceCorrect(e, e.a));
        assert.ok(choiceCorrect(e, e.b));
        const mix = e.a.map((s, i) => (fromB >> i) & 1 ? e.b[i] : s);
        assert.ok(!choiceCorrect(e, mix), `mix ${mix} of ${e.a} and ${e.b}`);
        assert.ok(!choiceCorrect(e, e.a.slice(1)));
        assert.ok(!choiceCorrect(e, [...e.b, q]));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("choice task loss floor: the exact conditional's loss under the trainer's SFT masking and weights", () => {
  assert.ok(Math.abs(choiceLossFloor(0) - Math.LN2 / L) < 1e-12);
  // Monte Carlo: the exact conditional costs ln 2 at each masked answer position of a row whose answer is wholly
  // masked, and nothing elsewhere (one visible answer token settles the candidate).
  const rng = new Rng(3);
  const batch = 4000;
  const tokens = new Int32Array(batch * CHOICE_WIDTH);
  for (let b = 0; b < batch; b++) tokens.set(choiceRow(choiceExample(rng)), b * CHOICE_WIDTH);
  let total = 0;
  const runs = 5;
  for (let run = 0; run < runs; run++) {
    const c = corruptForSft(tokens, batch, CHOICE_WIDTH, new Int32Array(batch).fill(CHOICE_PROMPT_LENGTH), {
      maskId: CHOICE.mask,
      seed: rng,
    });
    const weights = sftLossWeights(c);
    for (let b = 0; b < batch; b++) {
      const answer = c.masked.subarray(b * CHOICE_WIDTH + CHOICE_PROMPT_LENGTH, (b + 1) * CHOICE_WIDTH);
      if (!answer.every((m) => m === 1)) continue;
      for (let i = b * CHOICE_WIDTH + CHOICE_PROMPT_LENGTH; i < (b + 1) * CHOICE_WIDTH; i++) {
        total += weights[i] * Math.LN2;
      }
    }
  }
  const floor = choiceLossFloor();
  assert.ok(Math.abs(total / runs - floor) < 0.006, `Monte Carlo ${total / runs} vs ${floor}`);
});

/**
 * The task's exact conditional as a mask predictor: with no answer token visible each masked answer position is
 * `p` or `q` with probability ½ (an exact tie); once one is visible, its symbol with certainty.
 */
class ChoiceOracle implements LogitsModel {
  readonly vocabSize = CHOICE_VOCAB_SIZE;
  logits(tokens: Int32Array, batch: number, length: number): Promise<Float32Array> {
    const V = this.vocabSize;
    const out = new Float32Array(batch * length * V).fill(-30);
    for (let r = 0; r < batch; r++) {
      const row = tokens.subarray(r * length, (r + 1) * length);
      const seen = row.subarray(CHOICE_PROMPT_LENGTH).find((t) => t !== CHOICE.mask);
      for (let i = CHOICE_PROMPT_LENGTH; i < length; i++) {
        const at = (r * length + i) * V;
        if (seen !== undefined) out[at + seen] = 30;
        else out[at + row[0]] = out[at + row[1]] = 0;
      }
    }
    return Promise.resolve(out);
  }
}

Deno.test("choice task with its exact conditional: one token at a time and the confidence rules decode it, all at once mixes", async () => {
  const candidates = everyChoicePrompt();
  const prompts = candidates.map(choicePrompt);
  const score = async (o: { steps?: number; threshold?: number; factor?: number; temperature?: number }) => {
    let right = 0;
    let nfe = 0;
    for (const seed of [0, 1, 2, 3]) {
      const run = await sample(new ChoiceOracle(), prompts, {
        genLength: L,
        blockLength: L,
        maskId: CHOICE.mask,
        seed,
        temperature: 1,
        ...o,
      });
      right += run.tokens.filter((t, i) =>
        choiceCorrect(candidates[i], t.slice(CHOICE_PROMPT_LENGTH))
      ).length;
      nfe = Math.max(nfe, run.nfe);
    }
    return { accuracy: right / (4 * prompts.length), nfe };
  };
  assert.deepEqual(await score({ steps: L }), { accuracy: 1, nfe: L });
  // the first evaluation sees only coin flips: τ and f admit the most confident alone, the next all the rest
  assert.deepEqual(await score({ threshold: 0.9 }), { accuracy: 1, nfe: 2 });
  assert.deepEqual(await score({ factor: 1 }), { accuracy: 1, nfe: 2 });
  // a rule loose enough to take a second coin flip with the first (f ≥ 3 · ½) keeps the candidate whole half the
  // time (a quarter if it takes a third too: the third sits exactly on f = 2's bound, 4 · ½)
  const loose = await score({ factor: 2 });
  assert.ok(loose.accuracy > 0.15 && loose.accuracy < 0.6, `${loose.accuracy}`);
  // all 8 at once: a whole candidate only when 8 independent draws agree (2 · 2⁻⁸)
  const once = await score({ steps: 1 });
  assert.equal(once.nfe, 1);
  assert.ok(once.accuracy < 0.05, `${once.accuracy}`);
  // greedily, every position breaks the tie the same way, and all at once looks perfect: why the lab samples
  assert.deepEqual(await score({ steps: 1, temperature: 0 }), { accuracy: 1, nfe: 1 });
});
