/**
 * The WebGPU backend: every primitive of {@link Backend} as a dispatch of a hand-written WGSL kernel from
 * `shaders/`, tested against the CPU backend's loops.
 *
 * Execution model (what a reader needs to know to follow a training step through this file):
 * - **Recording, not running.** A primitive records a dispatch into the current command encoder and returns
 *   at once with storage that will hold the result. Nothing runs until the encoder is submitted: by
 *   {@link WebGpuBackend.read}, {@link WebGpuBackend.flush}, or automatically every {@link MAX_DISPATCHES}
 *   dispatches. A training step therefore records all its kernels, forward and backward, and waits once.
 * - **Parameters** go in a uniform block per dispatch: a 256-byte slot of one uniform buffer per submit, written
 *   with one `queue.writeBuffer` just before the submit.
 * - **Buffers** come from pools by size class and are recycled only after the commands that used them were
 *   submitted (see `webgpu/pool.ts`), so uploads (`queue.writeBuffer`, which runs before any command recorded
 *   but not yet submitted) never land in a buffer that pending commands still read. To bound the memory a long
 *   recording holds, the backend also submits by itself once 256 MiB of released storage waits for reuse.
 * - **Pipelines** are compiled on first use and cached by file, entry point and override constants.
 * - **Large launches** of more than 65,535 workgroups are folded into two dimensions (`flat_workgroup` in
 *   `shaders/common.wgsl`); storage larger than the device's binding limit is refused with a message.
 * - **Errors**: shader compile errors name the `.wgsl` file and line (at creation, see `webgpu/shaders.ts`);
 *   validation errors and device loss are raised by the next call, with what happened and what to do.
 *
 * Shapes that the fast kernels cannot take directly (matmul dimensions and attention head sizes that are not
 * multiples of 4) are padded with zeros by strided copies first, which leaves the results unchanged.
 *
 * @module
 */

import type {
  AdamWParams,
  AttentionParams,
  Backend,
  BinaryOp,
  DType,
  GreedyStepParams,
  MatmulParams,
  ReduceOp,
  RopeParams,
  Storage,
  TypedArray,
  UnaryOp,
  View,
} from "./backend.ts";
import { contiguousView, numel } from "./backend.ts";
import { createGpuContext, type GpuContext } from "./webgpu/device.ts";
import { BufferPool } from "./webgpu/pool.ts";
import { pack, packStrided, simplifyViews } from "./webgpu/layout.ts";
import { compileShaders, type ShaderFile } from "./webgpu/shaders.ts";

/** The UnaryOp names in the order of the `OP` switch in shaders/elementwise.wgsl. */
const UNARY_OPS: readonly UnaryOp[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "sigmoid",
  "silu",
  "relu",
  "tanh",
  "abs",
  "square",
  "scale",
  "addScalar",
  "powScalar",
];

/** The BinaryOp names in the order of the `OP` switch in shaders/elementwise.wgsl. */
const BINARY_OPS: readonly BinaryOp[] = [
  "add",
  "sub",
  "mul",
  "div",
  "maximum",
  "minimum",
  "pow",
  "eq",
  "lt",
  "gt",
];

/** Dispatches recorded before the backend submits on its own (also the number of uniform slots per submit). */
export const MAX_DISPATCHES = 256;

/**
 * Released storage waiting for a submit before it can be reused; past this the backend submits by itself, which
 * bounds the memory a long recording (a whole training step) holds.
 */
const MAX_PENDING_BYTES = 256 * 2 ** 20;

/** Bytes of one dispatch's uniform slot (≥ the largest parameter block, 160 bytes, and a valid offset alignment). */
const UNIFORM_SLOT = 256;

/** Invocations per workgroup of the 1-D kernels (the `WG` override of each shader). */
const WG = 64;

/** Register tile of shaders/matmul.wgsl: rows × columns of C per invocation. */
const MATMUL_TILE = 16;

/** Below this many 16 × 16 output tiles a transposed-A product is split along k (see #matmulTiled). */
const SPLIT_K_TILES = 1024;

/** Query or key rows per invocation in shaders/attention.wgsl (`ROWS`). */
const ATTENTION_ROWS = 8;

/** Largest head dimension of shaders/attention.wgsl (4 · `MAX_D4`). */
const ATTENTION_MAX_HEAD_DIM = 256;

/** Buffer usages: spelled out so the module does not depend on the `GPUBufferUsage` global (absent in Node). */
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;

/** Invocations of a kernel that handles a vec4 (4 elements) per invocation, for `count` elements. */
function vec4s(count: number): number {
  return Math.ceil(count / 4);
}

/** Storage on the GPU: a pooled buffer holding `length` elements of `dtype` (4 bytes each). */
class GpuStorage implements Storage {
  released = false;
  constructor(readonly length: number, readonly dtype: DType, readonly buffer: GPUBuffer) {}
  /** Bytes bound to kernels: the data rounded up to 16 (whole vec4s), at least 16. */
  get bindingSize(): number {
    return Math.max(16, Math.ceil((this.length * 4) / 16) * 16);
  }
}

/** A storage bound at a binding number of a kernel's bind group (binding 0 is always the parameters). */
type Binding = [binding: number, storage: GpuStorage];

/** Counters of the work done so far, for tests (e.g. "one read per training step") and benchmarks. */
export interface WebGpuStats {
  /** Command buffers submitted. */
  submits: number;
  /** Reads back to the CPU. */
  reads: number;
  /** Kernel dispatches recorded. */
  dispatches: number;
  /** Pipelines compiled. */
  pipelines: number;
  /** GPU buffers created for storage (the rest of the storage handed out was recycled from the pool). */
  buffersCreated: number;
}

/** GPU time spent in one kernel (file and entry point), from {@link WebGpuBackend.profile}. */
export interface KernelTime {
  kernel: string;
  dispatches: number;
  ms: number;
}

/** Options of {@link WebGpuBackend.create}. */
export interface WebGpuOptions {
  /**
   * Measure the GPU time of every dispatch with timestamp queries (needs the adapter's `timestamp-query`
   * feature; ignored without it). Each dispatch then gets its own compute pass, which costs a little.
   */
  profile?: boolean;
}

/** Primitives on a WebGPU device. Create with {@link WebGpuBackend.create}. */
export class WebGpuBackend implements Backend {
  readonly name = "webgpu" as const;
  readonly description: string;
  /** Work counters since creation. */
  readonly stats: WebGpuStats = { submits: 0, reads: 0, dispatches: 0, pipelines: 0, buffersCreated: 0 };

  readonly #device: GPUDevice;
  readonly #modules: Map<ShaderFile, GPUShaderModule>;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #storagePool: BufferPool;
  readonly #uniformPool: BufferPool;
  readonly #readPool: BufferPool;
  readonly #maxBinding: number;
  readonly #maxWorkgroups: number;

  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #uniforms: GPUBuffer | null = null;
  readonly #uniformData = new Uint8Array(MAX_DISPATCHES * UNIFORM_SLOT);
  #slots = 0;

  /** Errors reported asynchronously (validation, device loss), raised by the next call. */
  #errors: string[] = [];
  #lost: string | null = null;
  #disposed = false;
  /** inv_freq tables of rope, by θ and head dimension. */
  readonly #invFreq = new Map<string, GpuStorage>();
  /** A one-element i32 buffer bound where a kernel's optional input (the key mask) is absent. */
  #dummy: GpuStorage | null = null;
  /** Profiling: begin/end timestamps of each dispatch of the current submit, the kernel of each, the totals. */
  readonly #timestamps: GPUQuerySet | null;
  #timed: string[] = [];
  readonly #kernelTimes = new Map<string, KernelTime>();
  #pendingTimes: Promise<void>[] = [];

  private constructor(context: GpuContext, modules: Map<ShaderFile, GPUShaderModule>, profile: boolean) {
    const device = context.device;
    this.#device = device;
    this.#modules = modules;
    this.description = context.description;
    this.#maxBinding = device.limits.maxStorageBufferBindingSize;
    this.#maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
    const maxBuffer = device.limits.maxBufferSize;
    this.#storagePool = new BufferPool(
      device,
      USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
      "storage",
      Math.min(maxBuffer, this.#maxBinding),
    );
    this.#uniformPool = new BufferPool(device, USAGE.UNIFORM | USAGE.COPY_DST, "uniforms", maxBuffer);
    this.#readPool = new BufferPool(device, USAGE.MAP_READ | USAGE.COPY_DST, "readback", maxBuffer);
    this.#timestamps = profile && device.features.has("timestamp-query")
      ? device.createQuerySet({ type: "timestamp", count: 2 * MAX_DISPATCHES })
      : null;
    device.lost.then((info) => {
      this.#lost = this.#disposed
        ? "the backend was disposed"
        : `WebGPU device lost (${info.reason}): ${info.message}. The backend cannot be used any more: ` +
          `create a new one, or use the CPU backend (LLADA_BACKEND=cpu)`;
    });
    device.addEventListener("uncapturederror", (event) => {
      this.#errors.push((event as GPUUncapturedErrorEvent).error.message);
    });
  }

  /**
   * Finds an adapter, creates a device with the adapter's limits and compiles every shader. Throws when there is
   * no adapter (with the reason) or a shader does not compile (naming the `.wgsl` file and line).
   */
  static async create(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
    const context = await createGpuContext(options.profile ? ["timestamp-query"] : []);
    const modules = await compileShaders(context.device);
    return new WebGpuBackend(context, modules, options.profile ?? false);
  }

  /** Whether dispatches are being timed (created with `profile: true` on an adapter with timestamp queries). */
  get profiling(): boolean {
    return this.#timestamps !== null;
  }

  /**
   * GPU time per kernel since creation or the last `reset`, slowest first, for a backend created with
   * `profile: true` (empty otherwise). Waits for the timings of work already submitted.
   */
  async profile(reset = false): Promise<KernelTime[]> {
    this.flush();
    await Promise.all(this.#pendingTimes);
    this.#pendingTimes = [];
    const table = [...this.#kernelTimes.values()].sort((a, b) => b.ms - a.ms);
    if (reset) this.#kernelTimes.clear();
    return table;
  }

  /** The device's limit on one storage binding, in bytes: storage larger than this is refused. */
  get maxStorageBytes(): number {
    return this.#maxBinding;
  }

  /** Submits pending work, frees pooled buffers and destroys the device. The backend is unusable afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.flush();
    this.#disposed = true;
    this.#storagePool.trim();
    this.#uniformPool.trim();
    this.#readPool.trim();
    this.#device.destroy();
  }

  // ---- memory ---------------------------------------------------------------------------------------------

  upload(data: TypedArray): Storage {
    this.#check();
    const s = this.#alloc(data.length, data instanceof Int32Array ? "i32" : "f32");
    if (data instanceof Float64Array) data = Float32Array.from(data); // the GPU stores f32
    // Safe without a flush: s.buffer is fresh or was last used by commands already submitted (see pool.ts).
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (data.length > 0) this.#device.queue.writeBuffer(s.buffer, 0, bytes);
    return s;
  }

  full(length: number, dtype: DType, value: number): Storage {
    this.#check();
    const s = this.#alloc(length, dtype);
    const bits = dtype === "i32" ? new Uint32Array(new Int32Array([value]).buffer) : new Uint32Array(
      new Float32Array([value]).buffer,
    );
    this.#dispatch1D("copy", "fill", {}, pack("uu", [length, bits[0]]), [[1, s]], vec4s(length));
    return s;
  }

  async read(s: Storage): Promise<TypedArray> {
    const src = this.#use(s);
    const bytes = src.length * 4;
    const staging = this.#readPool.acquire(Math.max(bytes, 4));
    this.#endPass();
    if (bytes > 0) this.#commands().copyBufferToBuffer(src.buffer, 0, staging, 0, bytes);
    this.flush();
    this.stats.reads++;
    try {
      await staging.mapAsync(0x1, /* GPUMapMode.READ */ 0, Math.max(bytes, 4));
    } catch (e) {
      this.#check();
      throw new Error(`WebGPU backend: reading storage back failed: ${(e as Error).message}`);
    }
    const copy = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.#readPool.releaseUnused(staging);
    this.#check();
    return src.dtype === "i32" ? new Int32Array(copy) : new Float32Array(copy);
  }

  release(s: Storage): void {
    const g = this.#use(s);
    g.released = true;
    this.#storagePool.release(g.buffer);
  }

  flush(): void {
    this.#check();
    if (this.#encoder === null) return;
    this.#endPass();
    if (this.#uniforms !== null) {
      // Runs before the commands below (writeBuffer precedes the submit), so every slot is in place.
      this.#device.queue.writeBuffer(this.#uniforms, 0, this.#uniformData, 0, this.#slots * UNIFORM_SLOT);
      this.#uniformPool.release(this.#uniforms);
    }
    const timings = this.#resolveTimestamps();
    this.#device.queue.submit([this.#encoder.finish()]);
    this.stats.submits++;
    if (timings) this.#pendingTimes.push(timings());
    this.#encoder = null;
    this.#uniforms = null;
    this.#slots = 0;
    this.#storagePool.submitted();
    this.#uniformPool.submitted();
  }

  /** Submits pending work and waits until the GPU has finished it (for benchmarks; reads wait by themselves). */
  async sync(): Promise<void> {
    this.flush();
    await this.#device.queue.onSubmittedWorkDone();
    this.#check();
  }

  // ---- layout -----------------------------------------------------------------------------------------------

  copy(src: Storage, srcView: View, shape: number[]): Storage {
    const out = this.#alloc(numel(shape), this.#use(src).dtype); // every element is written: no fill
    this.copyInto(src, srcView, out, contiguousView(shape), shape);
    return out;
  }

  copyInto(src: Storage, srcView: View, dst: Storage, dstView: View, shape: number[]): void {
    let from = this.#use(src);
    const to = this.#use(dst);
    if (from.dtype !== to.dtype) {
      throw new Error(`copyInto: source is ${from.dtype} but destination is ${to.dtype}; cast first`);
    }
    // A kernel may not bind one buffer both read-only and writable (nor copy a buffer onto itself): copy a source
    // that is the destination first.
    const alias = from === to;
    if (alias) {
      const tmp = this.#alloc(from.length, from.dtype);
      this.#endPass();
      this.#commands().copyBufferToBuffer(from.buffer, 0, tmp.buffer, 0, from.length * 4);
      from = tmp;
    }
    const s = simplifyViews(shape, [srcView, dstView]);
    const count = numel(shape);
    const last = s.shape.length - 1;
    // Whole aligned vec4s along an innermost dimension that is contiguous on both sides (splitting heads of 32).
    const vec4Rows = s.shape[last] % 4 === 0 && s.offsets.every((o) => o % 4 === 0) &&
      s.strides.every((st) => st[last] === 1 && st.slice(0, last).every((x) => x % 4 === 0));
    if (last === 0 && s.strides.every(([st]) => st === 1)) {
      // Both sides contiguous: a plain buffer copy.
      this.#endPass();
      this.#commands().copyBufferToBuffer(
        from.buffer,
        4 * s.offsets[0],
        to.buffer,
        4 * s.offsets[1],
        4 * count,
      );
    } else if (vec4Rows) {
      // Move vec4s: the same copy with shape, offsets and strides counted in vec4s.
      const shape4 = [...s.shape.slice(0, last), s.shape[last] / 4];
      const view4 = (k: number) => ({
        offset: s.offsets[k] / 4,
        strides: s.strides[k].map((x, d) => (d === last ? 1 : x / 4)),
      });
      const params = packStrided(shape4, [view4(0), view4(1)]);
      this.#dispatch1D("copy", "copy_strided_vec4", {}, params, [[1, from], [2, to]], params[0]);
    } else {
      const params = packStrided(shape, [srcView, dstView]);
      this.#dispatch1D("copy", "copy_strided", {}, params, [[1, from], [2, to]], vec4s(count));
    }
    if (alias) this.release(from);
  }

  cast(x: Storage, dtype: DType): Storage {
    const src = this.#use(x);
    const out = this.#alloc(src.length, dtype);
    if (src.dtype === dtype) {
      this.#endPass();
      this.#commands().copyBufferToBuffer(src.buffer, 0, out.buffer, 0, src.length * 4);
      return out;
    }
    const params = pack("u", [src.length]);
    const bindings: Binding[] = [[1, src], [2, out]];
    this.#dispatch1D("copy", "cast_dtype", { TO_I32: dtype === "i32" }, params, bindings, vec4s(src.length));
    return out;
  }

  // ---- elementwise ------------------------------------------------------------------------------------------

  unary(op: UnaryOp, x: Storage, alpha = 0): Storage {
    const a = this.#f32(x, "unary");
    const out = this.#alloc(a.length, "f32");
    const params = pack("uf", [a.length, alpha]);
    const bindings: Binding[] = [[1, a], [2, out]];
    this.#dispatch1D(
      "elementwise",
      "unary",
      { OP: UNARY_OPS.indexOf(op) },
      params,
      bindings,
      vec4s(a.length),
    );
    return out;
  }

  unaryGrad(op: UnaryOp, x: Storage, dy: Storage, alpha = 0): Storage {
    const a = this.#f32(x, "unaryGrad");
    const g = this.#f32(dy, "unaryGrad");
    const out = this.#alloc(a.length, "f32");
    const params = pack("uf", [a.length, alpha]);
    const bindings: Binding[] = [[1, a], [2, g], [3, out]];
    this.#dispatch1D(
      "elementwise",
      "unary_grad",
      { OP: UNARY_OPS.indexOf(op) },
      params,
      bindings,
      vec4s(a.length),
    );
    return out;
  }

  binary(op: BinaryOp, a: Storage, aView: View, b: Storage, bView: View, shape: number[]): Storage {
    const x = this.#use(a);
    const y = this.#use(b);
    const count = numel(shape);
    const out = this.#alloc(count, "f32");
    const constants = { OP: BINARY_OPS.indexOf(op), A_I32: x.dtype === "i32", B_I32: y.dtype === "i32" };
    const bindings: Binding[] = [[1, x], [2, y], [3, out]];
    // Both inputs contiguous from a vec4 boundary (after merging dimensions): vec4 loads, no index arithmetic.
    const s = simplifyViews(shape, [aView, bView]);
    const contiguous = s.shape.length === 1 && s.strides.every(([st]) => st === 1) &&
      s.offsets.every((o) => o % 4 === 0);
    if (contiguous) {
      const params = pack("uuu", [count, s.offsets[0] / 4, s.offsets[1] / 4]);
      this.#dispatch1D("elementwise", "binary_contiguous", constants, params, bindings, vec4s(count));
    } else {
      const params = packStrided(shape, [aView, bView]);
      this.#dispatch1D("elementwise", "binary", constants, params, bindings, vec4s(count));
    }
    return out;
  }

  where(
    cond: Storage,
    condView: View,
    a: Storage,
    aView: View,
    b: Storage,
    bView: View,
    shape: number[],
  ): Storage {
    const c = this.#use(cond);
    const x = this.#use(a);
    const y = this.#use(b);
    if (x.dtype !== y.dtype) throw new Error(`where: a is ${x.dtype} but b is ${y.dtype}; they must match`);
    const out = this.#alloc(numel(shape), x.dtype);
    const params = packStrided(shape, [condView, aView, bView]);
    const bindings: Binding[] = [[1, c], [2, x], [3, y], [4, out]];
    const constants = { COND_I32: c.dtype === "i32" };
    this.#dispatch1D("elementwise", "where_select", constants, params, bindings, vec4s(params[0]));
    return out;
  }

  // ---- reductions -------------------------------------------------------------------------------------------

  reduce(op: ReduceOp, x: Storage, outer: number, n: number, inner: number): Storage {
    const a = this.#f32(x, "reduce");
    const out = this.#alloc(outer * inner, "f32");
    const params = pack("uuu", [outer, n, inner]);
    const bindings: Binding[] = [[1, a], [2, out]];
    const constants = { IS_MAX: op === "max" };
    if (inner === 1) {
      this.#dispatchRows("reduce", "reduce_rows", constants, params, bindings, outer);
    } else if (inner % 4 === 0) {
      this.#dispatch1D("reduce", "reduce_serial4", constants, params, bindings, (outer * inner) / 4);
    } else {
      this.#dispatch1D("reduce", "reduce_serial", constants, params, bindings, outer * inner);
    }
    return out;
  }

  argmax(x: Storage, rows: number, n: number): Storage {
    const a = this.#f32(x, "argmax");
    const out = this.#alloc(rows, "i32");
    this.#dispatchRows("reduce", "argmax", {}, pack("uu", [rows, n]), [[1, a], [2, out]], rows);
    return out;
  }

  // ---- linear algebra ---------------------------------------------------------------------------------------

  matmul(a: Storage, b: Storage, p: MatmulParams): Storage {
    const A = this.#f32(a, "matmul");
    const B = this.#f32(b, "matmul");
    const { batch, m, n, k, transA, transB } = p;
    const strideA = p.strideA ?? m * k;
    const strideB = p.strideB ?? k * n;
    // The kernel reads A and B as vec4s along their rows; the rows of an untransposed A are whole rows of C, which
    // the kernel clamps and cuts at m by itself, so only a transposed A needs m to be a multiple of 4.
    const aligned = [n, k, strideA, strideB, transA ? m : 0].every((d) => d % 4 === 0);
    if (aligned) return this.#matmulTiled(A, B, p, strideA, strideB);
    // Pad every dimension to a multiple of 4 with zeros: zero rows of A and columns of B give rows and columns
    // of C that are cut off below, and zeros along k add nothing to the sums.
    const up = (d: number) => Math.ceil(d / 4) * 4;
    const [m4, n4, k4] = [up(m), up(n), up(k)];
    const Ap = this.#padded(A, strideA, batch, transA ? [k, m] : [m, k], transA ? [k4, m4] : [m4, k4]);
    const Bp = this.#padded(B, strideB, batch, transB ? [n, k] : [k, n], transB ? [n4, k4] : [k4, n4]);
    const padded = { batch, m: m4, n: n4, k: k4, transA, transB };
    const Cp = this.#matmulTiled(Ap, Bp, padded, strideA === 0 ? 0 : m4 * k4, strideB === 0 ? 0 : k4 * n4);
    const C = this.#alloc(batch * m * n, "f32");
    this.copyInto(Cp, { offset: 0, strides: [m4 * n4, n4, 1] }, C, contiguousView([batch, m, n]), [
      batch,
      m,
      n,
    ]);
    for (const s of [Ap, Bp, Cp]) this.release(s);
    return C;
  }

  /**
   * matmul_tiled on operands whose dimensions and batch strides are multiples of 4.
   *
   * Split-K: a product with a small output and a long contraction — the weight gradients Xᵀ·dY of a training step,
   * [d, 2048]·[2048, d] — has too few output tiles to keep every core busy. When A is stored transposed and B is
   * not, consecutive blocks of k are consecutive rows of both, so the product is rewritten as a batch of `splits`
   * products over k/splits each, whose partial results are summed in a fixed order (deterministic, no atomics).
   */
  #matmulTiled(A: GpuStorage, B: GpuStorage, p: MatmulParams, strideA: number, strideB: number): GpuStorage {
    const { batch, m, n, k } = p;
    const tiles = Math.ceil(m / MATMUL_TILE) * Math.ceil(n / MATMUL_TILE);
    if (batch === 1 && p.transA && !p.transB && tiles < SPLIT_K_TILES) {
      let splits = 1;
      while (splits < 16 && tiles * splits < SPLIT_K_TILES && k % (8 * splits) === 0 && k / splits >= 256) {
        splits *= 2;
      }
      if (splits > 1) {
        const kc = k / splits;
        const chunks = { batch: splits, m, n, k: kc, transA: true, transB: false };
        const partial = this.#matmulTiled(A, B, chunks, kc * m, kc * n); // [splits, m, n]
        const C = this.reduce("sum", partial, 1, splits, m * n) as GpuStorage;
        this.release(partial);
        return C;
      }
    }
    const C = this.#alloc(batch * m * n, "f32");
    if (C.length === 0) return C;
    // One invocation per 16 × 16 tile of C, over every batch item (see matmul.wgsl).
    const constants = { TRANS_A: p.transA, TRANS_B: p.transB };
    const params = pack("uuuuuu", [m, n, k, batch, strideA, strideB]);
    this.#dispatch1D("matmul", "matmul_tiled", constants, params, [[1, A], [2, B], [3, C]], batch * tiles);
    return C;
  }

  /**
   * A zero-padded copy of a batched operand: each of its `batch` items (or the single one, when `stride` is 0)
   * stored as `dims` = [rows, cols] at `stride` apart, laid out contiguously as `paddedDims`.
   */
  #padded(x: GpuStorage, stride: number, batch: number, dims: number[], paddedDims: number[]): GpuStorage {
    const items = stride === 0 ? 1 : batch;
    const [rows, cols] = dims;
    const [prow, pcol] = paddedDims;
    const out = this.full(items * prow * pcol, "f32", 0) as GpuStorage;
    const src = { offset: 0, strides: [stride, cols, 1] };
    const dst = { offset: 0, strides: [prow * pcol, pcol, 1] };
    this.copyInto(x, src, out, dst, [items, rows, cols]);
    return out;
  }

  // ---- gated feed-forward -----------------------------------------------------------------------------------

  swiglu(gate: Storage, up: Storage, length: number): Storage {
    const G = this.#f32(gate, "swiglu");
    const U = this.#f32(up, "swiglu");
    const out = this.#alloc(length, "f32");
    const bindings: Binding[] = [[1, G], [2, U], [4, out]];
    this.#dispatch1D("elementwise", "swiglu_forward", {}, pack("u", [length]), bindings, vec4s(length));
    return out;
  }

  swigluBackward(gate: Storage, up: Storage, dy: Storage, length: number): { dgate: Storage; dup: Storage } {
    const G = this.#f32(gate, "swigluBackward");
    const U = this.#f32(up, "swigluBackward");
    const D = this.#f32(dy, "swigluBackward");
    const dgate = this.#alloc(length, "f32");
    const dup = this.#alloc(length, "f32");
    const bindings: Binding[] = [[1, G], [2, U], [3, D], [4, dgate], [5, dup]];
    this.#dispatch1D("elementwise", "swiglu_backward", {}, pack("u", [length]), bindings, vec4s(length));
    return { dgate, dup };
  }

  // ---- normalisation and softmax ----------------------------------------------------------------------------

  softmax(x: Storage, rows: number, n: number, log: boolean): Storage {
    const a = this.#f32(x, "softmax");
    const out = this.#alloc(rows * n, "f32");
    const params = pack("uu", [rows, n]);
    this.#dispatchRows("softmax", "softmax_forward", { LOG: log }, params, [[1, a], [2, out]], rows);
    return out;
  }

  softmaxBackward(y: Storage, dy: Storage, rows: number, n: number, log: boolean): Storage {
    const Y = this.#f32(y, "softmaxBackward");
    const G = this.#f32(dy, "softmaxBackward");
    const out = this.#alloc(rows * n, "f32");
    const params = pack("uu", [rows, n]);
    const bindings: Binding[] = [[1, Y], [2, G], [3, out]];
    this.#dispatchRows("softmax", "softmax_backward", { LOG: log }, params, bindings, rows);
    return out;
  }

  rmsnorm(x: Storage, w: Storage, rows: number, n: number, eps: number): { y: Storage; rstd: Storage } {
    const n4 = Math.ceil(n / 4); // the kernels read rows as vec4s
    const X = this.#padRows(this.#f32(x, "rmsnorm"), rows, n, 4 * n4);
    const W = this.#padRows(this.#f32(w, "rmsnorm"), 1, n, 4 * n4);
    const y = this.#alloc(rows * 4 * n4, "f32");
    const rstd = this.#alloc(rows, "f32");
    const params = pack("uuuf", [rows, n, n4, eps]);
    const bindings: Binding[] = [[1, X], [2, W], [3, y], [4, rstd]];
    this.#dispatchRows("rmsnorm", "rmsnorm_forward", {}, params, bindings, rows);
    this.#releasePadded([x, w], [X, W]);
    return { y: this.#unpadRows(y, rows, n, 4 * n4), rstd };
  }

  rmsnormBackward(
    x: Storage,
    w: Storage,
    rstd: Storage,
    dy: Storage,
    rows: number,
    n: number,
  ): { dx: Storage; dw: Storage } {
    const n4 = Math.ceil(n / 4); // the kernels read rows as vec4s
    const X = this.#padRows(this.#f32(x, "rmsnormBackward"), rows, n, 4 * n4);
    const W = this.#padRows(this.#f32(w, "rmsnormBackward"), 1, n, 4 * n4);
    const S = this.#f32(rstd, "rmsnormBackward");
    const G = this.#padRows(this.#f32(dy, "rmsnormBackward"), rows, n, 4 * n4);
    const dx = this.#alloc(rows * 4 * n4, "f32");
    const dw = this.#alloc(4 * n4, "f32");
    const params = pack("uuuf", [rows, n, n4, 0]);
    const inputs: Binding[] = [[1, X], [2, W], [3, S], [4, G]];
    this.#dispatchRows("rmsnorm", "rmsnorm_backward_dx", {}, params, [...inputs, [5, dx]], rows);
    this.#dispatch1D("rmsnorm", "rmsnorm_backward_dw", {}, params, [[1, X], [3, S], [4, G], [5, dw]], n4);
    this.#releasePadded([x, w, dy], [X, W, G]);
    return { dx: this.#unpadRows(dx, rows, n, 4 * n4), dw: this.#unpadRows(dw, 1, n, 4 * n4) };
  }

  // ---- position -----------------------------------------------------------------------------------------------

  rope(x: Storage, positions: Storage, p: RopeParams): Storage {
    const X = this.#f32(x, "rope");
    const pos = this.#use(positions);
    if (p.headDim % 2 !== 0) throw new Error(`rope: headDim must be even, got ${p.headDim}`);
    // The kernel reads each half of a head vector as h4 vec4s: halves ([rows · 2, half]) padded to 4·h4.
    const half = p.headDim / 2;
    const h4 = Math.ceil(half / 4);
    const halves = p.batch * p.seq * p.heads * 2;
    const padded = this.#padRows(X, halves, half, 4 * h4);
    const out = this.#alloc(halves * 4 * h4, "f32");
    const groups = p.batch * p.seq * p.heads * h4;
    const params = pack("uuuf", [groups, p.heads, h4, p.inverse ? -1 : 1]);
    const bindings: Binding[] = [[1, padded], [2, pos], [3, this.#invFreqTable(p.theta, p.headDim)], [
      4,
      out,
    ]];
    this.#dispatch1D("rope", "rope", {}, params, bindings, groups);
    this.#releasePadded([X], [padded]);
    return this.#unpadRows(out, halves, half, 4 * h4);
  }

  /**
   * inv_freq_i = θ^(−2i/headDim) for i < headDim/2, computed as the CPU backend does, uploaded once; zeros after
   * it up to a multiple of 4 (the kernel reads it as vec4s).
   */
  #invFreqTable(theta: number, headDim: number): GpuStorage {
    const key = `${theta}/${headDim}`;
    let table = this.#invFreq.get(key);
    if (!table) {
      const f = new Float32Array(4 * Math.ceil(headDim / 8));
      for (let i = 0; i < headDim / 2; i++) f[i] = 1 / Math.pow(theta, (2 * i) / headDim);
      table = this.upload(f) as GpuStorage;
      this.#invFreq.set(key, table);
    }
    return table;
  }

  // ---- embedding ----------------------------------------------------------------------------------------------

  gather(table: Storage, ids: Storage, count: number, dim: number): Storage {
    const T = this.#f32(table, "gather");
    const I = this.#use(ids);
    const out = this.#alloc(count * dim, "f32");
    const params = pack("uuu", [count, dim, T.length / dim]);
    this.#dispatch1D("embedding", "gather", {}, params, [[1, I], [2, T], [3, out]], count * dim);
    return out;
  }

  scatterAdd(ids: Storage, dy: Storage, count: number, dim: number, vocab: number): Storage {
    const I = this.#use(ids);
    const G = this.#f32(dy, "scatterAdd");
    const out = this.#alloc(vocab * dim, "f32");
    const params = pack("uuu", [count, dim, vocab]);
    this.#dispatch1D("embedding", "scatter_add", {}, params, [[1, I], [2, G], [3, out]], dim);
    return out;
  }

  // ---- loss -----------------------------------------------------------------------------------------------------

  crossEntropy(logits: Storage, targets: Storage, weights: Storage, rows: number, vocab: number): Storage {
    const X = this.#f32(logits, "crossEntropy");
    const T = this.#use(targets);
    const W = this.#f32(weights, "crossEntropy");
    const out = this.#alloc(rows, "f32");
    const params = pack("uu", [rows, vocab]);
    const bindings: Binding[] = [[1, X], [2, T], [3, W], [4, out]];
    this.#dispatchRows("cross_entropy", "cross_entropy_forward", {}, params, bindings, rows);
    return out;
  }

  crossEntropyBackward(
    logits: Storage,
    targets: Storage,
    weights: Storage,
    dloss: Storage,
    rows: number,
    vocab: number,
  ): Storage {
    const X = this.#f32(logits, "crossEntropyBackward");
    const T = this.#use(targets);
    const W = this.#f32(weights, "crossEntropyBackward");
    const D = this.#f32(dloss, "crossEntropyBackward");
    const out = this.#alloc(rows * vocab, "f32");
    const params = pack("uu", [rows, vocab]);
    const bindings: Binding[] = [[1, X], [2, T], [3, W], [4, D], [5, out]];
    this.#dispatchRows("cross_entropy", "cross_entropy_backward", {}, params, bindings, rows);
    return out;
  }

  // ---- attention -----------------------------------------------------------------------------------------------

  attention(
    q: Storage,
    k: Storage,
    v: Storage,
    keyMask: Storage | null,
    p: AttentionParams,
  ): { out: Storage; lse: Storage } {
    const d4 = this.#attentionD4(p);
    const [Q, K, V] = this.#headPadded([q, k, v], p, [p.tq, p.tk, p.tk], d4);
    const out = this.#alloc(p.batch * p.heads * p.tq * 4 * d4, "f32");
    const lse = this.#alloc(p.batch * p.heads * p.tq, "f32");
    const bindings: Binding[] = [[1, Q], [2, K], [3, V], [4, this.#mask(keyMask)], [5, out], [6, lse]];
    const blocks = p.batch * p.heads * Math.ceil(p.tq / ATTENTION_ROWS);
    this.#dispatch1D(
      "attention",
      "attention_forward",
      { D4: d4 },
      this.#attentionParams(p, keyMask),
      bindings,
      blocks,
    );
    this.#releasePadded([q, k, v], [Q, K, V]);
    return { out: this.#headUnpadded(out, p, p.tq, d4), lse };
  }

  attentionBackward(
    q: Storage,
    k: Storage,
    v: Storage,
    keyMask: Storage | null,
    out: Storage,
    lse: Storage,
    dout: Storage,
    p: AttentionParams,
  ): { dq: Storage; dk: Storage; dv: Storage } {
    const d4 = this.#attentionD4(p);
    const L = this.#f32(lse, "attentionBackward");
    const inputs = [q, k, v, out, dout];
    const [Q, K, V, O, G] = this.#headPadded(inputs, p, [p.tq, p.tk, p.tk, p.tq, p.tq], d4);
    const mask = this.#mask(keyMask);
    const params = this.#attentionParams(p, keyMask);
    const constants = { D4: d4 };
    const rows = p.batch * p.heads * p.tq;
    // Step 1: (lse_i, delta_i = dout_i · out_i) per query row.
    const stats = this.#alloc(2 * rows, "f32");
    this.#dispatch1D(
      "attention",
      "attention_delta",
      constants,
      params,
      [[5, O], [6, L], [7, G], [8, stats]],
      rows,
    );
    // Step 2: dq, one pass over the keys per block of queries.
    const dq = this.#alloc(rows * 4 * d4, "f32");
    const qBlocks = p.batch * p.heads * Math.ceil(p.tq / ATTENTION_ROWS);
    const common: Binding[] = [[1, Q], [2, K], [3, V], [4, mask], [7, G], [9, stats]];
    this.#dispatch1D("attention", "attention_backward_dq", constants, params, [...common, [10, dq]], qBlocks);
    // Step 3: dk and dv, one pass over the queries per block of keys.
    const dk = this.#alloc(p.batch * p.heads * p.tk * 4 * d4, "f32");
    const dv = this.#alloc(p.batch * p.heads * p.tk * 4 * d4, "f32");
    const kBlocks = p.batch * p.heads * Math.ceil(p.tk / ATTENTION_ROWS);
    const kvBindings: Binding[] = [...common, [10, dk], [11, dv]];
    this.#dispatch1D("attention", "attention_backward_dkdv", constants, params, kvBindings, kBlocks);
    this.release(stats);
    this.#releasePadded(inputs, [Q, K, V, O, G]);
    return {
      dq: this.#headUnpadded(dq, p, p.tq, d4),
      dk: this.#headUnpadded(dk, p, p.tk, d4),
      dv: this.#headUnpadded(dv, p, p.tk, d4),
    };
  }

  /** The head dimension in vec4s (the kernels' D4), checking the kernels' limits. */
  #attentionD4(p: AttentionParams): number {
    if (p.headDim > ATTENTION_MAX_HEAD_DIM) {
      throw new Error(
        `attention: headDim ${p.headDim} exceeds the fused kernel's maximum of ${ATTENTION_MAX_HEAD_DIM}; ` +
          `compose it from matmul and softmax instead`,
      );
    }
    if (p.causal && p.tq !== p.tk) {
      throw new Error(`attention: causal needs tq == tk, got ${p.tq} and ${p.tk}`);
    }
    return Math.ceil(p.headDim / 4);
  }

  /** The `Params` block of shaders/attention.wgsl. */
  #attentionParams(p: AttentionParams, keyMask: Storage | null): Uint32Array {
    const flags = [p.causal ? 1 : 0, keyMask ? 1 : 0, p.layout === "bthd" ? 1 : 0];
    return pack("uuuufuuu", [p.batch, p.heads, p.tq, p.tk, p.scale, ...flags]);
  }

  /** The key mask, or a dummy buffer when there is none (the kernels then read has_mask = 0). */
  #mask(keyMask: Storage | null): GpuStorage {
    if (keyMask !== null) return this.#use(keyMask);
    this.#dummy ??= this.upload(new Int32Array(1)) as GpuStorage;
    return this.#dummy;
  }

  /** The operands (rows of headDim values, in either layout) padded to rows of 4·d4 (see {@link #padRows}). */
  #headPadded(xs: Storage[], p: AttentionParams, lengths: number[], d4: number): GpuStorage[] {
    return xs.map((x, i) =>
      this.#padRows(this.#f32(x, "attention"), p.batch * p.heads * lengths[i], p.headDim, 4 * d4)
    );
  }

  /** Cuts rows of 4·d4 values back to rows of headDim (see {@link #unpadRows}). */
  #headUnpadded(x: GpuStorage, p: AttentionParams, length: number, d4: number): GpuStorage {
    return this.#unpadRows(x, p.batch * p.heads * length, p.headDim, 4 * d4);
  }

  /**
   * `[rows, n]` widened to `[rows, width]` with zeros on the right, for kernels that read rows as vec4s (zeros
   * change no dot product or sum of squares). Storage already `width` wide is returned as it is.
   */
  #padRows(x: GpuStorage, rows: number, n: number, width: number): GpuStorage {
    if (width === n) return x;
    const out = this.full(rows * width, "f32", 0) as GpuStorage;
    this.copyInto(x, contiguousView([rows, n]), out, { offset: 0, strides: [width, 1] }, [rows, n]);
    return out;
  }

  /** Releases the padded copies made by {@link #padRows} (not the caller's storage). */
  #releasePadded(originals: Storage[], padded: GpuStorage[]): void {
    padded.forEach((s, i) => {
      if (s !== originals[i]) this.release(s);
    });
  }

  /** Cuts a `[rows, width]` result back to `[rows, n]` and releases it (a no-op when width = n). */
  #unpadRows(x: GpuStorage, rows: number, n: number, width: number): GpuStorage {
    if (width === n) return x;
    const out = this.#alloc(rows * n, "f32");
    this.copyInto(x, { offset: 0, strides: [width, 1] }, out, contiguousView([rows, n]), [rows, n]);
    this.release(x);
    return out;
  }

  // ---- optimiser -------------------------------------------------------------------------------------------------

  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, p: AdamWParams): void {
    const P = this.#f32(param, "adamw");
    const G = this.#f32(grad, "adamw");
    const M = this.#f32(m, "adamw");
    const V = this.#f32(v, "adamw");
    const bc1 = 1 - Math.pow(p.beta1, p.step);
    const bc2 = 1 - Math.pow(p.beta2, p.step);
    const params = pack("ufffffffff", [
      P.length,
      p.lr,
      p.beta1,
      p.beta2,
      1 - p.beta1,
      1 - p.beta2,
      p.eps,
      p.weightDecay,
      bc1,
      bc2,
    ]);
    this.#dispatch1D("adamw", "adamw", {}, params, [[1, P], [2, G], [3, M], [4, V]], vec4s(P.length));
  }

  // ---- sampling --------------------------------------------------------------------------------------------------

  greedyStep(logits: Storage, canvas: Storage, uncertain: Storage, p: GreedyStepParams): void {
    const L = this.#f32(logits, "greedyStep");
    const C = this.#use(canvas);
    const U = this.#use(uncertain);
    const span = p.end - p.start;
    // Per candidate (R, R_lo, R_hi, x̂), between the two kernels (see shaders/sampling.wgsl).
    const keys = this.#alloc(p.batch * span * 4, "f32");
    const params = pack("uuuuuuuuf", [
      p.batch,
      p.length,
      p.vocab,
      p.row,
      p.start,
      p.end,
      p.maskId,
      p.count,
      p.tau,
    ]);
    this.#dispatch1D(
      "sampling",
      "greedy_candidates",
      {},
      params,
      [[1, L], [2, C], [3, keys]],
      p.batch * span,
    );
    this.#dispatch1D("sampling", "greedy_commit", {}, params, [[2, C], [3, keys], [4, U]], p.batch);
    this.release(keys);
  }

  // ---- machinery -------------------------------------------------------------------------------------------------

  /**
   * Profiling: records the copy of this submit's timestamps into a readable buffer; returns a function to call
   * after the submit, which maps it and adds each dispatch's time to its kernel's total.
   */
  #resolveTimestamps(): (() => Promise<void>) | null {
    if (this.#timestamps === null || this.#timed.length === 0) return null;
    const kernels = this.#timed;
    this.#timed = [];
    const bytes = 16 * kernels.length; // two u64 timestamps per dispatch
    const resolve = this.#device.createBuffer({
      size: bytes,
      usage: 0x200 /* QUERY_RESOLVE */ | USAGE.COPY_SRC,
    });
    const readback = this.#device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    this.#encoder!.resolveQuerySet(this.#timestamps, 0, 2 * kernels.length, resolve, 0);
    this.#encoder!.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
    return async () => {
      await readback.mapAsync(0x1 /* GPUMapMode.READ */);
      const t = new BigUint64Array(readback.getMappedRange());
      kernels.forEach((kernel, i) => {
        const entry = this.#kernelTimes.get(kernel) ?? { kernel, dispatches: 0, ms: 0 };
        entry.dispatches++;
        entry.ms += Number(t[2 * i + 1] - t[2 * i]) / 1e6; // nanoseconds
        this.#kernelTimes.set(kernel, entry);
      });
      readback.unmap();
      readback.destroy();
      resolve.destroy();
    };
  }

  /** Raises an error reported asynchronously since the last call (device loss, validation). */
  #check(): void {
    if (this.#lost !== null) throw new Error(this.#lost);
    if (this.#errors.length > 0) {
      const errors = this.#errors;
      this.#errors = [];
      throw new Error(`WebGPU backend: ${errors.join("\n")}`);
    }
  }

  /** New storage of `length` elements, refusing sizes over the device's binding limit. */
  #alloc(length: number, dtype: DType): GpuStorage {
    const bytes = length * 4;
    if (bytes > this.#maxBinding) {
      const mib = (b: number) => (b / 2 ** 20).toFixed(1);
      throw new Error(
        `WebGPU backend: storage of ${length} elements (${mib(bytes)} MiB) exceeds this device's ` +
          `maxStorageBufferBindingSize of ${mib(this.#maxBinding)} MiB; use a smaller batch or sequence, ` +
          `or the CPU backend`,
      );
    }
    const buffer = this.#storagePool.acquire(Math.max(16, Math.ceil(bytes / 16) * 16));
    this.stats.buffersCreated = this.#storagePool.created;
    return new GpuStorage(length, dtype, buffer);
  }

  /** The GpuStorage behind a Storage, refusing released storage or storage of another backend. */
  #use(s: Storage): GpuStorage {
    this.#check();
    if (!(s instanceof GpuStorage)) throw new Error("WebGPU backend: storage belongs to another backend");
    if (s.released) throw new Error("WebGPU backend: storage used after release");
    return s;
  }

  #f32(s: Storage, op: string): GpuStorage {
    const g = this.#use(s);
    if (g.dtype !== "f32") throw new Error(`${op}: expected f32 storage, got ${g.dtype}`);
    return g;
  }

  /** The command encoder being recorded (a new one if needed). */
  #commands(): GPUCommandEncoder {
    this.#encoder ??= this.#device.createCommandEncoder();
    return this.#encoder;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  /** The pipeline for an entry point with override constants, compiled on first use. */
  #pipeline(
    file: ShaderFile,
    entry: string,
    constants: Record<string, number | boolean>,
  ): GPUComputePipeline {
    const values: Record<string, number> = {};
    for (const [name, value] of Object.entries(constants)) values[name] = Number(value);
    const key = `${file}:${entry}:${JSON.stringify(values)}`;
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      this.#device.pushErrorScope("validation");
      pipeline = this.#device.createComputePipeline({
        label: key,
        layout: "auto",
        compute: { module: this.#modules.get(file)!, entryPoint: entry, constants: values },
      });
      this.#device.popErrorScope().then((error) => {
        if (error) this.#errors.push(`pipeline shaders/${file}.wgsl:${entry}: ${error.message}`);
      });
      this.#pipelines.set(key, pipeline);
      this.stats.pipelines++;
    }
    return pipeline;
  }

  /**
   * Records one dispatch: the parameters go into this submit's uniform buffer at the next slot, bound at
   * binding 0; the storages at their binding numbers.
   */
  #dispatch(
    file: ShaderFile,
    entry: string,
    constants: Record<string, number | boolean>,
    params: Uint32Array,
    bindings: Binding[],
    workgroups: [number, number, number],
  ): void {
    if (workgroups.some((n) => n === 0)) return;
    if (this.#slots === MAX_DISPATCHES || this.#storagePool.pendingBytes > MAX_PENDING_BYTES) this.flush();
    const pipeline = this.#pipeline(file, entry, constants);
    const encoder = this.#commands();
    if (this.#uniforms === null) this.#uniforms = this.#uniformPool.acquire(this.#uniformData.byteLength);
    const offset = this.#slots * UNIFORM_SLOT;
    this.#uniformData.set(new Uint8Array(params.buffer, params.byteOffset, params.byteLength), offset);
    this.#slots++;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.#uniforms, offset, size: UNIFORM_SLOT } },
    ];
    for (const [binding, s] of bindings) {
      entries.push({ binding, resource: { buffer: s.buffer, offset: 0, size: s.bindingSize } });
    }
    const group = this.#device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    if (this.#timestamps !== null) {
      // Profiling: a pass of its own, stamped at its start and end.
      this.#endPass();
      const i = this.#timed.length;
      this.#timed.push(`${file}:${entry}`);
      this.#pass = encoder.beginComputePass({
        timestampWrites: {
          querySet: this.#timestamps,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
      });
    }
    this.#pass ??= encoder.beginComputePass();
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, group);
    this.#pass.dispatchWorkgroups(...workgroups);
    this.stats.dispatches++;
  }

  /** A 1-D launch of `invocations` (WG per workgroup), folded into two dimensions past the per-dimension limit. */
  #dispatch1D(
    file: ShaderFile,
    entry: string,
    constants: Record<string, number | boolean>,
    params: Uint32Array,
    bindings: Binding[],
    invocations: number,
  ): void {
    this.#dispatch(file, entry, constants, params, bindings, this.#fold(Math.ceil(invocations / WG)));
  }

  /**
   * A launch of a row kernel over `rows` rows: TPR invocations per row (the kernels' override), so that there are
   * enough invocations in flight — one per row when rows are many, a whole workgroup per row when they are few.
   */
  #dispatchRows(
    file: ShaderFile,
    entry: string,
    constants: Record<string, number | boolean>,
    params: Uint32Array,
    bindings: Binding[],
    rows: number,
  ): void {
    // One invocation per row once there are a workgroup's worth of rows: enough for a CPU adapter, and no
    // barriers, which llvmpipe runs slowly (a workgroup per row of 96 floats took ~30 µs a row there, one
    // invocation per row ~10× less). Fewer rows share a workgroup each. (Two variants only: every variant is a
    // pipeline to compile, which takes seconds on llvmpipe. A GPU would want whole workgroups per row much sooner.)
    const tpr = rows >= WG ? 1 : WG;
    const workgroups = this.#fold(Math.ceil(rows / (WG / tpr)));
    this.#dispatch(file, entry, { ...constants, TPR: tpr }, params, bindings, workgroups);
  }

  /** `count` workgroups as (x, y, 1) with x ≤ the per-dimension limit (see flat_workgroup in common.wgsl). */
  #fold(count: number): [number, number, number] {
    if (count <= this.#maxWorkgroups) return [count, 1, 1];
    const y = Math.ceil(count / this.#maxWorkgroups);
    if (y > this.#maxWorkgroups) {
      throw new Error(`WebGPU backend: a launch of ${count} workgroups is too large`);
    }
    return [this.#maxWorkgroups, y, 1];
  }
}
