/**
 * Tensor: a shape, a dtype and contiguous row-major storage owned by a backend, plus the autograd links that say
 * how it was made.
 *
 * Tensors are immutable in value: every op returns a new tensor (the optimiser's in-place update and
 * {@link Tensor.assign} are the two deliberate exceptions). Reading is asynchronous (`await t.data()`), because on
 * WebGPU the values live on the device; everything else is synchronous and only records work.
 *
 * Memory is released deterministically, never left to the garbage collector (GPU buffers are not garbage
 * collected in any useful time): call {@link Tensor.dispose}, or run code inside {@link tidy}, which disposes
 * every tensor created inside it except those returned or {@link keep}-ed.
 *
 * @module
 */

import type { Backend, DType, Storage, TypedArray } from "./backend/backend.ts";
import { contiguousView, numel } from "./backend/backend.ts";
import { CpuBackend } from "./backend/cpu.ts";
import { type GradNode, noGrad } from "./autograd.ts";
import { type Rng, toRng } from "./rng.ts";
import { traceLevel, traceOp } from "./trace.ts";

let defaultBackend: Backend = new CpuBackend();

/** The backend new tensors go to when none is named. Starts as the CPU backend. */
export function getDefaultBackend(): Backend {
  return defaultBackend;
}

/** Sets the backend new tensors go to when none is named. */
export function setDefaultBackend(backend: Backend): void {
  defaultBackend = backend;
}

// ---- scopes ------------------------------------------------------------------------------------------------------

/** Tensors created while a scope is open, so they can be disposed together. */
const scopes: Set<Tensor>[] = [];

/**
 * Runs `fn` and disposes every tensor created inside it, except those in its result (a tensor, or an array or
 * object of tensors, searched one level deep) and those passed to {@link keep}. Scopes nest: kept tensors move to
 * the enclosing scope. `fn` must be synchronous (an `await` inside would let other code's tensors into the scope).
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T | undefined;
  try {
    result = fn();
  } finally {
    scopes.pop();
    // On a throw nothing survives: every tensor made inside is released.
    const survivors = new Set<Tensor>(collectTensors(result));
    for (const t of scope) {
      if (survivors.has(t)) {
        scopes.at(-1)?.add(t);
      } else if (!t.isDisposed) {
        t.dispose();
      }
    }
  }
  return result as T;
}

/** Marks a tensor to outlive the enclosing {@link tidy} scopes (it must then be disposed by hand). */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

function collectTensors(value: unknown): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (Array.isArray(value)) return value.filter((v): v is Tensor => v instanceof Tensor);
  if (value && typeof value === "object") {
    return Object.values(value).filter((v): v is Tensor => v instanceof Tensor);
  }
  return [];
}

// ---- the tensor ---------------------------------------------------------------------------------------------------

/** Options for creating a tensor. */
export interface TensorOptions {
  /** Defaults to the default backend ({@link setDefaultBackend}). */
  backend?: Backend;
  /** Defaults to "f32" (or "i32" for an Int32Array). */
  dtype?: DType;
  /** Track operations on this tensor so {@link Tensor.backward} can compute its gradient. */
  requiresGrad?: boolean;
}

/** An n-dimensional array on a backend. */
export class Tensor {
  /** The gradient accumulated by `backward()`, for tensors that require it. */
  grad: Tensor | null = null;
  /** How this tensor was computed (null for leaves and for results computed without gradient tracking). */
  node: GradNode | null = null;
  /** Storage shared with reshaped views of this tensor; released when the last of them is disposed. */
  #holder: { storage: Storage; refs: number } | null;

  /** Wraps existing storage; most code uses {@link Tensor.from}, {@link Tensor.zeros} and the ops instead. */
  constructor(
    storage: Storage,
    readonly shape: readonly number[],
    readonly backend: Backend,
    public requiresGrad = false,
  ) {
    if (storage.length !== numel(shape)) {
      throw new Error(`Tensor: storage of ${storage.length} elements cannot have shape [${shape}]`);
    }
    this.#holder = { storage, refs: 1 };
    scopes.at(-1)?.add(this);
  }

  /**
   * The same elements under another shape, sharing storage (no copy). The storage is released when both this
   * tensor and the view are disposed. Autograd-aware reshaping is `reshape` in ops/shape.ts.
   */
  viewAs(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) {
      throw new Error(`reshape: cannot view [${this.shape}] (${this.size} elements) as [${shape}]`);
    }
    const holder = this.#live();
    const view = new Tensor(holder.storage, shape, this.backend);
    view.#holder = holder;
    holder.refs++;
    return view;
  }

  #live(): { storage: Storage; refs: number } {
    if (this.#holder === null) {
      throw new Error(`Tensor [${this.shape}] was used after dispose(); keep() it or move it out of tidy()`);
    }
    return this.#holder;
  }

  /** Element type. */
  get dtype(): DType {
    return this.storage.dtype;
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }

  /** The backend storage; throws if the tensor was disposed. */
  get storage(): Storage {
    return this.#live().storage;
  }

  /** Whether {@link dispose} has been called. */
  get isDisposed(): boolean {
    return this.#holder === null;
  }

  /** Creates a tensor from values (copied). A plain number array becomes f32 unless `dtype` says i32. */
  static from(
    values: ArrayLike<number> | TypedArray,
    shape: readonly number[],
    options: TensorOptions = {},
  ): Tensor {
    const backend = options.backend ?? defaultBackend;
    const dtype = options.dtype ?? (values instanceof Int32Array ? "i32" : "f32");
    if (values.length !== numel(shape)) {
      throw new Error(
        `Tensor.from: ${values.length} values do not fill shape [${shape}] (${numel(shape)} elements)`,
      );
    }
    const data = dtype === "i32"
      ? (values instanceof Int32Array ? values : Int32Array.from(values))
      : (values instanceof Float32Array || values instanceof Float64Array
        ? values
        : Float64Array.from(values));
    const t = new Tensor(backend.upload(data), shape, backend, options.requiresGrad ?? false);
    if (traceLevel() > 0) traceOp("Tensor.from", [], [t]);
    return t;
  }

  /** A tensor of `shape` filled with `value`. */
  static full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
    const backend = options.backend ?? defaultBackend;
    const storage = backend.full(numel(shape), options.dtype ?? "f32", value);
    const t = new Tensor(storage, shape, backend, options.requiresGrad ?? false);
    if (traceLevel() > 0) traceOp("Tensor.full", [], [t]);
    return t;
  }

  /** A tensor of zeros. */
  static zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 0, options);
  }

  /** A tensor of ones. */
  static ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 1, options);
  }

  /** A tensor of N(mean, std²) draws from a seeded generator (or a seed). */
  static randn(
    shape: readonly number[],
    rng: Rng | number,
    { mean = 0, std = 1, ...options }: TensorOptions & { mean?: number; std?: number } = {},
  ): Tensor {
    return Tensor.from(toRng(rng).normalArray(numel(shape), mean, std), shape, options);
  }

  /** A tensor of U[lo, hi) draws from a seeded generator (or a seed). */
  static rand(
    shape: readonly number[],
    rng: Rng | number,
    { lo = 0, hi = 1, ...options }: TensorOptions & { lo?: number; hi?: number } = {},
  ): Tensor {
    const g = toRng(rng);
    const values = new Float64Array(numel(shape));
    for (let i = 0; i < values.length; i++) values[i] = lo + (hi - lo) * g.uniform();
    return Tensor.from(values, shape, options);
  }

  /** Reads the values back (asynchronous: on WebGPU this waits for the device). */
  data(): Promise<TypedArray> {
    return this.backend.read(this.storage);
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`item(): expected a tensor of one element, got shape [${this.shape}]`);
    }
    return (await this.data())[0];
  }

  /** Releases the storage (and the gradient). Safe to call twice. */
  dispose(): void {
    if (this.#holder === null) return;
    if (--this.#holder.refs === 0) this.backend.release(this.#holder.storage);
    this.#holder = null;
    this.node = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /**
   * Replaces this tensor's storage with `source`'s (same shape and dtype) and disposes `source`. Used for
   * parameters, whose identity must survive loading a checkpoint.
   */
  assign(source: Tensor): void {
    if (source.shape.join() !== this.shape.join() || source.dtype !== this.dtype) {
      throw new Error(
        `assign: expected ${this.dtype} [${this.shape}], got ${source.dtype} [${source.shape}]`,
      );
    }
    if (source.backend !== this.backend) throw new Error("assign: tensors live on different backends");
    if (this.#live().refs !== 1 || source.#live().refs !== 1) {
      throw new Error("assign: cannot assign to or from a tensor that shares storage with a view");
    }
    this.backend.release(this.storage);
    this.#holder = source.#holder;
    source.#holder = null;
    for (const scope of scopes) scope.delete(source);
  }

  /** Computes gradients of this scalar with respect to every tensor that requires grad (see {@link backward}). */
  backward(): void {
    backward(this);
  }

  /** A short description for error messages and the REPL. */
  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape}], ${this.backend.name}${
      this.requiresGrad ? ", requiresGrad" : ""
    })`;
  }
}

// ---- the backward pass ------------------------------------------------------------------------------------------

/** Tensors reachable from `root` through recorded nodes, each after all tensors it depends on. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative depth-first search (a deep network would overflow a recursive one).
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const inputs = frame.t.node?.inputs ?? [];
    if (frame.next < inputs.length) {
      const child = inputs[frame.next++];
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(frame.t);
      stack.pop();
    }
  }
  return order;
}

/** A copy of `t` in fresh storage (so that two tensors never share one gradient object). */
function clone(t: Tensor): Tensor {
  return new Tensor(t.backend.copy(t.storage, contiguousView(t.shape), [...t.shape]), t.shape, t.backend);
}

/** a + b for two tensors of one shape, straight on the backend (no graph). */
function accumulate(a: Tensor, b: Tensor): Tensor {
  const view = contiguousView(a.shape);
  return new Tensor(
    a.backend.binary("add", a.storage, view, b.storage, view, [...a.shape]),
    a.shape,
    a.backend,
  );
}

/**
 * Back-propagates from `root` (reverse-mode automatic differentiation):
 *  1. sorts the graph topologically, so a node runs only after every use of its output has sent its gradient;
 *  2. walks it in reverse, calling each node's closure with gradient tracking switched off;
 *  3. accumulates (sums) gradients that reach a tensor along several paths;
 *  4. stores the result in `.grad` of every leaf that requires it (adding to a gradient already there).
 *
 * Afterwards every leaf tensor with `requiresGrad` that `root` depends on has
 * `.grad` = d root / d leaf (added to any gradient it already had). `root` must have one element unless a
 * gradient `seed` of its shape is given.
 */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error("backward(): this tensor does not depend on any tensor with requiresGrad: true");
  }
  if (!seed && root.size !== 1) {
    throw new Error(`backward(): expected a scalar loss, got shape [${root.shape}]; pass a gradient seed`);
  }
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>();
  // A backward closure may return the same tensor for two inputs (d(a+b)/da = d(a+b)/db = dy); each gradient
  // is stored once, so a second use gets its own copy.
  const used = new Set<Tensor>();
  const own = (g: Tensor) => (used.has(g) ? clone(g) : (used.add(g), g));
  grads.set(root, seed ?? Tensor.ones(root.shape, { backend: root.backend }));
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      const node = t.node;
      if (node === null) {
        // A leaf: hand the gradient to the user.
        const previous = t.grad;
        t.grad = keep(previous ? accumulate(previous, g) : g);
        previous?.dispose();
        continue;
      }
      used.add(g);
      const inputGrads = node.backward(g);
      node.inputs.forEach((input, j) => {
        const gi = inputGrads[j];
        if (!input.requiresGrad || !gi) return;
        if (gi.shape.join() !== input.shape.join()) {
          throw new Error(
            `backward of ${node.op}: gradient [${gi.shape}] does not match input ${j} [${input.shape}]`,
          );
        }
        const previous = grads.get(input);
        grads.set(input, previous ? accumulate(previous, gi) : own(gi));
      });
      if (traceLevel() > 0) traceOp(`${node.op}.backward`, [g], inputGrads);
      t.node = null; // the graph is used once, as in PyTorch's default
    }
  });
}
