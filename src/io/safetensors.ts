/**
 * The safetensors file format: read and write named tensors, as Hugging Face checkpoints store them.
 *
 * ## Byte layout
 *
 * ```text
 * offset 0        8 bytes   N, the header length: an unsigned 64-bit integer, little-endian
 * offset 8        N bytes   the header: UTF-8 JSON, padded at the end with spaces (0x20)
 * offset 8 + N    …         the data buffer: every tensor's bytes, back to back, little-endian, row-major
 * ```
 *
 * The header is one JSON object:
 *
 * ```json
 * { "__metadata__": { "format": "pt" },
 *   "model.transformer.ln_f.weight": { "dtype": "F32", "shape": [128], "data_offsets": [0, 512] },
 *   ... }
 * ```
 *
 * `data_offsets` are `[begin, end)` byte positions *relative to the start of the data buffer* (so the first
 * tensor starts at 0, not at 8 + N). `end − begin` must equal the number of elements (the product of `shape`;
 * 1 for `[]`) times the element size. The tensors must cover the buffer exactly: no byte in two tensors (an
 * overlap), no byte in none (a hole). `__metadata__` is an optional string → string map.
 *
 * Element types read here: `F32`; `F16` (IEEE half: 1 sign, 5 exponent, 10 mantissa bits) and `BF16` (the top
 * 16 bits of an F32), both widened exactly to `Float32Array`; `I32`; and `I64`, narrowed to `Int32Array` when
 * every value fits. Other safetensors types (F64, U8, F8_E4M3, …) are refused with a message.
 *
 * ## Writing
 *
 * {@link serializeSafetensors} is deterministic: tensors are laid out by element size (largest first, so every
 * tensor starts at a multiple of its element size) then by name; header keys are in a fixed order; the header
 * is padded to a multiple of 8 bytes so the data buffer is 8-byte aligned. The same input always gives the
 * same bytes, and writing F32 then reading gives back the identical bits (NaN payloads included).
 * `__metadata__` always carries `"format": "pt"`: Hugging Face `transformers` refuses to load a safetensors
 * file whose metadata lacks a `format` of "pt", "tf", "flax" or "mlx" (its `load_state_dict`), so without it
 * the official LLaDA code could not open our checkpoints.
 *
 * ## Errors
 *
 * Everything wrong with a file is reported as a {@link SafetensorsError} that names the file and the problem.
 * The parser is fuzzed (tests/io_safetensors_fuzz.test.ts): any input either parses or throws a
 * `SafetensorsError`, in time linear in the file size.
 *
 * Left out on purpose: memory-mapped or lazy loading (a file is read whole; fine for the models trained here,
 * not for 8B-parameter checkpoints), and writing sharded checkpoints (reading them is supported).
 *
 * @module
 */

import { writeFileAtomic } from "./atomic.ts";

/** Element types this module reads and writes. */
export type Dtype = "F32" | "F16" | "BF16" | "I32" | "I64";

/** Bytes per element of each supported dtype. */
const ELEMENT_BYTES: Readonly<Record<Dtype, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

/** Types the safetensors format defines that this module does not convert (so the message can say so). */
const OTHER_SAFETENSORS_DTYPES = new Set([
  "BOOL",
  "U8",
  "I8",
  "U16",
  "I16",
  "U32",
  "U64",
  "F64",
  "C64",
  "F8_E4M3",
  "F8_E5M2",
  "F8_E8M0",
  "F6_E2M3",
  "F6_E3M2",
  "F4",
]);

/** The largest header accepted (the reference Rust implementation's limit), so a bad length cannot exhaust memory. */
const MAX_HEADER_BYTES = 100_000_000;

/** Whether this machine stores numbers little-endian (then typed-array views match the file's byte order). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A tensor read from a file: its stored dtype, its shape, and its values widened to 32 bits. */
export interface StoredTensor {
  /** The dtype in the file (F16/BF16 data has been widened to Float32Array, I64 narrowed to Int32Array). */
  readonly dtype: Dtype;
  /** Dimensions, outermost first; `[]` is a scalar. */
  readonly shape: readonly number[];
  /** Row-major values: Float32Array for F32/F16/BF16, Int32Array for I32/I64. */
  readonly data: Float32Array | Int32Array;
}

/** The content of one safetensors file (or of all shards of a sharded checkpoint). */
export interface SafetensorsFile {
  /** Tensors by name, in the order of their position in the file. */
  readonly tensors: Map<string, StoredTensor>;
  /** The `__metadata__` map (empty if the file has none). */
  readonly metadata: Record<string, string>;
}

/** A tensor to write. `dtype` defaults to the writer's float dtype for Float32Array data and to I32 for Int32Array. */
export interface TensorToWrite {
  /** Dimensions, outermost first; their product must equal `data.length`. */
  readonly shape: readonly number[];
  /** Row-major values. */
  readonly data: Float32Array | Int32Array;
  /** How to store it: F32/F16/BF16 for Float32Array data, I32/I64 for Int32Array data. */
  readonly dtype?: Dtype;
}

/** Options of {@link serializeSafetensors} and {@link writeSafetensors}. */
export interface WriteOptions {
  /**
   * Storage type for Float32Array tensors that do not name their own `dtype`: "F32" (default, exact), or
   * "F16"/"BF16" (half the size; values rounded to nearest, ties to even).
   */
  readonly dtype?: "F32" | "F16" | "BF16";
  /** Extra `__metadata__` entries (strings only). `format` defaults to "pt" (see the module documentation). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A malformed or mismatched safetensors file (or an invalid write request). The message names the file. */
export class SafetensorsError extends Error {
  /** The file (or "<bytes>") the problem is in. */
  readonly file: string;

  /**
   * @param file the path, or a label for in-memory bytes.
   * @param problem what is wrong and, where possible, what to do.
   */
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "SafetensorsError";
    this.file = file;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Half-precision conversions, on bit patterns so that every value (±0, subnormals, ±∞, NaN) is exact.
// ---------------------------------------------------------------------------------------------------------

/**
 * Widens an IEEE half-precision bit pattern to the bits of the equal float32 (exact: every half is a float).
 *
 * ```text
 * half:   s eeeee mmmmmmmmmm                  value = (−1)^s · 2^(e−15) · 1.m   (e = 0: 2^−14 · 0.m)
 * float:  s eeeeeeee mmmmmmmmmmmmmmmmmmmmmmm  exponent bias 127 instead of 15, 13 more mantissa bits
 * ```
 */
function float16BitsToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // ±∞, or NaN keeping its payload
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // normal: rebias 15 → 127
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal half, mant · 2^−24: shift the mantissa up until its leading 1 reaches the implicit-bit position.
  let m = mant;
  let shifts = 0;
  while ((m & 0x400) === 0) {
    m <<= 1;
    shifts++;
  }
  return (sign | ((113 - shifts) << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/**
 * Narrows float32 bits to half-precision bits, rounding to nearest with ties to even; too-large values become
 * ±∞, too-small ones ±0 or a subnormal, NaN stays NaN (quiet, with the top of its payload).
 */
function float32BitsToFloat16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // the exponent rebiased for half precision
  if (e >= 0x1f) return sign | 0x7c00; // overflow → ±∞
  if (e <= 0) {
    // Result is subnormal (or zero): value / 2^−24 = (1.mant) · 2^(e−14+10) → shift the 24-bit significand.
    if (e < -10) return sign; // below half the smallest subnormal: rounds to ±0
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  // Normal: keep the top 10 mantissa bits, round on the 13 dropped ones. A carry out of the mantissa
  // correctly bumps the exponent (and 65520 and up become ∞).
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** Narrows float32 bits to bfloat16 bits (the top 16), rounding to nearest with ties to even; NaN stays NaN. */
function float32BitsToBfloat16Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return ((f >>> 16) | 0x40) & 0xffff;
  // Adding 0x7fff (+1 if the kept part is odd) carries into bit 16 exactly when the dropped half is past the tie.
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The float value of IEEE half-precision bits (0…0xffff). */
export function float16BitsToFloat32(bits: number): number {
  u32Scratch[0] = float16BitsToFloat32Bits(bits & 0xffff);
  return f32Scratch[0];
}

/** The IEEE half-precision bits of a number, rounded (once, from its float32 value) to nearest, ties to even. */
export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  return float32BitsToFloat16Bits(u32Scratch[0]);
}

/** The float value of bfloat16 bits (0…0xffff). */
export function bfloat16BitsToFloat32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0];
}

/** The bfloat16 bits of a number, rounded (from its float32 value) to nearest, ties to even. */
export function float32ToBfloat16Bits(value: number): number {
  f32Scratch[0] = value;
  return float32BitsToBfloat16Bits(u32Scratch[0]);
}

/** float32 bits of every half value, built on first use (256 KiB) to widen F16 tensors with one lookup each. */
let halfTable: Uint32Array | undefined;
function float16Table(): Uint32Array {
  if (!halfTable) {
    halfTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = float16BitsToFloat32Bits(h);
  }
  return halfTable;
}

// ---------------------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------------------

/** A short rendering of a JSON value for messages. */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Whether a string names a supported dtype (own keys only: "toString" is not a dtype). */
function isDtype(name: string): name is Dtype {
  return Object.hasOwn(ELEMENT_BYTES, name);
}

/** Sets an own property, even for the key "__proto__" (plain assignment would change the prototype instead). */
function setOwn(target: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Whether a parsed JSON value is an object (not an array, not null). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Finds a key that appears twice in one object of a JSON text that is already known to be valid.
 * `JSON.parse` silently keeps the last of duplicate keys, which would hide a duplicated tensor name.
 * Walks the text once, keeping for each open object the set of keys seen so far.
 *
 * @returns the duplicate key and the tensor entry it is in (null at the top level), or null if none.
 */
function findDuplicateKey(json: string): { key: string; inside: string | null } | null {
  const open: (Set<string> | null)[] = []; // one per open container: the object's keys, or null for an array
  let expectKey = false;
  let tensor: string | null = null; // the top-level key whose value is being read
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (json.charCodeAt(j) !== 0x22) j += json.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (keys.has(key)) return { key, inside: open.length === 1 ? null : tensor };
        keys.add(key);
        if (open.length === 1) tensor = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = open[open.length - 1] != null;
    }
  }
  return null;
}

/** One validated header entry. */
interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses a safetensors file held in memory.
 *
 * Checks, in order, and throws a {@link SafetensorsError} naming `source` for the first failure: the file has
 * the 8-byte length prefix; the header length fits in the file; the header is UTF-8 JSON and an object; no
 * key appears twice; `__metadata__` maps strings to strings; every tensor has a supported `dtype`, a `shape`
 * of non-negative integers and `data_offsets` `[begin, end]` inside the data buffer whose length matches
 * shape × element size; and the tensors tile the data buffer exactly (no overlap, no hole).
 *
 * @param bytes the whole file.
 * @param source the file name to use in messages.
 * @returns the tensors (copied out of `bytes`, which may be reused) and the metadata.
 */
export function parseSafetensors(bytes: Uint8Array, source = "<bytes>"): SafetensorsFile {
  const fail: (problem: string) => never = (problem) => {
    throw new SafetensorsError(source, problem);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  // 1. The header length: 8 bytes, little-endian u64, read as two u32 halves (no BigInt needed).
  if (bytes.length < 8) {
    fail(
      `file is ${bytes.length} bytes long, shorter than the 8-byte header length that starts every ` +
        `safetensors file; it is empty, truncated or not a safetensors file`,
    );
  }
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > bytes.length - 8) {
    fail(
      `header length ${headerLength} (the first 8 bytes, little-endian) runs past the end of the file, ` +
        `which has only ${
          bytes.length - 8
        } bytes after them; the file is truncated or not a safetensors file`,
    );
  }
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit for safetensors headers`);
  }

  // 2. The header: UTF-8 JSON object, padded with spaces.
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    );
  } catch {
    fail(`the ${headerLength}-byte header is not valid UTF-8; the file is corrupt or not a safetensors file`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(
      `the header is not valid JSON (${(e as Error).message}); the file is corrupt or not a safetensors file`,
    );
  }
  if (!isObject(header)) {
    fail(`the header must be a JSON object {name: {dtype, shape, data_offsets}}, got ${show(header)}`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    fail(
      duplicate.inside === null
        ? `tensor name "${duplicate.key}" appears more than once in the header; names must be unique`
        : `key "${duplicate.key}" appears more than once in the entry of "${duplicate.inside}"`,
    );
  }

  // 3. Each entry.
  const bufferLength = bytes.length - 8 - headerLength;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isObject(value)) fail(`"__metadata__" must be an object of strings, got ${show(value)}`);
      for (const [key, v] of Object.entries(value)) {
        if (typeof v !== "string") fail(`"__metadata__" value of "${key}" must be a string, got ${show(v)}`);
        setOwn(metadata, key, v);
      }
      continue;
    }
    if (!isObject(value)) {
      fail(
        `the entry of tensor "${name}" must be an object {dtype, shape, data_offsets}, got ${show(value)}`,
      );
    }
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== "string") {
      fail(`tensor "${name}": dtype must be a string like "F32", got ${show(dtype)}`);
    }
    if (!isDtype(dtype)) {
      fail(
        OTHER_SAFETENSORS_DTYPES.has(dtype)
          ? `tensor "${name}": dtype ${dtype} is not supported here (only F32, F16, BF16, I32, I64); ` +
            `convert the tensor before saving`
          : `tensor "${name}": unknown dtype ${show(dtype)}; expected one of F32, F16, BF16, I32, I64`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor "${name}": shape must be a list of non-negative integers, got ${show(shape)}`);
    }
    const offsetsOk = Array.isArray(offsets) && offsets.length === 2 &&
      offsets.every((o) => Number.isSafeInteger(o) && o >= 0);
    if (!offsetsOk) {
      fail(
        `tensor "${name}": data_offsets must be [begin, end], two non-negative integers, got ${
          show(offsets)
        }`,
      );
    }
    const [begin, end] = offsets as number[];
    if (begin > end) fail(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
    if (end > bufferLength) {
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] are out of range: the data buffer after the ` +
          `header has only ${bufferLength} bytes; the file is truncated or its header is wrong`,
      );
    }
    // Element count, stopping early once it cannot match (so a shape like [1e15, 1e15] is harmless).
    const size = ELEMENT_BYTES[dtype];
    let count = 1;
    for (const d of shape) count = Math.min(count * d, Number.MAX_SAFE_INTEGER);
    if (count * size !== end - begin) {
      const needed = count >= Number.MAX_SAFE_INTEGER
        ? "more than 2^53"
        : `${count} × ${size} = ${count * size}`;
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape ` +
          `${show(shape)} of ${dtype} needs ${needed} bytes`,
      );
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  // 4. The tensors must tile the data buffer: sorted by position, each starts where the previous ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: Entry | undefined;
  for (const entry of entries) {
    if (entry.begin < position) {
      fail(
        `tensors "${previous!.name}" [${previous!.begin}, ${previous!.end}] and "${entry.name}" ` +
          `[${entry.begin}, ${entry.end}] overlap in the data buffer`,
      );
    }
    if (entry.begin > position) {
      fail(
        `bytes [${position}, ${entry.begin}) of the data buffer belong to no tensor (a hole before ` +
          `"${entry.name}"); data_offsets must cover the buffer exactly`,
      );
    }
    position = entry.end;
    previous = entry;
  }
  if (position !== bufferLength) {
    fail(
      `bytes [${position}, ${bufferLength}) at the end of the data buffer belong to no tensor; ` +
        `data_offsets must cover the buffer exactly`,
    );
  }

  // 5. Decode.
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, StoredTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype, shape, data: decode(raw, dtype, name, fail) });
  }
  return { tensors, metadata };
}

/** Converts one tensor's little-endian bytes to a fresh 32-bit typed array. */
function decode(
  raw: Uint8Array,
  dtype: Dtype,
  name: string,
  fail: (p: string) => never,
): Float32Array | Int32Array {
  const n = raw.length / ELEMENT_BYTES[dtype];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case "F32":
    case "I32": {
      const out = dtype === "F32" ? new Float32Array(n) : new Int32Array(n);
      if (LITTLE_ENDIAN_HOST) {
        new Uint8Array(out.buffer).set(raw); // copy the bytes as they are: bit-exact, NaN payloads included
      } else {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = view.getUint32(4 * i, true);
      }
      return out;
    }
    case "F16":
    case "BF16": {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer); // written as bits, so NaN payloads survive
      if (dtype === "F16") {
        const table = float16Table();
        for (let i = 0; i < n; i++) bits[i] = table[view.getUint16(2 * i, true)];
      } else {
        for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      }
      return out;
    }
    case "I64": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = view.getUint32(8 * i, true);
        const hi = view.getInt32(8 * i + 4, true);
        // Fits in 32 bits iff the high word is the sign extension of the low word's top bit.
        if (hi !== (lo >= 0x80000000 ? -1 : 0)) {
          const value = (BigInt(hi) << 32n) + BigInt(lo);
          fail(
            `tensor "${name}": I64 element ${i} is ${value}, outside the 32-bit range this reader ` +
              `narrows I64 to; store it as F32 instead`,
          );
        }
        out[i] = lo | 0;
      }
      return out;
    }
  }
}

/**
 * Reads a safetensors file from disk. See {@link parseSafetensors} for the checks.
 *
 * @param path the `.safetensors` file.
 * @throws SafetensorsError if the file cannot be read or is malformed.
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "file not found"
      : `cannot read the file (${(e as Error).message})`;
    throw new SafetensorsError(path, why);
  }
  return parseSafetensors(bytes, path);
}

/** Joins a directory and a file name. */
function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/**
 * Reads a sharded checkpoint from its `model.safetensors.index.json`:
 *
 * ```json
 * { "metadata": { "total_size": 16031162368 },
 *   "weight_map": { "model.transformer.wte.weight": "model-00001-of-00006.safetensors", ... } }
 * ```
 *
 * Every shard named in `weight_map` is read once (shards live next to the index) and their tensors are merged.
 * Each shard must hold exactly the tensors the map assigns to it. The shards' `__metadata__` maps are merged,
 * earlier shard names (in sorted order) winning.
 *
 * @param indexPath the path of `model.safetensors.index.json`.
 * @throws SafetensorsError naming the index or the shard that is wrong.
 */
export async function readShardedSafetensors(indexPath: string): Promise<SafetensorsFile> {
  let index: unknown;
  try {
    index = JSON.parse(await Deno.readTextFile(indexPath));
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "file not found"
      : e instanceof SyntaxError
      ? `not valid JSON (${e.message})`
      : `cannot read the file (${(e as Error).message})`;
    throw new SafetensorsError(indexPath, why);
  }
  const fail: (problem: string) => never = (problem) => {
    throw new SafetensorsError(indexPath, problem);
  };
  const weightMap = isObject(index) ? index.weight_map : undefined;
  if (!isObject(weightMap)) fail(`expected {"weight_map": {tensor name: shard file}}, got ${show(index)}`);
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(weightMap)) {
    const plainName = typeof shard === "string" && !/[/\\]/.test(shard) && ![".", "..", ""].includes(shard);
    if (!plainName) {
      fail(`weight_map["${name}"] must be a file name in the same directory, got ${show(shard)}`);
    }
    const names = byShard.get(shard) ?? new Set<string>();
    byShard.set(shard, names.add(name));
  }

  const slash = indexPath.lastIndexOf("/");
  const dir = slash < 0 ? "." : indexPath.slice(0, slash) || "/";
  const tensors = new Map<string, StoredTensor>();
  const metadata: Record<string, string> = {};
  for (const shard of [...byShard.keys()].sort()) {
    const path = joinPath(dir, shard);
    const file = await readSafetensors(path);
    const listed = byShard.get(shard)!;
    const missing = [...listed].filter((name) => !file.tensors.has(name));
    const extra = [...file.tensors.keys()].filter((name) => !listed.has(name));
    if (missing.length > 0 || extra.length > 0) {
      const parts = [];
      if (missing.length > 0) parts.push(`missing ${missing.map((n) => `"${n}"`).join(", ")}`);
      if (extra.length > 0) parts.push(`holds ${extra.map((n) => `"${n}"`).join(", ")} not assigned to it`);
      throw new SafetensorsError(
        path,
        `does not match ${indexPath}: ${
          parts.join("; ")
        }; the index and the shards come from different saves`,
      );
    }
    for (const [name, tensor] of file.tensors) tensors.set(name, tensor);
    for (const [key, value] of Object.entries(file.metadata)) {
      if (!Object.hasOwn(metadata, key)) setOwn(metadata, key, value);
    }
  }
  return { tensors, metadata };
}

/**
 * Reads the weights of a checkpoint directory: `model.safetensors` if present (as Hugging Face prefers it),
 * otherwise the shards listed in `model.safetensors.index.json`.
 *
 * @param dir the checkpoint directory.
 * @throws SafetensorsError if neither file exists or a file is malformed.
 */
export async function readModelTensors(dir: string): Promise<SafetensorsFile> {
  const single = joinPath(dir, "model.safetensors");
  const index = joinPath(dir, "model.safetensors.index.json");
  const exists = (path: string) => Deno.stat(path).then((s) => s.isFile, () => false);
  if (await exists(single)) return await readSafetensors(single);
  if (await exists(index)) return await readShardedSafetensors(index);
  throw new SafetensorsError(
    dir,
    "no model.safetensors or model.safetensors.index.json in this directory; is it a checkpoint directory?",
  );
}

/**
 * Checks that a set of tensors is exactly the expected one, and reports every difference in one error:
 * missing names, unexpected names, and names whose shape differs.
 *
 * Typical use: `checkTensorSet(lladaTensorShapes(config), file.tensors, path)` before building a model, so a
 * `config.json` that does not belong to the weights is caught with a readable list instead of a crash later.
 *
 * @param expected name → shape the model needs.
 * @param actual name → tensor (anything with a `shape`) that the file holds.
 * @param source the file or directory to name in the message.
 * @throws SafetensorsError listing all differences, sorted by name.
 */
export function checkTensorSet(
  expected: ReadonlyMap<string, readonly number[]>,
  actual: ReadonlyMap<string, { readonly shape: readonly number[] }>,
  source = "<tensors>",
): void {
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const [name, shape] of expected) {
    const tensor = actual.get(name);
    if (!tensor) missing.push(name);
    else if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      mismatched.push(`${name} is [${tensor.shape.join(", ")}], expected [${shape.join(", ")}]`);
    }
  }
  const unexpected = [...actual.keys()].filter((name) => !expected.has(name));
  if (missing.length + unexpected.length + mismatched.length === 0) return;
  const lines: string[] = [];
  const section = (title: string, items: string[]) => {
    if (items.length > 0) {
      lines.push(
        `${title} (${items.length}):`,
        ...items.sort().map((item) => `  ${item}`),
      );
    }
  };
  section("missing tensors", missing);
  section("unexpected tensors", unexpected);
  section("wrong shapes", mismatched);
  throw new SafetensorsError(
    source,
    `the tensors do not match the model the config describes; check that config.json belongs to these ` +
      `weights.\n${lines.join("\n")}`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------

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
  const fail: (problem: string) => never = (problem) => {
    throw new SafetensorsError("<write>", problem);
  };
  const floatDtype = options.dtype ?? "F32";
  if (!["F32", "F16", "BF16"].includes(floatDtype)) {
    fail(`options.dtype must be F32, F16 or BF16, got ${floatDtype}`);
  }

  // Resolve each tensor's dtype and check its shape against its data.
  const items = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).map(
    ([name, t]) => {
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
          `tensor "${name}": shape [${
            t.shape.join(", ")
          }] has ${count} elements but data has ${t.data.length}`,
        );
      }
      return { name, tensor: t, dtype, bytes: count * ELEMENT_BYTES[dtype] };
    },
  );
  // Largest elements first (so each tensor starts at a multiple of its element size), then by name.
  items.sort((a, b) =>
    ELEMENT_BYTES[b.dtype] - ELEMENT_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );

  // The header, built by hand so the key order is fixed.
  const metadata: Record<string, string> = { format: "pt", ...options.metadata };
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
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8; // pad so the data buffer starts 8-byte aligned

  const out = new Uint8Array(8 + headerLength + offset);
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
