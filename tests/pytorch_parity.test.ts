/**
 * Checkpoints cross between llada-ts and the official PyTorch LLaDA code in both directions, with the same logits.
 *
 * The official `modeling_llada.py` needs Hugging Face `transformers`, which CI does not have, so the PyTorch side
 * is `tests/pytorch/llada_reference.py`: a small re-implementation of the official `LLaDAModelLM` with its module
 * tree (so `load_state_dict(strict=True)` takes exactly the checkpoint names the official loader maps) and its
 * numerics (RMSNorm, RoPE, attention, SwiGLU, logits over `embedding_size`), each convention documented there
 * with the file it was read from.
 *
 * - llada-ts → PyTorch: a model created here (norm weights moved off 1 and `rms_norm_eps` 1e-2, so where the
 *   weight and ε sit shows in the logits) is saved with `saveModel` in F32 and BF16 and loaded strictly by the
 *   reference; its logits must match this model's.
 * - PyTorch → llada-ts: the reference builds a model from an official-style `config.json` (every field of the
 *   released LLaDA-8B file; `embedding_size` 128 > `vocab_size` 100, `rope_theta` 10000) and saves it in F32 and
 *   BF16; `loadModel` must open it and give the reference's logits.
 *
 * Both sides compute in float32 from the same stored weights (a BF16 file is widened exactly, as
 * `from_pretrained` does without `torch_dtype`), so the tolerance is float32 rounding: max |Δ| < 1e-4 on logits
 * of magnitude ~1–10. Each batch has a left-padded row: the official code gives every row positions 0…T−1, while
 * llada-ts numbers a row's real tokens from 0; RoPE depends only on position differences, so the real tokens'
 * logits must still agree (padding positions are not compared). Only the first `vocab_size` columns are compared,
 * since `logits()` drops the vocabulary's padding rows.
 *
 * - AdamW: a few steps of `AdamW` against `torch.optim.AdamW` (`tests/pytorch/adamw_reference.py`) on the same
 *   parameters and gradients, with weight decay on matrices only.
 *
 * Needs Debian's `/usr/bin/python3` with `python3-torch` and `python3-numpy`. Without them the tests are skipped
 * with a message, except under `CI=true`, where that is a failure.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel, type LLaDAModel } from "../src/model/llada.ts";
import { loadModel, saveModel } from "../src/io/model_files.ts";
import { Rng } from "../src/rng.ts";
import { Tensor } from "../src/tensor.ts";
import { AdamW } from "../src/optim/adamw.ts";

const PYTHON = "/usr/bin/python3";
const REFERENCE = new URL("./pytorch/llada_reference.py", import.meta.url).pathname;
/** float32 rounding through two blocks, on logits up to ~10. */
const TOLERANCE = 1e-4;

const backend = new CpuBackend();

/** Runs the reference with `args`; throws with its stderr when it fails. */
async function reference(...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(PYTHON, { args: [REFERENCE, ...args], stdout: "null" })
    .output();
  if (code !== 0) {
    throw new Error(`llada_reference.py ${args[0]} exited ${code}:\n${new TextDecoder().decode(stderr)}`);
  }
}

/** Why PyTorch cannot be used here, or null when `/usr/bin/python3` imports torch and numpy. */
async function torchProblem(): Promise<string | null> {
  try {
    const { code, stderr } = await new Deno.Command(PYTHON, {
      args: ["-c", "import torch, numpy"],
      stdout: "null",
    }).output();
    if (code === 0) return null;
    return `${PYTHON} cannot import torch and numpy: ${
      new TextDecoder().decode(stderr).trim().split("\n").pop()
    }`;
  } catch (e) {
    return `${PYTHON} could not be run: ${(e as Error).message}`;
  }
}

const problem = await torchProblem();
const inCI = Deno.env.get("CI") === "true";
const install = "apt-get install -y --no-install-recommends python3-torch python3-numpy";
if (problem && !inCI) {
  console.warn(`pytorch_parity: skipped (${problem}). To run it: ${install}`);
}

/** Registers a parity test: skipped without PyTorch, failing without it under CI=true. */
function parityTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: problem !== null && !inCI,
    fn: problem === null ? fn : () => {
      throw new Error(`${problem}; CI needs PyTorch for this test (${install})`);
    },
  });
}

/** A batch of token rows with their attention mask, as the reference's JSON has them. */
interface Batch {
  tokens: number[][];
  attention_mask: number[][];
}

/** The reference's output: logits `[B, T, embedding_size]`, row-major. */
interface ReferenceLogits {
  shape: [number, number, number];
  logits: number[];
}

/**
 * The largest |Δ| between our logits `[B, T, vocab]` and the reference's `[B, T, embedding_size]` over real
 * positions (attention mask 1) and vocabulary columns, and the largest |logit| there (so a reader sees that the
 * tolerance is small against the values).
 */
function compare(ours: Float32Array, theirs: ReferenceLogits, batch: Batch, vocab: number) {
  const [B, T, E] = theirs.shape;
  assert.equal(B, batch.tokens.length);
  assert.equal(ours.length, B * T * vocab, "our logits are [batch, length, vocab_size]");
  let maxDiff = 0;
  let maxAbs = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      if (batch.attention_mask[b][t] === 0) continue;
      for (let v = 0; v < vocab; v++) {
        const theirValue = theirs.logits[(b * T + t) * E + v];
        maxDiff = Math.max(maxDiff, Math.abs(ours[(b * T + t) * vocab + v] - theirValue));
        maxAbs = Math.max(maxAbs, Math.abs(theirValue));
      }
    }
  }
  return { maxDiff, maxAbs };
}

/** Our logits for a batch, with its attention mask. */
function ourLogits(model: LLaDAModel, batch: Batch): Promise<Float32Array> {
  const B = batch.tokens.length;
  const T = batch.tokens[0].length;
  return model.logits(
    Int32Array.from(batch.tokens.flat()),
    B,
    T,
    Uint8Array.from(batch.attention_mask.flat()),
  );
}

/** Asserts agreement within {@link TOLERANCE} on logits big enough for the tolerance to mean something. */
function assertSameLogits(label: string, diff: { maxDiff: number; maxAbs: number }): void {
  console.log(
    `${label}: max |Δlogit| = ${diff.maxDiff.toExponential(2)} (max |logit| ${diff.maxAbs.toFixed(2)})`,
  );
  assert.ok(
    diff.maxAbs > 1,
    `${label}: logits too small (max ${diff.maxAbs}) for the comparison to be sensitive`,
  );
  assert.ok(diff.maxDiff < TOLERANCE, `${label}: max |Δlogit| ${diff.maxDiff} ≥ ${TOLERANCE}`);
}

// ---- llada-ts → PyTorch ------------------------------------------------------------------------------------

const ours = {
  d_model: 64,
  n_layers: 2,
  n_heads: 4,
  mlp_hidden_size: 96,
  vocab_size: 50,
  embedding_size: 64,
  max_sequence_length: 32,
  mask_token_id: 49,
  eos_token_id: 48,
  init_std: 0.2,
  rms_norm_eps: 1e-2,
};

/** Two rows of 12: one with mask tokens, one left-padded by 4 (pad = eos = 48). */
const ourBatch: Batch = (() => {
  const rng = new Rng(21);
  const row = () => Array.from({ length: 12 }, () => rng.int(0, 48));
  const a = row().map((t, i) => (i % 3 === 0 ? 49 : t));
  const b = row().map((t, i) => (i < 4 ? 48 : i % 4 === 1 ? 49 : t));
  return {
    tokens: [a, b],
    attention_mask: [a.map(() => 1), b.map((_, i) => (i < 4 ? 0 : 1))],
  };
})();

/** A model created here, with RMSNorm weights drawn from U(0.5, 1.5) instead of the initial 1. */
async function ourModel(): Promise<LLaDAModel> {
  const model = await createModel(ours, { seed: 12, backend });
  const rng = new Rng(13);
  for (const [name, p] of model.namedParameters()) {
    if (!name.endsWith("norm.weight") && !name.endsWith("ln_f.weight")) continue;
    const values = Float32Array.from({ length: p.size }, () => 0.5 + rng.uniform());
    p.assign(Tensor.from(values, p.shape, { backend }));
  }
  return model;
}

for (const dtype of ["F32", "BF16"] as const) {
  parityTest(
    `a model saved here in ${dtype} loads strictly in PyTorch LLaDA with the same logits`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "llada_parity_" });
      try {
        const model = await ourModel();
        await saveModel(dir, model, { dtype });
        await Deno.writeTextFile(`${dir}/tokens.json`, JSON.stringify(ourBatch));
        await reference("load", dir, `${dir}/tokens.json`, `${dir}/logits.json`);
        const theirs: ReferenceLogits = JSON.parse(await Deno.readTextFile(`${dir}/logits.json`));
        assert.deepEqual(theirs.shape, [2, 12, ours.embedding_size], "PyTorch logits cover embedding_size");
        // For BF16 both sides must use the rounded weights: ours are what loadModel reads back.
        const weights = dtype === "F32" ? model : await loadModel(dir, { backend });
        assertSameLogits(
          `ts→torch ${dtype}`,
          compare(await ourLogits(weights, ourBatch), theirs, ourBatch, ours.vocab_size),
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

// ---- PyTorch → llada-ts ------------------------------------------------------------------------------------

for (const dtype of ["F32", "BF16"] as const) {
  parityTest(`a model saved by PyTorch LLaDA in ${dtype} loads here with the same logits`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "llada_parity_" });
    try {
      await reference("create", dir, "7", dtype);
      const model = await loadModel(dir, { backend });
      assert.equal(model.config.embedding_size, 128);
      assert.equal(model.config.rope_theta, 10000);
      const theirs: ReferenceLogits & Batch & { dtype: string } = JSON.parse(
        await Deno.readTextFile(`${dir}/reference_logits.json`),
      );
      assert.equal(theirs.dtype, dtype);
      assertSameLogits(
        `torch→ts ${dtype}`,
        compare(await ourLogits(model, theirs), theirs, theirs, model.vocabSize),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

// ---- AdamW against torch.optim.AdamW ---------------------------------------------------------------------

const ADAMW_REFERENCE = new URL("./pytorch/adamw_reference.py", import.meta.url).pathname;

parityTest(
  "AdamW: five steps with a changing learning rate match torch.optim.AdamW (no decay on 1-D weights)",
  async () => {
    const rng = new Rng(21);
    // A projection and an embedding (decayed) and a norm weight (1-D: not decayed), as in the model.
    const shapes: [string, number[]][] = [["q_proj.weight", [6, 5]], ["wte.weight", [7, 6]], [
      "attn_norm.weight",
      [5],
    ]];
    const initial = shapes.map(([, shape]) => rng.normalArray(shape.reduce((a, b) => a * b, 1)));
    const params = shapes.map(([name, shape], i) =>
      [name, Tensor.from(initial[i].slice(), shape, { backend })] as [
        string,
        Tensor,
      ]
    );
    const settings = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const opt = new AdamW(params, { lr: 1e-2, ...settings });
    const lrs = [1e-2, 2e-2, 3e-2, 1.5e-2, 5e-3]; // warmup then decay, as the schedule passes them
    const grads: number[][][] = [];
    for (const lr of lrs) {
      const step = params.map(([, p]) => rng.normalArray(p.size, 0, 0.5));
      params.forEach(([, p], i) => p.grad = Tensor.from(step[i], p.shape, { backend }));
      grads.push(step.map((g) => Array.from(g)));
      opt.update(lr);
      opt.zeroGrad();
    }
    const dir = await Deno.makeTempDir({ prefix: "llada_adamw_" });
    try {
      const spec = {
        beta1: settings.beta1,
        beta2: settings.beta2,
        eps: settings.eps,
        lrs,
        grads,
        params: shapes.map(([name, shape], i) => ({
          name,
          shape,
          values: Array.from(initial[i]),
          weight_decay: shape.length >= 2 ? settings.weightDecay : 0,
        })),
      };
      await Deno.writeTextFile(`${dir}/in.json`, JSON.stringify(spec));
      const { code, stderr } = await new Deno.Command(PYTHON, {
        args: [ADAMW_REFERENCE, `${dir}/in.json`, `${dir}/out.json`],
        stdout: "null",
      }).output();
      if (code !== 0) {
        throw new Error(`adamw_reference.py exited ${code}:\n${new TextDecoder().decode(stderr)}`);
      }
      const theirs: { params: Record<string, number[]> } = JSON.parse(
        await Deno.readTextFile(`${dir}/out.json`),
      );
      for (const [name, p] of params) {
        const ours = await p.data();
        theirs.params[name].forEach((v, i) => {
          // float32 on both sides, five steps of a few operations each; the steps themselves are ~1e-2.
          assert.ok(
            Math.abs(ours[i] - v) <= 1e-6 + 1e-5 * Math.abs(v),
            `${name}[${i}]: ${ours[i]} here, ${v} in PyTorch`,
          );
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      opt.dispose();
    }
  },
);
