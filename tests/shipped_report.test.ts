/**
 * The shipped models' report (`scripts/shipped_report.ts`): prompts from held-out sentences, word validity and the
 * entropy guard, the choice of `generation_config.json`, and the model cards, end to end on two tiny models (a
 * mask predictor and its twin) saved with the shipped tokenizer.
 */

import assert from "node:assert/strict";
import {
  bestCell,
  type CellResult,
  generationConfigOf,
  heldOutDocs,
  heldOutPrompts,
  hoursMinutes,
  readabilityGrid,
} from "../scripts/shipped_report.ts";
import { readShippedTokenizer } from "../scripts/train_shipped.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import { saveModel } from "../src/io/model_files.ts";
import { readGenerationConfig } from "../src/pretrained.ts";

Deno.test("held-out prompts: six words opening a held-out sentence, the document's text after them, seeded", async () => {
  const docs = await heldOutDocs();
  const prompts = heldOutPrompts(docs, 20, 0);
  assert.equal(prompts.length, 20);
  assert.equal(new Set(prompts.map((p) => p.prompt)).size, 20);
  for (const p of prompts) {
    assert.equal(p.prompt.trim().split(/\s+/).length, 6, p.prompt);
    assert.match(p.prompt, /^[A-Z]/);
    assert.ok(docs.some((d) => d.includes(p.prompt + p.continuation)), p.prompt);
    assert.ok(p.continuation.split(/\s+/).length >= 6);
  }
  assert.deepEqual(heldOutPrompts(docs, 20, 0), prompts);
  assert.notDeepEqual(heldOutPrompts(docs, 20, 1), prompts);
});

function cell(over: Partial<CellResult>): CellResult {
  return {
    model: "mdm",
    steps: 64,
    block_length: 16,
    temperature: 0,
    remasking: "low_confidence",
    word_validity: 0.5,
    words: 10,
    entropy: 4,
    qualifies: true,
    nfe: 64,
    examples: [],
    ...over,
  };
}

Deno.test("the chosen setting: the highest word validity among cells that keep the entropy floor", async () => {
  const a = cell({ word_validity: 0.9, qualifies: false });
  const b = cell({ word_validity: 0.7, block_length: 8 });
  const c = cell({ word_validity: 0.8, block_length: 64 });
  assert.equal(bestCell([a, b, c]), c);
  assert.equal(bestCell([a]), null);
  // Every grid cell becomes a generation_config.json that the loader accepts.
  const dir = await Deno.makeTempDir();
  try {
    for (const g of readabilityGrid(false)) {
      await Deno.writeTextFile(`${dir}/generation_config.json`, JSON.stringify(generationConfigOf(g)));
      const read = await readGenerationConfig(dir);
      assert.equal(read.temperature, g.temperature);
      if (g.model === "mdm") assert.deepEqual([read.steps, read.block_length], [g.steps, g.block_length]);
      else assert.equal(read.steps, undefined);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(hoursMinutes(9_700), "2 h 42 min");
  assert.equal(hoursMinutes(600), "10 min");
});

Deno.test("report:shipped end to end on two tiny models: cards, generation configs and results files", async () => {
  const tokenizer = await readShippedTokenizer();
  const backend = new CpuBackend();
  const root = await Deno.makeTempDir();
  try {
    for (const which of ["mdm", "arm"] as const) {
      const model = await createModel({
        d_model: 16,
        n_layers: 1,
        n_heads: 2,
        mlp_hidden_size: 16,
        vocab_size: tokenizer.vocabSize,
        max_sequence_length: 128,
        mask_token_id: tokenizer.maskId,
        eos_token_id: tokenizer.eosId,
        pad_token_id: tokenizer.padId,
      }, { seed: 1, backend, causal: which === "arm" });
      const dir = `${root}/brown-${which}`;
      await saveModel(dir, model, { extraFiles: { "tokenizer.json": JSON.stringify(tokenizer.toJSON()) } });
      await Deno.writeTextFile(
        `${dir}/training_metrics.jsonl`,
        '{"step":10,"loss":7.5}\n{"step":20,"loss":7.1,"eval_bpc":4.25}\n',
      );
      await Deno.writeTextFile(
        `${dir}/training_sittings.jsonl`,
        JSON.stringify({
          began: null,
          ended: "2026-01-01T00:10:00.000Z",
          fromStep: 0,
          toStep: 12,
          trainingSeconds: 600,
          loadBegan: null,
          loadEnded: null,
        }) + "\n" + JSON.stringify({
          began: "2026-01-02T00:00:00.000Z",
          ended: "2026-01-02T00:05:00.000Z",
          fromStep: 12,
          toStep: 20,
          trainingSeconds: 300,
          loadBegan: 1.5,
          loadEnded: 2,
        }) + "\n",
      );
    }
    const script = new URL("../scripts/shipped_report.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--lock=" + new URL("./deno.lock", import.meta.url).pathname,
        script,
        "--mdm",
        `${root}/brown-mdm`,
        "--arm",
        `${root}/brown-arm`,
        "--prompts",
        "3",
        "--quick",
        "--max-seqs",
        "4",
        "--out",
        root,
      ],
      env: { LLADA_BACKEND: "cpu", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = (b: Uint8Array) => new TextDecoder().decode(b);
    assert.equal(out.code, 0, dec(out.stdout) + dec(out.stderr));
    const report = JSON.parse(await Deno.readTextFile(`${root}/shipped_models.json`));
    const h = report.held_out;
    assert.equal(h.sequences, 4);
    assert.match(h.command, /--heldout brown --max-seqs 4$/);
    assert.equal(h.sequence_length, 128);
    assert.ok(Math.abs(h.ratio - h.mdm_bound_bits_per_char / h.arm_nll_bits_per_char) < 1e-3);
    assert.equal(report.cells.length, readabilityGrid(true).length);
    for (const c of report.cells) {
      assert.ok(c.word_validity >= 0 && c.word_validity <= 1);
      assert.equal(c.nfe, c.model === "mdm" ? c.steps : 64);
      assert.equal(c.qualifies, c.entropy >= report.entropy_floor * report.reference_entropy);
    }
    assert.deepEqual(report.training.mdm.steps, 20);
    assert.deepEqual(report.training.mdm.tokens, 20 * 16 * 128);
    assert.deepEqual(report.training.mdm.trainingSeconds, 900);
    for (const which of ["mdm", "arm"]) {
      const card = await Deno.readTextFile(`${root}/brown-${which}/README.md`);
      assert.match(card, new RegExp(`deno task train:shipped --model ${which}`));
      assert.match(card, /summed over 2 sitting\(s\): \*\*15 min\*\*/);
      assert.match(card, new RegExp(String(h.mdm_bound_bits_per_char)));
      assert.match(card, new RegExp(String(h.arm_nll_bits_per_char)));
      assert.ok(card.includes(`A model of ${report.parameters[which].toLocaleString("en-US")} parameters`));
      const chosen = report.chosen[which];
      const config = JSON.parse(
        await Deno.readTextFile(`${root}/brown-${which}/generation_config.json`).catch(() => "null"),
      );
      assert.deepEqual(config, chosen ? generationConfigOf(chosen) : null);
    }
    assert.match(await Deno.readTextFile(`${root}/shipped_models.md`), /Ratio bound \/ NLL/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
