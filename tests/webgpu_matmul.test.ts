// WebGPU vs CPU parity for matmul: all four transpose combinations, shapes on and off the kernel's tiles
// (16 × 16 per invocation, 8 × 8 or 16 × 16 invocations per workgroup), shapes that need padding (not multiples
// of 4), and batches with default, broadcast (0) and gapped strides; each for the kernel that reads buffers
// (small products) and for the one that reads textures (products of 2¹⁹ multiply-adds and more).

import assert from "node:assert/strict";
import type { MatmulParams } from "../src/backend/backend.ts";
import { expectParity, gpuTest, RandomInputs } from "./parity_helper.ts";

const rnd = new RandomInputs(5);

// The GPU sums in f32 in a different order than the CPU's f64 loop: errors grow like √k · ulp of the terms.
// Inputs are in [−1, 1) and k ≤ 64 here, so sums stay below ~10 in magnitude.
const MATMUL = { atol: 2e-5, rtol: 1e-5 };

const TRANSPOSES: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/** Random operands sized for `p` (per batch item, or one item when the stride is 0). */
function operands(p: MatmulParams): { a: Float32Array; b: Float32Array } {
  const strideA = p.strideA ?? p.m * p.k;
  const strideB = p.strideB ?? p.k * p.n;
  const lenA = strideA === 0 ? p.m * p.k : strideA * (p.batch - 1) + p.m * p.k;
  const lenB = strideB === 0 ? p.k * p.n : strideB * (p.batch - 1) + p.k * p.n;
  return { a: rnd.uniform(lenA), b: rnd.uniform(lenB) };
}

async function check(gpu: Parameters<Parameters<typeof gpuTest>[1]>[0], p: MatmulParams, tol = MATMUL) {
  const label = `matmul ${JSON.stringify(p)}`;
  await expectParity(gpu, label, operands(p), (b, s) => ({ c: b.matmul(s.a, s.b, p) }), tol);
}

await gpuTest("webgpu: matmul, every transpose, shapes inside and across tiles", async (gpu) => {
  for (const [transA, transB] of TRANSPOSES) {
    // Multiples of 4 (the fast path) but not of the 16-wide tile, and one spanning several 128-wide workgroups.
    await check(gpu, { batch: 1, m: 36, n: 20, k: 44, transA, transB });
    await check(gpu, { batch: 1, m: 132, n: 260, k: 12, transA, transB });
  }
});

await gpuTest("webgpu: matmul with 16 × 16 workgroups (a product large enough to use them)", async (gpu) => {
  await check(gpu, { batch: 1, m: 516, n: 520, k: 8, transA: false, transB: false });
});

await gpuTest(
  "webgpu: matmul on shapes that are not multiples of 4 (padded), every transpose",
  async (gpu) => {
    for (const [transA, transB] of TRANSPOSES) {
      await check(gpu, { batch: 1, m: 37, n: 53, k: 29, transA, transB });
      await check(gpu, { batch: 2, m: 1, n: 7, k: 3, transA, transB });
    }
  },
);

await gpuTest(
  "webgpu: matmul with only m off a multiple of 4 and A untransposed runs unpadded, rows cut at m",
  async (gpu) => {
    // A sampler's canvas (prompt + answer) times a weight: 83 rows, the last row tile of 16 only partly inside C.
    for (const transB of [false, true]) {
      await check(gpu, { batch: 1, m: 83, n: 96, k: 32, transA: false, transB });
      await check(gpu, { batch: 3, m: 5, n: 8, k: 12, transA: false, transB, strideB: 0 });
    }
  },
);

await gpuTest("webgpu: batched matmul with broadcast and gapped batch strides", async (gpu) => {
  await check(gpu, { batch: 3, m: 12, n: 8, k: 16, transA: false, transB: false });
  // One B for every batch item (a weight matrix), and one A for every batch item.
  await check(gpu, { batch: 4, m: 12, n: 8, k: 16, transA: false, transB: true, strideB: 0 });
  await check(gpu, { batch: 4, m: 12, n: 8, k: 16, transA: true, transB: false, strideA: 0 });
  // Batch items further apart than their size (a view of every other block), aligned and unaligned.
  await check(gpu, { batch: 3, m: 8, n: 8, k: 8, transA: false, transB: false, strideA: 128, strideB: 72 });
  await check(gpu, { batch: 2, m: 5, n: 6, k: 7, transA: false, transB: true, strideA: 50, strideB: 0 });
});

await gpuTest(
  "webgpu: split-K matmul (transposed A, small output, long k) sums its chunks exactly once",
  async (gpu) => {
    // 2 output tiles and k = 1024: computed as 8 products over k/8 and a sum. Sums of 1024 terms: looser atol.
    await check(gpu, { batch: 1, m: 12, n: 20, k: 1024, transA: true, transB: false }, {
      atol: 1e-4,
      rtol: 1e-5,
    });
    // The same product with k not splittable into multiples of 4 (k = 1030, padded to 1032) still matches.
    await check(gpu, { batch: 1, m: 12, n: 20, k: 1030, transA: true, transB: false }, {
      atol: 1e-4,
      rtol: 1e-5,
    });
  },
);

/**
 * `check`, asserting also how many dispatches and copies into textures the product took: 3 when its operands went
 * through textures (two copies, by command or kernel, and the product), 1 when the kernel read the buffers.
 */
async function checkDispatches(
  gpu: Parameters<typeof check>[0],
  p: MatmulParams,
  steps: number,
  tol = MATMUL,
) {
  const count = () => gpu.stats.dispatches + gpu.stats.textureCopies;
  const before = count();
  await check(gpu, p, tol);
  assert.equal(count() - before, steps, `dispatches and copies of matmul ${JSON.stringify(p)}`);
}

await gpuTest("webgpu: matmul through textures, every transpose, shapes across tiles", async (gpu) => {
  for (const [transA, transB] of TRANSPOSES) {
    // 132 × 260 × 64 = 2.2M multiply-adds: neither m nor n a multiple of the 16-wide tile. An operand stored with
    // 64 columns (16 texels a row) is copied by command, one with 132 or 260 columns by the to_texture kernel.
    await checkDispatches(gpu, { batch: 1, m: 132, n: 260, k: 64, transA, transB }, 3);
  }
  // m off a multiple of 4 with A untransposed (a sampler's canvas): rows clamped and cut at m as in the buffers.
  for (const transB of [false, true]) {
    await checkDispatches(gpu, { batch: 1, m: 83, n: 256, k: 100, transA: false, transB }, 3);
  }
});

await gpuTest("webgpu: batched matmul through textures, broadcast and gapped strides", async (gpu) => {
  await checkDispatches(gpu, { batch: 3, m: 64, n: 96, k: 128, transA: false, transB: false }, 3);
  // One B (a weight) for every batch item, and one A for every batch item: a texture of one item.
  await checkDispatches(gpu, { batch: 4, m: 64, n: 96, k: 96, transA: false, transB: true, strideB: 0 }, 3);
  await checkDispatches(gpu, { batch: 4, m: 64, n: 96, k: 96, transA: true, transB: false, strideA: 0 }, 3);
  // Items a whole number of rows apart with gaps between them: the gaps are copied and skipped.
  const gapped = { batch: 3, m: 64, n: 96, k: 128, transA: false, transB: false, strideA: 3 * 64 * 128 };
  await checkDispatches(gpu, { ...gapped, strideB: 2 * 128 * 96 }, 3);
  // Items not a whole number of rows apart cannot be stacked in a texture: the buffer kernel takes them.
  await checkDispatches(gpu, { ...gapped, strideB: 128 * 96 + 4 }, 1);
});

await gpuTest("webgpu: split-K matmul through textures sums its chunks exactly once", async (gpu) => {
  // 16 output tiles, k = 2048: 16 chunks of 128 in one batched product over textures, then the sum of the chunks.
  await checkDispatches(gpu, { batch: 1, m: 64, n: 64, k: 2048, transA: true, transB: false }, 4, {
    atol: 1e-4,
    rtol: 1e-5,
  });
});
