/**
 * The WebGPU backend's primitives: every primitive of {@link Backend} as a dispatch of a hand-written WGSL kernel
 * from `shaders/`, tested against the CPU backend's loops.
 *
 * Each primitive checks its storage, packs its parameters and records a dispatch; the machinery under it lives
 * next door:
 * - `webgpu/recorder.ts` records dispatches and submits them. **Recording, not running**: a primitive returns at
 *   once with storage that will hold the result, and nothing runs until the encoder is submitted, by
 *   {@link WebGpuBackend.read}, {@link WebGpuBackend.flush}, or automatically every {@link MAX_DISPATCHES}
 *   dispatches or once 256 MiB of released storage waits for reuse. A training step therefore records all its
 *   kernels, forward and backward, and waits once. Parameters go in a 256-byte uniform slot per dispatch;
 *   pipelines are compiled on first use and cached; launches of more than 65,535 workgroups are folded into two
 *   dimensions (`flat_workgroup` in `shaders/common.wgsl`); storage larger than the device's binding limit is
 *   refused with a message; validation errors and device loss are raised by the next call.
 * - `webgpu/pool.ts` recycles buffers only after the commands that used them were submitted, so an upload never
 *   lands in a buffer that pending commands still read.
 * - `webgpu/padding.ts` zero-pads shapes the fast kernels cannot take directly (matmul dimensions and row or head
 *   sizes that are not multiples of 4) by strided copies, which leaves the results unchanged.
 * - `webgpu/layout.ts` packs parameter blocks and strided views; `webgpu/shaders.ts` compiles the `.wgsl` files
 *   and names the file and line of a compile error; `webgpu/device.ts` finds the adapter and creates the device.
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
import { BINARY_OPS, contiguousView, numel, UNARY_OPS } from "./backend.ts";
import { createGpuContext } from "./webgpu/device.ts";
import { pack, packStrided, simplifyViews } from "./webgpu/layout.ts";
import { padMatrices, padRows, padTo4, releasePadded, unpadRows, VEC4 } from "./webgpu/padding.ts";
import {
  type Binding,
  DispatchRecorder,
  type GpuStorage,
  type KernelTime,
  type WebGpuStats,
} from "./webgpu/recorder.ts";
import { compileShaders, readShader } from "./webgpu/shaders.ts";

export { MAX_DISPATCHES } from "./webgpu/recorder.ts";
export type { KernelTime, WebGpuStats } from "./webgpu/recorder.ts";

/**
 * The WGSL constants that name each op's index in the `OP` switches of shaders/elementwise.wgsl, generated from
 * {@link UNARY_OPS} and {@link BINARY_OPS} (`const UNARY_NEG: u32 = 0u;`, `const BINARY_ADD: u32 = 0u;`, …) and
 * appended to that file when it is compiled, so the kernels and the host cannot disagree on the numbering.
 */
function opConstants(): string {
  const wgslName = (prefix: string, op: string) =>
    `${prefix}_${op.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
  const lines = [
    ...UNARY_OPS.map((op, i) => `const ${wgslName("UNARY", op)}: u32 = ${i}u;`),
    ...BINARY_OPS.map((op, i) => `const ${wgslName("BINARY", op)}: u32 = ${i}u;`),
  ];
  return lines.join("\n");
}

/** The `OP` override of an op: its index in `ops`, refusing a name that is not there. */
function opIndex(ops: readonly string[], op: string): number {
  const i = ops.indexOf(op);
  if (i < 0) {
    throw new Error(`WebGPU backend: unknown elementwise op "${op}"; expected one of ${ops.join(", ")}`);
  }
  return i;
}

/** Register tile of shaders/matmul.wgsl: rows × columns of C per invocation. */
const MATMUL_TILE = 16;

/**
 * Products of at least this many multiply-adds (batch·m·n·k) read their operands from textures (matmul_texture, see
 * shaders/matmul.wgsl); smaller ones read the buffers directly, saving the two copies. A sampler's smallest products
 * (83 × 96 · 96 × 96, 765k) were measured faster through textures, copies included (`bench --profile`).
 */
const TEXTURE_MATMUL_MIN_MACS = 2 ** 19;

/** Texture rows a copy command can fill: rows of 256 bytes (WebGPU's row alignment for copies) are 16 texels. */
const TEXELS_PER_COPY_ROW = 16;

/** Below this many output tiles a transposed-A product is split along k (see #matmulTiled). */
const SPLIT_K_TILES = 1024;

/** The most chunks a split-K product is cut into. */
const SPLIT_K_MAX = 16;

/** Chunks of k are halved only while at least this long, so no chunk is shorter than half of it. */
const SPLIT_K_MIN_CHUNK = 256;

/** Query or key rows per invocation in shaders/attention.wgsl (`ROWS`). */
const ATTENTION_ROWS = 8;

/** Largest head dimension of shaders/attention.wgsl (4 · `MAX_D4`). */
const ATTENTION_MAX_HEAD_DIM = 256;

/**
 * Attention with at least this many multiply-adds of scores (batch·heads·tq·tk·headDim) reads its streamed rows
 * from textures (`TEXTURES` in shaders/attention.wgsl); smaller ones read the buffers, saving the copies. Measured
 * on llvmpipe (docs/performance.md): forward and backward through textures 1–2 ms slower at [1, 32, 4, 24]
 * (batch, length, heads, head dimension), even at [4, 32, 4, 32] (2¹⁹); a sampler's forward at [1, 83, 4, 24]
 * saved 2 ms of attention and spent as much or more on `to_texture` copies (rows of 24 texels), so sampling stays
 * below the threshold and a training batch ([16, 128, 4, 32], 2²⁵) is far above it.
 */
const TEXTURE_ATTENTION_MIN_MACS = 2 ** 21;

/** Texture slots of attention's two streamed operands (matmul uses 0 and 1). */
const ATTENTION_SLOTS = [2, 3];

/** How a matmul operand lies in a texture for matmul_texture (see {@link textureLayout}). */
interface TextureLayout {
  /** Texels per row: one per vec4 of a row of the operand as stored. */
  width: number;
  /** Rows: every batch item's, stacked. */
  height: number;
  /** Rows from one batch item to the next (0: one item for all). */
  rowsApart: number;
}

/**
 * The texture layout of a matmul operand whose batch items are `[rows, columns]` as stored, `stride` elements apart:
 * one texel per vec4 of a row, the items stacked down the texture. Null when it cannot be laid out so: items not a
 * whole number of rows apart, or a texture larger than `maxSize` either way.
 */
function textureLayout(
  [rows, columns]: [number, number],
  stride: number,
  batch: number,
  maxSize: number,
): TextureLayout | null {
  if (stride % columns !== 0) return null;
  const rowsApart = stride / columns;
  const width = columns / VEC4;
  const height = rowsApart * (batch - 1) + rows;
  return width <= maxSize && height <= maxSize ? { width, height, rowsApart } : null;
}

/** Invocations of a kernel that handles a vec4 (4 elements) per invocation, for `count` elements. */
function vec4s(count: number): number {
  return Math.ceil(count / VEC4);
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
  readonly stats: WebGpuStats;

  /** Storage, dispatches, submits and reads. */
  readonly #gpu: DispatchRecorder;
  /** inv_freq tables of rope, by θ and head dimension. */
  readonly #invFreq = new Map<string, GpuStorage>();
  /** A one-element i32 buffer bound where a kernel's optional input (the key mask) is absent. */
  #dummy: GpuStorage | null = null;

  private constructor(gpu: DispatchRecorder, description: string) {
    this.#gpu = gpu;
    this.stats = gpu.stats;
    this.description = description;
  }

  /**
   * Finds an adapter, creates a device with the adapter's limits and compiles every shader. Throws when there is
   * no adapter (with the reason) or a shader does not compile (naming the `.wgsl` file and line).
   */
  static async create(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
    const context = await createGpuContext(options.profile ? ["timestamp-query"] : []);
    const modules = await compileShaders(context.device, readShader, { elementwise: opConstants() });
    return new WebGpuBackend(
      new DispatchRecorder(context, modules, options.profile ?? false),
      context.description,
    );
  }

  /** Whether dispatches are being timed (created with `profile: true` on an adapter with timestamp queries). */
  get profiling(): boolean {
    return this.#gpu.profiling;
  }

  /**
   * GPU time per kernel since creation or the last `reset`, slowest first, for a backend created with
   * `profile: true` (empty otherwise). Waits for the timings of work already submitted.
   */
  profile(reset = false): Promise<KernelTime[]> {
    return this.#gpu.profile(reset);
  }

  /** The device's limit on one storage binding, in bytes: storage larger than this is refused. */
  get maxStorageBytes(): number {
    return this.#gpu.maxBinding;
  }

  /** Submits pending work, frees pooled buffers and destroys the device. The backend is unusable afterwards. */
  dispose(): void {
    this.#gpu.dispose();
  }

  // ---- memory ---------------------------------------------------------------------------------------------

  upload(data: TypedArray): Storage {
    return this.#gpu.upload(data);
  }

  full(length: number, dtype: DType, value: number): Storage {
    this.#gpu.check();
    const s = this.#gpu.alloc(length, dtype);
    const bits = dtype === "i32" ? new Uint32Array(new Int32Array([value]).buffer) : new Uint32Array(
      new Float32Array([value]).buffer,
    );
    this.#gpu.dispatch1D("copy", "fill", {}, pack("uu", [length, bits[0]]), [[1, s]], vec4s(length));
    return s;
  }

  read(s: Storage): Promise<TypedArray> {
    return this.#gpu.read(s);
  }

  release(s: Storage): void {
    this.#gpu.release(s);
  }

  flush(): void {
    this.#gpu.flush();
  }

  /** Submits pending work and waits until the GPU has finished it (for benchmarks; reads wait by themselves). */
  sync(): Promise<void> {
    return this.#gpu.sync();
  }

  // ---- layout -----------------------------------------------------------------------------------------------

  copy(src: Storage, srcView: View, shape: number[]): Storage {
    const out = this.#gpu.alloc(numel(shape), this.#gpu.use(src).dtype); // every element is written: no fill
    this.copyInto(src, srcView, out, contiguousView(shape), shape);
    return out;
  }

  copyInto(src: Storage, srcView: View, dst: Storage, dstView: View, shape: number[]): void {
    let from = this.#gpu.use(src);
    const to = this.#gpu.use(dst);
    if (from.dtype !== to.dtype) {
      throw new Error(`copyInto: source is ${from.dtype} but destination is ${to.dtype}; cast first`);
    }
    // A kernel may not bind one buffer both read-only and writable (nor copy a buffer onto itself): copy a source
    // that is the destination first.
    const alias = from === to;
    if (alias) {
      const tmp = this.#gpu.alloc(from.length, from.dtype);
      this.#gpu.copyBuffer(from, 0, tmp, 0, from.length);
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
      this.#gpu.copyBuffer(from, s.offsets[0], to, s.offsets[1], count);
    } else if (vec4Rows) {
      // Move vec4s: the same copy with shape, offsets and strides counted in vec4s.
      const shape4 = [...s.shape.slice(0, last), s.shape[last] / 4];
      const view4 = (k: number) => ({
        offset: s.offsets[k] / 4,
        strides: s.strides[k].map((x, d) => (d === last ? 1 : x / 4)),
      });
      const params = packStrided(shape4, [view4(0), view4(1)]);
      this.#gpu.dispatch1D("copy", "copy_strided_vec4", {}, params, [[1, from], [2, to]], params[0]);
    } else {
      const params = packStrided(shape, [srcView, dstView]);
      this.#gpu.dispatch1D("copy", "copy_strided", {}, params, [[1, from], [2, to]], vec4s(count));
    }
    if (alias) this.release(from);
  }

  cast(x: Storage, dtype: DType): Storage {
    const src = this.#gpu.use(x);
    const out = this.#gpu.alloc(src.length, dtype);
    if (src.dtype === dtype) {
      this.#gpu.copyBuffer(src, 0, out, 0, src.length);
      return out;
    }
    const params = pack("u", [src.length]);
    const bindings: Binding[] = [[1, src], [2, out]];
    this.#gpu.dispatch1D(
      "copy",
      "cast_dtype",
      { TO_I32: dtype === "i32" },
      params,
      bindings,
      vec4s(src.length),
    );
    return out;
  }

  // ---- elementwise ------------------------------------------------------------------------------------------

  unary(op: UnaryOp, x: Storage, alpha = 0): Storage {
    return this.#unaryKernel("unary", op, alpha, [this.#gpu.f32(x, "unary")]);
  }

  unaryGrad(op: UnaryOp, x: Storage, dy: Storage, alpha = 0): Storage {
    const inputs = [this.#gpu.f32(x, "unaryGrad"), this.#gpu.f32(dy, "unaryGrad")];
    return this.#unaryKernel("unary_grad", op, alpha, inputs);
  }

  /** `unary` or `unary_grad` of shaders/elementwise.wgsl: the inputs at bindings 1, 2, …, the output after them. */
  #unaryKernel(entry: string, op: UnaryOp, alpha: number, inputs: GpuStorage[]): GpuStorage {
    const constants = { OP: opIndex(UNARY_OPS, op) };
    const length = inputs[0].length;
    const out = this.#gpu.alloc(length, "f32");
    const bindings: Binding[] = [...inputs.map((s, i): Binding => [i + 1, s]), [inputs.length + 1, out]];
    this.#gpu.dispatch1D(
      "elementwise",
      entry,
      constants,
      pack("uf", [length, alpha]),
      bindings,
      vec4s(length),
    );
    return out;
  }

  binary(op: BinaryOp, a: Storage, aView: View, b: Storage, bView: View, shape: number[]): Storage {
    const x = this.#gpu.use(a);
    const y = this.#gpu.use(b);
    const count = numel(shape);
    const out = this.#gpu.alloc(count, "f32");
    const constants = { OP: opIndex(BINARY_OPS, op), A_I32: x.dtype === "i32", B_I32: y.dtype === "i32" };
    const bindings: Binding[] = [[1, x], [2, y], [3, out]];
    // Both inputs contiguous from a vec4 boundary (after merging dimensions): vec4 loads, no index arithmetic.
    const s = simplifyViews(shape, [aView, bView]);
    const contiguous = s.shape.length === 1 && s.strides.every(([st]) => st === 1) &&
      s.offsets.every((o) => o % 4 === 0);
    if (contiguous) {
      const params = pack("uuu", [count, s.offsets[0] / 4, s.offsets[1] / 4]);
      this.#gpu.dispatch1D("elementwise", "binary_contiguous", constants, params, bindings, vec4s(count));
    } else {
      const params = packStrided(shape, [aView, bView]);
      this.#gpu.dispatch1D("elementwise", "binary", constants, params, bindings, vec4s(count));
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
    const c = this.#gpu.use(cond);
    const x = this.#gpu.use(a);
    const y = this.#gpu.use(b);
    if (x.dtype !== y.dtype) throw new Error(`where: a is ${x.dtype} but b is ${y.dtype}; they must match`);
    const out = this.#gpu.alloc(numel(shape), x.dtype);
    const params = packStrided(shape, [condView, aView, bView]);
    const bindings: Binding[] = [[1, c], [2, x], [3, y], [4, out]];
    const constants = { COND_I32: c.dtype === "i32" };
    this.#gpu.dispatch1D("elementwise", "where_select", constants, params, bindings, vec4s(params[0]));
    return out;
  }

  // ---- reductions -------------------------------------------------------------------------------------------

  reduce(op: ReduceOp, x: Storage, outer: number, n: number, inner: number): Storage {
    const a = this.#gpu.f32(x, "reduce");
    const out = this.#gpu.alloc(outer * inner, "f32");
    const params = pack("uuu", [outer, n, inner]);
    const bindings: Binding[] = [[1, a], [2, out]];
    const constants = { IS_MAX: op === "max" };
    if (inner === 1) {
      this.#gpu.dispatchRows("reduce", "reduce_rows", constants, params, bindings, outer);
    } else if (inner % 4 === 0) {
      this.#gpu.dispatch1D("reduce", "reduce_serial4", constants, params, bindings, (outer * inner) / 4);
    } else {
      this.#gpu.dispatch1D("reduce", "reduce_serial", constants, params, bindings, outer * inner);
    }
    return out;
  }

  argmax(x: Storage, rows: number, n: number): Storage {
    const a = this.#gpu.f32(x, "argmax");
    const out = this.#gpu.alloc(rows, "i32");
    this.#gpu.dispatchRows("reduce", "argmax", {}, pack("uu", [rows, n]), [[1, a], [2, out]], rows);
    return out;
  }

  // ---- linear algebra ---------------------------------------------------------------------------------------

  matmul(a: Storage, b: Storage, p: MatmulParams): Storage {
    const A = this.#gpu.f32(a, "matmul");
    const B = this.#gpu.f32(b, "matmul");
    const { batch, m, n, k, transA, transB } = p;
    const strideA = p.strideA ?? m * k;
    const strideB = p.strideB ?? k * n;
    // The kernel reads A and B as vec4s along their rows; the rows of an untransposed A are whole rows of C, which
    // the kernel clamps and cuts at m by itself, so only a transposed A needs m to be a multiple of 4.
    const aligned = [n, k, strideA, strideB, transA ? m : 0].every((d) => d % 4 === 0);
    if (aligned) return this.#matmulTiled(A, B, p, strideA, strideB);
    // Pad every dimension to a multiple of 4 with zeros: zero rows of A and columns of B give rows and columns
    // of C that are cut off below, and zeros along k add nothing to the sums.
    const [m4, n4, k4] = [padTo4(m), padTo4(n), padTo4(k)];
    const Ap = this.#gpu.use(
      padMatrices(this, A, strideA, batch, transA ? [k, m] : [m, k], transA ? [k4, m4] : [m4, k4]),
    );
    const Bp = this.#gpu.use(
      padMatrices(this, B, strideB, batch, transB ? [n, k] : [k, n], transB ? [n4, k4] : [k4, n4]),
    );
    const padded = { batch, m: m4, n: n4, k: k4, transA, transB };
    const Cp = this.#matmulTiled(Ap, Bp, padded, strideA === 0 ? 0 : m4 * k4, strideB === 0 ? 0 : k4 * n4);
    const C = this.copy(Cp, { offset: 0, strides: [m4 * n4, n4, 1] }, [batch, m, n]);
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
      // Halve the chunks while there are few tiles, the halves stay whole vec4s and the chunks long.
      while (
        splits < SPLIT_K_MAX && tiles * splits < SPLIT_K_TILES && k % (2 * VEC4 * splits) === 0 &&
        k / splits >= SPLIT_K_MIN_CHUNK
      ) {
        splits *= 2;
      }
      if (splits > 1) {
        const kc = k / splits;
        const chunks = { batch: splits, m, n, k: kc, transA: true, transB: false };
        const partial = this.#matmulTiled(A, B, chunks, kc * m, kc * n); // [splits, m, n]
        const C = this.#gpu.use(this.reduce("sum", partial, 1, splits, m * n));
        this.release(partial);
        return C;
      }
    }
    const C = this.#gpu.alloc(batch * m * n, "f32");
    if (C.length === 0) return C;
    // One invocation per 16 × 16 tile of C, over every batch item (see matmul.wgsl); large products from textures.
    const constants = { TRANS_A: p.transA, TRANS_B: p.transB };
    const layoutA = textureLayout(p.transA ? [k, m] : [m, k], strideA, batch, this.#gpu.maxTextureSize);
    const layoutB = textureLayout(p.transB ? [n, k] : [k, n], strideB, batch, this.#gpu.maxTextureSize);
    if (batch * m * n * k >= TEXTURE_MATMUL_MIN_MACS && layoutA && layoutB) {
      const rows = [layoutA.rowsApart, layoutB.rowsApart];
      const params = pack("uuuuuuuu", [m, n, k, batch, strideA, strideB, ...rows]);
      const texA = this.#toTexture(A, layoutA, 0);
      const texB = this.#toTexture(B, layoutB, 1);
      const bindings: Binding[] = [[3, C], [4, texA], [5, texB]];
      this.#gpu.dispatch1D("matmul", "matmul_texture", constants, params, bindings, batch * tiles);
      return C;
    }
    const params = pack("uuuuuu", [m, n, k, batch, strideA, strideB]);
    this.#gpu.dispatch1D(
      "matmul",
      "matmul_tiled",
      constants,
      params,
      [[1, A], [2, B], [3, C]],
      batch * tiles,
    );
    return C;
  }

  /**
   * `s` copied into the texture of `layout` (slot 0 for A, 1 for B: both are needed at once): by a copy command
   * where WebGPU can copy its rows (a memory copy on llvmpipe), else by the to_texture kernel.
   */
  #toTexture(s: GpuStorage, { width, height }: TextureLayout, slot: number): GPUTexture {
    const texture = this.#gpu.texture(width, height, slot);
    if (width % TEXELS_PER_COPY_ROW === 0) {
      this.#gpu.copyToTexture(s, texture, width, height);
      return texture;
    }
    const texels = width * height;
    const params = pack("uu", [width, texels]);
    this.#gpu.dispatch1D("matmul", "to_texture", {}, params, [[1, s], [6, texture]], texels);
    return texture;
  }

  // ---- gated feed-forward -----------------------------------------------------------------------------------

  swiglu(gate: Storage, up: Storage, length: number): Storage {
    const G = this.#gpu.f32(gate, "swiglu");
    const U = this.#gpu.f32(up, "swiglu");
    const out = this.#gpu.alloc(length, "f32");
    const bindings: Binding[] = [[1, G], [2, U], [4, out]];
    this.#gpu.dispatch1D("elementwise", "swiglu_forward", {}, pack("u", [length]), bindings, vec4s(length));
    return out;
  }

  swigluBackward(gate: Storage, up: Storage, dy: Storage, length: number): { dgate: Storage; dup: Storage } {
    const G = this.#gpu.f32(gate, "swigluBackward");
    const U = this.#gpu.f32(up, "swigluBackward");
    const D = this.#gpu.f32(dy, "swigluBackward");
    const dgate = this.#gpu.alloc(length, "f32");
    const dup = this.#gpu.alloc(length, "f32");
    const bindings: Binding[] = [[1, G], [2, U], [3, D], [4, dgate], [5, dup]];
    this.#gpu.dispatch1D("elementwise", "swiglu_backward", {}, pack("u", [length]), bindings, vec4s(length));
    return { dgate, dup };
  }

  // ---- normalisation and softmax ----------------------------------------------------------------------------

  softmax(x: Storage, rows: number, n: number, log: boolean): Storage {
    const a = this.#gpu.f32(x, "softmax");
    const out = this.#gpu.alloc(rows * n, "f32");
    const params = pack("uu", [rows, n]);
    this.#gpu.dispatchRows("softmax", "softmax_forward", { LOG: log }, params, [[1, a], [2, out]], rows);
    return out;
  }

  softmaxBackward(y: Storage, dy: Storage, rows: number, n: number, log: boolean): Storage {
    const Y = this.#gpu.f32(y, "softmaxBackward");
    const G = this.#gpu.f32(dy, "softmaxBackward");
    const out = this.#gpu.alloc(rows * n, "f32");
    const params = pack("uu", [rows, n]);
    const bindings: Binding[] = [[1, Y], [2, G], [3, out]];
    this.#gpu.dispatchRows("softmax", "softmax_backward", { LOG: log }, params, bindings, rows);
    return out;
  }

  rmsnorm(x: Storage, w: Storage, rows: number, n: number, eps: number): { y: Storage; rstd: Storage } {
    const n4 = Math.ceil(n / 4); // the kernels read rows as vec4s
    const X = this.#padRows(this.#gpu.f32(x, "rmsnorm"), rows, n, 4 * n4);
    const W = this.#padRows(this.#gpu.f32(w, "rmsnorm"), 1, n, 4 * n4);
    const y = this.#gpu.alloc(rows * 4 * n4, "f32");
    const rstd = this.#gpu.alloc(rows, "f32");
    const params = pack("uuuf", [rows, n, n4, eps]);
    const bindings: Binding[] = [[1, X], [2, W], [3, y], [4, rstd]];
    this.#gpu.dispatchRows("rmsnorm", "rmsnorm_forward", {}, params, bindings, rows);
    releasePadded(this, [x, w], [X, W]);
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
    const X = this.#padRows(this.#gpu.f32(x, "rmsnormBackward"), rows, n, 4 * n4);
    const W = this.#padRows(this.#gpu.f32(w, "rmsnormBackward"), 1, n, 4 * n4);
    const S = this.#gpu.f32(rstd, "rmsnormBackward");
    const G = this.#padRows(this.#gpu.f32(dy, "rmsnormBackward"), rows, n, 4 * n4);
    const dx = this.#gpu.alloc(rows * 4 * n4, "f32");
    const dw = this.#gpu.alloc(4 * n4, "f32");
    const params = pack("uuuf", [rows, n, n4, 0]);
    const inputs: Binding[] = [[1, X], [2, W], [3, S], [4, G]];
    this.#gpu.dispatchRows("rmsnorm", "rmsnorm_backward_dx", {}, params, [...inputs, [5, dx]], rows);
    this.#gpu.dispatch1D("rmsnorm", "rmsnorm_backward_dw", {}, params, [[1, X], [3, S], [4, G], [5, dw]], n4);
    releasePadded(this, [x, w, dy], [X, W, G]);
    return { dx: this.#unpadRows(dx, rows, n, 4 * n4), dw: this.#unpadRows(dw, 1, n, 4 * n4) };
  }

  // ---- position -----------------------------------------------------------------------------------------------

  rope(x: Storage, positions: Storage, p: RopeParams): Storage {
    const X = this.#gpu.f32(x, "rope");
    const pos = this.#gpu.use(positions);
    if (p.headDim % 2 !== 0) throw new Error(`rope: headDim must be even, got ${p.headDim}`);
    // The kernel reads each half of a head vector as h4 vec4s: halves ([rows · 2, half]) padded to 4·h4.
    const half = p.headDim / 2;
    const h4 = Math.ceil(half / 4);
    const halves = p.batch * p.seq * p.heads * 2;
    const padded = this.#padRows(X, halves, half, 4 * h4);
    const out = this.#gpu.alloc(halves * 4 * h4, "f32");
    const groups = p.batch * p.seq * p.heads * h4;
    const params = pack("uuuf", [groups, p.heads, h4, p.inverse ? -1 : 1]);
    const bindings: Binding[] = [[1, padded], [2, pos], [3, this.#invFreqTable(p.theta, p.headDim)], [
      4,
      out,
    ]];
    this.#gpu.dispatch1D("rope", "rope", {}, params, bindings, groups);
    releasePadded(this, [X], [padded]);
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
      const f = new Float32Array(padTo4(headDim / 2)); // headDim is even (checked by rope)
      for (let i = 0; i < headDim / 2; i++) f[i] = 1 / Math.pow(theta, (2 * i) / headDim);
      table = this.#gpu.upload(f);
      this.#invFreq.set(key, table);
    }
    return table;
  }

  // ---- embedding ----------------------------------------------------------------------------------------------

  gather(table: Storage, ids: Storage, count: number, dim: number): Storage {
    const T = this.#gpu.f32(table, "gather");
    const I = this.#gpu.use(ids);
    const out = this.#gpu.alloc(count * dim, "f32");
    const params = pack("uuu", [count, dim, T.length / dim]);
    this.#gpu.dispatch1D("embedding", "gather", {}, params, [[1, I], [2, T], [3, out]], count * dim);
    return out;
  }

  scatterAdd(ids: Storage, dy: Storage, count: number, dim: number, vocab: number): Storage {
    const I = this.#gpu.use(ids);
    const G = this.#gpu.f32(dy, "scatterAdd");
    const out = this.#gpu.alloc(vocab * dim, "f32");
    const params = pack("uuu", [count, dim, vocab]);
    this.#gpu.dispatch1D("embedding", "scatter_add", {}, params, [[1, I], [2, G], [3, out]], dim);
    return out;
  }

  // ---- loss -----------------------------------------------------------------------------------------------------

  crossEntropy(logits: Storage, targets: Storage, weights: Storage, rows: number, vocab: number): Storage {
    const out = this.#gpu.alloc(rows, "f32");
    this.#crossEntropyRows(
      "crossEntropy",
      "cross_entropy_forward",
      [logits, targets, weights],
      out,
      rows,
      vocab,
    );
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
    const out = this.#gpu.alloc(rows * vocab, "f32");
    const inputs = [logits, targets, weights, dloss];
    this.#crossEntropyRows("crossEntropyBackward", "cross_entropy_backward", inputs, out, rows, vocab);
    return out;
  }

  /**
   * One row kernel of shaders/cross_entropy.wgsl: the inputs (logits, targets, weights and, backward, the loss
   * gradient) at bindings 1, 2, …, the output after them; `op` names the primitive in errors.
   */
  #crossEntropyRows(
    op: string,
    entry: string,
    inputs: Storage[],
    out: GpuStorage,
    rows: number,
    vocab: number,
  ): void {
    const bindings: Binding[] = inputs.map((
      s,
      i,
    ) => [i + 1, i === 1 ? this.#gpu.use(s) : this.#gpu.f32(s, op)] // targets (binding 2) are i32
    );
    bindings.push([inputs.length + 1, out]);
    this.#gpu.dispatchRows("cross_entropy", entry, {}, pack("uu", [rows, vocab]), bindings, rows);
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
    const out = this.#gpu.alloc(p.batch * p.heads * p.tq * 4 * d4, "f32");
    const lse = this.#gpu.alloc(p.batch * p.heads * p.tq, "f32");
    const textures = this.#attentionTextures([K, V], p, p.tk, d4);
    const bindings: Binding[] = [[1, Q], [2, K], [3, V], [4, this.#mask(keyMask)], [5, out], [6, lse]];
    bindings.push([12, textures.rows[0]], [13, textures.rows[1]]);
    const blocks = p.batch * p.heads * Math.ceil(p.tq / ATTENTION_ROWS);
    this.#gpu.dispatch1D(
      "attention",
      "attention_forward",
      { D4: d4, TEXTURES: textures.used },
      this.#attentionParams(p, keyMask),
      bindings,
      blocks,
    );
    releasePadded(this, [q, k, v], [Q, K, V]);
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
    const L = this.#gpu.f32(lse, "attentionBackward");
    const inputs = [q, k, v, out, dout];
    const [Q, K, V, O, G] = this.#headPadded(inputs, p, [p.tq, p.tk, p.tk, p.tq, p.tq], d4);
    const mask = this.#mask(keyMask);
    const params = this.#attentionParams(p, keyMask);
    const constants = { D4: d4 };
    const rows = p.batch * p.heads * p.tq;
    // Step 1: (lse_i, delta_i = dout_i · out_i) per query row.
    const stats = this.#gpu.alloc(2 * rows, "f32");
    this.#gpu.dispatch1D(
      "attention",
      "attention_delta",
      constants,
      params,
      [[5, O], [6, L], [7, G], [8, stats]],
      rows,
    );
    // Step 2: dq, one pass over the keys per block of queries.
    const dq = this.#gpu.alloc(rows * 4 * d4, "f32");
    const qBlocks = p.batch * p.heads * Math.ceil(p.tq / ATTENTION_ROWS);
    const common: Binding[] = [[1, Q], [2, K], [3, V], [4, mask], [7, G], [9, stats]];
    const kv = this.#attentionTextures([K, V], p, p.tk, d4);
    this.#gpu.dispatch1D(
      "attention",
      "attention_backward_dq",
      { ...constants, TEXTURES: kv.used },
      params,
      [...common, [10, dq], [12, kv.rows[0]], [13, kv.rows[1]]],
      qBlocks,
    );
    // Step 3: dk and dv, one pass over the queries per block of keys.
    const dk = this.#gpu.alloc(p.batch * p.heads * p.tk * 4 * d4, "f32");
    const dv = this.#gpu.alloc(p.batch * p.heads * p.tk * 4 * d4, "f32");
    const kBlocks = p.batch * p.heads * Math.ceil(p.tk / ATTENTION_ROWS);
    // The dq kernel's textures were read by the dispatch recorded above: their slots can be filled again.
    const qg = this.#attentionTextures([Q, G], p, p.tq, d4);
    const kvBindings: Binding[] = [...common, [10, dk], [11, dv], [14, qg.rows[0]], [15, qg.rows[1]]];
    const dkdvConstants = { ...constants, TEXTURES: qg.used };
    this.#gpu.dispatch1D("attention", "attention_backward_dkdv", dkdvConstants, params, kvBindings, kBlocks);
    this.release(stats);
    releasePadded(this, inputs, [Q, K, V, O, G]);
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

  /**
   * Two streamed operands of an attention kernel (padded rows of 4·d4 values, `length` positions) as the textures
   * of shaders/attention.wgsl, with `used: true`; or, for attention below {@link TEXTURE_ATTENTION_MIN_MACS} or a
   * texture past the device's size limit, 1 × 1 placeholders for the unread bindings and `used: false`.
   */
  #attentionTextures(
    xs: [GpuStorage, GpuStorage],
    p: AttentionParams,
    length: number,
    d4: number,
  ): { used: boolean; rows: [GPUTexture, GPUTexture] } {
    // [B, T, H, D]: a texture row per position (its heads side by side); [B, H, T, D]: a row per head.
    const layout = p.layout === "bthd"
      ? { width: p.heads * d4, height: p.batch * length, rowsApart: 0 }
      : { width: length * d4, height: p.batch * p.heads, rowsApart: 0 };
    const macs = p.batch * p.heads * p.tq * p.tk * p.headDim;
    const fits = Math.max(layout.width, layout.height) <= this.#gpu.maxTextureSize;
    if (macs >= TEXTURE_ATTENTION_MIN_MACS && fits && layout.height > 0) {
      const rows = xs.map((x, i) => this.#toTexture(x, layout, ATTENTION_SLOTS[i]));
      return { used: true, rows: [rows[0], rows[1]] };
    }
    const [a, b] = ATTENTION_SLOTS.map((slot) => this.#gpu.texture(1, 1, slot));
    return { used: false, rows: [a, b] };
  }

  /** The `Params` block of shaders/attention.wgsl. */
  #attentionParams(p: AttentionParams, keyMask: Storage | null): Uint32Array {
    const flags = [p.causal ? 1 : 0, keyMask ? 1 : 0, p.layout === "bthd" ? 1 : 0];
    return pack("uuuufuuu", [p.batch, p.heads, p.tq, p.tk, p.scale, ...flags]);
  }

  /** The key mask, or a dummy buffer when there is none (the kernels then read has_mask = 0). */
  #mask(keyMask: Storage | null): GpuStorage {
    if (keyMask !== null) return this.#gpu.use(keyMask);
    this.#dummy ??= this.#gpu.upload(new Int32Array(1));
    return this.#dummy;
  }

  /** The operands (rows of headDim values, in either layout) padded to rows of 4·d4 (see {@link #padRows}). */
  #headPadded(xs: Storage[], p: AttentionParams, lengths: number[], d4: number): GpuStorage[] {
    return xs.map((x, i) =>
      this.#padRows(this.#gpu.f32(x, "attention"), p.batch * p.heads * lengths[i], p.headDim, 4 * d4)
    );
  }

  /** Cuts rows of 4·d4 values back to rows of headDim (see {@link #unpadRows}). */
  #headUnpadded(x: GpuStorage, p: AttentionParams, length: number, d4: number): GpuStorage {
    return this.#unpadRows(x, p.batch * p.heads * length, p.headDim, 4 * d4);
  }

  /** {@link padRows} on this backend's storage. */
  #padRows(x: GpuStorage, rows: number, n: number, width: number): GpuStorage {
    return this.#gpu.use(padRows(this, x, rows, n, width));
  }

  /** {@link unpadRows} on this backend's storage. */
  #unpadRows(x: GpuStorage, rows: number, n: number, width: number): GpuStorage {
    return this.#gpu.use(unpadRows(this, x, rows, n, width));
  }

  // ---- optimiser -------------------------------------------------------------------------------------------------

  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, p: AdamWParams): void {
    const P = this.#gpu.f32(param, "adamw");
    const G = this.#gpu.f32(grad, "adamw");
    const M = this.#gpu.f32(m, "adamw");
    const V = this.#gpu.f32(v, "adamw");
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
    this.#gpu.dispatch1D("adamw", "adamw", {}, params, [[1, P], [2, G], [3, M], [4, V]], vec4s(P.length));
  }

  // ---- sampling --------------------------------------------------------------------------------------------------

  greedyStep(logits: Storage, canvas: Storage, uncertain: Storage, p: GreedyStepParams): void {
    const L = this.#gpu.f32(logits, "greedyStep");
    const C = this.#gpu.use(canvas);
    const U = this.#gpu.use(uncertain);
    const span = p.end - p.start;
    // Per candidate (R, R_lo, R_hi, x̂), between the two kernels (see shaders/sampling.wgsl).
    const keys = this.#gpu.alloc(p.batch * span * 4, "f32");
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
    this.#gpu.dispatch1D(
      "sampling",
      "greedy_candidates",
      {},
      params,
      [[1, L], [2, C], [3, keys]],
      p.batch * span,
    );
    this.#gpu.dispatch1D("sampling", "greedy_commit", {}, params, [[2, C], [3, keys], [4, U]], p.batch);
    this.release(keys);
  }
}
