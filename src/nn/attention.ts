/**
 * Multi-head self-attention as in LLaDA's `LLaDALlamaBlock`: separate `q_proj`, `k_proj`, `v_proj` projections,
 * RoPE on queries and keys, scaled dot-product attention, and the `attn_out` projection.
 *
 * The mask predictor attends bidirectionally: every position sees every real (non-padding) position, which is
 * what lets it predict a masked token from both sides. The autoregressive twin sets `causal`.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { attention, permute, reshape } from "../ops/mod.ts";
import type { Init } from "./module.ts";
import { Linear, RotaryEmbedding } from "./layers.ts";

/** Multi-head attention with rotary positions. */
export class MultiHeadAttention {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly attnOut: Linear;
  readonly rope: RotaryEmbedding;
  readonly headDim: number;

  constructor(
    readonly dModel: number,
    readonly nHeads: number,
    theta: number,
    readonly causal: boolean,
    init: Init,
    outStd: number,
  ) {
    if (dModel % nHeads !== 0) {
      throw new Error(`attention: d_model ${dModel} is not divisible by n_heads ${nHeads}`);
    }
    this.headDim = dModel / nHeads;
    this.qProj = new Linear(dModel, dModel, init);
    this.kProj = new Linear(dModel, dModel, init);
    this.vProj = new Linear(dModel, dModel, init);
    this.attnOut = new Linear(dModel, dModel, init, outStd);
    this.rope = new RotaryEmbedding(theta);
  }

  /**
   * h `[B, T, d_model]` → `[B, T, d_model]`, with i32 positions `[B, T]` and an optional i32 key mask `[B, T]`
   * (0 = padding).
   */
  forward(h: Tensor, positions: Tensor, keyMask: Tensor | null): Tensor {
    const [B, T] = h.shape;
    const split = (x: Tensor) => reshape(x, [B, T, this.nHeads, this.headDim]); // [B, T, H, D]
    const q = permute(this.rope.forward(split(this.qProj.forward(h)), positions), [0, 2, 1, 3]); // [B, H, T, D]
    const k = permute(this.rope.forward(split(this.kProj.forward(h)), positions), [0, 2, 1, 3]);
    const v = permute(split(this.vProj.forward(h)), [0, 2, 1, 3]);
    const y = attention(q, k, v, { causal: this.causal, keyMask }); // [B, H, T, D]
    const merged = reshape(permute(y, [0, 2, 1, 3]), [B, T, this.dModel]); // heads side by side again
    return this.attnOut.forward(merged);
  }
}
