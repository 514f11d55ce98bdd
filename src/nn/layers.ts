/**
 * The layers of a LLaMA-style block: Linear (no bias), Embedding, RMSNorm and the rotary position embedding.
 * Each is a thin owner of parameters around one op of `src/ops/`; the op files hold the mathematics and the
 * backward passes.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { embedding, linear, rmsNorm, rope } from "../ops/mod.ts";
import { constantParameter, type Init, normalParameter } from "./module.ts";

/** `y = x · Wᵀ`, weight stored `[out_features, in_features]` (PyTorch's layout), no bias (LLaDA has none). */
export class Linear {
  /** `[out_features, in_features]`. */
  readonly weight: Tensor;
  /**
   * A layer with weights drawn from N(0, std²).
   *
   * @param inFeatures size of the input's last axis.
   * @param outFeatures size of the output's last axis.
   * @param init where the weight goes and its generator.
   * @param std standard deviation of the weight (default `init.std`).
   */
  constructor(readonly inFeatures: number, readonly outFeatures: number, init: Init, std = init.std) {
    this.weight = normalParameter([outFeatures, inFeatures], init, std);
  }
  /** x `[..., in]` → `[..., out]`. */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight);
  }
}

/** Token embedding table `[rows, dim]`. */
export class Embedding {
  /** `[rows, dim]`. */
  readonly weight: Tensor;
  /**
   * A table drawn from N(0, init.std²).
   *
   * @param rows number of ids (LLaDA's `embedding_size`).
   * @param dim size of each vector (`d_model`).
   * @param init where the table goes and its generator.
   */
  constructor(readonly rows: number, readonly dim: number, init: Init) {
    this.weight = normalParameter([rows, dim], init);
  }
  /** i32 ids of any shape → `[...ids.shape, dim]`. */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

/** RMSNorm with a learned weight (initialised to 1): normalise, then multiply by the weight. */
export class RMSNorm {
  /** `[dim]`, initialised to 1. */
  readonly weight: Tensor;
  /**
   * A norm over the last axis.
   *
   * @param dim size of the last axis.
   * @param eps added to the mean square before the root (LLaDA's `rms_norm_eps`).
   * @param init where the weight goes.
   */
  constructor(readonly dim: number, readonly eps: number, init: Init) {
    this.weight = constantParameter([dim], 1, init);
  }
  /** x `[..., dim]` normalised by its root mean square, times the weight. */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** Rotary position embedding with base θ; no parameters (the frequencies are computed in the kernel). */
export class RotaryEmbedding {
  /**
   * A rotation with base θ.
   *
   * @param theta the base of the frequencies `θ^(−2i/d)` (LLaDA's `rope_theta`).
   */
  constructor(readonly theta: number) {}
  /** x `[batch, seq, heads, headDim]` rotated by i32 positions `[batch, seq]`. */
  forward(x: Tensor, positions: Tensor): Tensor {
    return rope(x, positions, this.theta);
  }
}
