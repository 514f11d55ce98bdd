/**
 * Shape ops: reshape, permute/transpose, broadcast (expand), slice and concat, each with its backward.
 *
 * All but `reshape` move data with the backend's one strided copy (`copyInto`): a permutation reads the input
 * with permuted strides, a broadcast reads it with stride 0 on stretched dimensions, a slice reads it from an
 * offset, and a concatenation writes each piece at its offset. Backward passes are the mirror images: permute by
 * the inverse permutation, sum over broadcast dimensions, pad a slice's gradient with zeros, slice a concat's.
 *
 * @module
 */

import { contiguousView } from "../backend/backend.ts";
import { record } from "../autograd.ts";
import type { Tensor } from "../tensor.ts";
import { broadcastShapes, broadcastView, normAxis, prod, sameBackend, sameShape, wrap } from "./util.ts";
import { sum } from "./reduce.ts";

/** The same elements under a new shape (no copy). One dimension may be −1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  if (inferred > 1) throw new Error(`reshape: at most one dimension may be -1, got [${shape}]`);
  const full = shape.map((d) => (d === -1 ? x.size / prod(known) : d));
  if (!full.every((d) => Number.isInteger(d) && d >= 0) || prod(full) !== x.size) {
    throw new Error(`reshape: cannot reshape [${x.shape}] (${x.size} elements) to [${shape}]`);
  }
  const out = x.viewAs(full);
  return record(out, "reshape", [x], (dy) => [dy.viewAs(x.shape)]);
}

/** Reorders dimensions: output dimension i is input dimension `perm[i]`. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const rank = x.shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of the ${rank} dimensions of [${x.shape}]`);
  }
  const inStrides = contiguousView(x.shape).strides;
  const shape = perm.map((p) => x.shape[p]);
  const storage = x.backend.copy(x.storage, { offset: 0, strides: perm.map((p) => inStrides[p]) }, shape);
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(wrap(storage, shape, x), "permute", [x], (dy) => [permute(dy, inverse)]);
}

/** Swaps two dimensions. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const rank = x.shape.length;
  const a = normAxis("transpose", dim0, rank);
  const b = normAxis("transpose", dim1, rank);
  const perm = [...Array(rank).keys()];
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Broadcasts x to `shape` (NumPy rules), copying. Backward sums over the broadcast dimensions. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const out = broadcastShapes("expand", x.shape, shape);
  if (!sameShape(out, shape)) throw new Error(`expand: cannot broadcast [${x.shape}] to [${shape}]`);
  const storage = x.backend.copy(x.storage, broadcastView(x.shape, shape), [...shape]);
  return record(wrap(storage, shape, x), "expand", [x], (dy) => [sumTo(dy, x.shape)]);
}

/** Sums `x` over the dimensions along which `shape` was broadcast to x's shape (the backward of broadcasting). */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const lead = x.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(x, axes), shape);
}

/** Elements `start ≤ i < end` along `axis`. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis("slice", axis, x.shape.length);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > x.shape[a] || start > end) {
    throw new Error(`slice: range [${start}, ${end}) is outside dimension ${a} of [${x.shape}]`);
  }
  const shape = x.shape.map((d, i) => (i === a ? end - start : d));
  const inView = contiguousView(x.shape);
  const storage = x.backend.copy(
    x.storage,
    { offset: start * inView.strides[a], strides: inView.strides },
    shape,
  );
  return record(wrap(storage, shape, x), "slice", [x], (dy) => {
    // The gradient of a slice is the slice's gradient written back into zeros of the input's shape.
    const dx = x.backend.full(x.size, "f32", 0);
    x.backend.copyInto(dy.storage, contiguousView(shape), dx, {
      offset: start * inView.strides[a],
      strides: inView.strides,
    }, shape);
    return [wrap(dx, x.shape, x)];
  });
}

/** Joins tensors along `axis`; all other dimensions must agree. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error("concat: expected at least one tensor");
  sameBackend("concat", ...xs);
  const first = xs[0];
  const a = normAxis("concat", axis, first.shape.length);
  for (const t of xs) {
    if (t.shape.length !== first.shape.length || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat: shapes [${first.shape}] and [${t.shape}] differ outside axis ${a}`);
    }
    if (t.dtype !== first.dtype) throw new Error(`concat: dtypes ${first.dtype} and ${t.dtype} differ`);
  }
  const shape = first.shape.map((d, i) => (i === a ? xs.reduce((s, t) => s + t.shape[a], 0) : d));
  const outView = contiguousView(shape);
  const storage = first.backend.full(prod(shape), first.dtype, 0);
  const starts: number[] = [];
  let at = 0;
  for (const t of xs) {
    starts.push(at);
    first.backend.copyInto(
      t.storage,
      contiguousView(t.shape),
      storage,
      { offset: at * outView.strides[a], strides: outView.strides },
      [...t.shape],
    );
    at += t.shape[a];
  }
  return record(
    wrap(storage, shape, first),
    "concat",
    xs,
    (dy) => xs.map((t, i) => slice(dy, a, starts[i], starts[i] + t.shape[a])),
  );
}
