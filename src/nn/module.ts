/**
 * Modules: objects that own parameters and know their checkpoint names.
 *
 * A parameter is a {@link Tensor} with `requiresGrad: true` created outside any `tidy` scope, so it lives until
 * the model is disposed. Every module lists its parameters with the names the Hugging Face LLaDA checkpoints use,
 * which is what lets `saveModel`/`loadModel` write and read files the official PyTorch code opens.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import type { Rng } from "../rng.ts";
import { keep, Tensor } from "../tensor.ts";

/** Something that owns named parameters. */
export interface Module {
  /** Parameters as `[checkpoint name, tensor]` pairs, the name prefixed with `prefix`. */
  namedParameters(prefix: string): [string, Tensor][];
}

/** How parameters are created: where, from which generator, with which standard deviation. */
export interface Init {
  /** Where parameters are created. */
  backend: Backend;
  /** The generator the weights are drawn from. */
  rng: Rng;
  /** Standard deviation of normally initialised weights (LLaDA's `init_std`). */
  std: number;
}

/** A parameter of `shape` drawn from N(0, std²). */
export function normalParameter(shape: number[], init: Init, std = init.std): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return keep(
    Tensor.from(init.rng.normalArray(n, 0, std), shape, { backend: init.backend, requiresGrad: true }),
  );
}

/** A parameter of `shape` filled with `value` (norm weights start at 1). */
export function constantParameter(shape: number[], value: number, init: Init): Tensor {
  return keep(Tensor.full(shape, value, { backend: init.backend, requiresGrad: true }));
}
