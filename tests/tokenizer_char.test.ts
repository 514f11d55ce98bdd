import assert from "node:assert/strict";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import { tokenizerFromJSON } from "../src/tokenizer/tokenizer.ts";
import { keepEncodable } from "../src/tokenizer/coverage.ts";
import { BOS_ID, EOS_ID, MASK_ID, NUM_SPECIAL_TOKENS, SPECIAL_TOKENS } from "../src/tokenizer/special.ts";

Deno.test("special tokens sit at the documented fixed ids", () => {
  assert.deepEqual([...SPECIAL_TOKENS], ["<|mdm_mask|>", "<|eos|>", "<|bos|>", "<|user|>", "<|assistant|>"]);
  assert.equal(NUM_SPECIAL_TOKENS, 5);
  const tok = CharTokenizer.fromTexts("ab");
  assert.deepEqual(
    [tok.maskId, tok.eosId, tok.padId, tok.bosId, tok.userId, tok.assistantId],
    [0, 1, 1, 2, 3, 4],
  );
});

Deno.test("char vocabulary is sorted by code point, whatever the order of the texts", () => {
  const a = CharTokenizer.fromTexts(["hello", "world", "😀é！"]);
  const b = CharTokenizer.fromTexts(["！é😀", "dlrow", "olleh"]);
  // "！" (U+FF01) comes before "😀" (U+1F600) by code point, though not by UTF-16 units (0xFF01 > 0xD83D).
  assert.deepEqual(a.symbols, ["d", "e", "h", "l", "o", "r", "w", "é", "！", "😀"]);
  assert.deepEqual(b.symbols, a.symbols);
  assert.equal(a.vocabSize, NUM_SPECIAL_TOKENS + 10);
  assert.deepEqual(a.encode("hold"), [7, 9, 8, 5]);
});

Deno.test("char encode/decode round-trips and writes special ids as their strings", () => {
  const tok = CharTokenizer.fromTexts("the cat 😀 sat");
  const ids = tok.encode("a cat sat 😀");
  assert.equal(ids.length, 11); // the emoji is one code point, so one id
  assert.equal(tok.decode(ids), "a cat sat 😀");
  assert.equal(tok.decode([BOS_ID, ...tok.encode("cat"), MASK_ID, EOS_ID]), "<|bos|>cat<|mdm_mask|><|eos|>");
  assert.equal(tok.decode([BOS_ID, ...tok.encode("cat"), MASK_ID, EOS_ID], { skipSpecial: true }), "cat");
  // Special-token strings in text are ordinary characters, never special ids.
  const t2 = CharTokenizer.fromTexts("<|eos|>");
  assert.ok(t2.encode("<|eos|>").every((id) => id >= NUM_SPECIAL_TOKENS));
});

Deno.test("char encode names an unknown character, its code point and its index", () => {
  const tok = CharTokenizer.fromTexts("abc d");
  assert.throws(() => tok.encode("abc dé"), (e: Error) => {
    assert.match(e.message, /character "é" \(U\+00E9\) at index 5/);
    assert.match(e.message, /after "abc d"/);
    assert.match(e.message, /vocabulary of 5 symbols/);
    return true;
  });
  // Index in UTF-16 units: the astral "😀" counts 2 before the unknown "x".
  const t2 = CharTokenizer.fromTexts("😀a");
  assert.throws(() => t2.encode("😀ax"), /character "x" \(U\+0078\) at index 3/);
  assert.throws(() => t2.encode("a\t"), /character "\\t" \(U\+0009\) at index 1/);
});

Deno.test("char decode rejects ids outside the vocabulary", () => {
  const tok = CharTokenizer.fromTexts("ab");
  assert.throws(() => tok.decode([5, 7]), /id 7 at position 1 is outside the vocabulary \[0, 7\)/);
  assert.throws(() => tok.decode([-1]), /id -1 at position 0/);
});

Deno.test("maxSymbols keeps the most frequent characters and maps the rest to the unknown symbol", () => {
  const tok = CharTokenizer.fromTexts("aaaabbbcc d", { maxSymbols: 3, unknown: "?" });
  // a (4), b (3) kept; "?" takes the third place; c, d and space fall back to "?".
  assert.deepEqual(tok.symbols, ["?", "a", "b"]);
  assert.equal(tok.decode(tok.encode("abcd")), "ab??");
  // An unknown symbol already in the corpus does not take an extra place.
  const t2 = CharTokenizer.fromTexts("aaa???b", { maxSymbols: 2, unknown: "?" });
  assert.deepEqual(t2.symbols, ["?", "a"]);
  assert.deepEqual(CharTokenizer.fromTexts("aab", { minCount: 2 }).symbols, ["a"]);
});

Deno.test("char tokenizer survives a JSON round trip through tokenizerFromJSON", () => {
  const tok = CharTokenizer.fromTexts("Hello, 世界!", { unknown: "#" });
  const copy = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.ok(copy instanceof CharTokenizer);
  assert.equal(copy.vocabSize, tok.vocabSize);
  assert.deepEqual(copy.encode("Hello 世界? x"), tok.encode("Hello 世界? x"));
  assert.throws(() => tokenizerFromJSON({ type: "wordpiece" }), /unknown tokenizer type "wordpiece"/);
  assert.throws(
    () => CharTokenizer.fromJSON({ type: "char", version: 2, symbols: [] }),
    /unsupported version 2/,
  );
  assert.throws(() => new CharTokenizer(["a", "a"]), /appears twice/);
  assert.throws(() => new CharTokenizer(["ab"]), /exactly one character/);
});

Deno.test("keepEncodable leaves out what a strict character tokenizer cannot encode, and counts it", () => {
  const strict = CharTokenizer.fromTexts("abc ");
  const kept = keepEncodable(strict, "a café, a cab");
  assert.equal(kept.text, "a ca a cab");
  assert.deepEqual([...kept.leftOut], [["f", 1], ["é", 1], [",", 1]]);
  assert.equal(kept.leftOutCount, 3);
  assert.deepEqual(strict.encode(kept.text).length, kept.text.length);
  // A tokenizer with a fallback symbol encodes everything: nothing is left out.
  const lenient = CharTokenizer.fromTexts("abc ", { unknown: "?" });
  assert.equal(keepEncodable(lenient, "café").text, "café");
});
