/**
 * Recycling GPU buffers.
 *
 * Creating and destroying buffers per primitive is slow, so released buffers are kept and handed out again. A
 * buffer is only reused once the commands that used it have been **submitted**: WebGPU runs submitted work in
 * order, so anything recorded later (a dispatch that overwrites it, or a `queue.writeBuffer`, which runs before
 * the commands still being recorded) can no longer disturb them. Until the next submit, released buffers wait in
 * a pending list.
 *
 * Buffers are grouped by usage and by size class: sizes round up to 1/8 steps between powers of two (at most
 * 12.5% waste), so a request is served by any free buffer of its class.
 *
 * @module
 */

/** The size a request of `bytes` is rounded up to (a multiple of 16, at least 256). */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes - 1)); // the power of two just below
  const step = Math.max(16, p / 8);
  return Math.ceil(bytes / step) * step;
}

/** A pool of buffers of one usage. */
export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  #pending: GPUBuffer[] = [];
  /** Buffers created so far (for tests and the benchmark). */
  created = 0;
  /** Bytes currently held by the pool's buffers (free, pending and in use). */
  bytes = 0;
  /** Bytes of the buffers released since the last submit (not reusable yet). */
  pendingBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly label: string,
    /** The largest buffer the device allows (bigger requests are refused by the caller). */
    private readonly maxBytes: number,
  ) {}

  /** A buffer of at least `bytes` bytes: a free one of the right size class, or a new one. */
  acquire(bytes: number): GPUBuffer {
    // Round to the size class, unless that would exceed the device's limit while the request itself fits.
    const size = Math.min(sizeClass(bytes), Math.max(this.maxBytes - (this.maxBytes % 16), bytes));
    const free = this.#free.get(size);
    if (free && free.length > 0) return free.pop()!;
    this.created++;
    this.bytes += size;
    return this.device.createBuffer({ label: this.label, size, usage: this.usage });
  }

  /** Gives a buffer back; it becomes reusable after the next {@link submitted}. */
  release(buffer: GPUBuffer): void {
    this.#pending.push(buffer);
    this.pendingBytes += buffer.size;
  }

  /** Gives back a buffer no command has used yet (reusable at once). */
  releaseUnused(buffer: GPUBuffer): void {
    this.#put(buffer);
  }

  /** Call right after `queue.submit`: buffers released before it may now be reused. */
  submitted(): void {
    for (const b of this.#pending) this.#put(b);
    this.#pending = [];
    this.pendingBytes = 0;
  }

  /** Destroys every free buffer (pending and in-use ones are left alone). */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.bytes -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
  }

  #put(buffer: GPUBuffer): void {
    const list = this.#free.get(buffer.size);
    if (list) list.push(buffer);
    else this.#free.set(buffer.size, [buffer]);
  }
}
