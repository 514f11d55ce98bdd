/** Progress reporting: plain lines for logs, a redrawn bar on a terminal. */

import assert from "node:assert/strict";
import { createProgress, formatDuration } from "../src/train/progress.ts";

Deno.test("formatDuration", () => {
  assert.equal(formatDuration(7.4), "7s");
  assert.equal(formatDuration(245.3), "4m05s");
  assert.equal(formatDuration(3725), "1h02m");
  assert.equal(formatDuration(NaN), "?");
});

Deno.test("plain mode prints a line every logEvery steps and at the end, messages on their own lines", () => {
  let out = "";
  const p = createProgress({ terminal: false, logEvery: 2, write: (t) => (out += t) });
  p.start(5, 0);
  for (let step = 1; step <= 5; step++) {
    p.update({ step, loss: 3 - step / 10, tokensPerS: 1000, lr: 1e-3 });
    if (step === 3) p.message("step 3: held-out bound 4.0000 bits/char");
  }
  p.finish();
  const lines = out.trimEnd().split("\n");
  assert.equal(lines.length, 4, out);
  assert.ok(lines[0].startsWith("step 2/5  loss 2.800  1000 tok/s  lr 1.0e-3  eta "), lines[0]);
  assert.equal(lines[1], "step 3: held-out bound 4.0000 bits/char");
  assert.ok(lines[2].startsWith("step 4/5  loss 2.600"), lines[2]);
  assert.ok(lines[3].startsWith("step 5/5  loss 2.500") && lines[3].endsWith("eta 0s"), lines[3]);
  assert.doesNotMatch(out, /\r/);
});

Deno.test("terminal mode redraws one bar in place and keeps messages above it", () => {
  let out = "";
  const p = createProgress({ terminal: true, barWidth: 10, write: (t) => (out += t) });
  p.start(4, 2);
  p.update({ step: 3, loss: 2, tokensPerS: 500, lr: 2e-3 });
  p.message("saved");
  p.update({ step: 4, loss: 1.5, tokensPerS: 600, lr: 1e-3 });
  p.finish();
  assert.ok(out.startsWith("resuming at step 2/4\n"), out);
  const redraw = "\r\x1b[2K";
  assert.ok(out.includes(`${redraw}[████████░░] 3/4  loss 2.000  500 tok/s`), JSON.stringify(out));
  // The message clears the bar first, then the bar is drawn again, full.
  assert.ok(out.includes(`${redraw}saved\n${redraw}[██████████] 4/4  loss 1.500`), JSON.stringify(out));
  assert.ok(out.endsWith("\n"));
});
