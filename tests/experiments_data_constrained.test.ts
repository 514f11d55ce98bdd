/**
 * The data-constrained sweep: steps per epoch count, which cells are pending, the crossover, and a tiny sweep from
 * the command line that resumes without running a finished cell again.
 */

import assert from "node:assert/strict";
import {
  type Cell,
  DATA_CONSTRAINED_SETTINGS,
  pendingCells,
  readCells,
  runCell,
  stepsFor,
  summariseSweep,
  sweepData,
  sweepMarkdown,
} from "../src/experiments/data_constrained.ts";
import { CpuBackend } from "../src/backend/cpu.ts";

const ENV = { NO_COLOR: "1", LLADA_BACKEND: "cpu" };
const cli = new URL("../src/cli.ts", import.meta.url).pathname;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

const settings = DATA_CONSTRAINED_SETTINGS;
const cell = (model: "mdm" | "arm", epochs: number, bpc: number): Cell => ({
  model,
  epochs,
  steps: epochs * 10,
  bpc,
  std_err: 0.01,
  train_loss: 1,
  seconds: 1,
  settings,
});

Deno.test("stepsFor: every row seen `epochs` times, in whole batches", () => {
  assert.equal(stepsFor(1, 40, 8), 5);
  assert.equal(stepsFor(4, 41, 8), 21);
  assert.equal(stepsFor(64, 3, 8), 24);
  assert.equal(stepsFor(1, 1, 8), 1);
});

Deno.test("pendingCells skips finished cells; readCells keeps only cells of the same settings", async () => {
  const done = [cell("mdm", 1, 3), cell("arm", 4, 3)];
  assert.deepEqual(pendingCells(done, [1, 4]), [{ model: "arm", epochs: 1 }, { model: "mdm", epochs: 4 }]);
  assert.equal(pendingCells(done).length, 6);
  const dir = await Deno.makeTempDir();
  const path = `${dir}/cells.jsonl`;
  assert.deepEqual(await readCells(path, settings), []);
  const other = { ...cell("arm", 1, 2), settings: { ...settings, trainChars: 5 } };
  await Deno.writeTextFile(path, [...done, other].map((c) => JSON.stringify(c)).join("\n") + "\n");
  assert.deepEqual(await readCells(path, settings), done);
  await Deno.writeTextFile(path, "{oops\n", { append: true });
  await assert.rejects(() => readCells(path, settings), /cells\.jsonl:4: not a JSON line/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("summariseSweep: the crossover is the fewest epochs where the mask predictor overtakes the twin", () => {
  const meta = { settings, data: "d", command: "c" };
  const cross = summariseSweep([
    cell("mdm", 1, 3.0),
    cell("arm", 1, 2.5),
    cell("mdm", 4, 2.6),
    cell("arm", 4, 2.55),
    cell("mdm", 16, 2.4),
    cell("arm", 16, 2.7),
    cell("mdm", 64, 2.3),
    cell("arm", 64, 3.1),
  ], meta);
  assert.equal(cross.crossover, 16);
  assert.ok(cross.complete);
  assert.match(sweepMarkdown(cross), /drops below it from 16 epochs on/);
  const never = summariseSweep([cell("mdm", 1, 3), cell("arm", 1, 2)], meta);
  assert.equal(never.crossover, null);
  assert.equal(never.complete, false);
  assert.deepEqual(never.epochs[1], {
    epochs: 4,
    steps: null,
    mdm: null,
    arm: null,
    mdm_std_err: null,
    arm_std_err: null,
  });
  const md = sweepMarkdown(never);
  assert.match(md, /\| 4 \| – \| not run \| not run \|/);
  assert.match(md, /no crossover at this scale/);
  assert.match(md, /not complete: rerun the command/);
});

Deno.test("runCell trains a fresh model of either kind and scores the same held-out set", async () => {
  const texts = Array.from(
    { length: 20 },
    (_, i) => `the cat ${i} sat on the mat and the dog ran. `.repeat(3),
  );
  const tiny = {
    ...settings,
    trainChars: 600,
    evalWindows: 4,
    evalSamples: 2,
    shape: { d_model: 16, n_layers: 1, n_heads: 1, mlp_hidden_size: 32 },
    seqLength: 32,
  };
  const data = await sweepData(tiny, texts);
  assert.match(
    data.description,
    /cut to 600 characters \(\d+ rows of 32\); 4 held-out windows from 2 documents/,
  );
  const backend = new CpuBackend();
  const workDir = await Deno.makeTempDir();
  for (const model of ["mdm", "arm"] as const) {
    const c = await runCell(model, 2, data, tiny, { backend, workDir });
    assert.equal(c.steps, stepsFor(2, data.rows.rows, tiny.batchSize));
    assert.ok(c.bpc > 0 && c.bpc < 20, `${model}: ${c.bpc}`);
    assert.equal(c.model, model);
  }
  await Deno.remove(workDir, { recursive: true });
});

Deno.test("data-constrained from the command line: writes its results, and a rerun skips finished cells", async () => {
  const out = await Deno.makeTempDir();
  const args = [
    "run",
    "-A",
    cli,
    "data-constrained",
    "--train-chars",
    "300",
    "--epochs",
    "1",
    "--eval-windows",
    "2",
  ];
  const run = () =>
    new Deno.Command(Deno.execPath(), {
      args: [...args, "--out", out],
      stdout: "piped",
      stderr: "piped",
      env: ENV,
    })
      .output();
  const first = await run();
  assert.equal(first.code, 0, decode(first.stderr));
  assert.match(decode(first.stderr), /0 cells done before, 2 to run/);
  const summary = JSON.parse(await Deno.readTextFile(`${out}/data_constrained.json`));
  assert.equal(summary.epochs[0].epochs, 1);
  assert.ok(summary.epochs[0].mdm > 0 && summary.epochs[0].arm > 0);
  assert.equal(summary.complete, false);
  const again = await run();
  assert.equal(again.code, 0, decode(again.stderr));
  assert.match(decode(again.stderr), /2 cells done before, 0 to run/);
  const lines = (await Deno.readTextFile(`${out}/data_constrained.cells.jsonl`)).trim().split("\n");
  assert.equal(lines.length, 2);
  assert.match(
    await Deno.readTextFile(`${out}/data_constrained.md`),
    /\| 1 \| \d+ \| \d\.\d{3} ± \d\.\d{3} \|/,
  );
  await Deno.remove(out, { recursive: true });
});
