/** Token strips: one cell per token, masks and prompt marked in the markup (not only by colour), text escaped. */

import assert from "node:assert/strict";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import { stripCells, tokenStripHtml } from "../src/viz/token_strip.ts";

const tokenizer = CharTokenizer.fromTexts('ab<&"');

Deno.test("stripCells marks the mask id as masked and the first promptLength positions as prompt", () => {
  const ids = [...tokenizer.encode("ab"), tokenizer.maskId, ...tokenizer.encode("a")];
  const cells = stripCells(tokenizer, ids, { promptLength: 1 });
  assert.deepEqual(cells.map((c) => c.text), ["a", "b", "▒", "a"]);
  assert.deepEqual(cells.map((c) => c.masked), [false, false, true, false]);
  assert.deepEqual(cells.map((c) => c.prompt), [true, false, false, false]);
});

Deno.test("tokenStripHtml draws one row per strip and one cell per token, saying which are masked", () => {
  const rows = [
    { label: "t = 0.25", cells: stripCells(tokenizer, [...tokenizer.encode("ab"), tokenizer.maskId]) },
    {
      label: "t = 0.75",
      cells: stripCells(tokenizer, [tokenizer.maskId, tokenizer.maskId, tokenizer.maskId]),
    },
  ];
  const html = tokenStripHtml(rows, { caption: "masking" });
  const tableRows = [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => m[1]);
  assert.equal(tableRows.length, 2);
  assert.deepEqual(tableRows.map((r) => (r.match(/<td /g) ?? []).length), [3, 3]);
  assert.deepEqual(
    tableRows.map((r) => (r.match(/: masked"/g) ?? []).length),
    [1, 3],
    "one title per masked cell",
  );
  assert.ok(html.includes(">t = 0.25</th>") && html.includes("<caption"));
});

Deno.test("tokenStripHtml escapes token text and labels", () => {
  const html = tokenStripHtml([
    { label: "<script>", cells: stripCells(tokenizer, tokenizer.encode('<&"'), { promptLength: 1 }) },
  ], { caption: "a & b" });
  assert.ok(!html.includes("<script>"), "the label leaked as markup");
  assert.ok(html.includes(">&#60;</td>") && html.includes(">&#38;</td>") && html.includes(">&#34;</td>"));
  assert.ok(html.includes('title="0: prompt &#60;"'));
  assert.ok(html.includes("a &#38; b"));
});
