/**
 * Global-norm gradient clipping: if ‖g‖ (the L2 norm of all gradients concatenated) exceeds `maxNorm`, every
 * gradient is scaled by `maxNorm / ‖g‖`.
 *
 * The norm and the scale are computed as tensors on the parameters' backend and applied there, so clipping adds
 * no read-back to a training step: `scale = min(1, maxNorm / (‖g‖ + 1e-6))` is a one-element tensor that
 * multiplies each gradient. The caller may read the returned norm once, with the loss, for logging.
 *
 * @module
 */

import { noGrad } from "../autograd.ts";
import { keep, Tensor, tidy } from "../tensor.ts";
import { add, addScalar, div, minimum, mul, sqrt, square, sum } from "../ops/mod.ts";

/**
 * Clips the gradients of `params` in place to a global norm of at most `maxNorm`; returns the norm before
 * clipping as a one-element tensor (the caller disposes it). Parameters without a gradient are skipped.
 */
export function clipGradNorm(params: readonly [string, Tensor][], maxNorm: number): Tensor {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const grads = params.map(([, p]) => p).filter((p) => p.grad !== null);
  if (grads.length === 0) throw new Error("clipGradNorm: no parameter has a gradient; call backward() first");
  return noGrad(() =>
    tidy(() => {
      const backend = grads[0].backend;
      let total: Tensor = Tensor.zeros([], { backend });
      for (const p of grads) total = add(total, sum(square(p.grad!)));
      const norm = sqrt(total);
      const scale = minimum(
        Tensor.ones([], { backend }),
        div(Tensor.full([], maxNorm, { backend }), addScalar(norm, 1e-6)),
      );
      for (const p of grads) p.grad!.assign(mul(p.grad!, scale));
      return keep(norm);
    })
  );
}
