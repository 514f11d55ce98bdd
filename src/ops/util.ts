/**
 * Small helpers shared by the op files: wrapping backend storage as tensors, checking arguments, and the
 * broadcasting rules.
 *
 * @module
 */

import type { DType, Storage, View } from "../backend/backend.ts";
import { contiguousView } from "../backend/backend.ts";
import { Tensor } from "../tensor.ts";

/** Wraps storage the backend just produced as a tensor on `like`'s backend. */
export function wrap(storage: Storage, shape: readonly number[], like: Tensor): Tensor {
  return new Tensor(storage, shape, like.backend);
}

/** Throws unless every tensor lives on the first one's backend. */
export function sameBackend(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.backend !== ts[0].backend) {
      throw new Error(
        `${op}: inputs live on different backends (${ts[0].backend.name} and ${t.backend.name})`,
      );
    }
  }
}

/** Throws unless `t` has dtype `dtype`, naming the op and the argument. */
export function expectDType(op: string, name: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) throw new Error(`${op}: expected ${name} of dtype ${dtype}, got ${t.dtype}`);
}

/** Throws unless `t` has `rank` dimensions. */
export function expectRank(op: string, name: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) {
    throw new Error(`${op}: expected ${name} of rank ${rank}, got shape [${t.shape}]`);
  }
}

/** Normalises a possibly negative axis and checks it. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** NumPy broadcasting: align shapes on the right; each pair of sizes must match or one must be 1. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes [${a}] and [${b}] cannot be broadcast together (dimension ${i}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da; // not max: a size-0 dimension broadcast against 1 stays 0
  }
  return out;
}

/** The view that reads an array of `shape` as if broadcast to `outShape` (stride 0 on stretched dimensions). */
export function broadcastView(shape: readonly number[], outShape: readonly number[]): View {
  const own = contiguousView(shape);
  const lead = outShape.length - shape.length;
  const strides = outShape.map((d, i) => {
    if (i < lead) return 0;
    return shape[i - lead] === 1 && d !== 1 ? 0 : own.strides[i - lead];
  });
  return { offset: 0, strides };
}

/** Product of the sizes of `shape` in [from, to). */
export function prod(shape: readonly number[], from = 0, to = shape.length): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= shape[i];
  return p;
}

/** Whether two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
