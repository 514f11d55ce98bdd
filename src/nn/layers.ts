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
  readonly weight: Tensor;
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
  readonly weight: Tensor;
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
  readonly weight: Tensor;
  constructor(readonly dim: number, readonly eps: number, init: Init) {
    this.weight = constantParameter([dim], 1, init);
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** Rotary position embedding with base θ; no parameters (the frequencies are computed in the kernel). */
export class RotaryEmbedding {
  constructor(readonly theta: number) {}
  /** x `[batch, seq, heads, headDim]` rotated by i32 positions `[batch, seq]`. */
  forward(x: Tensor, positions: Tensor): Tensor {
    return rope(x, positions, this.theta);
  }
}
