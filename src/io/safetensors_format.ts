/**
 * The safetensors format, shared by its reader and writer: the byte layout, the element types, the conversions
 * between half precision and float32, and the error type.
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
 * The reader and validator are in `safetensors_read.ts`, the writer in `safetensors_write.ts`. Left out on
 * purpose: memory-mapped or lazy loading (a file is read whole; fine for the models trained here, not for
 * 8B-parameter checkpoints), and writing sharded checkpoints (reading them is supported).
 *
 * @module
 */

/** Element types this module reads and writes. */
export type Dtype = "F32" | "F16" | "BF16" | "I32" | "I64";

/** Bytes per element of each supported dtype. */
export const ELEMENT_BYTES: Readonly<Record<Dtype, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

/** Types the safetensors format defines that this module does not convert (so the message can say so). */
export const OTHER_SAFETENSORS_DTYPES = new Set([
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
export const MAX_HEADER_BYTES = 100_000_000;

/** Whether this machine stores numbers little-endian (then typed-array views match the file's byte order). */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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
export function float32BitsToFloat16Bits(f: number): number {
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
export function float32BitsToBfloat16Bits(f: number): number {
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
export function float16Table(): Uint32Array {
  if (!halfTable) {
    halfTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = float16BitsToFloat32Bits(h);
  }
  return halfTable;
}

/** A short rendering of a JSON value for messages. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Whether a string names a supported dtype (own keys only: "toString" is not a dtype). */
export function isDtype(name: string): name is Dtype {
  return Object.hasOwn(ELEMENT_BYTES, name);
}

/** Sets an own property, even for the key "__proto__" (plain assignment would change the prototype instead). */
export function setOwn(target: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Whether a parsed JSON value is an object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
