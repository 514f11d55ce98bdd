/**
 * The denoising grid (`src/viz/denoising_grid.ts`): one row per step, a committed cell carrying the step and
 * confidence that committed it (as text, not only as shade), the current block outlined, text escaped.
 */

import assert from "node:assert/strict";
import {
  denoisingGridHtml,
  escapeHtml,
  type GridStep,
  gridStep,
  initialGridStep,
} from "../src/viz/denoising_grid.ts";
import { CharTokenizer } from "../src/tokenizer/char.ts";
import { sample } from "../src/llada/strategies.ts";
import { HashModel } from "./llada_fakes.ts";

const tokenizer = CharTokenizer.fromTexts('ab<&"');

/** The cells (`<td …>…</td>`) of each row of the grid. */
function cells(html: string): string[][] {
  return [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<td[^>]*>.*?<\/td>/g)].map((m) => m[0])
  );
}

Deno.test("a sampled trace draws one row per step; each committed cell keeps its step and confidence", async () => {
  const prompt = tokenizer.encode("ab");
  const genLength = 6;
  const steps: GridStep[] = [initialGridStep(prompt, genLength, tokenizer.maskId)];
  await sample(new HashModel(tokenizer.vocabSize, { fixed: [{ id: tokenizer.maskId, logit: -50 }] }), [
    prompt,
  ], {
    genLength,
    steps: 6,
    blockLength: 3,
    maskId: tokenizer.maskId,
    onStep: (state) => void steps.push(gridStep(state)),
  });
  assert.equal(steps.length, 7);
  const html = denoisingGridHtml(steps, { tokenizer, promptLength: prompt.length, blockLength: 3 });
  const rows = cells(html);
  assert.equal(rows.length, 7);
  assert.ok(rows.every((r) => r.length === genLength), "answer positions only");
  assert.ok(rows[0].every((c) => c.includes('class="masked"')), "the start is all masks, no block yet");
  for (let s = 1; s < steps.length; s++) {
    const [i] = steps[s].committed;
    const cell = rows[s][i - prompt.length];
    const confidence = steps[s].confidence[i].toFixed(3);
    assert.match(cell, /class="[^"]*\bnew\b/, `step ${s}: the committed cell is marked new`);
    assert.ok(cell.includes(`committed at NFE ${s}, confidence ${confidence}`), cell);
    // The cell keeps its step and confidence in every later row, no longer marked new.
    const later = rows.at(-1)![i - prompt.length];
    assert.ok(later.includes(`committed at NFE ${s}, confidence ${confidence}`), later);
    if (s < steps.length - 1) assert.doesNotMatch(later, /\bnew\b/);
    // Steps 1–3 decode the first block (positions 0–2), steps 4–6 the second.
    const outlined = rows[s].map((c) => /\bblk\b/.test(c));
    assert.deepEqual(
      outlined,
      s <= 3 ? [true, true, true, false, false, false] : [false, false, false, true, true, true],
    );
    assert.match(rows[s][s <= 3 ? 0 : 3], /blk-first/);
    assert.match(rows[s][s <= 3 ? 2 : 5], /blk-last/);
  }
  assert.equal(
    cells(denoisingGridHtml(steps, { tokenizer, promptLength: 2, blockLength: 3, rows: 3 })).length,
    3,
  );
});

Deno.test("token text and captions are escaped, and a committed cell's shade follows its confidence", () => {
  const [lt, amp, quote] = tokenizer.encode('<&"');
  const M = tokenizer.maskId;
  const steps: GridStep[] = [
    initialGridStep([], 3, M),
    { nfe: 1, block: 0, tokens: [lt, amp, M], committed: [0, 1], confidence: [0.9, 0.1, -Infinity] },
    { nfe: 2, block: 0, tokens: [lt, amp, quote], committed: [2], confidence: [-Infinity, -Infinity, 2] },
  ];
  const html = denoisingGridHtml(steps, { tokenizer, promptLength: 0, blockLength: 3, caption: "<b>" });
  assert.ok(!html.includes("<b>") && html.includes(escapeHtml("<b>")));
  const last = cells(html)[2];
  assert.ok(
    last[0].includes(">&#60;</td>") && last[1].includes(">&#38;</td>") && last[2].includes(">&#34;</td>"),
  );
  const alpha = (cell: string) => Number(cell.match(/rgba\(37, 99, 235, ([\d.]+)\)/)![1]);
  assert.equal(alpha(last[0]), 0.69);
  assert.equal(alpha(last[1]), 0.21);
  assert.equal(alpha(last[2]), 0.75, "a confidence above 1 is shaded as 1");
  assert.ok(last[2].includes("confidence 2.000"), "its exact value is in the tooltip");
});
