/**
 * Scaled dot-product attention, twice: the fused kernel the model uses, and the composed version (matmul →
 * scale and mask → softmax → matmul) written from the ops above. The two are tested against each other; the
 * composed one is the one to read first.
 *
 * Shapes: q `[B, H, Tq, D]`, k and v `[B, H, Tk, D]`, or with `layout: "bthd"` q `[B, Tq, H, D]` and k, v
 * `[B, Tk, H, D]` (the output follows q); the key mask is i32 `[B, Tk]` with 0 on padding. The second layout is
 * the one the q, k and v projections produce, so the model passes them in as they are.
 * LLaDA's mask predictor is bidirectional (every position attends to every real position); its autoregressive
 * twin sets `causal`.
 *
 * @module
 */

import type { AttentionLayout } from "../backend/backend.ts";
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { expectDType, expectRank, sameBackend, sameShape, wrap } from "./util.ts";
import { matmul } from "./matmul.ts";
import { softmax } from "./softmax.ts";
import { permute, reshape, transpose } from "./shape.ts";
import { scale, where } from "./elementwise.ts";

/** Options shared by both attention implementations. */
export interface AttentionOptions {
  /** Query i sees key j only if j ≤ i. */
  causal?: boolean;
  /** i32 `[B, Tk]`, 0 where the key is padding. */
  keyMask?: Tensor | null;
  /** `"bhtd"` (the default): q, k, v are `[B, H, T, D]`; `"bthd"`: they are `[B, T, H, D]`. */
  layout?: AttentionLayout;
}

function check(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor | null, layout: AttentionLayout) {
  sameBackend("attention", q, k, v, ...(keyMask ? [keyMask] : []));
  expectRank("attention", "q", q, 4);
  const bhtd = layout === "bhtd";
  const [batch, heads, tq, headDim] = bhtd ? q.shape : [q.shape[0], q.shape[2], q.shape[1], q.shape[3]];
  const tk = k.shape[bhtd ? 2 : 1];
  const kShape = bhtd ? [batch, heads, tk, headDim] : [batch, tk, heads, headDim];
  if (!sameShape(k.shape, kShape) || !sameShape(v.shape, k.shape)) {
    const want = bhtd ? "[B, H, T, D]" : "[B, T, H, D]";
    throw new Error(`attention: q [${q.shape}], k [${k.shape}] and v [${v.shape}] do not fit ${want}`);
  }
  if (keyMask) {
    expectDType("attention", "keyMask", keyMask, "i32");
    if (!sameShape(keyMask.shape, [batch, tk])) {
      throw new Error(`attention: keyMask [${keyMask.shape}] must be [batch, keys] = [${batch}, ${tk}]`);
    }
  }
  return { batch, heads, tq, tk, headDim, scale: 1 / Math.sqrt(headDim), layout };
}

/**
 * Fused attention: one kernel computes `softmax(q kᵀ/√D + mask) v` row by row and saves each row's log-sum-exp,
 * from which the backward kernel recomputes the probabilities instead of storing a `[Tq, Tk]` matrix per head.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const keyMask = options.keyMask ?? null;
  const p = { ...check(q, k, v, keyMask, options.layout ?? "bhtd"), causal: options.causal ?? false };
  if (p.causal && p.tq !== p.tk) {
    throw new Error(`attention: causal attention needs Tq = Tk, got ${p.tq} and ${p.tk}`);
  }
  const be = q.backend;
  const maskStorage = keyMask ? keyMask.storage : null;
  const { out, lse } = be.attention(q.storage, k.storage, v.storage, maskStorage, p);
  const y = wrap(out, q.shape, q);
  const saved = wrap(lse, [p.batch, p.heads, p.tq], q);
  return record(y, "attention", [q, k, v], (dy) => {
    const g = be.attentionBackward(
      q.storage,
      k.storage,
      v.storage,
      maskStorage,
      y.storage,
      saved.storage,
      dy.storage,
      p,
    );
    return [wrap(g.dq, q.shape, q), wrap(g.dk, k.shape, k), wrap(g.dv, v.shape, v)];
  });
}

/**
 * The same attention composed from simple ops (the slow, clear path): scores = q kᵀ · scale; masked scores set to
 * −1e30 (a large finite value, so a fully masked row gives a uniform softmax instead of NaN); softmax; times v.
 * Differs from the fused kernel only on rows with no visible key (fused gives zeros). In the `"bthd"` layout it
 * permutes its operands to `[B, H, T, D]` and its result back.
 */
export function composedAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const keyMask = options.keyMask ?? null;
  const p = check(q, k, v, keyMask, options.layout ?? "bhtd");
  if (p.layout === "bthd") {
    const swap = (x: Tensor) => permute(x, [0, 2, 1, 3]); // [B, T, H, D] ↔ [B, H, T, D]
    return swap(composedAttention(swap(q), swap(k), swap(v), { ...options, layout: "bhtd" }));
  }
  const scores = scale(matmul(q, transpose(k, 2, 3)), p.scale); // [B, H, Tq, Tk]
  const visible = visibility(p.batch, p.tq, p.tk, options.causal ?? false, keyMask, q); // [B, 1, Tq, Tk]
  const masked = where(visible, scores, Tensor.full([], -1e30, { backend: q.backend }));
  return matmul(softmax(masked), v);
}

/** 1 where query i may see key j, as f32 `[B, 1, Tq, Tk]` (built on the CPU side: it is data, not compute). */
function visibility(
  batch: number,
  tq: number,
  tk: number,
  causal: boolean,
  keyMask: Tensor | null,
  like: Tensor,
): Tensor {
  const ones = Tensor.ones([batch, 1, tq, tk], { backend: like.backend });
  let vis = ones;
  if (causal) {
    const tri = new Float32Array(tq * tk);
    for (let i = 0; i < tq; i++) for (let j = 0; j <= i && j < tk; j++) tri[i * tk + j] = 1;
    vis = where(
      Tensor.from(tri, [tq, tk], { backend: like.backend }),
      vis,
      Tensor.zeros([], { backend: like.backend }),
    );
  }
  if (keyMask) {
    vis = where(reshape(keyMask, [batch, 1, 1, tk]), vis, Tensor.zeros([], { backend: like.backend }));
  }
  return vis;
}
