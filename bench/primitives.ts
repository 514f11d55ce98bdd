/**
 * Benchmarks of the backend primitives, one JSON object per line.
 *
 * - `{"bench":"matmul","backend":…,"m":N,"n":N,"k":N,"gflops":G,"ms":T}` for square N = 256, 512, 1024.
 * - `{"bench":"matmul",…}` likewise for the products of a training step of the shipped recipe
 *   ({@link benchTrainingMatmuls}, `LLADA_BENCH=matmul`, WebGPU only).
 * - `{"bench":<primitive>,"backend":…,"shape":…,"ms":T}` for every other primitive at the `tiny` model's shapes:
 *   d_model 128, sequence 128, batch 16 (2048 tokens), vocabulary 256, 4 heads of 32, MLP 384.
 *
 * Method: one warm-up run (compiles pipelines, fills buffer pools), one run to size the batches, then batches of
 * repetitions timed end to end (on WebGPU: recorded, submitted, and waited for with `sync`), reporting the best
 * batch's time per run. The machines are shared, so times are noisy; the best of several batches is the least
 * disturbed.
 *
 * @module
 */

import type { Backend, Storage } from "../src/backend/backend.ts";
import { contiguousView } from "../src/backend/backend.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { WebGpuBackend } from "../src/backend/webgpu.ts";
import { findAdapter } from "../src/backend/webgpu/device.ts";
import { Rng } from "../src/rng.ts";

/** The tiny model's shapes. */
const D = 128;
const SEQ = 128;
const BATCH = 16;
const TOKENS = SEQ * BATCH;
const VOCAB = 256;
const HEADS = 4;
const HEAD_DIM = D / HEADS;
const MLP = 384;

const rng = new Rng(0);

function floats(n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * (2 * rng.uniform() - 1);
  return out;
}

function ints(n: number, max: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(0, max - 1);
  return out;
}

/** Waits until the backend has finished all recorded work. */
async function sync(b: Backend): Promise<void> {
  if (b instanceof WebGpuBackend) await b.sync();
}

/**
 * Milliseconds per run of `run` (which returns the storages it created, released after each run): the best of
 * `batches` batches, each sized to take about `budgetMs`.
 */
async function timeIt(b: Backend, run: () => Storage[], budgetMs = 300, batches = 3): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    for (const s of run()) b.release(s);
    await sync(b);
    return performance.now() - t0;
  };
  await once(); // warm-up: compiles pipelines, fills the buffer pools
  const first = await once();
  const reps = Math.max(1, Math.min(50, Math.round(budgetMs / Math.max(first, 0.01))));
  let best = Infinity;
  for (let i = 0; i < batches; i++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) for (const s of run()) b.release(s);
    await sync(b);
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return best;
}

function print(fields: Record<string, unknown>): void {
  console.log(JSON.stringify(fields));
}

/**
 * Matmuls: squares at N = 256, 512, 1024, then the products of a demo training step (2,048 tokens, d_model 64,
 * MLP 192): a projection x·Wᵀ, its input gradient dY·W and its weight gradient dYᵀ·X (transposed A, split along k).
 */
async function benchMatmul(b: Backend): Promise<void> {
  const shapes: { label: string; m: number; n: number; k: number; transA: boolean; transB: boolean }[] = [
    ...[256, 512, 1024].map((n) => ({ label: `square ${n}`, m: n, n, k: n, transA: false, transB: false })),
    { label: "demo x·Wᵀ (q, k, v, o)", m: 2048, n: 64, k: 64, transA: false, transB: true },
    { label: "demo x·Wᵀ (MLP up)", m: 2048, n: 192, k: 64, transA: false, transB: true },
    { label: "demo dY·W (MLP down)", m: 2048, n: 192, k: 64, transA: false, transB: false },
    { label: "demo dYᵀ·X (q, k, v, o)", m: 64, n: 64, k: 2048, transA: true, transB: false },
    { label: "demo dYᵀ·X (MLP up)", m: 192, n: 64, k: 2048, transA: true, transB: false },
  ];
  for (const { label, ...p } of shapes) {
    const { m, n, k } = p;
    const x = b.upload(floats(m * k));
    const y = b.upload(floats(k * n));
    // The CPU backend takes seconds at 1024³: one batch of one run there.
    const cpuBig = b.name === "cpu" && m * n * k >= 512 ** 3;
    const ms = await timeIt(b, () => [b.matmul(x, y, { batch: 1, ...p })], cpuBig ? 1 : 300, cpuBig ? 1 : 3);
    print({
      bench: "matmul",
      backend: b.name,
      shape: label,
      m,
      n,
      k,
      transA: p.transA,
      transB: p.transB,
      gflops: +((2 * m * n * k) / ms / 1e6).toFixed(2),
      ms: +ms.toFixed(3),
    });
    b.release(x);
    b.release(y);
  }
}

/**
 * The products of one training step of the shipped recipe (d_model 128, MLP 352, vocabulary 2,048, batch 16 of
 * 128 positions: 2,048 rows), each with how often a step runs it (`per_step`) and the milliseconds a step spends in
 * it at the measured rate (`ms_per_step`): forward x·Wᵀ, input gradients dY·W, weight gradients dYᵀ·X (split
 * along k). The tiny config's differ only in the MLP (384) and the vocabulary (256).
 */
export async function benchTrainingMatmuls(b: Backend): Promise<void> {
  const shapes: [
    label: string,
    perStep: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
  ][] = [
    ["x·Wᵀ q, k, v, o", 16, 2048, 128, 128, false, true],
    ["x·Wᵀ MLP gate, up", 8, 2048, 352, 128, false, true],
    ["x·Wᵀ MLP down", 4, 2048, 128, 352, false, true],
    ["x·Wᵀ output head", 1, 2048, 2048, 128, false, true],
    ["dY·W q, k, v, o", 16, 2048, 128, 128, false, false],
    ["dY·W MLP gate, up", 8, 2048, 128, 352, false, false],
    ["dY·W MLP down", 4, 2048, 352, 128, false, false],
    ["dY·W output head", 1, 2048, 128, 2048, false, false],
    ["dYᵀ·X q, k, v, o", 16, 128, 128, 2048, true, false],
    ["dYᵀ·X MLP gate, up", 8, 352, 128, 2048, true, false],
    ["dYᵀ·X MLP down", 4, 128, 352, 2048, true, false],
    ["dYᵀ·X output head", 1, 2048, 128, 2048, true, false],
  ];
  for (const [label, perStep, m, n, k, transA, transB] of shapes) {
    const x = b.upload(floats(m * k));
    const y = b.upload(floats(k * n));
    const ms = await timeIt(b, () => [b.matmul(x, y, { batch: 1, m, n, k, transA, transB })], 200, 2);
    print({
      bench: "matmul",
      backend: b.name,
      shape: label,
      m,
      n,
      k,
      transA,
      transB,
      gflops: +((2 * m * n * k) / ms / 1e6).toFixed(2),
      ms: +ms.toFixed(3),
      per_step: perStep,
      ms_per_step: +(ms * perStep).toFixed(1),
    });
    b.release(x);
    b.release(y);
  }
}

/** Every other primitive at the tiny model's shapes. */
async function benchModelShapes(b: Backend): Promise<void> {
  const up = (d: Float32Array | Int32Array) => b.upload(d);
  const x = up(floats(TOKENS * D)); // activations [2048, 128]
  const y = up(floats(TOKENS * D));
  const w = up(floats(D, 0.5)); // a norm weight [128]
  const wqkv = up(floats(D * 3 * D, 0.1)); // [128, 384]
  const hidden = up(floats(TOKENS * MLP)); // an MLP activation gradient [2048, 384]
  const logits = up(floats(TOKENS * VOCAB, 3)); // [2048, 256]
  const scores = up(floats(BATCH * HEADS * SEQ * SEQ, 3)); // [16·4·128, 128]
  const ids = up(ints(TOKENS, VOCAB));
  const table = up(floats(VOCAB * D));
  const weights = up(floats(TOKENS).map(Math.abs));
  const ones = b.full(TOKENS, "f32", 1);
  const positions = up(new Int32Array(TOKENS).map((_, i) => i % SEQ));
  const headShape = [BATCH, SEQ, HEADS, HEAD_DIM]; // the layout the model's attention reads
  const q = up(floats(TOKENS * D));
  const k = up(floats(TOKENS * D));
  const v = up(floats(TOKENS * D));
  const mask = b.full(BATCH * SEQ, "i32", 1);
  const attn = {
    batch: BATCH,
    heads: HEADS,
    tq: SEQ,
    tk: SEQ,
    headDim: HEAD_DIM,
    scale: 1 / Math.sqrt(HEAD_DIM),
    causal: false,
    layout: "bthd" as const,
  };
  const params = up(floats(1 << 20, 0.1));
  const grads = up(floats(1 << 20, 0.01));
  const m1 = b.full(1 << 20, "f32", 0);
  const m2 = b.full(1 << 20, "f32", 0);
  const { out: attnOut, lse } = b.attention(q, k, v, mask, attn);
  const { rstd } = b.rmsnorm(x, w, TOKENS, D, 1e-5);
  const full = contiguousView([TOKENS, D]);

  const cases: [string, number[], () => Storage[]][] = [
    [
      "matmul_qkv",
      [TOKENS, D, 3 * D],
      () => [b.matmul(x, wqkv, { batch: 1, m: TOKENS, n: 3 * D, k: D, transA: false, transB: false })],
    ],
    [
      "matmul_mlp_backward_dw",
      [D, MLP, TOKENS],
      () => [
        b.matmul(x, hidden, { batch: 1, m: D, n: MLP, k: TOKENS, transA: true, transB: false }),
      ],
    ],
    ["unary_silu", [TOKENS, MLP], () => [b.unary("silu", hidden)]],
    ["unary_grad_silu", [TOKENS, D], () => [b.unaryGrad("silu", x, y)]],
    ["binary_add", [TOKENS, D], () => [b.binary("add", x, full, y, full, [TOKENS, D])]],
    [
      "binary_mul_broadcast",
      [TOKENS, D],
      () => [b.binary("mul", x, full, w, { offset: 0, strides: [0, 1] }, [TOKENS, D])],
    ],
    ["copy_split_heads", [BATCH, SEQ, HEADS, HEAD_DIM], () => {
      const out = b.full(TOKENS * D, "f32", 0);
      b.copyInto(
        x,
        { offset: 0, strides: [SEQ * D, HEAD_DIM, D, 1] },
        out,
        contiguousView(headShape),
        headShape,
      );
      return [out];
    }],
    ["reduce_sum_rows", [TOKENS, D], () => [b.reduce("sum", x, TOKENS, D, 1)]],
    ["reduce_sum_columns", [TOKENS, D], () => [b.reduce("sum", x, 1, TOKENS, D)]],
    ["argmax", [TOKENS, VOCAB], () => [b.argmax(logits, TOKENS, VOCAB)]],
    [
      "softmax_attention",
      [BATCH * HEADS * SEQ, SEQ],
      () => [b.softmax(scores, BATCH * HEADS * SEQ, SEQ, false)],
    ],
    [
      "softmax_backward_attention",
      [BATCH * HEADS * SEQ, SEQ],
      () => [b.softmaxBackward(scores, scores, BATCH * HEADS * SEQ, SEQ, false)],
    ],
    ["log_softmax_logits", [TOKENS, VOCAB], () => [b.softmax(logits, TOKENS, VOCAB, true)]],
    ["rmsnorm", [TOKENS, D], () => Object.values(b.rmsnorm(x, w, TOKENS, D, 1e-5))],
    ["rmsnorm_backward", [TOKENS, D], () => Object.values(b.rmsnormBackward(x, w, rstd, y, TOKENS, D))],
    [
      "rope",
      [BATCH, SEQ, HEADS, HEAD_DIM],
      () => [
        b.rope(x, positions, {
          batch: BATCH,
          seq: SEQ,
          heads: HEADS,
          headDim: HEAD_DIM,
          theta: 500000,
          inverse: false,
        }),
      ],
    ],
    ["gather", [TOKENS, D], () => [b.gather(table, ids, TOKENS, D)]],
    ["scatter_add", [VOCAB, D], () => [b.scatterAdd(ids, x, TOKENS, D, VOCAB)]],
    ["cross_entropy", [TOKENS, VOCAB], () => [b.crossEntropy(logits, ids, weights, TOKENS, VOCAB)]],
    [
      "cross_entropy_backward",
      [TOKENS, VOCAB],
      () => [b.crossEntropyBackward(logits, ids, weights, ones, TOKENS, VOCAB)],
    ],
    ["attention", headShape, () => Object.values(b.attention(q, k, v, mask, attn))],
    [
      "attention_backward",
      headShape,
      () => Object.values(b.attentionBackward(q, k, v, mask, attnOut, lse, q, attn)),
    ],
    ["adamw", [1 << 20], () => {
      b.adamw(params, grads, m1, m2, {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.1,
        step: 1,
      });
      return [];
    }],
  ];
  for (const [name, shape, run] of cases) {
    const ms = await timeIt(b, run, b.name === "cpu" ? 100 : 300, b.name === "cpu" ? 1 : 3);
    print({ bench: name, backend: b.name, shape, ms: +ms.toFixed(3) });
  }
}

/** Runs every primitive benchmark on WebGPU (when there is an adapter) and on the CPU. */
export async function benchPrimitives(): Promise<void> {
  const backends: Backend[] = [];
  const { adapter, reason } = await findAdapter();
  if (adapter) backends.push(await WebGpuBackend.create());
  else print({ bench: "webgpu", skipped: reason });
  backends.push(new CpuBackend());
  for (const b of backends) {
    print({ bench: "backend", backend: b.name, description: b.description });
    await benchMatmul(b);
    await benchModelShapes(b);
  }
}
