import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import { configFromJSON } from "../src/model/config.ts";
import { saveModel } from "../src/io/model_files.ts";
import {
  generativePerplexity,
  innerWords,
  type LabCell,
  reading,
  runLab,
  tokenEntropy,
  words,
} from "../src/experiments/sampling_lab.ts";
import { STRATEGIES } from "../src/llada/strategies.ts";
import { logSoftmax } from "./llada_fakes.ts";

Deno.test("lab metrics: words, whole generated words, token entropy, generative perplexity by hand", async () => {
  assert.deepEqual(words("The jury's 3 men"), ["the", "jury", "s", "men"]);
  // "ry" continues the prompt's "ju"; "wen" may be cut by the end of the generation
  assert.deepEqual(innerWords("the ju", "ry said it wen"), ["said", "it"]);
  assert.deepEqual(innerWords("the ", "jury said."), ["jury", "said"]);
  assert.equal(tokenEntropy([1, 1, 2, 2]), 1);
  assert.equal(tokenEntropy([5, 5, 5]), 0);
  assert.equal(tokenEntropy([]), null);
  const twin = await createModel({
    d_model: 8,
    n_layers: 1,
    n_heads: 2,
    mlp_hidden_size: 8,
    vocab_size: 6,
    max_sequence_length: 8,
    mask_token_id: 0,
    eos_token_id: 1,
    init_std: 0.5,
  }, { seed: 2, backend: new CpuBackend(), causal: true });
  const rows = [[2, 3, 4, 5], [3, 3, 2]];
  const ppl = await generativePerplexity(twin, rows, [2, 1]);
  let nll = 0;
  let n = 0;
  for (const [r, row] of rows.entries()) {
    const logits = await twin.logits(Int32Array.from(row), 1, row.length);
    for (let t = [2, 1][r]; t < row.length; t++) {
      nll -= logSoftmax(logits.subarray((t - 1) * 6, t * 6), row[t]);
      n++;
    }
  }
  assert.ok(Math.abs(ppl - Math.exp(nll / n)) < 1e-3, `${ppl} vs ${Math.exp(nll / n)}`);
});

Deno.test("deno task lab --quick: writes sampling.json in the issue's shape and sampling.md with the command and plots", async () => {
  const outDir = await Deno.makeTempDir();
  try {
    // A twin of the shipped model's shape (fresh weights) exercises generative perplexity and the twin's cells.
    const shape = configFromJSON(await Deno.readTextFile("models/brown-char/config.json"));
    const twinDir = `${outDir}/twin`;
    await saveModel(twinDir, await createModel(shape, { seed: 1, backend: new CpuBackend(), causal: true }));
    const command = `npx -y deno@2.9.6 task lab --quick --twin ${twinDir}`;
    await runLab({
      quick: true,
      outDir,
      model: "models/brown-char",
      twin: twinDir,
      backend: new CpuBackend(),
      seed: 0,
      command,
    });
    const json = JSON.parse(await Deno.readTextFile(`${outDir}/sampling.json`));
    assert.deepEqual(Object.keys(json), ["command", "cells"]);
    assert.equal(json.command, command);
    const keys = [
      "task",
      "strategy",
      "steps",
      "block_length",
      "gen_length",
      "threshold",
      "factor",
      "cache",
      "backend",
      "accuracy",
      "gen_ppl",
      "word_validity",
      "entropy",
      "nfe",
      "nfe_per_sequence",
      "tokens_per_s",
    ];
    const cells = json.cells as LabCell[];
    assert.ok(cells.some((c) => c.task === "synthetic") && cells.some((c) => c.task === "brown"));
    const strategies = [...STRATEGIES, "remdm", "autoregressive"] as string[];
    for (const c of cells) {
      assert.deepEqual(Object.keys(c), keys);
      assert.ok(strategies.includes(c.strategy), c.strategy);
      assert.ok(["none", "prefix", "dual"].includes(c.cache));
      assert.equal(c.backend, "cpu");
      assert.ok(Number.isInteger(c.nfe) && c.nfe >= 1 && c.tokens_per_s > 0);
      // a fixed schedule spends at most its steps; a parallel rule at most one evaluation per token
      assert.ok(c.nfe <= (c.steps ?? c.gen_length), `NFE ${c.nfe} for ${JSON.stringify(c)}`);
      // a sequence alone never costs more than the batch that waits for its slowest rows
      assert.ok(c.nfe_per_sequence! >= 1 && c.nfe_per_sequence! <= c.nfe, JSON.stringify(c));
      assert.ok((c.threshold === null) || (c.steps === null && c.factor === null));
      if (c.task === "synthetic") {
        assert.ok(c.accuracy! >= 0 && c.accuracy! <= 1);
        assert.equal(c.word_validity, null);
        assert.equal(c.gen_ppl, null);
      } else {
        assert.ok(c.word_validity! >= 0 && c.word_validity! <= 1 && c.entropy! > 0);
        assert.equal(c.accuracy, null);
        assert.ok(c.gen_ppl! > 1, `gen_ppl ${c.gen_ppl}`);
      }
    }
    // the twin's own continuations: greedy and nucleus, one evaluation per token
    const twinCells = cells.filter((c) => c.strategy === "autoregressive");
    assert.equal(twinCells.length, 2);
    assert.ok(twinCells.every((c) => c.nfe === c.gen_length));
    // the shipped model writes mostly real words when given its full schedule
    const full = cells.find((c) => c.task === "brown" && c.steps === c.gen_length && c.cache === "none")!;
    assert.ok(full.word_validity! > 0.5, `word validity ${full.word_validity}`);
    const md = await Deno.readTextFile(`${outDir}/sampling.md`);
    assert.ok(md.includes(command));
    assert.equal(md.match(/<svg /g)?.length, 2);
    assert.ok(md.includes("## Findings") && md.includes("## Reading"));
    assert.match(
      md,
      /The synthetic task's model: 60 SFT steps; mean training loss over the last 50 steps \d/,
    );

    // --task synthetic reruns the synthetic cells and keeps the Brown ones; the command lists both runs.
    const rerun = "npx -y deno@2.9.6 task lab --quick --task synthetic";
    const again = await runLab({
      quick: true,
      task: "synthetic",
      outDir,
      model: "models/brown-char",
      backend: new CpuBackend(),
      seed: 0,
      command: rerun,
    });
    assert.equal(again.command, `${command} && ${rerun}`);
    const strip = (cs: LabCell[]) => cs.map(({ tokens_per_s: _, ...rest }) => rest);
    assert.deepEqual(strip(again.cells), strip(cells)); // same seed: the same cells, timings aside
    assert.deepEqual(again.cells.filter((c) => c.task === "brown"), cells.filter((c) => c.task === "brown"));
    assert.match(
      await Deno.readTextFile(`${outDir}/sampling.md`),
      /the last command reran the synthetic cells/,
    );
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("deno task lab --task synthetic without earlier results says to run the whole lab first", async () => {
  const outDir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () =>
        runLab({
          quick: true,
          task: "synthetic",
          outDir,
          model: "models/brown-char",
          backend: new CpuBackend(),
          seed: 0,
          command: "lab",
        }),
      /--task: synthetic reruns one task .*; run the whole lab first/,
    );
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("the committed sampling.md's reading is what reading() writes from the committed cells", async () => {
  const root = new URL("../docs/results/", import.meta.url);
  const cells = JSON.parse(await Deno.readTextFile(new URL("sampling.json", root))).cells;
  const md = await Deno.readTextFile(new URL("sampling.md", root));
  const section = md.slice(md.indexOf("## Reading\n\n") + "## Reading\n\n".length).trimEnd();
  assert.equal(section, reading(cells, false).join("\n"));
});
