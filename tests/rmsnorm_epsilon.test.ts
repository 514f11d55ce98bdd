/**
 * Where ε sits in RMSNorm, `y = x / √(mean(x²) + ε) · w`, shows only when ε is comparable to mean(x²): with
 * ε = 1e-2 and inputs of size ~0.05 (mean(x²) ≈ 1e-3), `1/(√mean(x²) + ε)` or a dropped ε is off by far more than
 * float32 rounding. Checked by hand on the CPU and by parity on WebGPU, forward and backward.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { expectParity, gpuTest, RandomInputs } from "./parity_helper.ts";

const EPS = 1e-2;
const rnd = new RandomInputs(11);

Deno.test("cpu: rmsnorm with ε = 1e-2 on small inputs is x / √(mean(x²) + ε) · w", async () => {
  const cpu = new CpuBackend();
  const rows = 3;
  const n = 5;
  const x = rnd.uniform(rows * n, -0.1, 0.1);
  const w = rnd.uniform(n, 0.5, 1.5);
  const { y, rstd } = cpu.rmsnorm(cpu.upload(x), cpu.upload(w), rows, n, EPS);
  const ys = await cpu.read(y);
  const rs = await cpu.read(rstd);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * n, (r + 1) * n);
    const ms = row.reduce((s, v) => s + v * v, 0) / n;
    const expected = 1 / Math.sqrt(ms + EPS);
    assert.ok(Math.abs(rs[r] - expected) <= 1e-6 * expected, `rstd[${r}] = ${rs[r]}, expected ${expected}`);
    for (let j = 0; j < n; j++) {
      const e = row[j] * expected * w[j];
      assert.ok(
        Math.abs(ys[r * n + j] - e) <= 1e-7 + 1e-6 * Math.abs(e),
        `y[${r}, ${j}] = ${ys[r * n + j]}, expected ${e}`,
      );
    }
  }
});

await gpuTest("webgpu: RMSNorm with ε = 1e-2 on small inputs, forward and backward", async (gpu) => {
  for (const [rows, n] of [[300, 37], [3, 1000]] as const) {
    const inputs = {
      x: rnd.uniform(rows * n, -0.1, 0.1),
      w: rnd.uniform(n, 0.5, 1.5),
      dy: rnd.uniform(rows * n),
    };
    await expectParity(gpu, `rmsnorm ε=${EPS} ${rows}x${n}`, inputs, (b, s) => {
      const { y, rstd } = b.rmsnorm(s.x, s.w, rows, n, EPS);
      const { dx, dw } = b.rmsnormBackward(s.x, s.w, rstd, s.dy, rows, n);
      return { y, rstd, dx, dw };
    }, { atol: 1e-5, rtol: 1e-5 });
  }
});
