/**
 * The one parity helper every WebGPU test uses: run the same primitive on the CPU backend (the specification) and
 * on the WebGPU backend, on the same inputs, and compare every output within a tolerance stated by the test.
 *
 * Adapter policy: without a WebGPU adapter the WebGPU tests are skipped with a message saying why, except under
 * `CI=true`, where a missing adapter is itself a failing test (so CI always exercises the shaders).
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

let shared: Promise<{ gpu: WebGpuBackend | null; reason: string }> | null = null;

/**
 * The WebGPU backend for this test file (created once), or null with the reason when there is no adapter.
 * Registers a failing test under `CI=true` when there is none.
 */
export function testGpu(): Promise<{ gpu: WebGpuBackend | null; reason: string }> {
  shared ??= (async () => {
    const { adapter, reason } = await findAdapter();
    if (!adapter) {
      if (Deno.env.get("CI") === "true") {
        Deno.test("WebGPU adapter is available (required under CI=true)", () => {
          throw new Error(`no WebGPU adapter: ${reason}`);
        });
      } else {
        console.warn(`WebGPU tests skipped: ${reason}`);
      }
      return { gpu: null, reason };
    }
    return { gpu: await WebGpuBackend.create(), reason: "" };
  })();
  return shared;
}

const cpu = new CpuBackend();

/**
 * Registers a Deno test that needs the WebGPU backend: skipped (ignored) when there is no adapter.
 * The backend is created once per test file and shared by its tests.
 */
export async function gpuTest(name: string, fn: (gpu: WebGpuBackend) => Promise<void>): Promise<void> {
  const { gpu } = await testGpu();
  Deno.test({
    name,
    ignore: gpu === null,
    // The backend's device and pooled buffers live across tests on purpose.
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => fn(gpu!),
  });
}

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
