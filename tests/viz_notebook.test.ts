/**
 * The notebooks' printer: lines are buffered and shown as one text message; HTML and SVG go out with their own
 * MIME type, after any lines printed before them.
 */

import assert from "node:assert/strict";
import { type Bundle, notebookPrinter } from "../src/viz/notebook.ts";

/** A printer that records what it displays. */
function recording() {
  const shown: Bundle[] = [];
  const printer = notebookPrinter({
    display: (bundle) => {
      shown.push(bundle);
      return Promise.resolve();
    },
    pauseMs: 0,
  });
  return { shown, ...printer };
}

Deno.test("print buffers lines, show displays them as one message and empties the buffer", async () => {
  const { shown, print, show } = recording();
  print("loss", 2.5, [1, 2]);
  print("done");
  assert.deepEqual(shown, []);
  await show();
  assert.deepEqual(shown, [{ "text/plain": "loss 2.5 1,2\ndone" }]);
  print("next");
  await show();
  assert.deepEqual(shown, [{ "text/plain": "loss 2.5 1,2\ndone" }, { "text/plain": "next" }]);
});

Deno.test("html and svg send their markup with its MIME type, after the lines printed before them", async () => {
  const { shown, print, html, svg } = recording();
  print("a chart:");
  await svg("<svg></svg>");
  await html("<table></table>");
  assert.deepEqual(shown, [
    { "text/plain": "a chart:" },
    { "image/svg+xml": "<svg></svg>" },
    { "text/html": "<table></table>" },
  ]);
});
