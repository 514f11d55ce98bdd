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
import { attention, reshape } from "../ops/mod.ts";
import type { Init } from "./module.ts";
import { Linear, RotaryEmbedding } from "./layers.ts";

/** Sees one attention call's keys and values `[B, T, H, D]` and returns those to attend to. */
export type KeysValuesHook = (keys: Tensor, values: Tensor) => [Tensor, Tensor];

/** Multi-head attention with rotary positions. */
export class MultiHeadAttention {
  /** Query projection `q_proj`. */
  readonly qProj: Linear;
  /** Key projection `k_proj`. */
  readonly kProj: Linear;
  /** Value projection `v_proj`. */
  readonly vProj: Linear;
  /** Output projection `attn_out`. */
  readonly attnOut: Linear;
  /** The rotary embedding applied to queries and keys. */
  readonly rope: RotaryEmbedding;
  /** `d_model / n_heads`. */
  readonly headDim: number;

  /**
   * Attention with freshly drawn projections.
   *
   * @param dModel model width (a multiple of `nHeads`).
   * @param nHeads number of heads.
   * @param theta RoPE base θ.
   * @param causal causal masking (the autoregressive twin).
   * @param init where the weights go and their generator.
   * @param outStd standard deviation of `attn_out`.
   */
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
   * (0 = padding; over the keys).
   *
   * @param keysValues optional: sees this call's keys and values (after RoPE, `[B, T, H, D]`) and returns the ones
   *   attention uses — the hook through which a KV cache (`model/kv_cache.ts`) keeps them, or puts the cached
   *   keys and values of other positions around them (then there are more keys than queries).
   */
  forward(h: Tensor, positions: Tensor, keyMask: Tensor | null, keysValues?: KeysValuesHook): Tensor {
    const [B, T] = h.shape;
    // Each position's d_model features are its H heads side by side: [B, T, H, D], the layout attention reads.
    const split = (x: Tensor) => reshape(x, [B, T, this.nHeads, this.headDim]);
    const q = this.rope.forward(split(this.qProj.forward(h)), positions);
    let k = this.rope.forward(split(this.kProj.forward(h)), positions);
    let v = split(this.vProj.forward(h));
    if (keysValues) [k, v] = keysValues(k, v);
    const y = attention(q, k, v, { causal: this.causal, keyMask, layout: "bthd" }); // [B, T, H, D]
    return this.attnOut.forward(reshape(y, [B, T, this.dModel]));
  }
}
