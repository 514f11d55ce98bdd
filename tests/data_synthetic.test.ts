import assert from "node:assert/strict";
import { copyTask, reversalFacts } from "../src/data/synthetic.ts";
import { Rng } from "../src/rng.ts";

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

Deno.test("reversal facts: distinct names, both directions, seeded", () => {
  const facts = reversalFacts({ count: 200, seed: new Rng(7) });
  const names = facts.flatMap((f) => [f.child, f.parent]);
  assert.equal(new Set(names).size, 400);
  for (const f of facts) {
    assert.match(f.child, /^[A-Z][a-z]{3,5}$/);
    assert.equal(f.forward.prompt + f.forward.response, `${f.child}'s parent is ${f.parent}.`);
    assert.equal(f.backward.prompt + f.backward.response, `${f.parent}'s child is ${f.child}.`);
  }
  assert.deepEqual(reversalFacts({ count: 200, seed: new Rng(7) }), facts);
  assert.equal(reversalFacts({ count: 1, seed: 0 })[0].forward.prompt, "Heve's parent is");
  assert.throws(() => reversalFacts({ count: 1e6, seed: 0 }), /count must be an integer in \[0, 100000\]/);
});
