/** The network's KV cache (prefix and dual windows): exact when fresh, on the CPU and on WebGPU. */

import assert from "node:assert/strict";
import type { Backend } from "../src/backend/backend.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel, type LLaDAModel } from "../src/model/llada.ts";
import { sample } from "../src/llada/strategies.ts";
import { compareArrays, gpuTest } from "./parity_helper.ts";

const micro = {
  d_model: 16,
  n_layers: 2,
  n_heads: 2,
  mlp_hidden_size: 24,
  vocab_size: 11,
  max_sequence_length: 32,
  mask_token_id: 10,
  eos_token_id: 9,
  init_std: 0.4,
};
const MASK = 10;
const PAD = 8;

/** Two rows of 12: the first left-padded by 3, masks in the second half. */
function canvas(): { tokens: Int32Array; mask: Uint8Array } {
  const rows = [
    [PAD, PAD, PAD, 1, 2, 3, MASK, 4, MASK, MASK, MASK, MASK],
    [5, 6, 7, 1, 2, 3, 4, MASK, MASK, 0, MASK, MASK],
  ];
  const mask = Uint8Array.from(rows.flatMap((r, b) => r.map((_, i) => (b === 0 && i < 3 ? 0 : 1))));
  return { tokens: Int32Array.from(rows.flat()), mask };
}

/** A fresh cache's windows reproduce the full evaluation's logits there; tokens outside a window are not read. */
async function freshCacheIsExact(model: LLaDAModel, atol: number): Promise<void> {
  const { tokens, mask } = canvas();
  const V = model.vocabSize;
  const [B, T] = [2, 12];
  const full = await model.logits(tokens, B, T, mask);
  const { logits, cache } = await model.logitsAndCache(tokens, B, T, mask);
  try {
    compareArrays("logitsAndCache = logits", logits, full, { atol: 1e-6, rtol: 0 });
    for (const [from, to] of [[6, 9], [6, 12], [0, 12], [3, 4], [11, 12]]) {
      const window = await model.logitsCached(cache, tokens, B, T, from, to, mask);
      const expected = new Float32Array(B * (to - from) * V);
      for (let b = 0; b < B; b++) {
        expected.set(full.subarray((b * T + from) * V, (b * T + to) * V), b * (to - from) * V);
      }
      compareArrays(`window [${from}, ${to})`, window, expected, { atol, rtol: 0 });
      // the cache stands in for everything outside the window: changing those tokens changes nothing
      const changed = tokens.slice();
      for (let i = 0; i < changed.length; i++) {
        const col = i % T;
        if ((col < from || col >= to) && changed[i] !== PAD) changed[i] = (changed[i] + 1) % 8;
      }
      const again = await model.logitsCached(cache, changed, B, T, from, to, mask);
      compareArrays(`window [${from}, ${to}) with other tokens changed`, again, window, { atol: 0, rtol: 0 });
    }
  } finally {
    cache.dispose();
  }
}

Deno.test("KV cache (CPU): a fresh cache's windows equal the full evaluation; the outside is read from the cache", async () => {
  await freshCacheIsExact(await createModel(micro, { seed: 4, backend: new CpuBackend() }), 1e-5);
});

Deno.test("KV cache (CPU): in the sampler, refreshed every step it is the uncached sampler; stale, it still fills every mask", async () => {
  const model = await createModel(micro, { seed: 6, backend: new CpuBackend() });
  const prompts = [[1, 2, 3], [4, 5]];
  const o = { genLength: 8, steps: 8, blockLength: 4, maskId: MASK, padId: PAD };
  const plain = await sample(model, prompts, o);
  for (const cache of ["prefix", "dual"] as const) {
    assert.deepEqual((await sample(model, prompts, { ...o, cache, cacheRefresh: 1 })).tokens, plain.tokens);
    const stale = await sample(model, prompts, { ...o, cache });
    assert.equal(stale.nfe, plain.nfe);
    stale.tokens.forEach((row, b) => {
      assert.deepEqual(row.slice(0, prompts[b].length), prompts[b]);
      assert.ok(!row.includes(MASK));
    });
  }
});

Deno.test("KV cache: the causal twin and mismatched caches are refused with a message", async () => {
  const backend: Backend = new CpuBackend();
  const twin = await createModel(micro, { seed: 1, backend, causal: true });
  await assert.rejects(
    () => twin.logitsAndCache(Int32Array.from([1, 2]), 1, 2),
    /twin \(causal\) is not served/,
  );
  const model = await createModel(micro, { seed: 1, backend });
  const { cache } = await model.logitsAndCache(Int32Array.from([1, 2, 3, 4]), 1, 4);
  await assert.rejects(
    () => model.logitsCached(cache, Int32Array.from([1, 2]), 1, 2, 0, 1),
    /holds a \[1, 4\]/,
  );
  await assert.rejects(() => model.logitsCached(cache, Int32Array.from([1, 2, 3, 4]), 1, 4, 3, 3), /window/);
  cache.dispose();
});

await gpuTest("KV cache (WebGPU): a fresh cache's windows equal the full evaluation", async (gpu) => {
  await freshCacheIsExact(await createModel(micro, { seed: 4, backend: gpu }), 1e-4);
});
