import assert from "node:assert/strict";
import { copyTask } from "../src/data/synthetic.ts";

Deno.test("copy task: the response repeats the prompt's string, drawn from the alphabet, seeded", () => {
  const pairs = copyTask({ count: 50, length: 6, alphabet: "xyz", seed: 3 });
  assert.equal(pairs.length, 50);
  for (const { prompt, response } of pairs) {
    assert.match(response, /^[xyz]{6}$/);
    assert.equal(prompt, response + "=");
  }
  assert.deepEqual(copyTask({ count: 50, length: 6, alphabet: "xyz", seed: 3 }), pairs);
  assert.notDeepEqual(copyTask({ count: 50, length: 6, alphabet: "xyz", seed: 4 }), pairs);
  assert.deepEqual(copyTask({ count: 2, length: 5, seed: 0 }).map((p) => p.prompt), ["iebdg=", "fcgbf="]);
  // All three letters turn up (uniform draws, 300 of them).
  assert.equal(new Set(pairs.map((p) => p.response).join("")).size, 3);
  assert.throws(() => copyTask({ count: 1, length: 0, seed: 0 }), /length >= 1/);
});
