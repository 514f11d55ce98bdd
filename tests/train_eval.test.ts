/** Held-out evaluation: the unigram baseline, the evaluation set, and the twin's exact NLL. */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import { heldOutBitsPerChar, makeEvalSet, unigramBaseline } from "../src/train/eval.ts";
import { logSoftmaxAt } from "../src/llada/loss_bound.ts";

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

Deno.test("makeEvalSet takes non-overlapping sequences spread over the whole held-out text", () => {
  const tok = CharTokenizer.fromTexts("abcdefghij");
  const text = "abcdefghij".repeat(10); // 100 characters = 25 chunks of 4
  const set = makeEvalSet([text.slice(0, 50), text.slice(50)], tok, { length: 4, count: 5 });
  assert.equal(set.sequences.length, 5);
  // Chunks 0, 5, 10, 15, 20: starting at characters 0, 20, 40, 60, 80.
  assert.deepEqual(set.sequences.map((s) => tok.decode(s)), ["abcd", "abcd", "abcd", "abcd", "abcd"]);
  assert.equal(set.charCount, 20);
  assert.equal(set.text, "abcd".repeat(5));
  const all = makeEvalSet([text], tok, { length: 4, count: 100 });
  assert.equal(all.sequences.length, 25);
  assert.equal(all.text, text);
  assert.throws(() => makeEvalSet(["abc"], tok, { length: 4, count: 1 }), /fewer than one sequence of 4/);
});

Deno.test("the twin's held-out score is its exact NLL: every character scored once, after a leading EOS", async () => {
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
  };
  const backend = new CpuBackend();
  const twin = await createModel({ ...config, max_sequence_length: 6 }, { seed: 2, backend, causal: true });
  const set = makeEvalSet(["abcdefabcdef"], tok, { length: 6, count: 2 });
  const bpc = await heldOutBitsPerChar(twin, set);
  // By hand with a longer context window: the same weights, input [EOS, s], position i predicts s[i].
  const wide = await createModel({ ...config, max_sequence_length: 7 }, { seed: 2, backend, causal: true });
  let nats = 0;
  for (const s of set.sequences) {
    const input = Int32Array.from([tok.eosId, ...s]);
    const logits = await wide.logits(input, 1, 7);
    for (let i = 0; i < 6; i++) nats -= logSoftmaxAt(logits, i * tok.vocabSize, tok.vocabSize, s[i]);
  }
  assert.ok(Math.abs(bpc - nats / Math.LN2 / 12) < 1e-5, `${bpc} vs ${nats / Math.LN2 / 12}`);
});
