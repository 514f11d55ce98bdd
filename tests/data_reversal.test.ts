/** The reversal experiment's data: invented facts, the protocol's split, --pairs files, whole-item packing. */

import assert from "node:assert/strict";
import {
  parseReversalPairs,
  poemReversalTask,
  syntheticReversalPairs,
  syntheticReversalTask,
  testQuestions,
  tuningPairs,
} from "../src/data/reversal.ts";
import { packWhole } from "../src/data/packing.ts";
import { InputError } from "../src/errors.ts";

Deno.test("synthetic facts: every name and attribute names one fact, seeded", () => {
  const pairs = syntheticReversalPairs(300, 7);
  assert.equal(new Set(pairs.map((p) => p.first)).size, 300);
  assert.equal(new Set(pairs.map((p) => p.second)).size, 300);
  for (const p of pairs) {
    assert.match(p.first, /^[A-Z][a-z]{3,5}$/);
    assert.match(p.second, /^the [a-z]+ of [A-Z][a-z]{3,5}$/);
  }
  assert.deepEqual(syntheticReversalPairs(300, 7), pairs);
  assert.throws(() => syntheticReversalPairs(0, 0), /count must be an integer in \[1, 50000\]/);
});

Deno.test("the protocol's split: all items pre-trained forward, tuning and test disjoint, both directions asked", () => {
  const task = syntheticReversalTask({ count: 20, testCount: 5, seed: 3 });
  assert.equal(task.documents.length, 20);
  assert.equal(task.tune.length, 15);
  assert.equal(task.test.length, 5);
  const tuned = new Set(task.tune.map((p) => p.first));
  assert.ok(task.test.every((p) => !tuned.has(p.first)));
  // Every test fact is in the pre-training documents, written forward only.
  for (const p of task.test) {
    assert.ok(task.documents.includes(`${p.first} is ${p.second}.`));
    assert.ok(!task.documents.some((d) => d.startsWith(p.second)));
  }
  const tuning = tuningPairs(task);
  assert.equal(tuning.length, 30);
  assert.deepEqual(tuning[0], { prompt: `${task.tune[0].first} is`, response: task.tune[0].second });
  assert.deepEqual(tuning[1], { prompt: `is ${task.tune[0].second}.`, response: task.tune[0].first });
  const questions = testQuestions(task);
  assert.deepEqual(questions.map((q) => q.direction), [
    ...Array(5).fill("forward"),
    ...Array(5).fill("reversal"),
  ]);
  assert.equal(questions[5].expected, task.test[0].first);
  assert.throws(
    () => syntheticReversalTask({ count: 5, testCount: 5, seed: 0 }),
    /testCount must be an integer in \[1, 4\]/,
  );
});

Deno.test("--pairs: the official JSON format, and one clear error per kind of bad file", () => {
  const pairs = parseReversalPairs(
    '[{"first": "床前明月光", "second": "疑是地上霜", "source": "静夜思"}, {"first": "a", "second": "b"}]',
    "p.json",
  );
  assert.deepEqual(pairs, [
    { first: "床前明月光", second: "疑是地上霜", source: "静夜思" },
    { first: "a", second: "b", source: "" },
  ]);
  const bad: [string, RegExp][] = [
    ["{not json", /^--pairs p\.json: is not JSON \(.*\); give a JSON list of/],
    ['{"first": "a"}', /^--pairs p\.json: is not a JSON list; give/],
    ["[]", /^--pairs p\.json: is an empty list; give/],
    ['[{"first": "a", "second": "b"}, 3]', /^--pairs p\.json, entry 1: is 3, not an object; give/],
    ['[{"first": "a"}]', /^--pairs p\.json, entry 0: has no non-empty string "second"; give/],
    ['[{"first": " ", "second": "b"}]', /^--pairs p\.json, entry 0: has no non-empty string "first"/],
    ['[{"first": "a", "second": "b", "source": 7}]', /entry 0: has a "source" that is not a string/],
  ];
  for (const [text, message] of bad) {
    assert.throws(
      () => parseReversalPairs(text, "p.json"),
      (e: Error) => e instanceof InputError && message.test(e.message),
    );
  }
});

Deno.test("packWhole never cuts a document across rows", () => {
  const rows = packWhole([[7, 8], [9, 10], [11, 12, 13], [14]], 6, 1);
  assert.equal(rows.rows, 2);
  assert.deepEqual([...rows.tokens], [7, 8, 1, 9, 10, 1, 11, 12, 13, 1, 14, 1]);
  assert.throws(
    () => packWhole([[1, 2, 3, 4, 5, 6]], 6, 1),
    /document 0 has 6 tokens, more than a row of 6 holds/,
  );
});

Deno.test("poems: test couplets in simplified characters, their poems and others pre-trained, the others' couplets tuned", async () => {
  const drawn = await poemReversalTask({ testCount: 2, otherPoems: 200, seed: 0 });
  assert.equal(drawn.test.length, 2);
  // Each test couplet's poem is pre-trained whole, and is not tuned.
  for (const p of drawn.test) {
    assert.ok(drawn.documents.some((d) => d.includes(`${p.first}，${p.second}`)), `${p.first} ${p.second}`);
    assert.ok(!drawn.tune.some((t) => t.first === p.first && t.second === p.second));
  }
  // The poems holding a test couplet (a couplet may stand in more than one poem) and 200 others.
  assert.ok(
    drawn.documents.length >= 2 + 200 && drawn.documents.length <= 10 + 200,
    `${drawn.documents.length}`,
  );
  assert.ok(drawn.tune.length >= 2 * 200 && drawn.tune.length <= 4 * 200);
  // Simplified: traditional forms common in Tang verse (無, 門, 雲, 風) are gone, their simplified forms are there.
  const text = drawn.documents.join("");
  assert.doesNotMatch(text, /[無門雲風]/);
  assert.match(text, /[无门云风]/);
  // A published list: punctuation is dropped for matching; a couplet no poem holds is pre-trained alone.
  const published = await poemReversalTask({
    pairs: [
      { first: drawn.test[0].first + "，", second: drawn.test[0].second + "。", source: "a" },
      { first: "甲乙丙丁戊", second: "己庚辛壬癸", source: "b" },
    ],
    testCount: 0,
    otherPoems: 3,
    seed: 0,
  });
  assert.deepEqual(published.test.map((p) => p.first), [drawn.test[0].first, "甲乙丙丁戊"]);
  assert.ok(published.documents.includes("甲乙丙丁戊，己庚辛壬癸。\n"));
  assert.match(published.description, /2 test couplets \(1 found in \d+ poems, 1 not in the corpus/);
  assert.equal(published.questions.forward("甲"), "甲的下一句是什么？");
});
