/** The parity helper's comparison: what it accepts and what it must reject. */

import assert from "node:assert/strict";
import { compareArrays } from "./parity_helper.ts";

const tol = { atol: 1e-6, rtol: 1e-3 };

Deno.test("compareArrays: within atol + rtol·|cpu| passes; beyond fails naming the worst element", () => {
  compareArrays("ok", Float32Array.of(1.0009, -2, Infinity), Float32Array.of(1, -2.0019, Infinity), tol);
  assert.throws(
    () => compareArrays("bad", Float64Array.of(1, 2.01, 3.1), Float64Array.of(1, 2, 3), tol),
    /bad: element 2 is 3\.1/,
  );
  assert.throws(
    () => compareArrays("len", Float32Array.of(1), Float32Array.of(1, 2), tol),
    /length 1, expected 2/,
  );
  assert.throws(
    () => compareArrays("inf", Float32Array.of(-Infinity), Float32Array.of(Infinity), tol),
    /element 0/,
  );
});

Deno.test("compareArrays: NaN never matches, not even NaN on both sides", () => {
  assert.throws(
    () => compareArrays("both", Float32Array.of(0, NaN), Float32Array.of(0, NaN), tol),
    /element 1/,
  );
  assert.throws(() => compareArrays("gpu", Float32Array.of(NaN), Float32Array.of(1), tol), /element 0/);
  assert.throws(() => compareArrays("cpu", Float32Array.of(1), Float32Array.of(NaN), tol), /element 0/);
});
