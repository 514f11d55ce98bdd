/** The notebooks' printer: lines are buffered and shown as one message, then the buffer starts empty again. */

import assert from "node:assert/strict";
import { notebookPrinter } from "../src/viz/notebook.ts";

Deno.test("print buffers lines, show displays them as one message and empties the buffer", async () => {
  const shown: string[] = [];
  const { print, show } = notebookPrinter({
    display: (text) => {
      shown.push(text);
      return Promise.resolve();
    },
    pauseMs: 0,
  });
  print("loss", 2.5, [1, 2]);
  print("done");
  assert.deepEqual(shown, []);
  await show();
  assert.deepEqual(shown, ["loss 2.5 1,2\ndone"]);
  print("next");
  await show();
  assert.deepEqual(shown, ["loss 2.5 1,2\ndone", "next"]);
});
