/**
 * The reversal experiment: the scorer on hand-made answers, `--pairs` and `--seeds` mistakes, and the synthetic
 * preset end to end from the command line with a few training steps (its JSON shape and its Markdown).
 */

import assert from "node:assert/strict";
import {
  REVERSAL_PRESETS,
  scoreAnswer,
  scoreAnswers,
  type SeedResult,
  summarise,
  writeReversalResults,
} from "../src/experiments/reversal.ts";
import { syntheticReversalTask } from "../src/data/reversal.ts";
import { parseSeeds } from "../src/experiments/reversal_cli.ts";
import type { ReversalQuestion } from "../src/data/reversal.ts";

const ENV = { NO_COLOR: "1", LLADA_BACKEND: "cpu" };
const cli = new URL("../src/cli.ts", import.meta.url).pathname;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function llada(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).output();
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("the scorer: the expected half occurs in the answer (eval_reverse.py), and exact match", () => {
  assert.deepEqual(scoreAnswer("疑是地上霜", "疑是地上霜"), { contains: true, exact: true });
  assert.deepEqual(scoreAnswer("是疑是地上霜。", "疑是地上霜"), { contains: true, exact: false });
  assert.deepEqual(scoreAnswer(" Heve ", "Heve"), { contains: true, exact: true });
  assert.deepEqual(scoreAnswer("Hev", "Heve"), { contains: false, exact: false });
  assert.deepEqual(scoreAnswer("", "Heve"), { contains: false, exact: false });
  const q = (direction: "forward" | "reversal", expected: string): ReversalQuestion => ({
    direction,
    prompt: "?",
    expected,
  });
  const questions = [q("forward", "ab"), q("forward", "cd"), q("reversal", "ef"), q("reversal", "gh")];
  // Forward: one exact, one contained; reversal: one contained, one wrong.
  assert.deepEqual(scoreAnswers(questions, ["ab", "xcdx", "efg", "g"]), {
    forward: 1,
    reversal: 0.5,
    forward_exact: 0.5,
    reversal_exact: 0,
  });
});

Deno.test("--seeds takes comma-separated integers", () => {
  assert.deepEqual(parseSeeds("0, 1,2"), [0, 1, 2]);
  assert.throws(() => parseSeeds("0,x"), /--seeds "0,x": expected comma-separated non-negative integers/);
  assert.throws(() => parseSeeds("1,1"), /a seed is given twice/);
});

Deno.test("reversal: a bad --pairs file or --pairs without the poems preset is one error line, exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.json`, '[{"first": "床前明月光"}]');
  const bad = await llada(["reversal", "--preset", "poems", "--pairs", `${dir}/bad.json`, "--out", dir]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(
    bad.stderr,
    /^error: --pairs .*bad\.json, entry 0: has no non-empty string "second"; give a JSON list/m,
  );
  const missing = await llada(["reversal", "--preset", "poems", "--pairs", `${dir}/none.json`]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: --pairs .*none\.json: cannot be read/m);
  const wrong = await llada(["reversal", "--preset", "synthetic", "--pairs", `${dir}/bad.json`]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--pairs gives test couplets of the poems preset; use it with --preset poems/);
  const none = await llada(["reversal"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--preset is required: one of synthetic, poems/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reversal --preset synthetic end to end (2 seeds, a few steps): the results' shape and the report", async () => {
  const out = await Deno.makeTempDir();
  const run = await llada([
    "reversal",
    "--preset",
    "synthetic",
    "--seeds",
    "0,1",
    "--pretrain-steps",
    "3",
    "--tune-steps",
    "2",
    "--out",
    out,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /synthetic: 24 invented facts, 18 tuned, 6 tested/);
  const results = JSON.parse(await Deno.readTextFile(`${out}/reversal.json`));
  assert.deepEqual(Object.keys(results), ["synthetic"]);
  const s = results.synthetic;
  assert.deepEqual(s.seeds, [0, 1]);
  for (const model of ["mdm", "arm"]) {
    for (const key of ["forward", "reversal", "forward_exact", "reversal_exact"]) {
      const perSeed = s[model].per_seed.map((p: Record<string, number>) => p[key]);
      assert.equal(perSeed.length, 2);
      for (const v of [s[model][key], ...perSeed]) assert.ok(v >= 0 && v <= 1, `${model}.${key} = ${v}`);
      // The headline number is the mean over the seeds.
      assert.ok(Math.abs(s[model][key] - (perSeed[0] + perSeed[1]) / 2) < 1e-4);
    }
  }
  assert.equal(s.setting.test_questions_per_direction, 6);
  assert.equal(s.setting.scale.pretrain.steps, 3);
  assert.match(s.command, /^deno task llada reversal --preset synthetic --seeds 0,1 --pretrain-steps 3/);
  assert.equal(s.examples.length, 6);
  // stdout: the headline numbers as one JSON line.
  assert.deepEqual(Object.keys(JSON.parse(run.stdout).synthetic), ["mdm", "arm", "seeds"]);
  const md = await Deno.readTextFile(`${out}/reversal.md`);
  assert.match(md, /\| GPT-4o \(2024-08-06\) \| 82\.7 \| 34\.3 \|/);
  assert.match(md, /\| LLaDA-8B-Instruct \| 51\.8 \| 45\.6 \|/);
  assert.match(md, /## Ours: synthetic/);
  assert.match(md, /\| mask predictor \(LLaDA\) \| \d+\.\d ± \d+\.\d \|/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("writeReversalResults keeps the other presets' entries and reports them all", async () => {
  const out = await Deno.makeTempDir();
  const task = syntheticReversalTask({ count: 4, testCount: 2, seed: 0 });
  const scores = (f: number, r: number) => ({
    forward: f,
    reversal: r,
    forward_exact: f / 2,
    reversal_exact: 0,
  });
  const seed = (s: number, mdm: number, arm: number): SeedResult => ({
    seed: s,
    mdm: scores(0.5, mdm),
    arm: scores(1, arm),
    tuned: { mdm: scores(1, 1), arm: scores(1, 0.5) },
    seconds: { mdm: 1, arm: 1 },
    examples: [],
  });
  const scale = REVERSAL_PRESETS.synthetic.scale;
  const meta = { command: "x", task, scale, genLength: 20 };
  await writeReversalResults(out, "synthetic", summarise([seed(0, 0.5, 0), seed(1, 0, 0)], meta));
  await writeReversalResults(out, "poems", summarise([seed(3, 1, 0.5)], meta));
  const all = JSON.parse(await Deno.readTextFile(`${out}/reversal.json`));
  assert.deepEqual(Object.keys(all), ["poems", "synthetic"]);
  assert.equal(all.synthetic.mdm.reversal, 0.25);
  assert.equal(all.synthetic.mdm.std.reversal, 0.3536);
  assert.deepEqual(all.synthetic.arm.per_seed[1], scores(1, 0));
  assert.deepEqual(all.poems.seeds, [3]);
  assert.deepEqual(all.synthetic.arm.tuned, scores(1, 0.5));
  const md = await Deno.readTextFile(`${out}/reversal.md`);
  assert.match(md, /## Ours: poems[\s\S]*## Ours: synthetic/);
  assert.match(md, /\| 0 \| 50\.0 \/ 50\.0 \| 100\.0 \/ 0\.0 \|/);
  assert.match(md, /forward − reversal gap is 25\.0 points; the twin's is 100\.0/);
  await Deno.remove(out, { recursive: true });
});
