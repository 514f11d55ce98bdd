/**
 * `max` shares its gradient equally among tied maxima. Finite differences cannot check this (a max is not
 * differentiable at a tie), so the expected gradients are written out.
 */

import assert from "node:assert/strict";
import * as ops from "../src/ops/mod.ts";
import { Tensor } from "../src/tensor.ts";

async function maxGrad(values: number[], shape: number[], axis: number): Promise<number[]> {
  const x = Tensor.from(Float32Array.from(values), shape, { requiresGrad: true });
  ops.sum(ops.max(x, axis)).backward();
  return Array.from(await x.grad!.data());
}

Deno.test("max backward: the gradient is split evenly between tied maxima", async () => {
  // Row 0 has two tied maxima (3, 3), row 1 three (2, 2, 2).
  assert.deepEqual(
    await maxGrad([1, 3, 3, 2, 2, 2], [2, 3], 1),
    [0, 1 / 2, 1 / 2, 1 / 3, 1 / 3, 1 / 3].map(Math.fround),
  );
  // Along the first axis: columns (1, 2), (3, 2), (3, 2) have single maxima.
  assert.deepEqual(await maxGrad([1, 3, 3, 2, 2, 2], [2, 3], 0), [0, 1, 1, 1, 0, 0]);
  // A tie across the middle axis of a 3-d tensor: [1, 2, 2] with two rows tied in each column.
  assert.deepEqual(await maxGrad([5, -1, 5, -1], [1, 2, 2], 1), [1 / 2, 1 / 2, 1 / 2, 1 / 2]);
});
