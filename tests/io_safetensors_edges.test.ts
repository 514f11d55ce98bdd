/**
 * Edges of the safetensors code that the main tests pass over. A NaN whose payload sits only in the low 16 bits (a signalling NaN such as 0x7f800001) must stay NaN in
 * bfloat16: plain truncation would turn it into ∞. JavaScript numbers canonicalise NaN, so only raw float32 bits
 * (what the BF16 writer reads) can carry such a payload; the test uses them directly. And a header length that
 * overruns the file by less than the 8-byte length prefix must be caught as an overrun, not parsed.
 */

import assert from "node:assert/strict";
import { bfloat16BitsToFloat32, float32BitsToBfloat16Bits } from "../src/io/safetensors_format.ts";
import { parseSafetensors } from "../src/io/safetensors_read.ts";

Deno.test("BF16: NaN bit patterns with a payload only in the dropped bits stay NaN", () => {
  for (const bits of [0x7f800001, 0xff800001, 0x7f80ffff, 0x7fc00000]) {
    const h = float32BitsToBfloat16Bits(bits >>> 0);
    assert.ok(
      Number.isNaN(bfloat16BitsToFloat32(h)),
      `0x${bits.toString(16)} → 0x${h.toString(16)} is not NaN`,
    );
    assert.equal(h & 0x8000, (bits >>> 16) & 0x8000, `0x${bits.toString(16)}: sign kept`);
  }
});

Deno.test("safetensors: a header length that overruns the file by less than its 8-byte prefix is named as such", () => {
  // 8 bytes of length + `{}` (2 bytes): a claimed length of 4 overruns the 10-byte file by 2.
  const bytes = new Uint8Array(10);
  new DataView(bytes.buffer).setUint32(0, 4, true);
  bytes.set(new TextEncoder().encode("{}"), 8);
  assert.throws(() => parseSafetensors(bytes), /header length 4 .* runs past the end of the file/);
});
