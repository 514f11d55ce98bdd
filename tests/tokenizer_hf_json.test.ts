/**
 * The tokenizer.json files llada-ts writes are Hugging Face's `tokenizers` format: checked by loading them into
 * Hugging Face's own JavaScript implementation (npm `@huggingface/tokenizers`, used by transformers.js) and
 * comparing its ids and decoded text with llada-ts's, and by reading them back exactly.
 */

import assert from "node:assert/strict";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { BpeTokenizer, CharTokenizer, GPT2_SPLIT_PATTERN, tokenizerFromJSON, trainBpe } from "../mod.ts";

const TRAINING_TEXT = [
  "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced",
  '"no evidence" that any irregularities took place. The jury further said in term-end presentments that the',
  "City Executive Committee, which had over-all charge of the election, deserves the praise and thanks.",
  "秦川雄帝宅，函谷壯皇居。綺殿千尋起，離宮百雉餘。 1961 1962 1963 ... it's we'll they're",
].join("\n");

// Texts without special-token strings: Hugging Face matches those in the input, llada-ts never does.
const PROBES = [
  "The jury said that the election was fair.",
  "Grand Jury: 秦川 1963 ✓ it's  two  spaces\nand a newline\t tab",
  "unseen words: zygote quixotic, emoji 🎉 and accents café",
];

// Decoding takes `clean_up_tokenization_spaces: false`: that clean-up ("a ." → "a.") belongs to transformers'
// tokenizer_config.json, not to tokenizer.json, and llada-ts decodes text exactly.

/** Loads a llada-ts tokenizer's JSON into Hugging Face's implementation (written and parsed as a file would be). */
function asHuggingFace(json: unknown): HfTokenizer {
  return new HfTokenizer(JSON.parse(JSON.stringify(json)), {});
}

for (const pattern of ["GPT-4", "GPT-2", "none"] as const) {
  Deno.test(`BPE tokenizer.json (split pattern ${pattern}) encodes and decodes as in Hugging Face tokenizers`, () => {
    const tok = trainBpe(TRAINING_TEXT, {
      vocabSize: 380,
      pattern: pattern === "GPT-4" ? undefined : pattern === "GPT-2" ? GPT2_SPLIT_PATTERN : null,
    });
    const json = tok.toJSON();
    assert.ok("model" in json, "a BPE tokenizer without repeated tokens is written in Hugging Face's format");
    const hf = asHuggingFace(json);
    for (const text of PROBES) {
      const ids = tok.encode(text);
      assert.deepEqual(
        hf.encode(text, { add_special_tokens: false }).ids,
        ids,
        `encode ${JSON.stringify(text)}`,
      );
      assert.equal(hf.decode(ids, { clean_up_tokenization_spaces: false }), tok.decode(ids));
    }
    // Special ids decode to their strings, or vanish with skip_special_tokens, as in llada-ts.
    const withSpecials = [0, ...tok.encode("The jury"), 1];
    assert.equal(hf.decode(withSpecials), tok.decode(withSpecials));
    assert.equal(hf.decode(withSpecials, { skip_special_tokens: true }), "The jury");
    // Read back exactly.
    const copy = tokenizerFromJSON(JSON.stringify(json));
    assert.ok(copy instanceof BpeTokenizer);
    assert.deepEqual(copy.merges, tok.merges);
    assert.equal(copy.pattern, tok.pattern);
  });
}

Deno.test("character tokenizer.json encodes and decodes as in Hugging Face tokenizers, unknown symbol included", () => {
  const strict = CharTokenizer.fromTexts(TRAINING_TEXT);
  const withUnknown = CharTokenizer.fromTexts(TRAINING_TEXT, { maxSymbols: 40, unknown: "?" });
  for (const tok of [strict, withUnknown]) {
    const hf = asHuggingFace(tok.toJSON());
    const text = tok === strict ? "The jury said 1961, 秦川." : "The jury said 1961, 秦川. Zebra!";
    const ids = tok.encode(text);
    assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, ids);
    assert.equal(hf.decode(ids, { clean_up_tokenization_spaces: false }), tok.decode(ids));
    const copy = tokenizerFromJSON(tok.toJSON());
    assert.ok(copy instanceof CharTokenizer);
    assert.deepEqual(copy.symbols, tok.symbols);
    assert.equal(copy.unknown, tok.unknown);
  }
});

Deno.test("the shipped model's tokenizer.json is Hugging Face's format and reads back as its character tokenizer", async () => {
  const text = await Deno.readTextFile(new URL("../models/brown-char/tokenizer.json", import.meta.url));
  const json = JSON.parse(text);
  assert.equal(json.model.type, "BPE");
  const tok = tokenizerFromJSON(text);
  assert.ok(tok instanceof CharTokenizer);
  assert.equal(tok.vocabSize, 90);
  const sentence = 'The jury said "it was (mostly) fair": 12 of 13.';
  assert.deepEqual(
    asHuggingFace(json).encode(sentence, { add_special_tokens: false }).ids,
    tok.encode(sentence),
  );
});

Deno.test("llada-ts's earlier tokenizer form still reads; foreign or corrupt files are refused with the reason", () => {
  const legacy = { type: "char", version: 1, specialTokens: [], symbols: ["a", "b"], unknown: null };
  assert.deepEqual(tokenizerFromJSON(legacy).encode("ab"), [5, 6]);
  const legacyBpe = { type: "bpe", version: 1, specialTokens: [], pattern: null, merges: [[5 + 97, 5 + 98]] };
  assert.deepEqual(tokenizerFromJSON(legacyBpe).encode("ab"), [261]);
  // Two merges that spell the same bytes ("abc" as a+bc and as ab+c) cannot be keyed by text: the earlier form.
  const [a, b, c] = [5 + 97, 5 + 98, 5 + 99];
  const twice = new BpeTokenizer([[a, b], [b, c], [a, 262], [261, c]], null);
  const twiceJSON = twice.toJSON();
  assert.ok("type" in twiceJSON && twiceJSON.type === "bpe");
  assert.deepEqual((tokenizerFromJSON(JSON.stringify(twiceJSON)) as BpeTokenizer).merges, twice.merges);
  assert.throws(() => tokenizerFromJSON("{ not json"), /tokenizer\.json is not valid JSON/);
  // A WordPiece file (BERT-style) is Hugging Face's format but not a layout llada-ts writes.
  const wordPiece = { added_tokens: [], model: { type: "WordPiece", vocab: { "[UNK]": 0 } } };
  assert.throws(
    () => tokenizerFromJSON(wordPiece),
    /expected model\.type "BPE".*got model\.type "WordPiece"/,
  );
  // A BPE file whose special tokens are elsewhere (e.g. GPT-2's <|endoftext|> at 50256).
  const json = CharTokenizer.fromTexts("ab").toJSON();
  const moved = { ...json, model: { ...json.model, vocab: { ...json.model.vocab, "<|eos|>": 7 } } };
  assert.throws(() => tokenizerFromJSON(moved), /special token <\|eos\|> must have id 1, has 7/);
});
