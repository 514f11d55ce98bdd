/**
 * The dispatch recorder: the WebGPU machinery under every primitive — storage allocation, the command encoder,
 * per-dispatch uniform slots, pipeline caching, submits, reads, error reporting and profiling.
 *
 * A primitive of the WebGPU backend calls {@link DispatchRecorder.dispatch1D} or
 * {@link DispatchRecorder.dispatchRows}; the recorder writes the parameters into the next uniform slot, records
 * the dispatch into the current encoder and returns. Nothing runs until the encoder is submitted by
 * {@link DispatchRecorder.flush}: when someone reads, when asked, or on its own after {@link MAX_DISPATCHES}
 * dispatches or {@link MAX_PENDING_BYTES} of released storage waiting for reuse.
 *
 * @module
 */

import type { DType, Storage, TypedArray } from "../backend.ts";
import type { GpuContext } from "./device.ts";
import { BufferPool } from "./pool.ts";
import type { ShaderFile } from "./shaders.ts";
import { traceKernel, traceLevel } from "../../trace.ts";

/** Dispatches recorded before the backend submits on its own (also the number of uniform slots per submit). */
export const MAX_DISPATCHES = 256;

/**
 * Released storage waiting for a submit before it can be reused; past this the backend submits by itself, which
 * bounds the memory a long recording (a whole training step) holds.
 */
export const MAX_PENDING_BYTES = 256 * 2 ** 20;

/** Bytes of one dispatch's uniform slot (≥ the largest parameter block, 160 bytes, and a valid offset alignment). */
const UNIFORM_SLOT = 256;

/** Invocations per workgroup of the 1-D kernels (the `WG` override of each shader). */
const WG = 64;

/**
 * Rows from which a row kernel runs one invocation per row rather than a whole workgroup per row: a workgroup's
 * worth of rows is enough for a CPU adapter, and one invocation per row needs no barriers, which llvmpipe runs
 * slowly (a workgroup per row of 96 floats took ~30 µs a row there; RMSNorm over a sampler's 83-row canvas went
 * from 18.3 to 2.3 ms a step when it got one invocation per row).
 */
const ROWS_FOR_ONE_INVOCATION_EACH = WG;

/**
 * Textures kept for reuse by {@link DispatchRecorder.texture}; past this the least recently used is destroyed. A
 * training step uses about a dozen operand shapes.
 */
const MAX_TEXTURES = 32;

/** `GPUTextureUsage.COPY_DST | TEXTURE_BINDING | STORAGE_BINDING`, spelled out like {@link USAGE}. */
const TEXTURE_USAGE = 0x02 | 0x04 | 0x08;

/** Storage bytes are allocated and bound in whole vec4s: 16 bytes. */
const VEC4_BYTES = 16;

/** Buffer usages: spelled out so the module does not depend on the `GPUBufferUsage` global (absent in Node). */
const USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
  QUERY_RESOLVE: 0x200,
} as const;

/** `GPUMapMode.READ`, spelled out for the same reason as {@link USAGE}. */
const MAP_READ = 0x1;

/** Storage on the GPU: a pooled buffer holding `length` elements of `dtype` (4 bytes each). */
export class GpuStorage implements Storage {
  released = false;
  constructor(readonly length: number, readonly dtype: DType, readonly buffer: GPUBuffer) {}
  /** Bytes bound to kernels: the data rounded up to whole vec4s, at least one. */
  get bindingSize(): number {
    return Math.max(VEC4_BYTES, Math.ceil((this.length * 4) / VEC4_BYTES) * VEC4_BYTES);
  }
}

/**
 * A storage (or a texture, see {@link DispatchRecorder.texture}) bound at a binding number of a kernel's bind group
 * (binding 0 is always the parameters).
 */
export type Binding = [binding: number, storage: GpuStorage | GPUTexture];

/** Override constants of a pipeline, by name. */
export type Constants = Record<string, number | boolean>;

/** Counters of the work done so far, for tests (e.g. "one read per training step") and benchmarks. */
export interface WebGpuStats {
  /** Command buffers submitted. */
  submits: number;
  /** Reads back to the CPU. */
  reads: number;
  /** Kernel dispatches recorded. */
  dispatches: number;
  /** Copies of storage into textures recorded ({@link DispatchRecorder.copyToTexture}). */
  textureCopies: number;
  /** Pipelines compiled. */
  pipelines: number;
  /** GPU buffers created for storage (the rest of the storage handed out was recycled from the pool). */
  buffersCreated: number;
}

/** GPU time spent in one kernel (file and entry point), from {@link DispatchRecorder.profile}. */
export interface KernelTime {
  kernel: string;
  dispatches: number;
  ms: number;
}

/** Records dispatches of the compiled shaders on one device and submits them in batches. */
export class DispatchRecorder {
  /** Work counters since creation. */
  readonly stats: WebGpuStats = {
    submits: 0,
    reads: 0,
    dispatches: 0,
    textureCopies: 0,
    pipelines: 0,
    buffersCreated: 0,
  };
  /** The device's limit on one storage binding, in bytes: storage larger than this is refused. */
  readonly maxBinding: number;
  /** The device's limit on the width and height of a 2-D texture. */
  readonly maxTextureSize: number;

  readonly #device: GPUDevice;
  readonly #modules: Map<ShaderFile, GPUShaderModule>;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  /** Reusable textures by slot and size, least recently used first. */
  readonly #textures = new Map<string, GPUTexture>();
  readonly #storagePool: BufferPool;
  readonly #uniformPool: BufferPool;
  readonly #readPool: BufferPool;
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
  /** Profiling: begin/end timestamps of each dispatch of the current submit, the kernel of each, the totals. */
  readonly #timestamps: GPUQuerySet | null;
  #timed: string[] = [];
  readonly #kernelTimes = new Map<string, KernelTime>();
  #pendingTimes: Promise<void>[] = [];

  constructor(context: GpuContext, modules: Map<ShaderFile, GPUShaderModule>, profile: boolean) {
    const device = context.device;
    this.#device = device;
    this.#modules = modules;
    this.maxBinding = device.limits.maxStorageBufferBindingSize;
    this.maxTextureSize = device.limits.maxTextureDimension2D;
    this.#maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
    const maxBuffer = device.limits.maxBufferSize;
    this.#storagePool = new BufferPool(
      device,
      USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
      "storage",
      Math.min(maxBuffer, this.maxBinding),
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

  /** Whether dispatches are being timed (created with `profile: true` on an adapter with timestamp queries). */
  get profiling(): boolean {
    return this.#timestamps !== null;
  }

  /** GPU time per kernel, slowest first; waits for the timings of work already submitted. */
  async profile(reset: boolean): Promise<KernelTime[]> {
    this.flush();
    await Promise.all(this.#pendingTimes);
    this.#pendingTimes = [];
    const table = [...this.#kernelTimes.values()].sort((a, b) => b.ms - a.ms);
    if (reset) this.#kernelTimes.clear();
    return table;
  }

  /**
   * An rgba32float texture of `width` × `height` texels that kernels read (textureLoad) and write (textureStore),
   * reused by every later call with the same slot and size. Its contents belong to whoever asked for it last: a
   * caller fills it and reads it in dispatches recorded before anyone asks again (dispatches run in order).
   * `slot` tells apart textures one kernel needs at the same time.
   */
  texture(width: number, height: number, slot: number): GPUTexture {
    const key = `${slot}:${width}x${height}`;
    let texture = this.#textures.get(key);
    if (texture) {
      this.#textures.delete(key); // moved to the end: most recently used
    } else {
      if (this.#textures.size >= MAX_TEXTURES) {
        // Recorded dispatches may still read the oldest: submit them first (a destroyed texture's submitted work
        // still runs).
        this.flush();
        const [oldest, evicted] = this.#textures.entries().next().value!;
        this.#textures.delete(oldest);
        evicted.destroy();
      }
      texture = this.#device.createTexture({
        label: `texture ${key}`,
        size: [width, height],
        format: "rgba32float",
        usage: TEXTURE_USAGE,
      });
    }
    this.#textures.set(key, texture);
    return texture;
  }

  /**
   * Records a copy of the first `width` × `height` vec4s of `s` into `texture`, row by row (`width` texels a row),
   * between the dispatches recorded before and after it. WebGPU copies only rows a multiple of 256 bytes apart:
   * `width` must be a multiple of 16.
   */
  copyToTexture(s: GpuStorage, texture: GPUTexture, width: number, height: number): void {
    this.#endPass();
    this.#commands().copyBufferToTexture(
      { buffer: s.buffer, bytesPerRow: width * VEC4_BYTES, rowsPerImage: height },
      { texture },
      [width, height],
    );
    this.stats.textureCopies++;
  }

  /** Submits pending work, frees pooled buffers and textures, and destroys the device. */
  dispose(): void {
    if (this.#disposed) return;
    this.flush();
    this.#disposed = true;
    for (const texture of this.#textures.values()) texture.destroy();
    this.#textures.clear();
    this.#storagePool.trim();
    this.#uniformPool.trim();
    this.#readPool.trim();
    this.#device.destroy();
  }

  // ---- storage --------------------------------------------------------------------------------------------------

  /** New storage of `length` elements, refusing sizes over the device's binding limit. */
  alloc(length: number, dtype: DType): GpuStorage {
    const bytes = length * 4;
    if (bytes > this.maxBinding) {
      const mib = (b: number) => (b / 2 ** 20).toFixed(1);
      throw new Error(
        `WebGPU backend: storage of ${length} elements (${mib(bytes)} MiB) exceeds this device's ` +
          `maxStorageBufferBindingSize of ${mib(this.maxBinding)} MiB; use a smaller batch or sequence, ` +
          `or the CPU backend`,
      );
    }
    const buffer = this.#storagePool.acquire(
      Math.max(VEC4_BYTES, Math.ceil(bytes / VEC4_BYTES) * VEC4_BYTES),
    );
    this.stats.buffersCreated = this.#storagePool.created;
    return new GpuStorage(length, dtype, buffer);
  }

  /** The GpuStorage behind a Storage, refusing released storage or storage of another backend. */
  use(s: Storage): GpuStorage {
    this.check();
    if (!(s instanceof GpuStorage)) throw new Error("WebGPU backend: storage belongs to another backend");
    if (s.released) throw new Error("WebGPU backend: storage used after release");
    return s;
  }

  /** {@link use}, also refusing storage that is not f32 (`op` names the primitive in the message). */
  f32(s: Storage, op: string): GpuStorage {
    const g = this.use(s);
    if (g.dtype !== "f32") throw new Error(`${op}: expected f32 storage, got ${g.dtype}`);
    return g;
  }

  /** New storage holding `data` (floats stored as f32). */
  upload(data: TypedArray): GpuStorage {
    this.check();
    const s = this.alloc(data.length, data instanceof Int32Array ? "i32" : "f32");
    if (data instanceof Float64Array) data = Float32Array.from(data); // the GPU stores f32
    // Safe without a flush: s.buffer is fresh or was last used by commands already submitted (see pool.ts).
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (data.length > 0) this.#device.queue.writeBuffer(s.buffer, 0, bytes);
    return s;
  }

  /** Hands the storage's buffer back to the pool, for reuse after the next submit. */
  release(s: Storage): void {
    const g = this.use(s);
    g.released = true;
    this.#storagePool.release(g.buffer);
  }

  /** Records a plain buffer-to-buffer copy of `elements` elements (offsets in elements). */
  copyBuffer(from: GpuStorage, fromOffset: number, to: GpuStorage, toOffset: number, elements: number): void {
    this.#endPass();
    this.#commands().copyBufferToBuffer(from.buffer, 4 * fromOffset, to.buffer, 4 * toOffset, 4 * elements);
  }

  /** Submits everything recorded, waits for it, and returns a copy of the storage's elements. */
  async read(s: Storage): Promise<TypedArray> {
    const src = this.use(s);
    const bytes = src.length * 4;
    const staging = this.#readPool.acquire(Math.max(bytes, 4));
    this.#endPass();
    if (bytes > 0) this.#commands().copyBufferToBuffer(src.buffer, 0, staging, 0, bytes);
    this.flush();
    this.stats.reads++;
    try {
      await staging.mapAsync(MAP_READ, 0, Math.max(bytes, 4));
    } catch (e) {
      this.check();
      throw new Error(`WebGPU backend: reading storage back failed: ${(e as Error).message}`);
    }
    const copy = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.#readPool.releaseUnused(staging);
    this.check();
    return src.dtype === "i32" ? new Int32Array(copy) : new Float32Array(copy);
  }

  // ---- submitting -----------------------------------------------------------------------------------------------

  /** Submits the work recorded so far (a no-op when there is none). */
  flush(): void {
    this.check();
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

  /** Submits pending work and waits until the GPU has finished it. */
  async sync(): Promise<void> {
    this.flush();
    await this.#device.queue.onSubmittedWorkDone();
    this.check();
  }

  /** Raises an error reported asynchronously since the last call (device loss, validation). */
  check(): void {
    if (this.#lost !== null) throw new Error(this.#lost);
    if (this.#errors.length > 0) {
      const errors = this.#errors;
      this.#errors = [];
      throw new Error(`WebGPU backend: ${errors.join("\n")}`);
    }
  }

  // ---- dispatching ----------------------------------------------------------------------------------------------

  /** A 1-D launch of `invocations` (WG per workgroup), folded into two dimensions past the per-dimension limit. */
  dispatch1D(
    file: ShaderFile,
    entry: string,
    constants: Constants,
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
  dispatchRows(
    file: ShaderFile,
    entry: string,
    constants: Constants,
    params: Uint32Array,
    bindings: Binding[],
    rows: number,
  ): void {
    // Two variants only: every variant is a pipeline to compile, which takes seconds on llvmpipe. A GPU would want
    // whole workgroups per row much sooner.
    const tpr = rows >= ROWS_FOR_ONE_INVOCATION_EACH ? 1 : WG;
    const workgroups = this.#fold(Math.ceil(rows / (WG / tpr)));
    this.#dispatch(file, entry, { ...constants, TPR: tpr }, params, bindings, workgroups);
  }

  /**
   * Records one dispatch: the parameters go into this submit's uniform buffer at the next slot, bound at
   * binding 0; the storages at their binding numbers.
   */
  #dispatch(
    file: ShaderFile,
    entry: string,
    constants: Constants,
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
      const resource = s instanceof GpuStorage
        ? { buffer: s.buffer, offset: 0, size: s.bindingSize }
        : s.createView();
      entries.push({ binding, resource });
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
    if (traceLevel() > 0) traceKernel(file, entry, workgroups);
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

  /** The pipeline for an entry point with override constants, compiled on first use. */
  #pipeline(file: ShaderFile, entry: string, constants: Constants): GPUComputePipeline {
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

  /** The command encoder being recorded (a new one if needed). */
  #commands(): GPUCommandEncoder {
    this.#encoder ??= this.#device.createCommandEncoder();
    return this.#encoder;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  /**
   * Profiling: records the copy of this submit's timestamps into a readable buffer; returns a function to call
   * after the submit, which maps it and adds each dispatch's time to its kernel's total.
   */
  #resolveTimestamps(): (() => Promise<void>) | null {
    if (this.#timestamps === null || this.#timed.length === 0) return null;
    const kernels = this.#timed;
    this.#timed = [];
    const bytes = 16 * kernels.length; // two u64 timestamps per dispatch
    const resolve = this.#device.createBuffer({ size: bytes, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC });
    const readback = this.#device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    this.#encoder!.resolveQuerySet(this.#timestamps, 0, 2 * kernels.length, resolve, 0);
    this.#encoder!.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
    return async () => {
      await readback.mapAsync(MAP_READ);
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
}
