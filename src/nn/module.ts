/**
 * How modules create their parameters: normally initialised or constant tensors that outlive every scope.
 *
 * A parameter is a {@link Tensor} with `requiresGrad: true` created outside any `tidy` scope, so it lives until
 * the model is disposed. Their checkpoint names are not kept here: `model/config.ts`'s `lladaTensorLayout` lists
 * every tensor's official name once, and the model names its parameters from it.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import type { Rng } from "../rng.ts";
import { keep, Tensor } from "../tensor.ts";

/** How parameters are created: where, from which generator, with which standard deviation. */
export interface Init {
  backend: Backend;
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
