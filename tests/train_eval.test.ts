/** Held-out evaluation: the unigram baseline, the evaluation set, and the twin's exact NLL. */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import {
  heldOutBitsPerChar,
  makeEvalSet,
  makePairEvalSet,
  tokenUnigramBaseline,
  unigramBaseline,
} from "../src/train/eval.ts";
import { Tensor } from "../src/tensor.ts";
import { estimateConditionalLogLikelihood, logSoftmaxAt } from "../src/llada/loss_bound.ts";

Deno.test("unigramBaseline: entropy on the training text, add-½ cross-entropy on the held-out text", () => {
  const u = unigramBaseline("aab", "ab");
  // p(a) = 2/3, p(b) = 1/3: H = 0.9183 bits.
  assert.ok(Math.abs(u.trainEntropy - 0.918296) < 1e-6, `${u.trainEntropy}`);
  // Smoothed over {a, b}: p(a) = 2.5/4, p(b) = 1.5/4; CE = −(log2 0.625 + log2 0.375)/2 = 1.04655.
  assert.ok(Math.abs(u.validCrossEntropy - 1.046555) < 1e-6, `${u.validCrossEntropy}`);
  assert.equal(u.validChars, 2);
  // An unseen held-out character costs a finite amount: −log2(0.5 / (3 + 1.5)).
  const unseen = unigramBaseline("aab", "c");
  assert.ok(Math.abs(unseen.validCrossEntropy - Math.log2(9)) < 1e-9);
  assert.throws(() => unigramBaseline("", "a"), /training text is empty/);
});

Deno.test("makeEvalSet cuts windows as training rows are packed (EOS after each document); the first token is context", () => {
  const tok = CharTokenizer.fromTexts("abcdefg");
  // Stream a b c EOS d e f g EOS → rows [a b c] [EOS d e] [f g EOS].
  const set = makeEvalSet(["abc", "defg"], tok, { length: 3, count: 10 });
  assert.deepEqual(set.prompts.map((p) => tok.decode(p)), ["a", "<|eos|>", "f"]);
  assert.deepEqual(set.sequences.map((s) => tok.decode(s)), ["bc", "de", "g<|eos|>"]);
  // Five characters and one scored EOS.
  assert.equal(set.charCount, 6);
  assert.equal(set.text, "bcdeg");
  // Spread over the whole text: 25 rows of 4 in 102 tokens, every fifth taken.
  const text = "abcdefghij".repeat(10);
  const letters = CharTokenizer.fromTexts(text);
  const spread = makeEvalSet([text.slice(0, 50), text.slice(50)], letters, { length: 4, count: 5 });
  // Windows start at tokens 0, 20, 40 (first document) and 60, 80 (the second starts at token 51).
  assert.deepEqual(spread.prompts.map((p) => letters.decode(p)), ["a", "a", "a", "j", "j"]);
  assert.equal(spread.charCount, 15);
  assert.throws(
    () => makeEvalSet(["ab"], tok, { length: 4, count: 1 }),
    /3 tokens, fewer than one sequence of 4/,
  );
});

const tok = CharTokenizer.fromTexts("abcdef");
const config = {
  d_model: 16,
  n_layers: 1,
  n_heads: 2,
  mlp_hidden_size: 16,
  vocab_size: tok.vocabSize,
  mask_token_id: tok.maskId,
  eos_token_id: tok.eosId,
  pad_token_id: tok.padId,
  max_sequence_length: 6,
};
const backend = new CpuBackend();

Deno.test("the twin's held-out score is its exact NLL of every token after a window's first", async () => {
  const twin = await createModel(config, { seed: 2, backend, causal: true });
  // Stream: 12 characters and EOS → two windows "abcdef", "abcdef" (the EOS is dropped with the remainder).
  const set = makeEvalSet(["abcdefabcdef"], tok, { length: 6, count: 2 });
  const bpc = await heldOutBitsPerChar(twin, set);
  // By hand: the whole window through the network, position i predicts token i + 1.
  let nats = 0;
  for (let j = 0; j < 2; j++) {
    const window = Int32Array.from([...set.prompts[j], ...set.sequences[j]]);
    assert.equal(tok.decode(window), "abcdef");
    const logits = await twin.logits(window, 1, 6);
    for (let i = 0; i < 5; i++) nats -= logSoftmaxAt(logits, i * tok.vocabSize, tok.vocabSize, window[i + 1]);
  }
  assert.equal(set.charCount, 10);
  assert.ok(Math.abs(bpc - nats / Math.LN2 / 10) < 1e-5, `${bpc} vs ${nats / Math.LN2 / 10}`);
});

Deno.test("the mask predictor's held-out bound scores the same tokens given the same first token", async () => {
  const mdm = await createModel(config, { seed: 2, backend });
  const set = makeEvalSet(["abcdefabcdef", "fedcba"], tok, { length: 6, count: 3 });
  const bpc = await heldOutBitsPerChar(mdm, set, { mcSamples: 8, seed: 5 });
  let nats = 0;
  for (let j = 0; j < set.sequences.length; j++) {
    const est = await estimateConditionalLogLikelihood(mdm, [...set.prompts[j]], [...set.sequences[j]], {
      maskId: tok.maskId,
      mcSamples: 8,
      batchSize: 8,
      seed: 5 + j,
    });
    nats -= est.logLikelihood;
  }
  assert.ok(Math.abs(bpc - nats / Math.LN2 / set.charCount) < 1e-9);
  // Random weights know nothing: the bound is above the uniform code length of the scored tokens.
  const uniform = (set.sequences.length * 5 * Math.log2(tok.vocabSize - 1)) / set.charCount;
  assert.ok(bpc > 0.9 * uniform, `${bpc} vs uniform ${uniform}`);
});

Deno.test("both objectives score exactly the same tokens and characters: with uniform predictions the scores agree", async () => {
  const sft = CharTokenizer.fromTexts("abcdef?");
  const sftConfig = {
    ...config,
    vocab_size: sft.vocabSize,
    mask_token_id: sft.maskId,
    max_sequence_length: 16,
  };
  const sets = [
    // Windows over documents joined by EOS, one of them ending in EOS…
    makeEvalSet(["abcdefabcdef", "fedcba"], tok, { length: 6, count: 3 }),
    // …and chat pairs, whose answers end in EOS.
    makePairEvalSet([{ prompt: "ab?", response: "cde" }, { prompt: "f?", response: "a" }], sft, 2),
  ];
  for (const [set, c] of [[sets[0], config], [sets[1], sftConfig]] as const) {
    const scores: number[] = [];
    for (const causal of [false, true]) {
      const model = await createModel(c, { seed: 3, backend, causal });
      // A zero output layer predicts every id with probability 1/V: each scored token costs ln V nats.
      model.ffOut.weight.assign(Tensor.zeros(model.ffOut.weight.shape, { backend }));
      scores.push(await heldOutBitsPerChar(model, set, { mcSamples: 4 }));
    }
    const tokens = set.sequences.reduce((n, s) => n + s.length, 0);
    const expected = (tokens * Math.log(c.vocab_size)) / Math.LN2 / set.charCount;
    assert.ok(Math.abs(scores[0] - expected) < 1e-4, `mask predictor ${scores[0]} vs ${expected}`);
    assert.ok(Math.abs(scores[1] - expected) < 1e-4, `twin ${scores[1]} vs ${expected}`);
  }
  // The scored EOS count as characters in both kinds of set.
  assert.equal(sets[1].charCount, 4 + 2);
});

Deno.test("tokenUnigramBaseline: add-½ token frequencies of the training rows, scored on the eval set's tokens per character", () => {
  // Training tokens: id 2 three times, id 3 once; vocabulary 4 → p(2) = 3.5/6, p(3) = 1.5/6, p(0) = p(1) = 0.5/6.
  const evalSet = {
    sequences: [Int32Array.of(2, 3), Int32Array.of(1)],
    prompts: [Int32Array.of(2), Int32Array.of(2)],
    charCount: 5,
    text: "",
  };
  const bits = tokenUnigramBaseline(Int32Array.of(2, 2, 3, 2), 4, evalSet);
  const expected = -(Math.log2(3.5 / 6) + Math.log2(1.5 / 6) + Math.log2(0.5 / 6)) / 5;
  assert.ok(Math.abs(bits - expected) < 1e-12, `${bits} vs ${expected}`);
  assert.throws(() => tokenUnigramBaseline(new Int32Array(0), 4, evalSet), /no training tokens/);
});
