// Backend selection: by argument, by LLADA_BACKEND, and `auto` (WebGPU when an adapter exists, else the CPU).

import assert from "node:assert/strict";
import { describeBackend, getBackend, resolveKind } from "../src/backend/select.ts";
import { findAdapter } from "../src/backend/webgpu/device.ts";
import { workerTest } from "./parity_helper.ts";

Deno.test("select: the argument wins over LLADA_BACKEND, which wins over auto", () => {
  const saved = Deno.env.get("LLADA_BACKEND");
  try {
    Deno.env.set("LLADA_BACKEND", "CPU");
    assert.equal(resolveKind(), "cpu");
    assert.equal(resolveKind("webgpu"), "webgpu");
    Deno.env.delete("LLADA_BACKEND");
    assert.equal(resolveKind(), "auto");
    Deno.env.set("LLADA_BACKEND", "tpu");
    assert.throws(
      () => resolveKind(),
      /unknown backend LLADA_BACKEND=tpu; expected one of auto, webgpu, cpu/,
    );
  } finally {
    if (saved === undefined) Deno.env.delete("LLADA_BACKEND");
    else Deno.env.set("LLADA_BACKEND", saved);
  }
});

Deno.test("select: cpu is the CPU backend, cached, and described in one line", async () => {
  const a = await getBackend("cpu");
  assert.equal(a.name, "cpu");
  assert.equal(await getBackend("cpu"), a);
  assert.match(await describeBackend("cpu"), /^backend: cpu — CPU .* \[requested\]$/);
});

// In the file's WebGPU worker, as every use of WebGPU in the tests (parity_helper.ts says why).
await workerTest(
  "select: auto picks WebGPU when there is an adapter, else the CPU, and says why",
  async () => {
    const { adapter } = await findAdapter();
    const b = await getBackend("auto");
    assert.equal(b.name, adapter ? "webgpu" : "cpu");
    const line = await describeBackend("auto");
    assert.match(
      line,
      adapter ? /^backend: webgpu — .+ \[auto: WebGPU adapter found\]$/ : /\[auto: no WebGPU \(/,
    );
    if (adapter) assert.equal(await getBackend("webgpu"), b, "auto and webgpu share one device");
  },
);
