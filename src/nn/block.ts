/**
 * LLaDA's transformer block (`LLaDALlamaBlock`), pre-norm with two residual branches:
 *
 *     x = x + attn_out(attention(rope(q_proj(h)), rope(k_proj(h)), v_proj(h)))   with h = attn_norm(x)
 *     x = x + ff_out(silu(ff_proj(h)) · up_proj(h))                              with h = ff_norm(x)
 *
 * The feed-forward is SwiGLU: `ff_proj` is the gate (through SiLU), `up_proj` the value, `ff_out` projects back.
 * In checkpoints the block is flat, as in the official code: the attention and MLP projections sit directly under
 * `model.transformer.blocks.{i}` (the names are listed once, in `model/config.ts`'s `lladaTensorLayout`).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { add, swiglu } from "../ops/mod.ts";
import type { Init } from "./module.ts";
import { Linear, RMSNorm } from "./layers.ts";
import { type KeysValuesHook, MultiHeadAttention } from "./attention.ts";

/** The SiLU-gated feed-forward `ff_out(silu(ff_proj(h)) · up_proj(h))`. */
export class SwiGLU {
  /** The gated branch `ff_proj`, `d_model → hidden`. */
  readonly ffProj: Linear;
  /** The linear branch `up_proj`, `d_model → hidden`. */
  readonly upProj: Linear;
  /** The output `ff_out`, `hidden → d_model`. */
  readonly ffOut: Linear;
  /**
   * The three projections, freshly drawn.
   *
   * @param dModel the model width.
   * @param hidden the MLP width (`mlp_hidden_size`).
   * @param init where the weights go and their generator.
   * @param outStd standard deviation of `ff_out`.
   */
  constructor(dModel: number, hidden: number, init: Init, outStd: number) {
    this.ffProj = new Linear(dModel, hidden, init);
    this.upProj = new Linear(dModel, hidden, init);
    this.ffOut = new Linear(hidden, dModel, init, outStd);
  }
  /** h `[..., d_model]` → `[..., d_model]`. */
  forward(h: Tensor): Tensor {
    return this.ffOut.forward(swiglu(this.ffProj.forward(h), this.upProj.forward(h)));
  }
}

/** Settings of one block. */
export interface BlockConfig {
  /** Model width. */
  dModel: number;
  /** Attention heads. */
  nHeads: number;
  /** MLP width. */
  mlpHidden: number;
  /** RoPE base θ. */
  ropeTheta: number;
  /** RMSNorm ε. */
  eps: number;
  /** Causal attention (the autoregressive twin) instead of bidirectional. */
  causal: boolean;
  /** Standard deviation of the two output projections (`attn_out`, `ff_out`). */
  outStd: number;
}

/** One pre-norm transformer block. */
export class TransformerBlock {
  /** The norm before attention (`attn_norm`). */
  readonly attnNorm: RMSNorm;
  /** Self-attention with rotary positions. */
  readonly attention: MultiHeadAttention;
  /** The norm before the MLP (`ff_norm`). */
  readonly ffNorm: RMSNorm;
  /** The SwiGLU MLP. */
  readonly mlp: SwiGLU;

  /**
   * A block with freshly drawn weights.
   *
   * @param c its settings.
   * @param init where the weights go and their generator.
   */
  constructor(c: BlockConfig, init: Init) {
    this.attnNorm = new RMSNorm(c.dModel, c.eps, init);
    this.attention = new MultiHeadAttention(c.dModel, c.nHeads, c.ropeTheta, c.causal, init, c.outStd);
    this.ffNorm = new RMSNorm(c.dModel, c.eps, init);
    this.mlp = new SwiGLU(c.dModel, c.mlpHidden, init, c.outStd);
  }

  /** x `[B, T, d_model]` → `[B, T, d_model]`; `keysValues` is passed to the attention (a KV cache's hook). */
  forward(x: Tensor, positions: Tensor, keyMask: Tensor | null, keysValues?: KeysValuesHook): Tensor {
    const a = add(x, this.attention.forward(this.attnNorm.forward(x), positions, keyMask, keysValues));
    return add(a, this.mlp.forward(this.ffNorm.forward(a)));
  }
}
