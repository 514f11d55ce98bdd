/**
 * Choosing a backend: `auto` (WebGPU when an adapter exists, else the CPU), `webgpu` or `cpu`, by argument or by
 * the environment variable `LLADA_BACKEND`. The choice is made once per process and cached, so every part of a
 * program shares one device (`auto` and `webgpu` share it too); CLIs print {@link describeBackend} once.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu.ts";
import { WebGpuBackend } from "./webgpu.ts";
import { findAdapter } from "./webgpu/device.ts";
import { readEnv } from "../env.ts";

/** Which backend to use. */
export type BackendKind = "auto" | "webgpu" | "cpu";

const KINDS: readonly BackendKind[] = ["auto", "webgpu", "cpu"];

/** The environment variable read when no kind is passed. */
export const BACKEND_ENV = "LLADA_BACKEND";

/** How the cached backend was chosen, for {@link describeBackend}. */
interface Choice {
  backend: Backend;
  /** Why this backend: the request, and for `auto` without an adapter, the reason WebGPU was not used. */
  why: string;
}

/** One instance per backend, shared by every kind that resolves to it (so `auto` and `webgpu` share a device). */
const instances = new Map<"webgpu" | "cpu", Promise<Backend>>();
/** The choice made for each kind. */
const choices = new Map<BackendKind, Promise<Choice>>();

/** The kind to use: the argument, else `LLADA_BACKEND`, else `auto`. Throws on an unknown name. */
export function resolveKind(kind?: BackendKind | string): BackendKind {
  const requested = (kind ?? readEnv(BACKEND_ENV) ?? "auto").toLowerCase();
  if (!(KINDS as readonly string[]).includes(requested)) {
    const source = kind === undefined ? `${BACKEND_ENV}=${requested}` : `"${requested}"`;
    throw new Error(`unknown backend ${source}; expected one of ${KINDS.join(", ")}`);
  }
  return requested as BackendKind;
}

/** The backend instance of a kind, created once. A failed creation is forgotten, so a later call can retry. */
function instance(kind: "webgpu" | "cpu"): Promise<Backend> {
  let backend = instances.get(kind);
  if (!backend) {
    backend = kind === "cpu" ? Promise.resolve(new CpuBackend()) : WebGpuBackend.create();
    instances.set(kind, backend);
    backend.catch(() => instances.delete(kind));
  }
  return backend;
}

async function choose(kind: BackendKind): Promise<Choice> {
  if (kind !== "auto") return { backend: await instance(kind), why: "requested" };
  const { adapter, reason } = await findAdapter();
  if (!adapter) return { backend: await instance("cpu"), why: `auto: no WebGPU (${reason})` };
  return { backend: await instance("webgpu"), why: "auto: WebGPU adapter found" };
}

/**
 * The backend for this process: by `kind`, else by `LLADA_BACKEND`, else `auto`. Created on the first call for
 * each kind and cached. `webgpu` throws (saying why) when there is no adapter; `auto` then falls back to the CPU.
 */
export function getBackend(kind?: BackendKind | string): Promise<Backend> {
  return chooseCached(resolveKind(kind)).then((c) => c.backend);
}

function chooseCached(kind: BackendKind): Promise<Choice> {
  let choice = choices.get(kind);
  if (!choice) {
    choice = choose(kind);
    choices.set(kind, choice);
    // A failed attempt (e.g. no adapter for "webgpu") is not cached, so a later call can try again.
    choice.catch(() => choices.delete(kind));
  }
  return choice;
}

/**
 * One line saying which backend {@link getBackend} chose and why, e.g.
 * `backend: webgpu — llvmpipe (LLVM 15.0.6, 256 bits) (fallback adapter) [auto: WebGPU adapter found]`.
 */
export async function describeBackend(kind?: BackendKind | string): Promise<string> {
  const { backend, why } = await chooseCached(resolveKind(kind));
  return `backend: ${backend.name} — ${backend.description} [${why}]`;
}
