import assert from "node:assert/strict";
import { padSftPairs } from "../src/data/sft.ts";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import { encodeChatPair } from "../src/tokenizer/chat.ts";
import { EOS_ID } from "../src/tokenizer/special.ts";

Deno.test("SFT pairs are right-padded with EOS; prompt lengths mark where answers start", () => {
  const out = padSftPairs([
    { prompt: [2, 3, 9, 4], response: [7, 1] },
    { prompt: [2, 3, 4], response: [8, 8, 8, 1] },
  ], { length: 8 });
  assert.equal(out.rows, 2);
  assert.equal(out.length, 8);
  assert.deepEqual([...out.tokens], [2, 3, 9, 4, 7, 1, 1, 1, 2, 3, 4, 8, 8, 8, 1, 1]);
  assert.deepEqual([...out.promptLengths], [4, 3]);
  // Default length: the longest pair.
  assert.equal(padSftPairs([{ prompt: [2], response: [1] }, { prompt: [2, 2], response: [5, 1] }]).length, 4);
});

Deno.test("SFT padding works with the chat template and explains pairs that do not fit", () => {
  const tok = CharTokenizer.fromTexts("abc");
  const pairs = [encodeChatPair(tok, "ab", "c"), encodeChatPair(tok, "a", "abc")];
  const out = padSftPairs(pairs, { length: 10 });
  assert.equal(
    tok.decode(out.tokens.subarray(0, 10)),
    "<|bos|><|user|>ab<|assistant|>c" + "<|eos|>".repeat(4),
  );
  assert.equal(out.promptLengths[1], 4);
  assert.equal(out.tokens[19], EOS_ID);
  assert.throws(
    () => padSftPairs(pairs, { length: 6 }),
    /pair 0 has 5 prompt \+ 2 response tokens, more than the row length 6/,
  );
  assert.throws(() => padSftPairs([{ prompt: [2], response: [] }]), /pair 0 has an empty response/);
});
