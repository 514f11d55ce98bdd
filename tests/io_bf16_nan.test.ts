/**
 * A NaN whose payload sits only in the low 16 bits (a signalling NaN such as 0x7f800001) must stay NaN in
 * bfloat16: plain truncation would turn it into ∞. JavaScript numbers canonicalise NaN, so only raw float32 bits
 * (what the BF16 writer reads) can carry such a payload; this test uses them directly.
 */

import assert from "node:assert/strict";
import { bfloat16BitsToFloat32, float32BitsToBfloat16Bits } from "../src/io/safetensors_format.ts";

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
