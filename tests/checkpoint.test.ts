/** Saving and loading models, and resuming training bit-identically from a checkpoint. */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel, type LLaDAModel } from "../src/model/llada.ts";
import { AdamW } from "../src/optim/adamw.ts";
import { Rng } from "../src/rng.ts";
import { loadModel, saveModel } from "../src/io/model_files.ts";
import { restoreCheckpoint, saveCheckpoint } from "../src/io/checkpoint.ts";
import { trainStep } from "../src/train/step.ts";
import { bfloat16BitsToFloat32, float32ToBfloat16Bits } from "../src/io/safetensors_format.ts";

const backend = new CpuBackend();
const config = {
  d_model: 16,
  n_layers: 2,
  n_heads: 2,
  mlp_hidden_size: 24,
  vocab_size: 10,
  max_sequence_length: 32,
  mask_token_id: 9,
  eos_token_id: 8,
};

async function params(model: LLaDAModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of model.namedParameters()) out.set(name, (await p.data()) as Float32Array);
  return out;
}

Deno.test("saveModel then loadModel reproduces every weight and the logits bit-exactly", async () => {
  const dir = await Deno.makeTempDir();
  const model = await createModel(config, { seed: 4, backend });
  await saveModel(dir, model);
  const loaded = await loadModel(dir, { backend });
  const a = await params(model);
  const b = await params(loaded);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, v] of a) assert.deepEqual(b.get(name), v, name);
  const tokens = Int32Array.from([1, 2, 9, 9, 3, 0]);
  assert.deepEqual(await loaded.logits(tokens, 1, 6), await model.logits(tokens, 1, 6));
  const written = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  assert.equal(written.model_type, "llada");
  assert.equal(written.d_model, 16);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a BF16 checkpoint loads as the BF16-rounded weights", async () => {
  const dir = await Deno.makeTempDir();
  const model = await createModel(config, { seed: 5, backend });
  await saveModel(dir, model, { dtype: "BF16" });
  const loaded = await loadModel(dir, { backend });
  const a = await params(model);
  const b = await params(loaded);
  for (const [name, v] of a) {
    const rounded = v.map((x) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x)));
    assert.deepEqual(b.get(name), rounded, name);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadModel reports a config that does not match the weights, and a missing directory", async () => {
  const dir = await Deno.makeTempDir();
  const model = await createModel(config, { seed: 6, backend });
  await saveModel(dir, model);
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  cfg.n_layers = 3;
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(cfg));
  await assert.rejects(
    loadModel(dir, { backend }),
    /missing tensors \(9\)[\s\S]*blocks\.2\.attn_norm\.weight/,
  );
  await assert.rejects(loadModel(`${dir}/nowhere`, { backend }), /config\.json not found/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resuming from a checkpoint continues bit-identically to an uninterrupted run", async () => {
  const rows = Int32Array.from({ length: 4 * 12 }, (_, i) => (i * 7) % 8);
  const data = { tokens: rows, batch: 4, length: 12 };
  const run = (steps: number, model: LLaDAModel, opt: AdamW, rng: Rng) => {
    for (let s = 0; s < steps; s++) {
      const r = trainStep(model, opt, data, { objective: "pretrain", lr: 1e-2, clip: 1, rng });
      r.loss.dispose();
      r.gradNorm?.dispose();
    }
  };
  // Uninterrupted: 6 steps.
  const straight = await createModel(config, { seed: 7, backend });
  const straightOpt = new AdamW(straight.namedParameters());
  run(6, straight, straightOpt, new Rng(99));
  // Interrupted: 3 steps, checkpoint, a fresh process (new objects), restore, 3 more steps.
  const dir = await Deno.makeTempDir();
  const first = await createModel(config, { seed: 7, backend });
  const firstOpt = new AdamW(first.namedParameters());
  const rng = new Rng(99);
  run(3, first, firstOpt, rng);
  await saveCheckpoint(`${dir}/ckpt`, first, firstOpt, { step: 3, rng: rng.getState() });
  const resumed = await createModel(config, { seed: 1234, backend }); // different init: everything must come from disk
  const resumedOpt = new AdamW(resumed.namedParameters());
  const state = await restoreCheckpoint(`${dir}/ckpt`, resumed, resumedOpt);
  assert.equal(state.step, 3);
  run(3, resumed, resumedOpt, new Rng(state.rng as ReturnType<Rng["getState"]>));
  const a = await params(straight);
  const b = await params(resumed);
  for (const [name, v] of a) assert.deepEqual(b.get(name), v, `${name} differs after resuming`);
  await Deno.remove(dir, { recursive: true });
});
