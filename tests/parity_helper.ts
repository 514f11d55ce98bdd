/**
 * The one parity helper every WebGPU test uses: run the same primitive on the CPU backend (the specification) and
 * on the WebGPU backend, on the same inputs, and compare every output within a tolerance stated by the test.
 *
 * Adapter policy: without a WebGPU adapter the WebGPU tests are skipped with a message saying why, except under
 * `CI=true`, where a missing adapter is itself a failing test (so CI always exercises the shaders).
 *
 * Where WebGPU tests run: never on the test file's own thread. `deno test` runs each file on a thread of a pool
 * that it shuts down without waiting, right before the process exits. On Linux a thread that has used WebGPU
 * (wgpu's GL path through libglvnd's libEGL) holds per-thread EGL state that a thread-exit destructor frees, and
 * exit() runs libEGL's library destructor, which frees every thread's state: when a pool thread exits during
 * exit(), the same memory is freed twice and the process aborts after its summary ("double free or corruption").
 * So each file's WebGPU cases run in one Web Worker of their own (`gpu_worker.ts`), which imports the same test
 * file, and after the file's last test the worker is closed and the file waits until the worker's thread has
 * exited. docs/webgpu_teardown.md has the evidence and the reproduction.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Backend, Storage, TypedArray } from "../src/backend/backend.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { WebGpuBackend } from "../src/backend/webgpu.ts";
import { findAdapter } from "../src/backend/webgpu/device.ts";
import { Rng } from "../src/rng.ts";

/** Elementwise tolerance: |gpu − cpu| ≤ atol + rtol · |cpu|. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Host arrays to upload to both backends, by name. */
export type Inputs = Record<string, TypedArray>;

/** A computation on one backend: gets the uploaded inputs by name, returns the storages to compare by name. */
export type Computation = (b: Backend, x: Record<string, Storage>) => Record<string, Storage>;

// ---- inside the worker: the cases, the shared backend ---------------------------------------------------------

/** True in the worker (set by {@link loadCases}): registering a case then records its body instead of a test. */
let inWorker = false;
/** The bodies of this file's WebGPU cases, by test name (filled in the worker only). */
const cases = new Map<string, () => Promise<void>>();

let shared: Promise<{ gpu: WebGpuBackend | null; reason: string }> | null = null;

/** The WebGPU backend of this worker (created once), or null with the reason when there is no adapter. */
function testGpu(): Promise<{ gpu: WebGpuBackend | null; reason: string }> {
  shared ??= (async () => {
    const { adapter, reason } = await findAdapter();
    return adapter ? { gpu: await WebGpuBackend.create(), reason: "" } : { gpu: null, reason };
  })();
  return shared;
}

/** The outcome of one case, as the worker reports it. */
export interface CaseResult {
  error?: { name: string; message: string; stack?: string };
}

/**
 * Worker side: imports the test file `module` with case registration switched to recording, and says whether
 * there is an adapter (and why not).
 */
export async function loadCases(module: string): Promise<{ adapter: boolean; reason: string }> {
  inWorker = true;
  const { gpu, reason } = await testGpu();
  await import(module);
  return { adapter: gpu !== null, reason };
}

/** Worker side: runs the case registered under `name`, reporting a thrown error instead of throwing it. */
export async function runCase(name: string): Promise<CaseResult> {
  const body = cases.get(name);
  if (!body) return { error: { name: "Error", message: `no WebGPU case named "${name}" in this file` } };
  try {
    await body();
    return {};
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return { error: { name: err.name, message: err.message, stack: err.stack } };
  }
}

/** Worker side: waits for the shared backend's submitted work, then destroys its device. */
export async function releaseGpu(): Promise<void> {
  const gpu = shared && (await shared).gpu;
  if (!gpu) return;
  await gpu.sync();
  gpu.dispose();
}

// ---- in the test file: one worker per file, and the tests that call into it ------------------------------------

/** The test file's WebGPU worker: loads the file's cases, runs them one at a time, then exits. */
class GpuWorker {
  readonly #worker: Worker;
  readonly #replies = new Map<number, { resolve: (value: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;
  /** Whether the worker found an adapter, and its thread (`/proc` task id; empty where there is no `/proc`). */
  readonly loaded: Promise<{ adapter: boolean; reason: string; thread: string }>;

  constructor(module: string) {
    this.#worker = new Worker(new URL("./gpu_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<{ id: number; value: unknown }>) => {
      this.#replies.get(e.data.id)?.resolve(e.data.value);
      this.#replies.delete(e.data.id);
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const error = new Error(`the WebGPU test worker for ${module} failed: ${e.message}`);
      for (const reply of this.#replies.values()) reply.reject(error);
      this.#replies.clear();
    };
    this.loaded = this.#call("load", module) as Promise<{ adapter: boolean; reason: string; thread: string }>;
  }

  #call(type: "load" | "run" | "close", arg = ""): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#replies.set(id, { resolve, reject });
      this.#worker.postMessage({ id, type, arg });
    });
  }

  /** Runs one case in the worker; rethrows its error here, with the worker's stack (file and line of the case). */
  async run(name: string): Promise<void> {
    const { error } = await this.#call("run", name) as CaseResult;
    if (!error) return;
    const rethrown = new Error(error.message);
    rethrown.name = error.name;
    if (error.stack) rethrown.stack = error.stack;
    throw rethrown;
  }

  /** Releases the worker's device and waits until the worker has ended by itself and its thread has exited. */
  async close(): Promise<void> {
    const { thread } = await this.loaded;
    await this.#call("close");
    try {
      await threadExited(thread);
    } finally {
      this.#worker.terminate();
    }
  }
}

/**
 * Resolves once the thread with `/proc` task id `thread` has exited (at once where there is no `/proc`, i.e. no
 * Linux, no libglvnd). Polls: a worker's thread is gone within milliseconds of its termination.
 */
async function threadExited(thread: string, timeoutMs = 30_000): Promise<void> {
  if (!thread) return;
  const start = Date.now();
  while (exists(`/proc/self/task/${thread}`)) {
    if (Date.now() - start > timeoutMs) {
      throw new Error(
        `the WebGPU test worker's thread ${thread} had not exited ${timeoutMs} ms after the worker was asked to end`,
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

let fileWorker: GpuWorker | null = null;

/** This test file's worker, started on first use; closed (and its thread awaited) after the file's last test. */
function gpuWorker(): GpuWorker {
  if (!fileWorker) {
    const worker = new GpuWorker(Deno.mainModule);
    fileWorker = worker;
    Deno.test.afterAll(() => worker.close());
    worker.loaded.then(({ adapter, reason }) => {
      if (adapter) return;
      if (Deno.env.get("CI") === "true") {
        Deno.test("WebGPU adapter is available (required under CI=true)", () => {
          throw new Error(`no WebGPU adapter: ${reason}`);
        });
      } else {
        console.warn(`WebGPU tests skipped: ${reason}`);
      }
    });
  }
  return fileWorker;
}

/**
 * Registers a Deno test whose body runs in this file's WebGPU worker, with or without an adapter (for tests of
 * backend selection, which must also pass without one). The body may use WebGPU freely.
 */
export async function workerTest(name: string, fn: () => Promise<void>): Promise<void> {
  if (inWorker) {
    if (cases.has(name)) throw new Error(`two WebGPU cases are named "${name}"; give each a unique name`);
    cases.set(name, fn);
    return;
  }
  const worker = gpuWorker();
  await worker.loaded;
  Deno.test({ name, sanitizeResources: false, sanitizeOps: false, fn: () => worker.run(name) });
}

/**
 * Registers a Deno test that needs the WebGPU backend: skipped (ignored) when there is no adapter. The body runs
 * in this file's WebGPU worker with the backend it shares with the file's other cases (the device and pooled
 * buffers live across tests on purpose).
 */
export async function gpuTest(name: string, fn: (gpu: WebGpuBackend) => Promise<void>): Promise<void> {
  if (inWorker) {
    const { gpu } = await testGpu();
    return workerTest(name, () => fn(gpu!));
  }
  const worker = gpuWorker();
  const { adapter } = await worker.loaded;
  Deno.test({
    name,
    ignore: !adapter,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => worker.run(name),
  });
}

const cpu = new CpuBackend();

/**
 * Runs `run` on the CPU and on WebGPU with the same `inputs` and asserts that every returned storage matches
 * within `tol`. Reports the worst element (index, both values) on failure. Any NaN fails; infinities must match
 * exactly.
 */
export async function expectParity(
  gpu: WebGpuBackend,
  label: string,
  inputs: Inputs,
  run: Computation,
  tol: Tolerance,
): Promise<void> {
  const results = await Promise.all([cpu, gpu].map(async (b) => {
    const x: Record<string, Storage> = {};
    for (const [name, data] of Object.entries(inputs)) x[name] = b.upload(data);
    const outputs = run(b, x);
    const read: Record<string, TypedArray> = {};
    for (const [name, s] of Object.entries(outputs)) read[name] = await b.read(s);
    const owned = new Set([...Object.values(x), ...Object.values(outputs)]);
    for (const s of owned) b.release(s);
    return read;
  }));
  const [expected, actual] = results;
  for (const name of Object.keys(expected)) {
    compareArrays(`${label}: ${name}`, actual[name], expected[name], tol);
  }
}

/** Asserts `actual` ≈ `expected` elementwise within `tol`, naming the worst element on failure. */
export function compareArrays(label: string, actual: TypedArray, expected: TypedArray, tol: Tolerance): void {
  assert.equal(
    actual.length,
    expected.length,
    `${label}: length ${actual.length}, expected ${expected.length}`,
  );
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    // A NaN is a failure even when both backends produce one: the primitives compared here never return NaN
    // on the inputs the tests give, so NaN on both sides means both are broken, not that they agree.
    if (Number.isNaN(e) || Number.isNaN(a)) return fail(label, i, a, e, tol);
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) return fail(label, i, a, e, tol);
      continue;
    }
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) fail(label, worst, actual[worst], expected[worst], tol);
}

function fail(label: string, i: number, a: number, e: number, tol: Tolerance): never {
  throw new assert.AssertionError({
    message: `${label}: element ${i} is ${a} on WebGPU but ${e} on the CPU ` +
      `(|diff| ${Math.abs(a - e)} > atol ${tol.atol} + rtol ${tol.rtol}·|cpu|)`,
  });
}

/** Deterministic random inputs for parity tests. */
export class RandomInputs {
  readonly #rng: Rng;
  constructor(seed: number) {
    this.#rng = new Rng(seed);
  }
  /** `n` floats uniform in [lo, hi). */
  uniform(n: number, lo = -1, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.#rng.uniform();
    return out;
  }
  /** `n` integers uniform in [0, max). */
  ints(n: number, max: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.#rng.uniform() * max);
    return out;
  }
}
