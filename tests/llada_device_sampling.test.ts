/**
 * The reverse process on the device (`src/llada/device_sampling.ts`) gives the host sampler's tokens exactly.
 *
 * - `greedyStep`'s kernel against its CPU loops (`src/backend/cpu_greedy_step.ts`): same canvas, same flag, on
 *   random logits, on logits with exact ties (which must raise the flag) and with a NaN (likewise).
 * - `decodeStepsOnDevice` on the CPU backend and `generate` on WebGPU (which takes the device path) against `generate`'s
 *   host loop (forced by an `onStep` callback, which the device path does not serve) on random networks: prompts of
 *   equal and of different lengths (padding), one block and several, batches.
 * - A network whose logits tie everywhere: every step is uncertain, the device's first run is thrown away, and
 *   `generate` still returns the host's tokens (and counts one run redone).
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import type { Backend, GreedyStepParams } from "../src/backend/backend.ts";
import { greedyTau } from "../src/backend/backend.ts";
import { createModel, type LLaDAModel } from "../src/model/llada.ts";
import { generate, type GenerateOptions, numTransferTokens } from "../src/llada/reverse_sampling.ts";
import { decodeStepsOnDevice, deviceDecodingStats } from "../src/llada/device_sampling.ts";
import { Rng } from "../src/rng.ts";
import { Tensor } from "../src/tensor.ts";
import { gpuTest } from "./parity_helper.ts";

const cpu = new CpuBackend();

/** A small random LLaDA on `backend` (vocabulary 40 with 8 padding rows of the embedding). */
function smallModel(backend: Backend, seed: number): Promise<LLaDAModel> {
  return createModel({
    d_model: 32,
    n_layers: 2,
    n_heads: 2,
    mlp_hidden_size: 64,
    vocab_size: 40,
    embedding_size: 48,
    max_sequence_length: 64,
    mask_token_id: 0,
    eos_token_id: 1,
    init_std: 0.5, // large weights: peaked, varied confidences, as in a trained model
  }, { seed, backend });
}

/** The host loop's tokens: an `onStep` callback keeps `generate` off the device path. */
async function onHost(model: LLaDAModel, prompts: number[][], options: GenerateOptions): Promise<number[][]> {
  return (await generate(model, prompts, { ...options, onStep: () => {} })).tokens;
}

const CASES: { prompts: number[][]; options: GenerateOptions }[] = [
  { prompts: [[5, 6, 7, 8, 9]], options: { genLength: 16, steps: 16, maskId: 0 } },
  { prompts: [[5, 6, 7], [9, 3, 4]], options: { genLength: 16, steps: 8, blockLength: 8, maskId: 0 } },
  { prompts: [[5, 6, 7, 8, 9, 10], [11, 12]], options: { genLength: 12, steps: 12, maskId: 0, padId: 1 } },
  { prompts: [[2, 3]], options: { genLength: 24, steps: 6, blockLength: 12, maskId: 0 } },
];

Deno.test("decodeStepsOnDevice on the CPU backend gives the host loop's tokens", async () => {
  let certified = 0;
  for (const seed of [1, 2, 3]) {
    const model = await smallModel(cpu, seed);
    for (const { prompts, options } of CASES) {
      const expected = await onHost(model, prompts, options);
      // The canvas as generate lays it out: left padding, prompt, masked answer.
      const P = Math.max(...prompts.map((p) => p.length));
      const T = P + options.genLength;
      const tokens = new Int32Array(prompts.length * T).fill(0);
      const attention = new Uint8Array(prompts.length * T).fill(1);
      prompts.forEach((p, b) => {
        tokens.fill(1, b * T, b * T + P - p.length);
        attention.fill(0, b * T, b * T + P - p.length);
        tokens.set(p, b * T + P - p.length);
      });
      const blockLength = options.blockLength ?? options.genLength;
      const blocks = options.genLength / blockLength;
      const counts = numTransferTokens(blockLength, options.steps! / blocks);
      const canvas = {
        tokens,
        batch: prompts.length,
        length: T,
        maskId: 0,
        attentionMask: prompts.some((p) => p.length < P) ? attention : undefined,
      };
      let sure = true;
      for (let block = 0; block < blocks && sure; block++) {
        const before = tokens.slice();
        const start = P + block * blockLength;
        sure = await decodeStepsOnDevice(model, canvas, start, start + blockLength, counts);
        if (!sure) assert.deepEqual(tokens, before, "an uncertain run leaves the canvas alone");
      }
      if (!sure) continue;
      certified++;
      const got = prompts.map((p, b) => Array.from(tokens.subarray(b * T + P - p.length, (b + 1) * T)));
      assert.deepEqual(got, expected, `seed ${seed}, ${JSON.stringify(options)}`);
    }
    model.dispose();
  }
  assert.ok(certified >= 10, `only ${certified} of 12 decodings were certified`);
});

Deno.test("the greedy step flags ties and NaN logits, and commits exactly `count` predictions otherwise", async () => {
  const p: GreedyStepParams = {
    batch: 1,
    length: 4,
    vocab: 3,
    row: 3,
    start: 0,
    end: 4,
    maskId: 0,
    count: 1,
    tau: greedyTau(3),
  };
  const run = async (logits: number[], canvas: number[]) => {
    const l = cpu.upload(Float32Array.from(logits));
    const c = cpu.upload(Int32Array.from(canvas));
    const u = cpu.full(1, "i32", 0);
    cpu.greedyStep(l, c, u, p);
    const out = { canvas: Array.from(await cpu.read(c)), uncertain: (await cpu.read(u))[0] };
    for (const s of [l, c, u]) cpu.release(s);
    return out;
  };
  // Position 2 is the most confident (token 2 by a margin of 5); position 1 is decoded already.
  assert.deepEqual(await run([0, 1, 0, 9, 9, 9, 0, 0, 5, 0, 1, 0], [0, 7, 0, 0]), {
    canvas: [0, 7, 2, 0],
    uncertain: 0,
  });
  // Positions 0 and 2 tie exactly: float64 would take the lower one, but a tie cannot be certified.
  assert.equal((await run([0, 3, 0, 0, 1, 1, 0, 3, 0, 0, 1, 1], [0, 0, 0, 0])).uncertain, 1);
  // A NaN logit at a candidate: the host would throw; the device must leave it to the host.
  assert.equal((await run([0, NaN, 0, 0, 1, 5, 0, 3, 0, 0, 1, 0], [0, 0, 0, 0])).uncertain, 1);
  // The mask token's own logit is never the prediction, even when it is the largest.
  assert.deepEqual(await run([9, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 4, 4, 4]), {
    canvas: [2, 4, 4, 4],
    uncertain: 0,
  });
});

await gpuTest("webgpu: the greedy step's kernel matches its CPU loops", async (gpu) => {
  const rng = new Rng(5);
  let certified = 0;
  for (
    const [batch, length, vocab, row, start, end, count] of [
      [1, 20, 90, 90, 4, 20, 1],
      [3, 12, 40, 48, 2, 10, 3],
      [2, 9, 7, 8, 0, 9, 9],
    ]
  ) {
    const p = { batch, length, vocab, row, start, end, maskId: 0, count, tau: greedyTau(vocab) };
    const logits = Float32Array.from({ length: batch * length * row }, () => 4 * rng.normal());
    const canvas = Int32Array.from({ length: batch * length }, () => (rng.uniform() < 0.7 ? 0 : 5));
    const results = [];
    for (const b of [cpu, gpu] as Backend[]) {
      const l = b.upload(logits);
      const c = b.upload(canvas);
      const u = b.full(1, "i32", 0);
      b.greedyStep(l, c, u, p);
      results.push({ canvas: Array.from(await b.read(c)), uncertain: (await b.read(u))[0] });
      for (const s of [l, c, u]) b.release(s);
    }
    assert.equal(results[1].uncertain, results[0].uncertain, `flag, ${JSON.stringify(p)}`);
    if (results[0].uncertain === 0) {
      certified++;
      assert.deepEqual(results[1].canvas, results[0].canvas, JSON.stringify(p));
    }
  }
  assert.ok(certified >= 2, `only ${certified} of 3 random steps were certified`);
});

await gpuTest("webgpu: generate takes the device path and returns the host loop's tokens", async (gpu) => {
  const redone = deviceDecodingStats.redone;
  for (const seed of [1, 2]) {
    const model = await smallModel(gpu, seed);
    for (const { prompts, options } of CASES) {
      const runs = deviceDecodingStats.runs;
      const { tokens, nfe } = await generate(model, prompts, options);
      assert.ok(deviceDecodingStats.runs > runs, "the device path ran");
      assert.equal(nfe, options.steps);
      assert.deepEqual(
        tokens,
        await onHost(model, prompts, options),
        `seed ${seed}, ${JSON.stringify(options)}`,
      );
    }
    model.dispose();
  }
  // Redone generations return the host's tokens trivially; most must have been decided on the device.
  assert.ok(
    deviceDecodingStats.redone - redone <= 2,
    `${deviceDecodingStats.redone - redone} of 8 were redone`,
  );
});

await gpuTest(
  "webgpu: a generation with tied confidences is redone on the host, with the host's tokens",
  async (gpu) => {
    const model = await smallModel(gpu, 4);
    // A zero output layer: every logit is 0, so every candidate ties with every other and no step is certain.
    model.ffOut.weight.assign(Tensor.zeros(model.ffOut.weight.shape, { backend: gpu }));
    const options = { genLength: 8, steps: 8, maskId: 0 };
    const redone = deviceDecodingStats.redone;
    const { tokens } = await generate(model, [[3, 4, 5]], options);
    assert.equal(deviceDecodingStats.redone, redone + 1);
    assert.deepEqual(tokens, await onHost(model, [[3, 4, 5]], options));
    model.dispose();
  },
);
