/**
 * Reading safetensors files, and validating them: every malformed file is refused with a message that names the
 * file and the problem (the format itself is described in `safetensors_format.ts`).
 *
 * Everything wrong with a file is reported as a {@link SafetensorsError}. The parser is fuzzed
 * (tests/io_safetensors_fuzz.test.ts): any input either parses or throws a `SafetensorsError`, in time linear in
 * the file size. Sharded checkpoints (`model.safetensors.index.json`) are read and merged.
 *
 * @module
 */

import {
  type Dtype,
  ELEMENT_BYTES,
  float16Table,
  isDtype,
  isObject,
  LITTLE_ENDIAN_HOST,
  MAX_HEADER_BYTES,
  OTHER_SAFETENSORS_DTYPES,
  SafetensorsError,
  type SafetensorsFile,
  setOwn,
  show,
  type StoredTensor,
} from "./safetensors_format.ts";

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
  const fail: Fail = (problem) => {
    throw new SafetensorsError(source, problem);
  };
  const { headerLength, header, text } = readHeader(bytes, fail);
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    fail(
      duplicate.inside === null
        ? `tensor name "${duplicate.key}" appears more than once in the header; names must be unique`
        : `key "${duplicate.key}" appears more than once in the entry of "${duplicate.inside}"`,
    );
  }
  const bufferLength = bytes.length - 8 - headerLength;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") readMetadata(value, metadata, fail);
    else entries.push(readEntry(name, value, bufferLength, fail));
  }
  checkTiling(entries, bufferLength, fail);
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, StoredTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype, shape, data: decode(raw, dtype, name, fail) });
  }
  return { tensors, metadata };
}

/** Throws a {@link SafetensorsError} naming the file being read. */
type Fail = (problem: string) => never;

/**
 * The header length (8 bytes, little-endian u64, read as two u32 halves: no BigInt needed) and the header: a
 * UTF-8 JSON object padded with spaces.
 */
function readHeader(
  bytes: Uint8Array,
  fail: Fail,
): { headerLength: number; header: Record<string, unknown>; text: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
  return { headerLength, header, text };
}

/** Copies `__metadata__` (an object of strings) into `metadata`. */
function readMetadata(value: unknown, metadata: Record<string, string>, fail: Fail): void {
  if (!isObject(value)) fail(`"__metadata__" must be an object of strings, got ${show(value)}`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") fail(`"__metadata__" value of "${key}" must be a string, got ${show(v)}`);
    setOwn(metadata, key, v);
  }
}

/**
 * One tensor's header entry, checked: a supported dtype, a shape of non-negative integers, and data_offsets
 * inside the data buffer holding exactly shape × element size bytes.
 */
function readEntry(name: string, value: unknown, bufferLength: number, fail: Fail): Entry {
  if (!isObject(value)) {
    fail(`the entry of tensor "${name}" must be an object {dtype, shape, data_offsets}, got ${show(value)}`);
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
      `tensor "${name}": data_offsets must be [begin, end], two non-negative integers, got ${show(offsets)}`,
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
  return { name, dtype, shape, begin, end };
}

/**
 * The tensors must tile the data buffer: sorted by position (in place), each starts where the previous ended,
 * and the last ends at the end of the buffer.
 */
function checkTiling(entries: Entry[], bufferLength: number, fail: Fail): void {
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
}

/** Converts one tensor's little-endian bytes to a fresh 32-bit typed array. */
function decode(
  raw: Uint8Array,
  dtype: Dtype,
  name: string,
  fail: Fail,
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
