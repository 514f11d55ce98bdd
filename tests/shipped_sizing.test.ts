/**
 * The sizing report's record of a run directory (`sizing:shipped --from-run`): a recipe tried at full length is
 * recorded from its checkpoint and metrics, with the token unigram baseline beside its bound.
 */

import assert from "node:assert/strict";
import { recordFromRun, sizingMarkdown } from "../scripts/shipped_sizing.ts";
import { readShippedTokenizer, SHIPPED_RECIPE, startRun } from "../scripts/train_shipped.ts";
import { tinyShippedConfig } from "./tiny_model.ts";

Deno.test("sizing:shipped --from-run records a run's network, plan, tokens, last bound and token unigram", async () => {
  const dir = await Deno.makeTempDir();
  const tokenizer = await readShippedTokenizer();
  const config = tinyShippedConfig({ steps: 3, initStd: 0.25, checkpointEvery: 0 });
  const { result, parameters } = await startRun({
    model: "mdm",
    config,
    tokenizer,
    runDir: dir,
    backend: "cpu",
  });
  assert.equal(result.status, "completed", result.message);
  const entry = await recordFromRun(dir, "probe");
  assert.equal(entry.model, "mdm");
  assert.equal(entry.parameters, parameters);
  assert.equal(entry.tokens, 3 * 2 * 16);
  assert.equal(entry.config.initStd, 0.25);
  assert.equal(entry.config.ropeTheta, SHIPPED_RECIPE.ropeTheta);
  assert.equal(entry.heldOutBitsPerChar, result.evalBpc);
  // A few steps from scratch: the bound is far above the token unigram, which is a finite positive figure.
  assert.ok(entry.tokenUnigramBitsPerChar! > 0 && entry.tokenUnigramBitsPerChar! < entry.heldOutBitsPerChar);
  assert.deepEqual(entry.loadAverage, [null, null]); // a run without sittings.jsonl
  const md = sizingMarkdown([entry]);
  assert.match(md, /\| probe \| mdm \| 16 × 1 \(2, 16\) \| 16 × 2 \| 0\.003 \| 0\.25, 10,000 \|/);
  assert.match(md, /--from-run .* --name probe/);
  await assert.rejects(() => recordFromRun(`${dir}/nothing`, "x"), /NotFound|No such file/);
  await Deno.remove(dir, { recursive: true });
});
