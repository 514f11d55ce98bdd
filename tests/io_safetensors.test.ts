/**
 * safetensors: byte layout, bit-exact round trips, half-precision conversions, every malformed-file message,
 * sharded loading and the tensor-set check.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  bfloat16BitsToFloat32,
  checkTensorSet,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  parseSafetensors,
  readModelTensors,
  readSafetensors,
  SafetensorsError,
  serializeSafetensors,
  type StoredTensor,
  writeSafetensors,
} from "../src/io/mod.ts";
import { testSeed } from "./test_seed.ts";

// Every property below draws from this seed, so a failure reproduces; fast-check names the seed (and the
// path to the counterexample) in its failure message. Another seed: LLADA_TEST_SEED=n (tests/test_seed.ts).
fc.configureGlobal({ seed: testSeed(103) });

/** float32 bit pattern → value and back. */
const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
const bitsOf = (data: Float32Array) => [...new Uint32Array(data.buffer, data.byteOffset, data.length)];

/** A file from a header (object or raw text) and a data buffer of `bufferBytes` zero bytes (or given bytes). */
function fileWith(header: unknown, buffer: number | Uint8Array = 0): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const data = typeof buffer === "number" ? new Uint8Array(buffer) : buffer;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Asserts that parsing throws a SafetensorsError naming the source and matching `pattern`. */
function assertRejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => parseSafetensors(bytes, "bad.safetensors"), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
    assert.ok(e.message.startsWith("bad.safetensors: "), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("serialize: exact byte layout of a one-tensor file", () => {
  const bytes = serializeSafetensors({ a: { shape: [2], data: new Float32Array([1, -2]) } });
  const header = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const padded = Math.ceil(header.length / 8) * 8; // 88 → 88; the data buffer starts 8-byte aligned
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint32(0, true), padded);
  assert.equal(view.getUint32(4, true), 0);
  assert.equal(new TextDecoder().decode(bytes.subarray(8, 8 + padded)).trimEnd(), header);
  assert.equal(bytes.length, 8 + padded + 8);
  assert.equal(view.getFloat32(8 + padded, true), 1);
  assert.equal(view.getFloat32(8 + padded + 4, true), -2);
});

Deno.test("serialize: header padded with spaces to a multiple of 8, same bytes whatever the insertion order", () => {
  const a = { shape: [3], data: new Float32Array([1, 2, 3]) };
  const b = { shape: [1, 2], data: new Int32Array([7, -8]), dtype: "I64" as const };
  const c = { shape: [], data: new Float32Array([0.5]) };
  const first = serializeSafetensors(new Map(Object.entries({ a, b, c })), { metadata: { step: "3" } });
  const second = serializeSafetensors(new Map(Object.entries({ c, a, b })), { metadata: { step: "3" } });
  assert.deepEqual(first, second);
  const n = new DataView(first.buffer).getUint32(0, true);
  assert.equal(n % 8, 0);
  const text = new TextDecoder().decode(first.subarray(8, 8 + n));
  assert.match(text, /} *$/);
  assert.equal(text.length - text.trimEnd().length < 8, true);
  // I64 (8-byte elements) is laid out first, then F32 by name, so every tensor starts on its own alignment.
  const parsed = JSON.parse(text);
  assert.deepEqual(parsed.b.data_offsets, [0, 16]);
  assert.deepEqual(parsed.a.data_offsets, [16, 28]);
  assert.deepEqual(parsed.c.data_offsets, [28, 32]);
  assert.deepEqual(parsed.__metadata__, { format: "pt", step: "3" });
});

Deno.test("F32 round trip is bit-exact, including -0, subnormals, infinities and NaN payloads", () => {
  const special = [0x00000000, 0x80000000, 0x00000001, 0x007fffff, 0x7f7fffff, 0x7f800000, 0xff800000];
  const nans = [0x7fc00000, 0x7fc00001, 0x7f800001, 0xffffffff];
  const data = new Float32Array(new Uint32Array([...special, ...nans, 0x3f800000]).buffer);
  const file = parseSafetensors(serializeSafetensors({ w: { shape: [3, 4], data } }));
  const w = file.tensors.get("w")!;
  assert.equal(w.dtype, "F32");
  assert.deepEqual(w.shape, [3, 4]);
  assert.deepEqual(bitsOf(w.data as Float32Array), bitsOf(data));
  assert.deepEqual(file.metadata, { format: "pt" });
});

Deno.test("F32 round trip property: random tensors come back bit for bit, and re-serialize identically", () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== "__metadata__"),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 }),
        { maxKeys: 5 },
      ),
      (spec) => {
        const tensors = new Map(
          Object.entries(spec).map(([name, bits]) => [
            name,
            { shape: [bits.length], data: new Float32Array(new Uint32Array(bits).buffer) },
          ]),
        );
        const bytes = serializeSafetensors(tensors);
        const back = parseSafetensors(bytes);
        assert.equal(back.tensors.size, tensors.size);
        for (const [name, t] of tensors) {
          assert.deepEqual(bitsOf(back.tensors.get(name)!.data as Float32Array), bitsOf(t.data));
        }
        assert.deepEqual(serializeSafetensors(back.tensors), bytes);
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("F16: known bit patterns widen to the right values", () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0001, 2 ** -24], // smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0400, 2 ** -14], // smallest normal
    [0x8001, -(2 ** -24)],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) {
    assert.equal(float16BitsToFloat32(bits), value, `0x${bits.toString(16)}`);
  }
  assert.ok(Object.is(float16BitsToFloat32(0x8000), -0));
  assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
  assert.ok(Number.isNaN(float16BitsToFloat32(0xfc01)));
});

Deno.test("F16: float32 → half rounds to nearest, ties to even, overflow to ∞, underflow through subnormals", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [65504, 0x7bff],
    [65519, 0x7bff], // just below the halfway point to 65536
    [65520, 0x7c00], // halfway: ties to even, the even neighbour is 2^16 = ∞
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01 → even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02 → even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just past the tie
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // half the smallest subnormal: tie → 0 (even)
    [1.5 * 2 ** -25, 0x0001],
    [1.5 * 2 ** -24, 0x0002], // tie between 1 and 2 units → 2
    [2.5 * 2 ** -24, 0x0002], // tie between 2 and 3 units → 2
    [1023.5 * 2 ** -24, 0x0400], // rounds up out of the subnormals into the smallest normal
    [-1e-10, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [value, bits] of cases) {
    assert.equal(
      float32ToFloat16Bits(value),
      bits,
      `${value} → 0x${float32ToFloat16Bits(value).toString(16)}`,
    );
  }
  assert.equal(float32ToFloat16Bits(-0), 0x8000);
  const nan = float32ToFloat16Bits(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0);
  assert.notEqual(float32ToFloat16Bits(f32(0x7f800001)) & 0x3ff, 0, "a signalling NaN must not become ∞");
});

Deno.test("F16: every half value survives half → float → half; random floats match Float16Array's rounding", () => {
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (!isNaN) assert.equal(float32ToFloat16Bits(float16BitsToFloat32(h)), h);
  }
  const oracle = new Float16Array(1);
  const oracleBits = new Uint16Array(oracle.buffer);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
      const x = f32(bits);
      oracle[0] = x;
      if (Number.isNaN(x)) assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(x))));
      else assert.equal(float32ToFloat16Bits(x), oracleBits[0], `bits 0x${bits.toString(16)}`);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("BF16: known values, round to nearest even, and every bfloat16 survives a round trip", () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-2, 0xc000],
    [3, 0x4040],
    [1 + 2 ** -8, 0x3f80], // tie → even
    [1 + 3 * 2 ** -8, 0x3f82], // tie → even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [f32(0x7f7fffff), 0x7f80], // the largest float rounds to ∞
    [Infinity, 0x7f80],
    [f32(0x00008000), 0x0000], // subnormal tie → even
    [f32(0x00018000), 0x0002],
  ];
  for (const [value, bits] of cases) assert.equal(float32ToBfloat16Bits(value), bits, `${value}`);
  assert.ok(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN))));
  assert.ok(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(f32(0x7f800001)))));
  assert.equal(bfloat16BitsToFloat32(0x0001), 2 ** -133);
  for (let b = 0; b < 65536; b++) {
    const isNaN = (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
    if (!isNaN) assert.equal(float32ToBfloat16Bits(bfloat16BitsToFloat32(b)), b);
  }
  // Past the largest bfloat16 (0x7f7f), halfway to 2^128 and beyond rounds to ∞, as IEEE 754 rounds an overflow.
  for (const sign of [0, 0x80000000]) {
    const s16 = sign >>> 16;
    assert.equal(float32ToBfloat16Bits(f32((sign | 0x7f7f7fff) >>> 0)), s16 | 0x7f7f);
    assert.equal(float32ToBfloat16Bits(f32((sign | 0x7f7f8000) >>> 0)), s16 | 0x7f80);
  }
  // Independent reference: pick the nearer of the two bfloat16 neighbours as doubles, ties to the even one. Above
  // the largest finite bfloat16 the upper neighbour is ±2^128 (the exponent range taken as unbounded, as IEEE 754
  // rounds), which the bits 0x7f80 / 0xff80 then encode as ∞. A third of the draws come from the top binade, so
  // every run exercises the overflow edge.
  const anyBits = fc.integer({ min: 0, max: 0xffffffff });
  const topBinade = fc.tuple(fc.boolean(), fc.integer({ min: 0x7f7f0000, max: 0x7f7fffff }))
    .map(([negative, bits]) => (negative ? bits | 0x80000000 : bits) >>> 0);
  fc.assert(
    fc.property(fc.oneof(anyBits, anyBits, topBinade), (bits) => {
      const x = f32(bits);
      fc.pre(Number.isFinite(x));
      const low = bits >>> 16;
      const a = bfloat16BitsToFloat32(low);
      const b = (low & 0x7fff) === 0x7f7f ? Math.sign(a) * 2 ** 128 : bfloat16BitsToFloat32(low + 1);
      const da = Math.abs(x - a), db = Math.abs(x - b);
      const expected = da < db ? low : db < da ? low + 1 : low % 2 === 0 ? low : low + 1;
      assert.equal(float32ToBfloat16Bits(x), expected & 0xffff, `bits 0x${bits.toString(16)}`);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("F16/BF16 files: values come back rounded, the dtype is kept, and rewriting is byte-identical", () => {
  const data = new Float32Array([1, 1 + 2 ** -11, 65520, 2 ** -25 * 1.5, -0, Infinity, NaN, 0.1]);
  for (const dtype of ["F16", "BF16"] as const) {
    const bytes = serializeSafetensors({ x: { shape: [8], data } }, { dtype });
    assert.equal(bytes.length, 8 + new DataView(bytes.buffer).getUint32(0, true) + 16);
    const x = parseSafetensors(bytes).tensors.get("x")!;
    assert.equal(x.dtype, dtype);
    const toBits = dtype === "F16" ? float32ToFloat16Bits : float32ToBfloat16Bits;
    const fromBits = dtype === "F16" ? float16BitsToFloat32 : bfloat16BitsToFloat32;
    for (let i = 0; i < data.length; i++) {
      const expected = fromBits(toBits(data[i]));
      if (Number.isNaN(expected)) assert.ok(Number.isNaN(x.data[i]));
      else assert.ok(Object.is(x.data[i], expected), `${dtype} element ${i}: ${x.data[i]} vs ${expected}`);
    }
    assert.deepEqual(serializeSafetensors(parseSafetensors(bytes).tensors), bytes);
  }
  assert.equal(float16BitsToFloat32(float32ToFloat16Bits(0.1)), 0.0999755859375);
});

Deno.test("I32 and I64 tensors round trip as Int32Array; I64 outside 32 bits is an error", () => {
  const ids = new Int32Array([0, 1, -1, 2147483647, -2147483648, 126336]);
  for (const dtype of ["I32", "I64"] as const) {
    const t = parseSafetensors(serializeSafetensors({ ids: { shape: [2, 3], data: ids, dtype } })).tensors
      .get("ids")!;
    assert.equal(t.dtype, dtype);
    assert.ok(t.data instanceof Int32Array);
    assert.deepEqual([...t.data], [...ids]);
  }
  for (const [lo, hi, shown] of [[0x80000000, 0, "2147483648"], [0x7fffffff, -1, "-2147483649"]] as const) {
    const buffer = new Uint8Array(16);
    const view = new DataView(buffer.buffer);
    view.setUint32(8, lo, true);
    view.setInt32(12, hi, true);
    const bytes = fileWith({ big: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }, buffer);
    assertRejects(bytes, new RegExp(`"big": I64 element 1 is ${shown}, outside the 32-bit range`));
  }
});

Deno.test("an empty file (no tensors) and zero-sized tensors are valid", () => {
  assert.equal(parseSafetensors(fileWith({})).tensors.size, 0);
  const bytes = serializeSafetensors({
    e: { shape: [0, 5], data: new Float32Array(0) },
    s: { shape: [], data: new Float32Array([3]) },
  });
  const back = parseSafetensors(bytes);
  assert.deepEqual(back.tensors.get("e")!.shape, [0, 5]);
  assert.deepEqual([...back.tensors.get("s")!.data], [3]);
});

Deno.test("malformed files: each problem gets its own message naming the file", () => {
  const entry = (dtype: unknown, shape: unknown, offsets: unknown) => ({
    dtype,
    shape,
    data_offsets: offsets,
  });
  assertRejects(new Uint8Array(5), /5 bytes long, shorter than the 8-byte header length/);
  const truncated = new Uint8Array(20);
  new DataView(truncated.buffer).setUint32(0, 1000, true);
  assertRejects(truncated, /header length 1000 .* runs past the end of the file, which has only 12 bytes/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(4, 1, true); // 2^32
  assertRejects(huge, /header length 4294967296/);
  const badUtf8 = new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0xff, 0x7d]);
  assertRejects(badUtf8, /header is not valid UTF-8/);
  assertRejects(fileWith("{abc"), /header is not valid JSON/);
  assertRejects(
    fileWith("[1,2]"),
    /header must be a JSON object \{name: \{dtype, shape, data_offsets\}\}, got \[1,2\]/,
  );
  assertRejects(fileWith({ w: 5 }), /entry of tensor "w" must be an object/);
  assertRejects(
    fileWith({ w: entry("F33", [1], [0, 4]) }, 4),
    /tensor "w": unknown dtype "F33"; expected one of F32/,
  );
  assertRejects(fileWith({ w: entry("F64", [1], [0, 8]) }, 8), /dtype F64 is not supported here/);
  assertRejects(fileWith({ w: entry("toString", [1], [0, 4]) }, 4), /unknown dtype "toString"/);
  for (const shape of [[-1], [1.5], "3", [2, "a"], null]) {
    assertRejects(
      fileWith({ w: entry("F32", shape, [0, 4]) }, 4),
      /"w": shape must be a list of non-negative integers/,
    );
  }
  for (const offsets of [[0], [0, 4, 8], [-4, 0], ["0", "4"], null]) {
    assertRejects(fileWith({ w: entry("F32", [1], offsets) }, 4), /"w": data_offsets must be \[begin, end\]/);
  }
  assertRejects(fileWith({ w: entry("F32", [1], [8, 4]) }, 8), /data_offsets \[8, 4\] end before they begin/);
  assertRejects(
    fileWith({ w: entry("F32", [25], [0, 100]) }, 8),
    /\[0, 100\] are out of range: the data buffer .* only 8 bytes/,
  );
  assertRejects(
    fileWith({ w: entry("F32", [3], [0, 8]) }, 8),
    /"w": data_offsets \[0, 8\] hold 8 bytes, but shape \[3\] of F32 needs 3 × 4 = 12 bytes/,
  );
  assertRejects(fileWith({ w: entry("F32", [1e15, 1e15], [0, 8]) }, 8), /needs more than 2\^53 bytes/);
  assertRejects(
    fileWith({ a: entry("F32", [2], [0, 8]), b: entry("F32", [2], [4, 12]) }, 12),
    /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap/,
  );
  assertRejects(
    fileWith({ a: entry("F32", [1], [0, 4]), b: entry("F32", [1], [8, 12]) }, 12),
    /bytes \[4, 8\) of the data buffer belong to no tensor \(a hole before "b"\)/,
  );
  assertRejects(fileWith({ a: entry("F32", [1], [4, 8]) }, 8), /bytes \[0, 4\) .* hole before "a"/);
  assertRejects(
    fileWith({ a: entry("F32", [1], [0, 4]) }, 12),
    /bytes \[4, 12\) at the end of the data buffer belong to no tensor/,
  );
  assertRejects(
    fileWith(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      4,
    ),
    /tensor name "a" appears more than once/,
  );
  assertRejects(
    fileWith('{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}', 4),
    /key "dtype" appears more than once in the entry of "a"/,
  );
  assertRejects(fileWith({ __metadata__: { x: 1 } }), /"__metadata__" value of "x" must be a string, got 1/);
  assertRejects(fileWith({ __metadata__: [] }), /"__metadata__" must be an object of strings/);
});

Deno.test('metadata with unusual keys ("__proto__") is kept as data', () => {
  const back = parseSafetensors(fileWith('{"__metadata__":{"__proto__":"x","format":"pt"}}'));
  assert.deepEqual(Object.keys(back.metadata), ["__proto__", "format"]);
  assert.equal(Object.getPrototypeOf(back.metadata), Object.prototype);
});

Deno.test("writer refuses impossible requests with a clear message", () => {
  const w = (t: Record<string, unknown>) => () => serializeSafetensors(t as never);
  assert.throws(
    w({ x: { shape: [3], data: new Float32Array(2) } }),
    /"x": shape \[3\] has 3 elements but data has 2/,
  );
  assert.throws(
    w({ x: { shape: [2], data: new Int32Array(2), dtype: "F16" } }),
    /cannot store Int32Array data as F16/,
  );
  assert.throws(
    w({ x: { shape: [2], data: new Float32Array(2), dtype: "I64" } }),
    /cannot store Float32Array data as I64/,
  );
  assert.throws(w({ __metadata__: { shape: [0], data: new Float32Array(0) } }), /reserved/);
  assert.throws(
    w({ x: { shape: [-1], data: new Float32Array(0) } }),
    /shape must be a list of non-negative integers/,
  );
});

Deno.test("files on disk: write atomically, read back, and a missing file names its path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llada-io-" });
  try {
    const path = `${dir}/model.safetensors`;
    await writeSafetensors(path, { w: { shape: [2], data: new Float32Array([0.25, 4]) } }, { dtype: "BF16" });
    const back = await readSafetensors(path);
    assert.deepEqual([...back.tensors.get("w")!.data], [0.25, 4]);
    assert.equal(back.tensors.get("w")!.dtype, "BF16");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.safetensors"]);
    await assert.rejects(readSafetensors(`${dir}/nope.safetensors`), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError);
      assert.match(e.message, /nope\.safetensors: file not found/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sharded checkpoints: all shards load through the index; mismatches name the shard", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llada-io-" });
  try {
    const t = (v: number) => ({ shape: [2], data: new Float32Array([v, -v]) });
    await Deno.writeFile(
      `${dir}/model-00001-of-00002.safetensors`,
      serializeSafetensors({ a: t(1), b: t(2) }),
    );
    await Deno.writeFile(`${dir}/model-00002-of-00002.safetensors`, serializeSafetensors({ c: t(3) }));
    const index = {
      metadata: { total_size: 24 },
      weight_map: {
        a: "model-00001-of-00002.safetensors",
        b: "model-00001-of-00002.safetensors",
        c: "model-00002-of-00002.safetensors",
      },
    };
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
    const all = await readModelTensors(dir);
    assert.deepEqual([...all.tensors.keys()].sort(), ["a", "b", "c"]);
    assert.deepEqual([...all.tensors.get("c")!.data], [3, -3]);
    assert.deepEqual(all.metadata, { format: "pt" });

    // The index claims a tensor the shard does not have, and the shard holds one the index does not list.
    index.weight_map.b = "model-00002-of-00002.safetensors";
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
    await assert.rejects(
      readModelTensors(dir),
      /model-00001-of-00002\.safetensors: does not match .*index\.json: holds "b" not assigned to it/,
    );
    (index.weight_map as Record<string, string>).b = "../escape.safetensors";
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
    await assert.rejects(
      readModelTensors(dir),
      /weight_map\["b"\] must be a file name in the same directory/,
    );
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, "{not json");
    await assert.rejects(readModelTensors(dir), /index\.json: not valid JSON/);

    // A single model.safetensors takes precedence, as in Hugging Face.
    await Deno.writeFile(`${dir}/model.safetensors`, serializeSafetensors({ z: t(9) }));
    assert.deepEqual([...(await readModelTensors(dir)).tensors.keys()], ["z"]);
    await assert.rejects(
      readModelTensors(`${dir}/empty-nothing`),
      /no model\.safetensors or model\.safetensors\.index\.json/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkTensorSet lists every missing, unexpected and mis-shaped tensor in one message", () => {
  const expected = new Map([["a", [2, 3]], ["b", [4]], ["c", [1]], ["d", [5, 5]]]);
  const actual = new Map<string, Pick<StoredTensor, "shape">>([
    ["a", { shape: [3, 2] }],
    ["c", { shape: [1] }],
    ["d", { shape: [5] }],
    ["x", { shape: [7] }],
  ]);
  checkTensorSet(
    expected,
    new Map([["a", { shape: [2, 3] }], ["b", { shape: [4] }], ["c", { shape: [1] }], ["d", {
      shape: [5, 5],
    }]]),
  );
  assert.throws(() => checkTensorSet(expected, actual, "ckpt/model.safetensors"), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError);
    assert.equal(
      e.message,
      "ckpt/model.safetensors: the tensors do not match the model the config describes; check that config.json " +
        "belongs to these weights.\n" +
        "missing tensors (1):\n  b\n" +
        "unexpected tensors (1):\n  x\n" +
        "wrong shapes (2):\n  a is [3, 2], expected [2, 3]\n  d is [5], expected [5, 5]",
    );
    return true;
  });
});
