import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../src/rng.ts";
import {
  CHOICE,
  CHOICE_PROMPT_LENGTH,
  CHOICE_VOCAB_SIZE,
  CHOICE_WIDTH,
  choiceCorrect,
  choiceExample,
  choiceLossFloor,
  choicePrompt,
  choiceRow,
} from "../src/experiments/choice_task.ts";
import { corruptForSft } from "../src/llada/forward_masking.ts";
import { sftLossWeights } from "../src/llada/loss_bound.ts";
import { sample } from "../src/llada/strategies.ts";
import type { LogitsModel } from "../src/llada/logits_model.ts";

const L = CHOICE.length;
const symbols = fc.array(fc.integer({ min: 0, max: CHOICE.alphabet - 1 }), { minLength: L, maxLength: L })
  .map((xs) => xs.map((x) => CHOICE.firstSymbol + x));

Deno.test("choice task: two candidates of symbols that differ at every position, the answer one of them whole", () => {
  fc.assert(
    fc.property(fc.integer(), (seed) => {
      const e = choiceExample(new Rng(seed));
      for (const s of [...e.a, ...e.b]) assert.ok(s >= CHOICE.firstSymbol && s < CHOICE_VOCAB_SIZE, `${s}`);
      assert.equal(e.a.length, L);
      assert.equal(e.b.length, L);
      assert.ok(e.a.every((s, i) => s !== e.b[i]), `${e.a} vs ${e.b}`);
      assert.ok(e.answer === e.a || e.answer === e.b);
      assert.deepEqual(choicePrompt(e), [...e.a, CHOICE.between, ...e.b, CHOICE.sep]);
      assert.equal(choicePrompt(e).length, CHOICE_PROMPT_LENGTH);
      assert.deepEqual(choiceRow(e), [...choicePrompt(e), ...e.answer]);
      assert.equal(choiceRow(e).length, CHOICE_WIDTH);
      assert.deepEqual(choiceExample(new Rng(seed)), e); // seeded
    }),
    { numRuns: 300 },
  );
});

Deno.test("choice task: the answer is a or b half the time each, and b's symbols range over all the others", () => {
  const rng = new Rng(7);
  const n = 4000;
  let picksA = 0;
  const offsets = new Set<number>();
  for (let k = 0; k < n; k++) {
    const e = choiceExample(rng);
    if (e.answer === e.a) picksA++;
    e.a.forEach((s, i) => offsets.add((e.b[i] - s + CHOICE.alphabet) % CHOICE.alphabet));
  }
  // Binomial(4000, ½): standard deviation ≈ 32, so ±150 is over 4.7 of them.
  assert.ok(Math.abs(picksA - n / 2) < 150, `${picksA} of ${n}`);
  assert.deepEqual([...offsets].sort(), [1, 2, 3, 4, 5, 6, 7]); // every other symbol, never the same one
});

Deno.test("choice task scorer: either whole candidate is right, any mix of the two and any other length wrong", () => {
  fc.assert(
    fc.property(
      symbols,
      fc.array(fc.integer({ min: 1, max: CHOICE.alphabet - 1 }), { minLength: L, maxLength: L }),
      fc.integer({ min: 1, max: 2 ** L - 2 }), // a proper, non-empty set of positions taken from b
      (a, shifts, fromB) => {
        const b = a.map((s, i) => CHOICE.firstSymbol + (s - CHOICE.firstSymbol + shifts[i]) % CHOICE.alphabet);
        const e = { a, b, answer: a };
        assert.ok(choiceCorrect(e, a));
        assert.ok(choiceCorrect(e, b)); // the scorer does not read which one training would have picked
        const mix = a.map((s, i) => (fromB >> i) & 1 ? b[i] : s);
        assert.ok(!choiceCorrect(e, mix), `mix ${mix} of ${a} and ${b}`);
        assert.ok(!choiceCorrect(e, a.slice(1)));
        assert.ok(!choiceCorrect(e, [...b, b[0]]));
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
 * `aᵢ` or `bᵢ` with probability ½; once one is visible, the candidate it belongs to with certainty.
 */
class ChoiceOracle implements LogitsModel {
  readonly vocabSize = CHOICE_VOCAB_SIZE;
  logits(tokens: Int32Array, batch: number, length: number): Promise<Float32Array> {
    const V = this.vocabSize;
    const out = new Float32Array(batch * length * V).fill(-30);
    for (let r = 0; r < batch; r++) {
      const row = tokens.subarray(r * length, (r + 1) * length);
      const a = row.subarray(0, L);
      const b = row.subarray(L + 1, 2 * L + 1);
      const answer = row.subarray(CHOICE_PROMPT_LENGTH);
      const seen = answer.findIndex((t) => t !== CHOICE.mask);
      const chosen = seen < 0 ? undefined : answer[seen] === a[seen] ? a : b;
      for (let i = 0; i < L; i++) {
        const at = (r * length + CHOICE_PROMPT_LENGTH + i) * V;
        if (chosen) out[at + chosen[i]] = 30;
        else out[at + a[i]] = out[at + b[i]] = 0;
      }
    }
    return Promise.resolve(out);
  }
}

Deno.test("choice task with its exact conditional: one token at a time and the confidence rules decode it, all at once mixes", async () => {
  const rng = new Rng(11);
  const examples = Array.from({ length: 64 }, () => choiceExample(rng));
  const prompts = examples.map(choicePrompt);
  const score = async (o: { steps?: number; threshold?: number; factor?: number }) => {
    const { tokens, nfe } = await sample(new ChoiceOracle(), prompts, {
      genLength: L,
      blockLength: L,
      maskId: CHOICE.mask,
      seed: 0,
      ...o,
    });
    const right = tokens.filter((t, i) => choiceCorrect(examples[i], t.slice(CHOICE_PROMPT_LENGTH))).length;
    return { accuracy: right / examples.length, nfe };
  };
  assert.deepEqual(await score({ steps: L }), { accuracy: 1, nfe: L });
  // the first evaluation sees only coin flips: τ and f admit the most confident alone, the next all the rest
  assert.deepEqual(await score({ threshold: 0.9 }), { accuracy: 1, nfe: 2 });
  assert.deepEqual(await score({ factor: 1 }), { accuracy: 1, nfe: 2 });
  // a rule loose enough to take two coin flips together (f ≥ 3 · ½) mixes the candidates
  assert.ok((await score({ factor: 2 })).accuracy < 0.5);
  // all 8 at once: a whole candidate only when the 8 independent decisions happen to agree
  const once = await score({ steps: 1 });
  assert.equal(once.nfe, 1);
  assert.ok(once.accuracy < 0.1, `${once.accuracy}`);
});
