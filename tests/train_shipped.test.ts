/**
 * The shipped models' training script: a run started by `startRun` is an ordinary `llada train` run directory, so
 * `llada train --resume` continues it on the same Brown data with the shipped tokenizer and exports a model folder
 * whose config.json records the objective.
 */

import assert from "node:assert/strict";
import {
  maskPredictorPlan,
  readShippedTokenizer,
  readSittings,
  recordSitting,
  SHIPPED_RECIPE,
  startRun,
} from "../scripts/train_shipped.ts";
import { trainCommand } from "../src/cli/train.ts";
import { loadModel } from "../src/io/model_files.ts";
import { tokenizerFromJSON } from "../src/tokenizer/tokenizer.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { readRunState } from "../src/train/trainer.ts";
import { tinyShippedConfig } from "./tiny_model.ts";

Deno.test("a shipped run resumes with llada train --resume, exports a marked folder and hands on its plan", async () => {
  const dir = await Deno.makeTempDir();
  const tokenizer = await readShippedTokenizer();
  const config = tinyShippedConfig();
  const { result, parameters } = await startRun({
    model: "arm",
    config,
    tokenizer,
    runDir: dir,
    backend: "cpu",
  });
  assert.equal(result.status, "completed", result.message);
  assert.ok(result.evalBpc! > 0);
  assert.ok(parameters > 2 * tokenizer.vocabSize * 16);
  const state = await readRunState(dir);
  assert.equal(state!.settings.objective, "autoregressive");
  // The plan another run copies: the finished run's steps, warmup and decay.
  assert.deepEqual(await maskPredictorPlan(dir), { steps: 2, warmupSteps: 1, decaySteps: 0 });
  await assert.rejects(() => maskPredictorPlan(`${dir}/nothing`), /train the mask predictor first/);

  const code = await trainCommand([
    "--run-dir",
    dir,
    "--resume",
    "--steps",
    "3",
    "--export",
    `${dir}/export`,
    "--backend",
    "cpu",
  ]);
  assert.equal(code, 0);
  const exported = await loadModel(`${dir}/export`, { backend: new CpuBackend() });
  assert.equal(exported.causal, true);
  assert.equal(exported.config.vocab_size, tokenizer.vocabSize);
  // The recipe's initialisation scale and RoPE base reach the network (and its config.json).
  assert.equal(exported.config.init_std, SHIPPED_RECIPE.initStd);
  assert.equal(exported.config.rope_theta, SHIPPED_RECIPE.ropeTheta);
  const saved = tokenizerFromJSON(await Deno.readTextFile(`${dir}/export/tokenizer.json`));
  assert.deepEqual(saved.toJSON(), tokenizer.toJSON());
  // Resumed to 3 steps, the run is unfinished until it has trained them: its plan is not handed on before.
  assert.deepEqual((await maskPredictorPlan(dir)).steps, 3);
  const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(lines.map((l) => l.step), [1, 2, 3]);

  // Sittings: the three steps trained before any was recorded become one sitting read from the checkpoint; a
  // recorded sitting that trains adds the seconds the checkpoint's clock grew by.
  const elapsedAt3 = Number((await readRunState(dir))!.elapsed);
  assert.equal(await recordSitting(dir, () => Promise.resolve(0)), 0);
  const backfilled = await readSittings(`${dir}/sittings.jsonl`);
  assert.equal(backfilled.length, 1);
  assert.deepEqual([backfilled[0].began, backfilled[0].fromStep, backfilled[0].toStep], [null, 0, 3]);
  assert.ok(Math.abs(backfilled[0].trainingSeconds - elapsedAt3) < 0.01);
  const code4 = await recordSitting(
    dir,
    () => trainCommand(["--run-dir", dir, "--resume", "--steps", "4", "--backend", "cpu"]),
  );
  assert.equal(code4, 0);
  const sittings = await readSittings(`${dir}/sittings.jsonl`);
  assert.equal(sittings.length, 2);
  assert.deepEqual([sittings[1].fromStep, sittings[1].toStep], [3, 4]);
  assert.ok(sittings[1].began !== null && sittings[1].began <= sittings[1].ended);
  const total = sittings.reduce((n, s) => n + s.trainingSeconds, 0);
  assert.ok(Math.abs(total - Number((await readRunState(dir))!.elapsed)) < 0.02, String(total));
  await Deno.remove(dir, { recursive: true });
});
