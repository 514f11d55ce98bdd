/**
 * Softmax and log-softmax along the last axis.
 *
 * `softmax(x)_j = exp(x_j − m) / Σ_i exp(x_i − m)` with m the row maximum (subtracting it changes nothing
 * mathematically and keeps exp from overflowing). Backward uses the saved output y:
 * softmax `dx = y ⊙ (dy − Σ dy⊙y)`, log-softmax `dx = dy − softmax(x) · Σ dy`.
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { expectDType, wrap } from "./util.ts";

function softmaxImpl(x: Tensor, log: boolean): Tensor {
  const op = log ? "logSoftmax" : "softmax";
  expectDType(op, "x", x, "f32");
  const n = x.shape[x.shape.length - 1];
  const rows = x.size / n;
  const y = wrap(x.backend.softmax(x.storage, rows, n, log), x.shape, x);
  return record(
    y,
    op,
    [x],
    (dy) => [wrap(x.backend.softmaxBackward(y.storage, dy.storage, rows, n, log), x.shape, x)],
  );
}

/** Softmax over the last axis. */
export const softmax = (x: Tensor): Tensor => softmaxImpl(x, false);
/** Log-softmax over the last axis. */
export const logSoftmax = (x: Tensor): Tensor => softmaxImpl(x, true);
