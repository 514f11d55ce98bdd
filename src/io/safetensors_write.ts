/**
 * Writing safetensors files (the format is described in `safetensors_format.ts`).
 *
 * {@link serializeSafetensors} is deterministic: tensors are laid out by element size (largest first, so every
 * tensor starts at a multiple of its element size) then by name; header keys are in a fixed order; the header
 * is padded to a multiple of 8 bytes so the data buffer is 8-byte aligned. The same input always gives the
 * same bytes, and writing F32 then reading gives back the identical bits (NaN payloads included).
 * `__metadata__` always carries `"format": "pt"`: Hugging Face `transformers` refuses to load a safetensors
 * file whose metadata lacks a `format` of "pt", "tf", "flax" or "mlx" (its `load_state_dict`), so without it
 * the official LLaDA code could not open our checkpoints.
 *
 * @module
 */

import { writeFileAtomic } from "./atomic.ts";
import {
  type Dtype,
  ELEMENT_BYTES,
  float32BitsToBfloat16Bits,
  float32BitsToFloat16Bits,
  isDtype,
  LITTLE_ENDIAN_HOST,
  SafetensorsError,
  show,
  type TensorToWrite,
  type WriteOptions,
} from "./safetensors_format.ts";

/**
 * Encodes tensors as a safetensors file, deterministically (see the module documentation for the layout).
 *
 * @param tensors name → tensor; a Map or a plain object.
 * @param options storage dtype for float tensors and extra metadata.
 * @returns the complete file.
 * @throws SafetensorsError ("<write>") if a name is "__metadata__", a shape does not match its data, or a dtype
 *   does not fit the data's type.
 */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  options: WriteOptions = {},
): Uint8Array {
  const floatDtype = options.dtype ?? "F32";
  if (!["F32", "F16", "BF16"].includes(floatDtype)) {
    fail(`options.dtype must be F32, F16 or BF16, got ${floatDtype}`);
  }
  const items = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).map(
    ([name, t]) => planTensor(name, t, floatDtype),
  );
  // Largest elements first (so each tensor starts at a multiple of its element size), then by name.
  items.sort((a, b) =>
    ELEMENT_BYTES[b.dtype] - ELEMENT_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
  const json = new TextEncoder().encode(headerJSON(items, { format: "pt", ...options.metadata }));
  const headerLength = Math.ceil(json.length / 8) * 8; // pad so the data buffer starts 8-byte aligned
  const dataLength = items.reduce((n, item) => n + item.bytes, 0);

  const out = new Uint8Array(8 + headerLength + dataLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { tensor, dtype, bytes } of items) {
    encode(tensor.data, dtype, out.subarray(at, at + bytes));
    at += bytes;
  }
  return out;
}

/** A request to write that cannot be met. */
function fail(problem: string): never {
  throw new SafetensorsError("<write>", problem);
}

/** One tensor to write, with its storage dtype resolved and its size in bytes. */
interface PlannedTensor {
  name: string;
  tensor: TensorToWrite;
  dtype: Dtype;
  bytes: number;
}

/** Resolves a tensor's dtype (its own, else the writer's float dtype or I32) and checks its shape against its data. */
function planTensor(name: string, t: TensorToWrite, floatDtype: Dtype): PlannedTensor {
  if (name === "__metadata__") fail(`"__metadata__" is reserved and cannot name a tensor`);
  const isFloat = t.data instanceof Float32Array;
  if (!isFloat && !(t.data instanceof Int32Array)) {
    fail(`tensor "${name}": data must be a Float32Array or Int32Array`);
  }
  const dtype: Dtype = t.dtype ?? (isFloat ? floatDtype : "I32");
  const floatDtypes: readonly Dtype[] = ["F32", "F16", "BF16"];
  if (!isDtype(dtype) || floatDtypes.includes(dtype) !== isFloat) {
    fail(
      `tensor "${name}": cannot store ${isFloat ? "Float32Array" : "Int32Array"} data as ${dtype}; ` +
        `use ${isFloat ? "F32, F16 or BF16" : "I32 or I64"}`,
    );
  }
  const dims: readonly number[] = t.shape;
  if (!Array.isArray(t.shape as unknown) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor "${name}": shape must be a list of non-negative integers, got ${show(t.shape)}`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) {
    fail(
      `tensor "${name}": shape [${t.shape.join(", ")}] has ${count} elements but data has ${t.data.length}`,
    );
  }
  return { name, tensor: t, dtype, bytes: count * ELEMENT_BYTES[dtype] };
}

/** The header's JSON text, built by hand so the key order is fixed: metadata (sorted), then tensors in order. */
function headerJSON(items: readonly PlannedTensor[], metadata: Record<string, string>): string {
  const metaKeys = Object.keys(metadata).sort();
  for (const key of metaKeys) {
    if (typeof metadata[key] !== "string") {
      fail(`metadata "${key}" must be a string, got ${show(metadata[key])}`);
    }
  }
  const parts = [
    `"__metadata__":{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`)}}`,
  ];
  let offset = 0;
  for (const { name, tensor, dtype, bytes } of items) {
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${tensor.shape.join(",")}],` +
        `"data_offsets":[${offset},${offset + bytes}]}`,
    );
    offset += bytes;
  }
  return `{${parts.join(",")}}`;
}

/** Writes one tensor's values into `dest` as little-endian `dtype`. */
function encode(data: Float32Array | Int32Array, dtype: Dtype, dest: Uint8Array): void {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length); // the raw 32-bit patterns
  const view = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
  const n = data.length;
  switch (dtype) {
    case "F32":
    case "I32":
      if (LITTLE_ENDIAN_HOST) dest.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else for (let i = 0; i < n; i++) view.setUint32(4 * i, bits[i], true);
      return;
    case "F16":
      for (let i = 0; i < n; i++) view.setUint16(2 * i, float32BitsToFloat16Bits(bits[i]), true);
      return;
    case "BF16":
      for (let i = 0; i < n; i++) view.setUint16(2 * i, float32BitsToBfloat16Bits(bits[i]), true);
      return;
    case "I64":
      for (let i = 0; i < n; i++) {
        view.setUint32(8 * i, bits[i], true);
        view.setInt32(8 * i + 4, data[i] < 0 ? -1 : 0, true); // sign extension
      }
      return;
  }
}

/**
 * Writes tensors to a safetensors file atomically (temporary file, fsync, rename; see atomic.ts).
 *
 * @param path the `.safetensors` file to create or replace.
 * @param tensors name → tensor.
 * @param options storage dtype for float tensors and extra metadata.
 */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  options: WriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, options));
}
