/**
 * Every folder under models/ agrees with itself: a model folder's config.json, tokenizer.json and weights describe
 * the same vocabulary, special ids and shapes, it has the files a model card promises, and `llada sample` runs
 * on it (left to right for a folder marked as the autoregressive twin). A tokenizer-only folder's tokenizer loads
 * and round-trips text. New folders are covered as soon as they land.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { configFromJSON, lladaTensorShapes, objectiveFromJSON } from "../src/model/config.ts";
import { loadModel } from "../src/io/model_files.ts";
import { readModelTensors } from "../src/io/safetensors_read.ts";
import { tokenizerFromJSON } from "../src/tokenizer/tokenizer.ts";

const root = new URL("../models/", import.meta.url).pathname;
const cli = new URL("../src/cli.ts", import.meta.url).pathname;
const folders = [...Deno.readDirSync(root)].filter((e) => e.isDirectory).map((e) => e.name).sort();

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("models/ holds at least one model folder", () => {
  assert.ok(folders.some((f) => exists(`${root}${f}/config.json`)), `no model folder in ${root}`);
});

for (const name of folders) {
  const dir = `${root}${name}`;
  if (!exists(`${dir}/config.json`)) {
    Deno.test(`models/${name}: a tokenizer folder whose tokenizer loads and round-trips text`, () => {
      assert.ok(exists(`${dir}/README.md`), `models/${name} has no README.md`);
      const tokenizer = tokenizerFromJSON(Deno.readTextFileSync(`${dir}/tokenizer.json`));
      const text = 'The jury said, "Atlanta\'s 1961 election was fair."\n';
      const ids = tokenizer.encode(text);
      assert.equal(tokenizer.decode(ids), text);
      assert.ok(ids.every((id) => id >= 5 && id < tokenizer.vocabSize));
    });
    continue;
  }

  Deno.test(`models/${name}: config, tokenizer and weights agree`, async () => {
    for (const file of ["README.md", "tokenizer.json", "generation_config.json", "training_metrics.jsonl"]) {
      assert.ok(exists(`${dir}/${file}`), `models/${name} has no ${file}`);
    }
    const configText = Deno.readTextFileSync(`${dir}/config.json`);
    const config = configFromJSON(configText, `models/${name}/config.json`);
    const tokenizer = tokenizerFromJSON(Deno.readTextFileSync(`${dir}/tokenizer.json`));
    assert.equal(config.vocab_size, tokenizer.vocabSize, "vocab_size vs the tokenizer's vocabulary");
    assert.ok(config.embedding_size >= config.vocab_size);
    assert.equal(config.mask_token_id, tokenizer.maskId, "mask_token_id");
    assert.equal(config.eos_token_id, tokenizer.eosId, "eos_token_id");
    assert.equal(config.pad_token_id, tokenizer.padId, "pad_token_id");
    const file = await readModelTensors(dir);
    const expected = lladaTensorShapes(config);
    assert.deepEqual([...file.tensors.keys()].sort(), [...expected.keys()].sort());
    for (const [tensor, shape] of expected) assert.deepEqual(file.tensors.get(tensor)!.shape, shape, tensor);
    const model = await loadModel(dir, { backend: new CpuBackend() });
    assert.equal(model.causal, objectiveFromJSON(configText) === "autoregressive");
    for (const line of Deno.readTextFileSync(`${dir}/training_metrics.jsonl`).trim().split("\n")) {
      assert.equal(typeof JSON.parse(line).step, "number");
    }
  });

  Deno.test(`models/${name}: llada sample runs with the folder's generation_config.json`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, "sample", "--model", dir, "--prompt", "The jury said", "--gen-length", "8"],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", LLADA_BACKEND: "cpu" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(new TextDecoder().decode(out.stdout), /^The jury said/);
  });
}
