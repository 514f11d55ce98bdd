/**
 * Fuzzing the safetensors parser: whatever the bytes, it either returns tensors that are consistent with the
 * file, or throws a SafetensorsError; it never throws anything else (RangeError, TypeError…) and never takes
 * long. Three sources of input: random bytes, valid files with random damage, and random header JSON.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseSafetensors, SafetensorsError, serializeSafetensors } from "../src/io/mod.ts";
import { testSeed } from "./test_seed.ts";

// Every property below draws from this seed, so a failure reproduces; fast-check names the seed (and the
// path to the counterexample) in its failure message. Another seed: LLADA_TEST_SEED=n (tests/test_seed.ts).
fc.configureGlobal({ seed: testSeed(104) });

/** Runs the parser and checks the contract; returns whether the input parsed. */
function parsesOrFailsCleanly(bytes: Uint8Array): boolean {
  const start = performance.now();
  try {
    const file = parseSafetensors(bytes, "fuzz.safetensors");
    // A successful parse must describe the file: element counts match shapes, bytes add up.
    let total = 0;
    for (const [, t] of file.tensors) {
      const count = t.shape.reduce((a, b) => a * b, 1);
      assert.equal(t.data.length, count);
      total += count * { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 }[t.dtype];
    }
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    assert.equal(8 + headerLength + total, bytes.length);
    return true;
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw new Error(`parser threw a non-SafetensorsError: ${e}`);
    assert.ok(e.message.startsWith("fuzz.safetensors: "));
    return false;
  } finally {
    assert.ok(performance.now() - start < 250, "parsing one small input must not take long");
  }
}

/** A small valid file to damage. */
const seedFile = serializeSafetensors({
  "model.transformer.wte.weight": { shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
  "model.transformer.ln_f.weight": { shape: [2], data: new Float32Array([0.5, -0.5]), dtype: "BF16" },
  ids: { shape: [2], data: new Int32Array([7, -7]), dtype: "I64" },
  half: { shape: [1, 3], data: new Float32Array([1, 2, 3]), dtype: "F16" },
}, { metadata: { note: "seed" } });

Deno.test("fuzz: random bytes are rejected with a SafetensorsError, never a crash", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => void parsesOrFailsCleanly(bytes)), {
    numRuns: 400,
  });
  // Random bytes behind a plausible header length reach the JSON stage.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(90), (body, n) => {
      const bytes = new Uint8Array(8 + body.length);
      new DataView(bytes.buffer).setUint32(0, n, true);
      bytes.set(body, 8);
      parsesOrFailsCleanly(bytes);
    }),
    { numRuns: 400 },
  );
});

Deno.test("fuzz: a valid file with random damage parses consistently or fails cleanly", () => {
  assert.ok(parsesOrFailsCleanly(seedFile));
  const edit = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ kind: fc.constant("remove" as const), at: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
      let bytes = Array.from(seedFile);
      for (const e of edits) {
        const at = e.at % (bytes.length + 1);
        if (e.kind === "flip" && at < bytes.length) bytes[at] = e.value;
        if (e.kind === "cut") bytes = bytes.slice(0, at);
        if (e.kind === "insert") bytes.splice(at, 0, e.value);
        if (e.kind === "remove") bytes.splice(at, 1);
      }
      parsesOrFailsCleanly(Uint8Array.from(bytes));
    }),
    { numRuns: 500 },
  );
});

Deno.test("fuzz: random header JSON (plausible and absurd entries) parses consistently or fails cleanly", () => {
  const dtype = fc.oneof(
    fc.constantFrom("F32", "F16", "BF16", "I32", "I64", "F64", "U8", "x", "__proto__"),
    fc.string(),
  );
  const dim = fc.oneof(fc.nat(6), fc.integer(), fc.double(), fc.constant(2 ** 60), fc.string());
  const entry = fc.oneof(
    fc.record({
      dtype,
      shape: fc.oneof(fc.array(dim, { maxLength: 3 }), fc.anything()),
      data_offsets: fc.oneof(
        fc.tuple(fc.nat(64), fc.nat(64)),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.anything(),
      ),
    }),
    fc.anything(),
  );
  const header = fc.oneof(
    fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constant("__metadata__")), entry, { maxKeys: 4 }),
    fc.jsonValue(),
  );
  fc.assert(
    fc.property(header, fc.nat(64), fc.nat(8), (h, bufferLength, padding) => {
      const json = new TextEncoder().encode(JSON.stringify(h) + " ".repeat(padding));
      const bytes = new Uint8Array(8 + json.length + bufferLength);
      new DataView(bytes.buffer).setUint32(0, json.length, true);
      bytes.set(json, 8);
      parsesOrFailsCleanly(bytes);
    }),
    { numRuns: 500 },
  );
  // Consistent headers (offsets laid out back to back) must parse.
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.constantFrom("F32", "F16", "BF16", "I32"), fc.array(fc.nat(3), { maxLength: 3 })),
        {
          maxLength: 5,
        },
      ),
      (specs) => {
        const size = { F32: 4, F16: 2, BF16: 2, I32: 4 };
        let offset = 0;
        const h: Record<string, unknown> = {};
        specs.forEach(([dt, shape], i) => {
          const bytes = shape.reduce((a, b) => a * b, 1) * size[dt];
          h[`t${i}`] = { dtype: dt, shape, data_offsets: [offset, offset + bytes] };
          offset += bytes;
        });
        const json = new TextEncoder().encode(JSON.stringify(h));
        const bytes = new Uint8Array(8 + json.length + offset);
        new DataView(bytes.buffer).setUint32(0, json.length, true);
        bytes.set(json, 8);
        assert.ok(parsesOrFailsCleanly(bytes), JSON.stringify(h));
      },
    ),
    { numRuns: 200 },
  );
});
