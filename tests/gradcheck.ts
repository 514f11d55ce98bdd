/**
 * Finite-difference gradient checking, in float64 on the CPU backend.
 *
 * For an op f and random inputs, the check reduces the output to a scalar with fixed random weights
 * (`L = Σ f(x) ⊙ r`, so every output element matters) and compares autograd's dL/dx with central differences
 * `(L(x + h) − L(x − h)) / 2h`. In float64 with h = 1e-5 the truncation and rounding errors are both near 1e-10,
 * so a wrong backward (a missing term, a transposed index) shows up as a relative error of order one.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { Tensor, tidy } from "../src/tensor.ts";
import { mul, sum } from "../src/ops/mod.ts";
import { Rng } from "../src/rng.ts";

/** The float64 CPU backend the checks run on. */
export const f64 = new CpuBackend({ float64: true });

/**
 * The central difference `(L(+h) − L(−h)) / 2h` of a scalar loss in one entry: `lossAt(delta)` evaluates the
 * loss with that entry moved by `delta` from its original value. Used by {@link gradcheck} for op inputs and by
 * the whole-model test for parameters.
 */
export async function centralDifference(
  lossAt: (delta: number) => Promise<number>,
  h: number,
): Promise<number> {
  const plus = await lossAt(h);
  const minus = await lossAt(-h);
  return (plus - minus) / (2 * h);
}

/** A description of one input: its shape, and optionally how to draw its values. */
export interface InputSpec {
  shape: number[];
  /** Values; defaults to N(0, 1) draws. */
  values?: number[];
  /** Integer inputs (ids, positions, masks) are passed through and never differentiated. */
  dtype?: "f32" | "i32";
  /** An f32 input the op does not differentiate (e.g. cross-entropy's weights). */
  constant?: boolean;
}

/**
 * Checks the gradients of `fn` with respect to every f32 input. Throws (failing the test) with the op's name,
 * the input and the index of the worst entry when analytic and numeric gradients disagree by more than `tol`
 * (relative to max(1, |numeric|)).
 */
export async function gradcheck(
  name: string,
  fn: (...xs: Tensor[]) => Tensor,
  specs: InputSpec[],
  { seed = 1, h = 1e-5, tol = 1e-6 } = {},
): Promise<void> {
  const rng = new Rng(seed);
  const values = specs.map((s) =>
    s.values ?? Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => rng.normal())
  );
  const make = (vals: number[][], grad: boolean) =>
    specs.map((s, i) =>
      Tensor.from(vals[i], s.shape, {
        backend: f64,
        dtype: s.dtype ?? "f32",
        requiresGrad: grad && s.dtype !== "i32" && !s.constant,
      })
    );

  // Fixed random weights that turn the output into a scalar.
  const probe = tidy(() => fn(...make(values, false)));
  const weights = Array.from({ length: probe.size }, () => rng.normal());
  const outShape = [...probe.shape];
  probe.dispose();
  const loss = (xs: Tensor[]) => sum(mul(fn(...xs), Tensor.from(weights, outShape, { backend: f64 })));

  // Analytic gradients.
  const inputs = make(values, true);
  tidy(() => loss(inputs).backward());
  for (let i = 0; i < specs.length; i++) {
    if (specs[i].dtype === "i32" || specs[i].constant) continue;
    assert.ok(inputs[i].grad, `${name}: input ${i} received no gradient`);
    const analytic = await inputs[i].grad!.data();
    let worst = { err: 0, j: -1, a: 0, n: 0 };
    for (let j = 0; j < values[i].length; j++) {
      const numeric = await centralDifference(async (delta) => {
        const shifted = values.map((v) => v.slice());
        shifted[i][j] += delta;
        const shiftedLoss = tidy(() => loss(make(shifted, false)));
        const value = (await shiftedLoss.data())[0];
        shiftedLoss.dispose();
        return value;
      }, h);
      const err = Math.abs(analytic[j] - numeric) / Math.max(1, Math.abs(numeric));
      if (err > worst.err) worst = { err, j, a: analytic[j], n: numeric };
    }
    assert.ok(
      worst.err <= tol,
      `${name}: gradient of input ${i} is wrong at index ${worst.j}: autograd ${worst.a}, finite differences ${worst.n} (relative error ${
        worst.err.toExponential(2)
      } > ${tol})`,
    );
  }
  inputs.forEach((t) => t.dispose());
}
