import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BpeTokenizer,
  BYTE_OFFSET,
  GPT2_SPLIT_PATTERN,
  GPT4_SPLIT_PATTERN,
  trainBpe,
} from "../src/tokenizer/bpe.ts";
import { tokenizerFromJSON } from "../src/tokenizer/tokenizer.ts";
import { EOS_ID, MASK_ID, NUM_SPECIAL_TOKENS } from "../src/tokenizer/special.ts";

const TRAINING_TEXT = [
  "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced",
  '"no evidence" that any irregularities took place. The jury further said in term-end presentments that',
  "the City Executive Committee, which had over-all charge of the election, deserved the praise and thanks",
  "of the City of Atlanta for the manner in which the election was conducted. 1961, 1962, 1963.",
  "秦川雄帝宅，函谷壯皇居。綺殿千尋起，離宮百雉餘。",
];
const tok = trainBpe(TRAINING_TEXT, { vocabSize: 400 });

Deno.test("BPE ids: specials, then 256 bytes, then merges", () => {
  assert.equal(BYTE_OFFSET, NUM_SPECIAL_TOKENS);
  assert.equal(tok.vocabSize, 400);
  assert.equal(tok.merges.length, 400 - 261);
  assert.deepEqual(trainBpe("", { vocabSize: 261 }).encode("A"), [BYTE_OFFSET + 65]);
  assert.deepEqual([...tok.tokenBytes(BYTE_OFFSET + 200)], [200]);
  assert.equal(tok.decode([MASK_ID, ...tok.encode("the"), EOS_ID]), "<|mdm_mask|>the<|eos|>");
});

Deno.test("BPE round-trips arbitrary well-formed Unicode (fast-check)", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
      const ids = tok.encode(s);
      assert.ok(ids.every((id) => Number.isInteger(id) && id >= NUM_SPECIAL_TOKENS && id < tok.vocabSize));
      assert.equal(tok.decode(ids), s);
    }),
    { numRuns: 300, seed: 1 },
  );
  fc.assert(
    fc.property(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ unit: "grapheme-ascii" }),
      (a, b) => {
        assert.equal(tok.decode(tok.encode(a + " the " + b)), a + " the " + b);
      },
    ),
    { numRuns: 200, seed: 2 },
  );
});

Deno.test("BPE compresses text like its training text and falls back to bytes elsewhere", () => {
  const seen = "the election of the City";
  assert.ok(tok.encode(seen).length < new TextEncoder().encode(seen).length / 2);
  // A character never seen in training is spelled out as its UTF-8 bytes.
  assert.deepEqual(tok.encode("ǅ"), [BYTE_OFFSET + 0xc7, BYTE_OFFSET + 0x85]);
  // Half a multi-byte character decodes to U+FFFD rather than throwing.
  assert.equal(tok.decode([BYTE_OFFSET + 0xe7]), "\uFFFD");
});

Deno.test("BPE training is deterministic, ignores the order of texts, and breaks ties by smallest pair", () => {
  const a = trainBpe(TRAINING_TEXT, { vocabSize: 350 });
  const b = trainBpe([...TRAINING_TEXT].reverse(), { vocabSize: 350 });
  assert.deepEqual(a.merges, tok.merges.slice(0, 350 - 261));
  assert.deepEqual(b.merges, a.merges);
  // "aaabdaaabac" without a split pattern: "aa" is most frequent (→ 261); then (aa, a) and (a, b) both occur
  // twice and the tie goes to the smaller pair (a, b) (→ 262; minbpe would take the pair it saw first);
  // then (aa, ab) (→ 263).
  const w = trainBpe("aaabdaaabac", { vocabSize: 264, pattern: null });
  const a_ = BYTE_OFFSET + 97;
  assert.deepEqual(w.merges, [[a_, a_], [a_, a_ + 1], [261, 262]]);
  assert.deepEqual(w.encode("aaabdaaabac"), [263, BYTE_OFFSET + 100, 263, a_, BYTE_OFFSET + 99]);
  // Nothing left to merge: training stops early with a smaller vocabulary.
  assert.equal(trainBpe("ab", { vocabSize: 300, pattern: null }).vocabSize, 262);
});

Deno.test("split patterns: GPT-4 (JS form) and GPT-2 chunking, and no character is lost by a custom pattern", () => {
  const re4 = new RegExp(GPT4_SPLIT_PATTERN, "gu");
  assert.deepEqual("Hello world's 12345 THEY'LL go!!\n".match(re4), [
    "Hello",
    " world",
    "'s",
    " ",
    "123",
    "45",
    " THEY",
    "'LL",
    " go",
    "!!\n",
  ]);
  const re2 = new RegExp(GPT2_SPLIT_PATTERN, "gu");
  assert.deepEqual("Hello world's 12345!!".match(re2), ["Hello", " world", "'s", " 12345", "!!"]);
  // A pattern that matches only letters: the gaps become chunks of their own, so decoding gives the text back.
  const letters = trainBpe("abc abc, abc!", { vocabSize: 270, pattern: String.raw`\p{L}+` });
  assert.equal(letters.decode(letters.encode("xabc, 42 abc!")), "xabc, 42 abc!");
  assert.throws(
    () => trainBpe("x", { vocabSize: 270, pattern: "(" }),
    /not a valid JavaScript regular expression/,
  );
  assert.throws(() => trainBpe("x", { vocabSize: 100 }), /vocabSize must be an integer in \[261,/);
});

Deno.test("BPE survives a JSON round trip and validates what it loads", () => {
  const json = JSON.parse(JSON.stringify(tok.toJSON()));
  // Hugging Face's tokenizer.json format: a byte-level BPE model, the split pattern as its pre-tokenizer.
  assert.equal(json.model.type, "BPE");
  assert.equal(json.decoder.type, "ByteLevel");
  assert.equal(json.pre_tokenizer.pretokenizers[0].pattern.Regex, GPT4_SPLIT_PATTERN);
  assert.equal(json.model.merges.length, tok.merges.length);
  const copy = tokenizerFromJSON(json);
  assert.ok(copy instanceof BpeTokenizer);
  const text = "Grand Jury: 秦川 1963 ✓";
  assert.deepEqual(copy.encode(text), tok.encode(text));
  assert.throws(
    () => new BpeTokenizer([[BYTE_OFFSET, 261]], null),
    /merge 0 = \[5, 261\] must join two earlier/,
  );
  assert.throws(() => new BpeTokenizer([[6, 7], [6, 7]], null), /repeats an earlier merge/);
  assert.throws(() => BpeTokenizer.fromJSON({ type: "bpe", merges: [] }), /expected \{ type: "bpe", pattern/);
});
