/**
 * Packing kernel parameters: uniform blocks, and the strided views of `copyInto`, `binary` and `where`.
 *
 * @module
 */

import type { View } from "../backend.ts";

/**
 * Packs scalars into the bytes of a WGSL uniform struct whose fields are all 4-byte scalars, in order.
 * `types` has one letter per field: `u` (u32), `i` (i32) or `f` (f32).
 */
export function pack(types: string, values: readonly number[]): Uint32Array {
  if (types.length !== values.length) {
    throw new Error(`pack: ${types.length} field types for ${values.length} values`);
  }
  const words = new Uint32Array(Math.max(4, Math.ceil(values.length / 4) * 4)); // uniform structs are 16-byte sized
  const ints = new Int32Array(words.buffer);
  const floats = new Float32Array(words.buffer);
  for (let i = 0; i < values.length; i++) {
    if (types[i] === "u") words[i] = values[i];
    else if (types[i] === "i") ints[i] = values[i];
    else floats[i] = values[i];
  }
  return words;
}

/** Dimensions the strided kernels handle after merging (see `Strided` in shaders/common.wgsl). */
export const MAX_DIMS = 8;

/** A shape and up to three views of it, with size-1 dimensions dropped and mergeable neighbours merged. */
export interface SimplifiedViews {
  shape: number[];
  offsets: number[];
  strides: number[][];
}

/**
 * Drops dimensions of size 1 and merges neighbouring dimensions d, d+1 wherever every view has
 * `stride[d] = stride[d+1] · shape[d+1]` (the pair is then one dimension laid out alike). Row-major order is
 * preserved, so the i-th element of the merged shape is the i-th of the original. A contiguous tensor becomes one
 * dimension, and a broadcast row one dimension with stride 0, whatever the rank.
 */
export function simplifyViews(shape: readonly number[], views: readonly View[]): SimplifiedViews {
  const dims: number[] = [];
  const strides: number[][] = views.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    const mergeable = last >= 0 &&
      views.every((v, k) => strides[k][last] === v.strides[d] * shape[d]);
    if (mergeable) {
      dims[last] *= shape[d];
      views.forEach((v, k) => (strides[k][last] = v.strides[d]));
    } else {
      dims.push(shape[d]);
      views.forEach((v, k) => strides[k].push(v.strides[d]));
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    strides.forEach((s) => s.push(0));
  }
  return { shape: dims, offsets: views.map((v) => v.offset), strides };
}

/**
 * The `Strided` uniform block of shaders/common.wgsl for up to three views of `shape`:
 * count, ndim, 2 pad words, 4 offsets, 8 sizes, then 8 strides per operand (160 bytes).
 */
export function packStrided(shape: readonly number[], views: readonly View[]): Uint32Array {
  const s = simplifyViews(shape, views);
  if (s.shape.length > MAX_DIMS) {
    throw new Error(
      `WebGPU backend: a view with ${s.shape.length} dimensions that cannot be merged exceeds the ${MAX_DIMS} ` +
        `the strided kernels support; make the tensor contiguous first`,
    );
  }
  const words = new Uint32Array(8 + MAX_DIMS * 4);
  const ints = new Int32Array(words.buffer);
  let count = 1;
  for (const n of s.shape) count *= n;
  words[0] = count;
  words[1] = s.shape.length;
  s.offsets.forEach((o, k) => (ints[4 + k] = o));
  s.shape.forEach((n, d) => (words[8 + d] = n));
  s.strides.forEach((st, k) => st.forEach((x, d) => (ints[8 + MAX_DIMS * (k + 1) + d] = x)));
  return words;
}
