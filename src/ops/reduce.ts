/**
 * Reductions: sum, mean and max along axes, argmax along the last axis.
 *
 * The backend reduces one axis of an array viewed as `[outer, n, inner]`; several axes are reduced one after
 * another, from the last, and adjacent axes together as one axis of their combined length (so a sum over every
 * axis is one pass). Backward: a sum's gradient is the output gradient broadcast back over the summed axes;
 * a max's goes to the positions that held the maximum (split evenly between ties).
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { expectDType, normAxis, prod, wrap } from "./util.ts";
import { expand, reshape } from "./shape.ts";
import { div, equal, mul, scale } from "./elementwise.ts";

/** The shape with the reduced axes kept as size 1. */
function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** The axes to reduce, without repeats, highest first (so earlier reductions keep later indices valid). */
function normAxes(op: string, x: Tensor, axes?: number | readonly number[]): number[] {
  if (axes === undefined) return [...x.shape.keys()].reverse();
  const list = typeof axes === "number" ? [axes] : [...axes];
  const norm = list.map((a) => normAxis(op, a, x.shape.length));
  return [...new Set(norm)].sort((a, b) => b - a);
}

/** Axes sorted highest first, grouped into runs of adjacent axes `[first, last]`, highest run first. */
function adjacentRuns(axes: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const a of axes) {
    const run = runs.at(-1);
    if (run && run[0] === a + 1) run[0] = a;
    else runs.push([a, a]);
  }
  return runs;
}

/** Sum over `axes` (all by default). `keepDims` keeps each reduced axis as size 1. */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  expectDType("sum", "x", x, "f32");
  const ax = normAxes("sum", x, axes);
  let shape = [...x.shape];
  let storage = x.storage;
  let owned = false;
  for (const [first, last] of adjacentRuns(ax)) {
    const n = prod(shape, first, last + 1);
    const next = x.backend.reduce("sum", storage, prod(shape, 0, first), n, prod(shape, last + 1));
    if (owned) x.backend.release(storage);
    storage = next;
    owned = true;
    shape = shape.map((d, i) => (i >= first && i <= last ? 1 : d));
  }
  if (!owned) storage = x.backend.reduce("sum", storage, 1, 1, x.size); // no axes: a copy
  const kept = keptShape(x.shape, ax);
  const outShape = keepDims ? kept : x.shape.filter((_, i) => !ax.includes(i));
  const out = wrap(storage, outShape, x);
  return record(out, "sum", [x], (dy) => [expand(reshape(dy, kept), x.shape)]);
}

/** Mean over `axes` (all by default). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes("mean", x, axes);
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  const s = sum(x, ax, keepDims);
  return scale(s, 1 / count);
}

/** Maximum along one axis. The gradient is shared equally by the positions that attain the maximum. */
export function max(x: Tensor, axis = -1, keepDims = false): Tensor {
  expectDType("max", "x", x, "f32");
  const a = normAxis("max", axis, x.shape.length);
  const storage = x.backend.reduce("max", x.storage, prod(x.shape, 0, a), x.shape[a], prod(x.shape, a + 1));
  const kept = keptShape(x.shape, [a]);
  const out = wrap(storage, keepDims ? kept : x.shape.filter((_, i) => i !== a), x);
  return record(out, "max", [x], (dy) => {
    const hits = equal(x, reshape(out, kept)); // 1 where x attains the maximum
    const share = div(hits, sum(hits, a, true));
    return [mul(share, reshape(dy, kept))];
  });
}

/** Index of the maximum along the last axis (first index wins ties), as i32; no gradient. */
export function argmax(x: Tensor): Tensor {
  expectDType("argmax", "x", x, "f32");
  const n = x.shape[x.shape.length - 1];
  const out = wrap(x.backend.argmax(x.storage, x.size / n, n), x.shape.slice(0, -1), x);
  return record(out, "argmax", [x], null);
}
