/**
 * `useBackend`: the library's way to pick where tensors live and compute runs, as tfjs's `setBackend` and
 * transformers.js's `device` option do. It makes the same choice as the command line (`select.ts`: `auto` is
 * WebGPU when an adapter exists, else the CPU), makes it the default backend of new tensors and models, and
 * says what it chose and why.
 *
 * @module
 */

import type { Backend } from "./backend/backend.ts";
import { type BackendKind, getBackend, resolveKind } from "./backend/select.ts";
import { findAdapter } from "./backend/webgpu/device.ts";
import { setDefaultBackend } from "./tensor.ts";
import { InputError } from "./errors.ts";

/** What {@link useBackend} chose. */
export interface BackendChoice {
  /** The backend, now the default for new tensors and models. */
  backend: Backend;
  /** Its kind: `"webgpu"` or `"cpu"`. */
  name: "webgpu" | "cpu";
  /** What was asked for (the argument, else `LLADA_BACKEND`, else `"auto"`). */
  requested: BackendKind;
  /** Why this one, e.g. `auto: no WebGPU adapter (navigator.gpu is not available in this runtime)`. */
  reason: string;
  /** The device, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (fallback adapter)` or `plain TypeScript loops`. */
  description: string;
}

/**
 * Chooses the compute backend and makes it the default: `"webgpu"` (fails, saying why, without an adapter),
 * `"cpu"` (the plain TypeScript specification), or `"auto"` (WebGPU when an adapter exists, else the CPU).
 * Without an argument the environment variable `LLADA_BACKEND` decides, else `"auto"`. The backend of each kind
 * is created once per process and shared.
 *
 * @throws {InputError} for an unknown kind, or `"webgpu"` where no adapter exists.
 *
 * @example
 * ```ts
 * const { name, reason } = await useBackend("auto");
 * console.log(`running on ${name} (${reason})`);
 * ```
 */
export async function useBackend(kind?: BackendKind): Promise<BackendChoice> {
  let requested: BackendKind;
  try {
    requested = resolveKind(kind);
  } catch (e) {
    throw new InputError("backend", (e as Error).message, 'pass "auto", "webgpu" or "cpu"');
  }
  let backend: Backend;
  try {
    backend = await getBackend(requested);
  } catch (e) {
    throw new InputError(
      "backend",
      `WebGPU was requested but is not available (${(e as Error).message})`,
      'pass "auto" to fall back to the CPU, or "cpu"',
    );
  }
  setDefaultBackend(backend);
  let reason: string;
  if (requested !== "auto") reason = `requested "${requested}"`;
  else if (backend.name === "webgpu") reason = "auto: a WebGPU adapter was found";
  else reason = `auto: no WebGPU adapter (${(await findAdapter()).reason})`;
  return { backend, name: backend.name, requested, reason, description: backend.description };
}
