import assert from "node:assert/strict";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import {
  decodeChatAnswer,
  encodeChatAnswer,
  encodeChatPair,
  encodeChatPrompt,
} from "../src/tokenizer/chat.ts";
import { ASSISTANT_ID, BOS_ID, EOS_ID, USER_ID } from "../src/tokenizer/special.ts";

const tok = CharTokenizer.fromTexts("abcdefghijklmnopqrstuvwxyz ?!");

Deno.test("chat prompt: BOS, user marker, text, assistant marker", () => {
  assert.deepEqual(encodeChatPrompt(tok, "hi"), [BOS_ID, USER_ID, ...tok.encode("hi"), ASSISTANT_ID]);
  assert.deepEqual(encodeChatAnswer(tok, "yo"), [...tok.encode("yo"), EOS_ID]);
  const { prompt, response } = encodeChatPair(tok, "hi", "yo");
  assert.deepEqual(prompt, encodeChatPrompt(tok, "hi"));
  assert.deepEqual(response, encodeChatAnswer(tok, "yo"));
});

Deno.test("multi-turn prompt: earlier answers end with EOS, and the order of roles is checked", () => {
  const ids = encodeChatPrompt(tok, [
    { role: "user", content: "a" },
    { role: "assistant", content: "b" },
    { role: "user", content: "c" },
  ]);
  assert.equal(
    tok.decode(ids),
    "<|bos|><|user|>a<|assistant|>b<|eos|><|user|>c<|assistant|>",
  );
  assert.throws(() => encodeChatPrompt(tok, []), /must end with a user turn/);
  assert.throws(
    () => encodeChatPrompt(tok, [{ role: "user", content: "a" }, { role: "user", content: "b" }]),
    /turn 1 should be a assistant turn, got "user"/,
  );
});

Deno.test("decodeChatAnswer stops at the first EOS and drops special tokens", () => {
  const generated = [...tok.encode("ok"), EOS_ID, ...tok.encode("junk"), EOS_ID];
  assert.equal(decodeChatAnswer(tok, generated), "ok");
  assert.equal(decodeChatAnswer(tok, [0, ...tok.encode("no end")]), "no end");
});
