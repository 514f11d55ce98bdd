/**
 * The fused ops the transformer is built from: RMSNorm, rotary position embedding, SwiGLU's gate, embedding
 * lookup and weighted cross-entropy. Each is one backend primitive forward and one backward, with what the
 * backward needs saved by the forward (RMSNorm's per-row `rstd`; cross-entropy recomputes the softmax from the
 * logits instead of storing a `[rows, vocab]` probability table).
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { expectDType, expectRank, sameBackend, sameShape, wrap } from "./util.ts";

/**
 * RMSNorm over the last axis, LLaDA's convention: normalise, then multiply by the weight.
 * `y = x / √(mean(x²) + eps) · w`. Saves `rstd = 1/√(mean(x²)+eps)` per row for the backward pass.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  sameBackend("rmsNorm", x, weight);
  expectDType("rmsNorm", "x", x, "f32");
  const n = x.shape[x.shape.length - 1];
  if (weight.shape.length !== 1 || weight.shape[0] !== n) {
    throw new Error(`rmsNorm: weight [${weight.shape}] does not match the last dimension of x [${x.shape}]`);
  }
  const rows = x.size / n;
  const { y, rstd } = x.backend.rmsnorm(x.storage, weight.storage, rows, n, eps);
  const out = wrap(y, x.shape, x);
  const saved = wrap(rstd, [rows], x); // freed with the other tensors of the step
  return record(out, "rmsNorm", [x, weight], (dy) => {
    const { dx, dw } = x.backend.rmsnormBackward(
      x.storage,
      weight.storage,
      saved.storage,
      dy.storage,
      rows,
      n,
    );
    return [wrap(dx, x.shape, x), wrap(dw, weight.shape, weight)];
  });
}

/**
 * SwiGLU's gate `silu(gate) · up`, elementwise over two tensors of one shape: the same as
 * `mul(silu(gate), up)` (the tests compare the two), in one backend pass forward and one backward instead of two
 * and three.
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  sameBackend("swiglu", gate, up);
  expectDType("swiglu", "gate", gate, "f32");
  expectDType("swiglu", "up", up, "f32");
  if (!sameShape(gate.shape, up.shape)) {
    throw new Error(`swiglu: gate [${gate.shape}] and up [${up.shape}] must have the same shape`);
  }
  const be = gate.backend;
  const out = wrap(be.swiglu(gate.storage, up.storage, gate.size), gate.shape, gate);
  return record(out, "swiglu", [gate, up], (dy) => {
    const { dgate, dup } = be.swigluBackward(gate.storage, up.storage, dy.storage, gate.size);
    return [wrap(dgate, gate.shape, gate), wrap(dup, up.shape, up)];
  });
}

/**
 * Rotary position embedding (rotate-half convention) of x `[batch, seq, heads, headDim]` at i32 `positions`
 * `[batch, seq]`. A rotation's backward is the inverse rotation of the gradient.
 */
export function rope(x: Tensor, positions: Tensor, theta: number): Tensor {
  sameBackend("rope", x, positions);
  expectRank("rope", "x", x, 4);
  expectDType("rope", "positions", positions, "i32");
  const [batch, seq, heads, headDim] = x.shape;
  if (headDim % 2 !== 0) throw new Error(`rope: head dimension must be even, got ${headDim}`);
  if (!sameShape(positions.shape, [batch, seq])) {
    throw new Error(`rope: positions [${positions.shape}] must be [batch, seq] = [${batch}, ${seq}]`);
  }
  const params = { batch, seq, heads, headDim, theta };
  const out = wrap(x.backend.rope(x.storage, positions.storage, { ...params, inverse: false }), x.shape, x);
  return record(out, "rope", [x, positions], (dy) => [
    wrap(x.backend.rope(dy.storage, positions.storage, { ...params, inverse: true }), x.shape, x),
    null,
  ]);
}

/**
 * Embedding lookup: rows of `table` `[vocab, dim]` at i32 `ids` of any shape, giving `[...ids.shape, dim]`.
 * Backward scatters (adds) each position's gradient into its token's row, in a fixed order.
 */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  sameBackend("embedding", table, ids);
  expectRank("embedding", "table", table, 2);
  expectDType("embedding", "ids", ids, "i32");
  const [vocab, dim] = table.shape;
  const out = wrap(
    table.backend.gather(table.storage, ids.storage, ids.size, dim),
    [...ids.shape, dim],
    table,
  );
  return record(out, "embedding", [table, ids], (dy) => [
    wrap(table.backend.scatterAdd(ids.storage, dy.storage, ids.size, dim, vocab), table.shape, table),
    null,
  ]);
}

/**
 * Weighted cross-entropy per position: `loss[r] = w[r] · (logsumexp(logits_r) − logits_r[target_r])` for logits
 * `[..., vocab]`, i32 targets and f32 weights of shape `[...]`. Weight 0 leaves a position out (its target is then
 * ignored). Summing the result gives the LLaDA losses, whose 1/p and normalising factors live in the weights.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, weights: Tensor): Tensor {
  sameBackend("crossEntropy", logits, targets, weights);
  expectDType("crossEntropy", "logits", logits, "f32");
  expectDType("crossEntropy", "targets", targets, "i32");
  expectDType("crossEntropy", "weights", weights, "f32");
  const vocab = logits.shape[logits.shape.length - 1];
  const lead = logits.shape.slice(0, -1);
  if (!sameShape(targets.shape, lead) || !sameShape(weights.shape, lead)) {
    throw new Error(
      `crossEntropy: targets [${targets.shape}] and weights [${weights.shape}] must be [${lead}] for logits [${logits.shape}]`,
    );
  }
  const rows = targets.size;
  const be = logits.backend;
  const out = wrap(
    be.crossEntropy(logits.storage, targets.storage, weights.storage, rows, vocab),
    lead,
    logits,
  );
  return record(out, "crossEntropy", [logits, targets, weights], (dy) => [
    wrap(
      be.crossEntropyBackward(logits.storage, targets.storage, weights.storage, dy.storage, rows, vocab),
      logits.shape,
      logits,
    ),
    null,
    null,
  ]);
}
