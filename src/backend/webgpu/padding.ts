/**
 * Zero-padding by strided copies: widening operands to whole vec4s for the kernels that read them so, and cutting
 * the results back.
 *
 * The fast kernels read rows as `vec4`s, so a row of `n` values is stored `4·⌈n/4⌉` wide. Padding with zeros
 * leaves every result unchanged: zeros add nothing to a dot product or a sum of squares, and the extra rows and
 * columns they produce are cut off afterwards. Everything here is built from the {@link Backend} primitives
 * `full`, `copy`, `copyInto` and `release`.
 *
 * @module
 */

import type { Backend, Storage } from "../backend.ts";

/** Elements of a `vec4`, the unit the fast kernels load. */
export const VEC4 = 4;

/** `d` rounded up to a whole number of vec4s. */
export function padTo4(d: number): number {
  return Math.ceil(d / VEC4) * VEC4;
}

/**
 * `[rows, n]` widened to `[rows, width]` with zeros on the right. Storage already `width` wide is returned as it
 * is; otherwise the copy is new storage the caller releases (see {@link releasePadded}).
 */
export function padRows(backend: Backend, x: Storage, rows: number, n: number, width: number): Storage {
  if (width === n) return x;
  const out = backend.full(rows * width, "f32", 0);
  backend.copyInto(x, { offset: 0, strides: [n, 1] }, out, { offset: 0, strides: [width, 1] }, [rows, n]);
  return out;
}

/** Cuts a `[rows, width]` result back to `[rows, n]` and releases it (a no-op when width = n). */
export function unpadRows(backend: Backend, x: Storage, rows: number, n: number, width: number): Storage {
  if (width === n) return x;
  const out = backend.copy(x, { offset: 0, strides: [width, 1] }, [rows, n]);
  backend.release(x);
  return out;
}

/** Releases the padded copies among `padded` (those that are not the matching `originals`). */
export function releasePadded(backend: Backend, originals: Storage[], padded: Storage[]): void {
  padded.forEach((s, i) => {
    if (s !== originals[i]) backend.release(s);
  });
}

/**
 * A zero-padded copy of a batched matrix operand: each of its `batch` items (or the single one, when `stride` is
 * 0) stored as `dims` = [rows, cols] at `stride` apart, laid out contiguously as `paddedDims`.
 */
export function padMatrices(
  backend: Backend,
  x: Storage,
  stride: number,
  batch: number,
  dims: [number, number],
  paddedDims: [number, number],
): Storage {
  const items = stride === 0 ? 1 : batch;
  const [rows, cols] = dims;
  const [prow, pcol] = paddedDims;
  const out = backend.full(items * prow * pcol, "f32", 0);
  const src = { offset: 0, strides: [stride, cols, 1] };
  const dst = { offset: 0, strides: [prow * pcol, pcol, 1] };
  backend.copyInto(x, src, out, dst, [items, rows, cols]);
  return out;
}
