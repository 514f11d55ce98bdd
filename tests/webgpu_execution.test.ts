// The WebGPU backend's execution model: a forward + backward pass recorded without a CPU round trip, automatic
// submits, buffer recycling, launches folded past 65,535 workgroups, the binding-size limit, and the errors for
// shader compilation, released storage and a disposed device.

import assert from "node:assert/strict";
import type { Backend, Storage } from "../src/backend/backend.ts";
import { MAX_DISPATCHES, WebGpuBackend } from "../src/backend/webgpu.ts";
import { createGpuContext } from "../src/backend/webgpu/device.ts";
import { compileShaders, readShader } from "../src/backend/webgpu/shaders.ts";
import { expectParity, gpuTest, RandomInputs } from "./parity_helper.ts";

const rnd = new RandomInputs(13);

/**
 * A tiny two-layer network's forward and backward pass: logits = silu(x W1) W2, loss = cross-entropy, then the
 * gradients of W1 and W2 through the backward primitives. Returns the loss and both gradients.
 */
function twoLayerStep(b: Backend, s: Record<string, Storage>): Record<string, Storage> {
  const [n, d, h, v] = [24, 16, 32, 12];
  const mm = (x: Storage, y: Storage, m: number, nn: number, k: number, transA = false, transB = false) =>
    b.matmul(x, y, { batch: 1, m, n: nn, k, transA, transB });
  // forward
  const pre = mm(s.x, s.w1, n, h, d); // [n, h]
  const act = b.unary("silu", pre); // [n, h]
  const logits = mm(act, s.w2, n, v, h); // [n, v]
  const loss = b.crossEntropy(logits, s.targets, s.weights, n, v); // [n]
  // backward
  const dlogits = b.crossEntropyBackward(logits, s.targets, s.weights, b.full(n, "f32", 1), n, v); // [n, v]
  const dw2 = mm(act, dlogits, h, v, n, true, false); // actᵀ · dlogits: [h, v]
  const dact = mm(dlogits, s.w2, n, h, v, false, true); // dlogits · w2ᵀ: [n, h]
  const dpre = b.unaryGrad("silu", pre, dact); // [n, h]
  const dw1 = mm(s.x, dpre, d, h, n, true, false); // xᵀ · dpre: [d, h]
  return { loss, dw1, dw2 };
}

function twoLayerInputs() {
  return {
    x: rnd.uniform(24 * 16),
    w1: rnd.uniform(16 * 32, -0.3, 0.3),
    w2: rnd.uniform(32 * 12, -0.3, 0.3),
    targets: rnd.ints(24, 12),
    weights: rnd.uniform(24, 0.5, 1),
  };
}

await gpuTest(
  "webgpu: a forward + backward pass is recorded with no submit or read until the end",
  async (gpu) => {
    const inputs = twoLayerInputs();
    const s: Record<string, Storage> = {};
    for (const [name, data] of Object.entries(inputs)) s[name] = gpu.upload(data);
    gpu.flush();
    const before = { ...gpu.stats };
    const out = twoLayerStep(gpu, s);
    // Everything is still only recorded: no submit, no read.
    assert.equal(gpu.stats.submits, before.submits);
    assert.equal(gpu.stats.reads, before.reads);
    assert.ok(gpu.stats.dispatches - before.dispatches >= 9, "every primitive was a dispatch");
    // The first read submits once and waits; the other reads of the step each submit only their copy.
    await gpu.read(out.loss);
    assert.equal(gpu.stats.submits, before.submits + 1);
    // And the values are the CPU backend's.
    await expectParity(gpu, "two-layer step", inputs, twoLayerStep, { atol: 1e-5, rtol: 1e-4 });
  },
);

await gpuTest(`webgpu: the backend submits by itself every ${MAX_DISPATCHES} dispatches`, async (gpu) => {
  const x = gpu.upload(rnd.uniform(10));
  gpu.flush();
  const before = gpu.stats.submits;
  let y = x;
  for (let i = 0; i < MAX_DISPATCHES + 10; i++) {
    const next = gpu.unary("addScalar", y, 1);
    if (y !== x) gpu.release(y);
    y = next;
  }
  assert.equal(gpu.stats.submits, before + 1);
  const [x0, y0] = [(await gpu.read(x))[0], (await gpu.read(y))[0]];
  assert.ok(Math.abs(y0 - (x0 + MAX_DISPATCHES + 10)) < 1e-3);
});

await gpuTest("webgpu: released buffers are recycled after a submit, not before", async (gpu) => {
  gpu.flush();
  const a = gpu.full(1000, "f32", 1);
  gpu.release(a);
  const created = gpu.stats.buffersCreated;
  // Before a submit the released buffer may still be read by recorded commands: a new buffer is made.
  const b = gpu.full(1000, "f32", 2);
  assert.equal(gpu.stats.buffersCreated, created + 1);
  gpu.release(b);
  gpu.flush();
  // After it, both are free, and a request of the same size class reuses one, as long as each release is
  // followed by a submit.
  for (let i = 0; i < 20; i++) {
    gpu.release(gpu.full(990, "f32", i));
    gpu.flush();
  }
  assert.equal(gpu.stats.buffersCreated, created + 1);
  // An upload into a recycled buffer does not disturb the commands recorded before it.
  const c = gpu.full(1000, "f32", 3);
  const d = gpu.unary("scale", c, 2); // recorded, not submitted
  gpu.release(c);
  gpu.flush();
  const e = gpu.upload(new Float32Array(1000).fill(-1)); // may reuse c's buffer
  assert.deepEqual((await gpu.read(d)).slice(0, 3), new Float32Array([6, 6, 6]));
  assert.deepEqual((await gpu.read(e)).slice(0, 3), new Float32Array([-1, -1, -1]));
});

await gpuTest(
  "webgpu: launches of more than 65,535 workgroups are folded into two dimensions",
  async (gpu) => {
    // gather runs one invocation per output element, 64 per workgroup: 66,000 workgroups here.
    const [count, dim, vocab] = [33_000, 128, 10];
    const inputs = { table: rnd.uniform(vocab * dim), ids: rnd.ints(count, vocab) };
    await expectParity(
      gpu,
      "folded gather",
      inputs,
      (b, s) => ({ out: b.gather(s.table, s.ids, count, dim) }),
      {
        atol: 0,
        rtol: 0,
      },
    );
  },
);

await gpuTest("webgpu: storage over the device's binding limit is refused with a message", (gpu) => {
  const elements = Math.floor(gpu.maxStorageBytes / 4) + 1;
  assert.throws(() => gpu.full(elements, "f32", 0), /exceeds this device's maxStorageBufferBindingSize/);
  return Promise.resolve();
});

await gpuTest("webgpu: using released storage is an error", (gpu) => {
  const x = gpu.upload(new Float32Array(4));
  gpu.release(x);
  assert.throws(() => gpu.unary("neg", x), /used after release/);
  return Promise.resolve();
});

await gpuTest("webgpu: shader compile errors name the .wgsl file and line", async () => {
  const { device } = await createGpuContext();
  try {
    // Line 3 of rope.wgsl gets a type error; common.wgsl gets one on its first line.
    const brokenRope = async (name: string) => {
      const text = await readShader(name);
      if (name !== "rope") return text;
      const lines = text.split("\n");
      lines[2] = "const BROKEN: f32 = 1u;";
      return lines.join("\n");
    };
    await assert.rejects(compileShaders(device, brokenRope), /shaders\/rope\.wgsl:3:\d+: .*/);
    const brokenCommon = async (name: string) =>
      name === "common"
        ? `fn broken() -> f32 { return 1u; }\n${await readShader(name)}`
        : await readShader(name);
    await assert.rejects(compileShaders(device, brokenCommon), /shaders\/common\.wgsl:1:\d+/);
  } finally {
    device.destroy();
  }
});

await gpuTest("webgpu: a disposed backend says so", async () => {
  const own = await WebGpuBackend.create();
  const x = own.upload(new Float32Array([1, 2, 3]));
  own.dispose();
  await new Promise((r) => setTimeout(r, 10)); // device.lost settles asynchronously
  assert.throws(() => own.unary("neg", x), /disposed/);
});

await gpuTest("webgpu: profiling times every dispatch per kernel", async () => {
  const own = await WebGpuBackend.create({ profile: true });
  try {
    const x = own.upload(rnd.uniform(4096));
    for (let i = 0; i < 3; i++) own.release(own.unary("exp", x));
    own.release(own.softmax(x, 64, 64, false));
    const table = await own.profile();
    if (!own.profiling) return; // the adapter has no timestamp queries: nothing to check
    const unary = table.find((t) => t.kernel === "elementwise:unary");
    assert.equal(unary?.dispatches, 3);
    assert.ok(unary!.ms > 0 && unary!.ms < 10_000, `a plausible time, got ${unary!.ms} ms`);
    assert.equal(table.find((t) => t.kernel === "softmax:softmax_forward")?.dispatches, 1);
    assert.equal((await own.profile(true)).length, 2);
    assert.equal((await own.profile()).length, 0, "reset clears the table");
  } finally {
    own.dispose();
  }
});
