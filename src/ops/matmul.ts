/**
 * Matrix products: `matmul` (batched, with a broadcast right-hand matrix) and `linear` (`x · Wᵀ`, weights stored
 * `[out_features, in_features]` as in PyTorch and the LLaDA checkpoints).
 *
 * Backward of `C = A·B`: `dA = dC·Bᵀ` and `dB = Aᵀ·dC`. The transposes are never materialised: the backend's
 * matmul reads either operand transposed (`transA`/`transB`), as llm.c's `matmul_backward` does with cuBLAS.
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { expectDType, prod, sameBackend, wrap } from "./util.ts";

/**
 * `a · b` for a `[..., m, k]` and b `[..., k, n]` with equal leading (batch) dimensions, or b `[k, n]` shared by
 * every batch item (then the batch is folded into the rows: one `[(…·m), k] · [k, n]` product).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  sameBackend("matmul", a, b);
  expectDType("matmul", "a", a, "f32");
  expectDType("matmul", "b", b, "f32");
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new Error(`matmul: expected matrices (rank ≥ 2), got [${a.shape}] and [${b.shape}]`);
  }
  const [m, k] = a.shape.slice(-2);
  const [kb, n] = b.shape.slice(-2);
  if (k !== kb) {
    throw new Error(`matmul: inner dimensions differ: [${a.shape}] · [${b.shape}] (${k} vs ${kb})`);
  }
  const lead = a.shape.slice(0, -2);
  const shared = b.shape.length === 2;
  if (!shared && b.shape.slice(0, -2).join() !== lead.join()) {
    throw new Error(`matmul: batch dimensions differ: [${a.shape}] · [${b.shape}]`);
  }
  const batch = prod(lead);
  const be = a.backend;
  // A shared right-hand matrix folds the batch into rows: one big product instead of many small ones.
  const M = shared ? batch * m : m;
  const B = shared ? 1 : batch;
  const out = wrap(be.matmul(a.storage, b.storage, { batch: B, m: M, n, k, transA: false, transB: false }), [
    ...lead,
    m,
    n,
  ], a);
  return record(out, "matmul", [a, b], (dy) => {
    // dA[b] = dC[b] · B[b]ᵀ : [M, n] · ([k, n])ᵀ
    const da = be.matmul(dy.storage, b.storage, { batch: B, m: M, n: k, k: n, transA: false, transB: true });
    // dB[b] = A[b]ᵀ · dC[b] : ([M, k])ᵀ · [M, n]
    const db = be.matmul(a.storage, dy.storage, { batch: B, m: k, n, k: M, transA: true, transB: false });
    return [wrap(da, a.shape, a), wrap(db, b.shape, b)];
  });
}

/**
 * A bias-free linear layer: `y = x · Wᵀ` for x `[..., in]` and W `[out, in]`, giving `[..., out]`.
 * Backward: `dx = dy · W` and `dW = dyᵀ · x` (summed over every row of the batch).
 */
export function linear(x: Tensor, w: Tensor): Tensor {
  sameBackend("linear", x, w);
  expectDType("linear", "x", x, "f32");
  expectDType("linear", "weight", w, "f32");
  if (w.shape.length !== 2) throw new Error(`linear: expected a weight [out, in], got [${w.shape}]`);
  const [outF, inF] = w.shape;
  if (x.shape[x.shape.length - 1] !== inF) {
    throw new Error(`linear: input [${x.shape}] does not end in in_features = ${inF} (weight [${w.shape}])`);
  }
  const rows = x.size / inF;
  const be = x.backend;
  const y = be.matmul(x.storage, w.storage, {
    batch: 1,
    m: rows,
    n: outF,
    k: inF,
    transA: false,
    transB: true,
  });
  const out = wrap(y, [...x.shape.slice(0, -1), outF], x);
  return record(out, "linear", [x, w], (dy) => {
    const dx = be.matmul(dy.storage, w.storage, {
      batch: 1,
      m: rows,
      n: inF,
      k: outF,
      transA: false,
      transB: false,
    });
    const dw = be.matmul(dy.storage, x.storage, {
      batch: 1,
      m: outF,
      n: inF,
      k: rows,
      transA: true,
      transB: false,
    });
    return [wrap(dx, x.shape, x), wrap(dw, w.shape, w)];
  });
}
