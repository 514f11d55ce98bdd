/**
 * The CPU backend: every primitive of {@link Backend} as plain TypeScript loops.
 *
 * This file is the executable specification of the primitive set. It is written to be read: one loop nest per
 * primitive, indices named after the shapes in `backend.ts`, accumulation in float64 where a sum runs long
 * (JavaScript numbers are float64, so `let acc = 0` accumulates in double precision for free) and results stored
 * in float32. The WebGPU kernels in `shaders/` are tested against these loops.
 *
 * Left out on purpose: SIMD and threads. A reader should be able to check each loop against the mathematics in a
 * minute; speed on the CPU comes second. The one exception is the matrix product, where training spends its time:
 * `cpu_matmul.ts` keeps the naive triple loop as its specification and the faster loop the backend runs beside
 * it, tested equal.
 *
 * @module
 */

import type {
  AdamWParams,
  AttentionParams,
  Backend,
  BinaryOp,
  DType,
  GreedyStepParams,
  MatmulParams,
  ReduceOp,
  RopeParams,
  Storage,
  TypedArray,
  UnaryOp,
  View,
} from "./backend.ts";
import { attentionRow, contiguousView, numel } from "./backend.ts";
import { greedyStepLoops } from "./cpu_greedy_step.ts";
import { matmulFast } from "./cpu_matmul.ts";

/** Float storage: float32, or float64 when the backend runs in float64 mode. */
type Floats = Float32Array | Float64Array;

/** CPU storage: a typed array of the storage's dtype. */
class CpuStorage implements Storage {
  released = false;
  constructor(readonly data: TypedArray, readonly dtype: DType) {}
  get length(): number {
    return this.data.length;
  }
}

/** The value used for "minus infinity" where an infinity would turn into NaN in arithmetic (−∞ − −∞). */
const NEG_BIG = -1e30;

/** Reference implementation of every primitive with plain loops. */
export class CpuBackend implements Backend {
  readonly name = "cpu" as const;
  readonly description: string;
  /** Store `f32` tensors as float64 (for finite-difference gradient checks); off by default. */
  readonly float64: boolean;

  constructor(options: { float64?: boolean } = {}) {
    this.float64 = options.float64 ?? false;
    this.description = this.float64 ? "CPU (TypeScript loops, float64)" : "CPU (TypeScript loops)";
  }

  // ---- memory ---------------------------------------------------------------------------------------------

  upload(data: TypedArray): Storage {
    if (data instanceof Int32Array) return new CpuStorage(data.slice(), "i32");
    const out = this.#floats(data.length);
    out.set(data);
    return new CpuStorage(out, "f32");
  }

  full(length: number, dtype: DType, value: number): Storage {
    const data = dtype === "i32" ? new Int32Array(length) : this.#floats(length);
    if (value !== 0) data.fill(value);
    return new CpuStorage(data, dtype);
  }

  read(s: Storage): Promise<TypedArray> {
    return Promise.resolve(this.#get(s).slice());
  }

  release(s: Storage): void {
    const c = s as CpuStorage;
    if (c.released) throw new Error("CpuBackend.release: storage released twice");
    c.released = true;
  }

  flush(): void {}

  /** The typed array behind a storage, refusing storage that was released or belongs to another backend. */
  #get(s: Storage): TypedArray {
    if (!(s instanceof CpuStorage)) throw new Error("CpuBackend: storage belongs to another backend");
    if (s.released) throw new Error("CpuBackend: storage used after release");
    return s.data;
  }

  #f32(s: Storage): Floats {
    const d = this.#get(s);
    if (d instanceof Int32Array) throw new Error("CpuBackend: expected f32 storage, got i32");
    return d;
  }

  /** A new float array for `f32` results: Float32Array, or Float64Array in float64 mode. */
  #floats(n: number): Floats {
    return this.float64 ? new Float64Array(n) : new Float32Array(n);
  }

  #floatsFrom(a: Float64Array): Floats {
    return this.float64 ? a : Float32Array.from(a);
  }

  #i32(s: Storage): Int32Array {
    const d = this.#get(s);
    if (!(d instanceof Int32Array)) throw new Error("CpuBackend: expected i32 storage, got f32");
    return d;
  }

  // ---- layout -----------------------------------------------------------------------------------------------

  copyInto(src: Storage, srcView: View, dst: Storage, dstView: View, shape: number[]): void {
    const s = this.#get(src);
    const d = this.#get(dst);
    const n = numel(shape);
    const index = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      d[viewOffset(dstView, index)] = s[viewOffset(srcView, index)];
      increment(index, shape);
    }
  }

  copy(src: Storage, srcView: View, shape: number[]): Storage {
    const out = this.full(numel(shape), src.dtype, 0);
    this.copyInto(src, srcView, out, contiguousView(shape), shape);
    return out;
  }

  cast(x: Storage, dtype: DType): Storage {
    const s = this.#get(x);
    const out = dtype === "i32" ? new Int32Array(s.length) : this.#floats(s.length);
    for (let i = 0; i < s.length; i++) out[i] = dtype === "i32" ? Math.trunc(s[i]) : s[i];
    return new CpuStorage(out, dtype);
  }

  // ---- elementwise ------------------------------------------------------------------------------------------

  unary(op: UnaryOp, x: Storage, alpha = 0): Storage {
    const a = this.#f32(x);
    const out = this.#floats(a.length);
    for (let i = 0; i < a.length; i++) out[i] = unaryForward(op, a[i], alpha);
    return new CpuStorage(out, "f32");
  }

  unaryGrad(op: UnaryOp, x: Storage, dy: Storage, alpha = 0): Storage {
    const a = this.#f32(x);
    const g = this.#f32(dy);
    const out = this.#floats(a.length);
    for (let i = 0; i < a.length; i++) out[i] = g[i] * unaryDerivative(op, a[i], alpha);
    return new CpuStorage(out, "f32");
  }

  binary(op: BinaryOp, a: Storage, aView: View, b: Storage, bView: View, shape: number[]): Storage {
    const x = this.#get(a);
    const y = this.#get(b);
    const n = numel(shape);
    const out = this.#floats(n);
    const index = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      out[i] = binaryForward(op, x[viewOffset(aView, index)], y[viewOffset(bView, index)]);
      increment(index, shape);
    }
    return new CpuStorage(out, "f32");
  }

  where(
    cond: Storage,
    condView: View,
    a: Storage,
    aView: View,
    b: Storage,
    bView: View,
    shape: number[],
  ): Storage {
    const c = this.#get(cond);
    const x = this.#get(a);
    const y = this.#get(b);
    const n = numel(shape);
    const out = a.dtype === "i32" ? new Int32Array(n) : this.#floats(n);
    const index = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      out[i] = c[viewOffset(condView, index)] !== 0
        ? x[viewOffset(aView, index)]
        : y[viewOffset(bView, index)];
      increment(index, shape);
    }
    return new CpuStorage(out, a.dtype);
  }

  // ---- reductions -------------------------------------------------------------------------------------------

  reduce(op: ReduceOp, x: Storage, outer: number, n: number, inner: number): Storage {
    const a = this.#f32(x);
    const out = this.#floats(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = op === "sum" ? 0 : -Infinity;
        for (let j = 0; j < n; j++) {
          const v = a[(o * n + j) * inner + i];
          acc = op === "sum" ? acc + v : Math.max(acc, v);
        }
        out[o * inner + i] = acc;
      }
    }
    return new CpuStorage(out, "f32");
  }

  argmax(x: Storage, rows: number, n: number): Storage {
    const a = this.#f32(x);
    const out = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (a[r * n + j] > a[r * n + best]) best = j; // strict >: first index wins
      out[r] = best;
    }
    return new CpuStorage(out, "i32");
  }

  // ---- linear algebra ---------------------------------------------------------------------------------------

  matmul(a: Storage, b: Storage, p: MatmulParams): Storage {
    const C = this.#floats(p.batch * p.m * p.n);
    matmulFast(this.#f32(a), this.#f32(b), C, p); // equal to matmulNaive, the specification (cpu_matmul.ts)
    return new CpuStorage(C, "f32");
  }

  // ---- gated feed-forward -----------------------------------------------------------------------------------

  swiglu(gate: Storage, up: Storage, length: number): Storage {
    const G = this.#f32(gate);
    const U = this.#f32(up);
    const out = this.#floats(length);
    for (let i = 0; i < length; i++) out[i] = unaryForward("silu", G[i], 0) * U[i];
    return new CpuStorage(out, "f32");
  }

  swigluBackward(gate: Storage, up: Storage, dy: Storage, length: number): { dgate: Storage; dup: Storage } {
    const G = this.#f32(gate);
    const U = this.#f32(up);
    const D = this.#f32(dy);
    const dgate = this.#floats(length);
    const dup = this.#floats(length);
    for (let i = 0; i < length; i++) {
      dgate[i] = D[i] * U[i] * unaryDerivative("silu", G[i], 0); // through silu to the gate
      dup[i] = D[i] * unaryForward("silu", G[i], 0); // the gate's value multiplies up
    }
    return { dgate: new CpuStorage(dgate, "f32"), dup: new CpuStorage(dup, "f32") };
  }

  // ---- normalisation and softmax ----------------------------------------------------------------------------

  softmax(x: Storage, rows: number, n: number, log: boolean): Storage {
    const a = this.#f32(x);
    const out = this.#floats(rows * n);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      // Subtract the row maximum so exp never overflows; the result is unchanged mathematically.
      let max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, a[o + j]);
      let sum = 0;
      for (let j = 0; j < n; j++) sum += Math.exp(a[o + j] - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < n; j++) out[o + j] = log ? a[o + j] - lse : Math.exp(a[o + j] - lse);
    }
    return new CpuStorage(out, "f32");
  }

  softmaxBackward(y: Storage, dy: Storage, rows: number, n: number, log: boolean): Storage {
    const Y = this.#f32(y);
    const G = this.#f32(dy);
    const out = this.#floats(rows * n);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      let dot = 0;
      for (let j = 0; j < n; j++) dot += log ? G[o + j] : G[o + j] * Y[o + j];
      for (let j = 0; j < n; j++) {
        out[o + j] = log ? G[o + j] - Math.exp(Y[o + j]) * dot : Y[o + j] * (G[o + j] - dot);
      }
    }
    return new CpuStorage(out, "f32");
  }

  rmsnorm(x: Storage, w: Storage, rows: number, n: number, eps: number): { y: Storage; rstd: Storage } {
    const X = this.#f32(x);
    const W = this.#f32(w);
    const y = this.#floats(rows * n);
    const rstd = this.#floats(rows);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let j = 0; j < n; j++) ss += X[r * n + j] * X[r * n + j];
      const s = 1 / Math.sqrt(ss / n + eps);
      rstd[r] = s;
      // LLaDA's RMSNorm: normalise first, then multiply by the weight.
      for (let j = 0; j < n; j++) y[r * n + j] = X[r * n + j] * s * W[j];
    }
    return { y: new CpuStorage(y, "f32"), rstd: new CpuStorage(rstd, "f32") };
  }

  rmsnormBackward(
    x: Storage,
    w: Storage,
    rstd: Storage,
    dy: Storage,
    rows: number,
    n: number,
  ): { dx: Storage; dw: Storage } {
    const X = this.#f32(x);
    const W = this.#f32(w);
    const S = this.#f32(rstd);
    const G = this.#f32(dy);
    const dx = this.#floats(rows * n);
    const dw = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      const s = S[r];
      // With x̂ = x·s and y = x̂·w: dx = s·(g·w − x̂ · mean(g·w·x̂)).
      let dot = 0;
      for (let j = 0; j < n; j++) dot += G[r * n + j] * W[j] * X[r * n + j] * s;
      dot /= n;
      for (let j = 0; j < n; j++) {
        const xhat = X[r * n + j] * s;
        dx[r * n + j] = s * (G[r * n + j] * W[j] - xhat * dot);
        dw[j] += G[r * n + j] * xhat;
      }
    }
    return { dx: new CpuStorage(dx, "f32"), dw: new CpuStorage(this.#floatsFrom(dw), "f32") };
  }

  // ---- position -----------------------------------------------------------------------------------------------

  rope(x: Storage, positions: Storage, p: RopeParams): Storage {
    const X = this.#f32(x);
    const P = this.#i32(positions);
    const { batch, seq, heads, headDim, theta, inverse } = p;
    const half = headDim / 2;
    const out = this.#floats(X.length);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < seq; t++) {
        const pos = P[b * seq + t];
        for (let h = 0; h < heads; h++) {
          const o = ((b * seq + t) * heads + h) * headDim;
          for (let i = 0; i < half; i++) {
            // inv_freq_i = θ^(−2i/d), computed in float32 as the official code does before the outer product.
            const invFreq = Math.fround(1 / Math.pow(theta, (2 * i) / headDim));
            const angle = Math.fround(pos * invFreq);
            const c = Math.cos(angle);
            const s = inverse ? -Math.sin(angle) : Math.sin(angle);
            const x1 = X[o + i];
            const x2 = X[o + i + half];
            out[o + i] = x1 * c - x2 * s; // rotate_half(x) = cat(−x2, x1)
            out[o + i + half] = x2 * c + x1 * s;
          }
        }
      }
    }
    return new CpuStorage(out, "f32");
  }

  // ---- embedding ----------------------------------------------------------------------------------------------

  gather(table: Storage, ids: Storage, count: number, dim: number): Storage {
    const T = this.#f32(table);
    const I = this.#i32(ids);
    const rows = T.length / dim;
    const out = this.#floats(count * dim);
    for (let i = 0; i < count; i++) {
      const id = I[i];
      if (id < 0 || id >= rows) {
        throw new Error(`gather: token id ${id} at position ${i} is outside [0, ${rows})`);
      }
      out.set(T.subarray(id * dim, (id + 1) * dim), i * dim);
    }
    return new CpuStorage(out, "f32");
  }

  scatterAdd(ids: Storage, dy: Storage, count: number, dim: number, vocab: number): Storage {
    const I = this.#i32(ids);
    const G = this.#f32(dy);
    const out = this.#floats(vocab * dim);
    // Summed in index order (in float32, as the WebGPU kernel does), so the result is deterministic.
    for (let i = 0; i < count; i++) {
      const id = I[i];
      for (let j = 0; j < dim; j++) out[id * dim + j] += G[i * dim + j];
    }
    return new CpuStorage(out, "f32");
  }

  // ---- loss -----------------------------------------------------------------------------------------------------

  crossEntropy(logits: Storage, targets: Storage, weights: Storage, rows: number, vocab: number): Storage {
    const X = this.#f32(logits);
    const T = this.#i32(targets);
    const W = this.#f32(weights);
    const out = this.#floats(rows);
    for (let r = 0; r < rows; r++) {
      if (W[r] === 0) continue;
      checkTarget(T[r], r, vocab);
      const o = r * vocab;
      out[r] = W[r] * (logSumExp(X, o, vocab) - X[o + T[r]]);
    }
    return new CpuStorage(out, "f32");
  }

  crossEntropyBackward(
    logits: Storage,
    targets: Storage,
    weights: Storage,
    dloss: Storage,
    rows: number,
    vocab: number,
  ): Storage {
    const X = this.#f32(logits);
    const T = this.#i32(targets);
    const W = this.#f32(weights);
    const D = this.#f32(dloss);
    const out = this.#floats(rows * vocab);
    for (let r = 0; r < rows; r++) {
      const scale = D[r] * W[r];
      if (scale === 0) continue;
      checkTarget(T[r], r, vocab);
      const o = r * vocab;
      const lse = logSumExp(X, o, vocab);
      for (let j = 0; j < vocab; j++) out[o + j] = scale * (Math.exp(X[o + j] - lse) - (j === T[r] ? 1 : 0));
    }
    return new CpuStorage(out, "f32");
  }

  // ---- attention -----------------------------------------------------------------------------------------------

  attention(
    q: Storage,
    k: Storage,
    v: Storage,
    keyMask: Storage | null,
    p: AttentionParams,
  ): { out: Storage; lse: Storage } {
    const Q = this.#f32(q);
    const K = this.#f32(k);
    const V = this.#f32(v);
    const M = keyMask ? this.#i32(keyMask) : null;
    const { batch, heads, tq, tk, headDim: D } = p;
    const out = this.#floats(batch * heads * tq * D);
    const lse = this.#floats(batch * heads * tq);
    const scores = new Float64Array(tk);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < tq; i++) {
          const qi = attentionRow(p.layout, heads, tq, b, h, i) * D; // q_i and out_i start here
          const li = (b * heads + h) * tq + i; // lse is [B, H, Tq] in either layout
          // s_j = scale · q_i·k_j for every key the query may see.
          let max = -Infinity;
          for (let j = 0; j < tk; j++) {
            if (!allowed(M, b, tk, i, j, p.causal)) {
              scores[j] = -Infinity;
              continue;
            }
            const kj = attentionRow(p.layout, heads, tk, b, h, j) * D;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += Q[qi + d] * K[kj + d];
            scores[j] = dot * p.scale;
            max = Math.max(max, scores[j]);
          }
          if (max === -Infinity) {
            lse[li] = NEG_BIG; // nothing to attend to: output stays zero
            continue;
          }
          let sum = 0;
          for (let j = 0; j < tk; j++) sum += scores[j] === -Infinity ? 0 : Math.exp(scores[j] - max);
          const l = max + Math.log(sum);
          lse[li] = l;
          // out_i = Σ_j softmax(s)_j v_j
          for (let j = 0; j < tk; j++) {
            if (scores[j] === -Infinity) continue;
            const pj = Math.exp(scores[j] - l);
            const vj = attentionRow(p.layout, heads, tk, b, h, j) * D;
            for (let d = 0; d < D; d++) out[qi + d] += pj * V[vj + d];
          }
        }
      }
    }
    return { out: new CpuStorage(out, "f32"), lse: new CpuStorage(lse, "f32") };
  }

  attentionBackward(
    q: Storage,
    k: Storage,
    v: Storage,
    keyMask: Storage | null,
    out: Storage,
    lse: Storage,
    dout: Storage,
    p: AttentionParams,
  ): { dq: Storage; dk: Storage; dv: Storage } {
    const Q = this.#f32(q);
    const K = this.#f32(k);
    const V = this.#f32(v);
    const O = this.#f32(out);
    const L = this.#f32(lse);
    const G = this.#f32(dout);
    const M = keyMask ? this.#i32(keyMask) : null;
    const { batch, heads, tq, tk, headDim: D } = p;
    const dq = this.#floats(Q.length);
    const dk = new Float64Array(K.length);
    const dv = new Float64Array(V.length);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < tq; i++) {
          const qi = attentionRow(p.layout, heads, tq, b, h, i) * D; // q_i, out_i, dout_i and dq_i start here
          const li = L[(b * heads + h) * tq + i]; // lse is [B, H, Tq] in either layout
          if (li <= NEG_BIG) continue; // a row that attended to nothing has no gradient
          // delta_i = dout_i · out_i  (= Σ_j P_ij dP_ij, the softmax backward's row dot product)
          let delta = 0;
          for (let d = 0; d < D; d++) delta += G[qi + d] * O[qi + d];
          for (let j = 0; j < tk; j++) {
            if (!allowed(M, b, tk, i, j, p.causal)) continue;
            const kj = attentionRow(p.layout, heads, tk, b, h, j) * D; // k_j, v_j, dk_j and dv_j start here
            let dot = 0;
            for (let d = 0; d < D; d++) dot += Q[qi + d] * K[kj + d];
            const pij = Math.exp(dot * p.scale - li); // P recomputed from the saved log-sum-exp
            let dp = 0; // dP_ij = dout_i · v_j
            for (let d = 0; d < D; d++) dp += G[qi + d] * V[kj + d];
            const ds = pij * (dp - delta) * p.scale; // dS_ij, with the scale folded in
            for (let d = 0; d < D; d++) {
              dv[kj + d] += pij * G[qi + d];
              dq[qi + d] += ds * K[kj + d];
              dk[kj + d] += ds * Q[qi + d];
            }
          }
        }
      }
    }
    return {
      dq: new CpuStorage(dq, "f32"),
      dk: new CpuStorage(this.#floatsFrom(dk), "f32"),
      dv: new CpuStorage(this.#floatsFrom(dv), "f32"),
    };
  }

  // ---- optimiser -------------------------------------------------------------------------------------------------

  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, p: AdamWParams): void {
    const P = this.#f32(param);
    const G = this.#f32(grad);
    const Mo = this.#f32(m);
    const Vo = this.#f32(v);
    const bc1 = 1 - Math.pow(p.beta1, p.step);
    const bc2 = 1 - Math.pow(p.beta2, p.step);
    for (let i = 0; i < P.length; i++) {
      Mo[i] = p.beta1 * Mo[i] + (1 - p.beta1) * G[i];
      Vo[i] = p.beta2 * Vo[i] + (1 - p.beta2) * G[i] * G[i];
      const mhat = Mo[i] / bc1;
      const vhat = Vo[i] / bc2;
      // Decoupled weight decay (Loshchilov & Hutter): applied to the parameter, not folded into the gradient.
      P[i] -= p.lr * (mhat / (Math.sqrt(vhat) + p.eps) + p.weightDecay * P[i]);
    }
  }

  // ---- sampling --------------------------------------------------------------------------------------------------

  greedyStep(logits: Storage, canvas: Storage, uncertain: Storage, p: GreedyStepParams): void {
    greedyStepLoops(this.#f32(logits), this.#i32(canvas), this.#i32(uncertain), p);
  }
}

// ---- helpers shared by the loops above -----------------------------------------------------------------------

/** Flat element index of an n-d index under a view. */
function viewOffset(view: View, index: number[]): number {
  let o = view.offset;
  for (let d = 0; d < index.length; d++) o += index[d] * view.strides[d];
  return o;
}

/** Advances an n-d index in row-major order (the last dimension fastest). */
function increment(index: number[], shape: number[]): void {
  for (let d = shape.length - 1; d >= 0; d--) {
    if (++index[d] < shape[d]) return;
    index[d] = 0;
  }
}

/** May query i attend to key j of batch row b? */
function allowed(
  mask: Int32Array | null,
  b: number,
  tk: number,
  i: number,
  j: number,
  causal: boolean,
): boolean {
  if (causal && j > i) return false;
  return mask === null || mask[b * tk + j] !== 0;
}

/** Throws unless a scored row's target id is a valid column. */
function checkTarget(target: number, row: number, vocab: number): void {
  if (target < 0 || target >= vocab) {
    throw new Error(`crossEntropy: target ${target} at row ${row} is outside [0, ${vocab})`);
  }
}

/** log Σ_j exp(x[o + j]) over n entries, stabilised by the maximum. */
function logSumExp(x: Floats, o: number, n: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, x[o + j]);
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(x[o + j] - max);
  return max + Math.log(sum);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** f(x) for each {@link UnaryOp}. */
export function unaryForward(op: UnaryOp, x: number, alpha: number): number {
  switch (op) {
    case "neg":
      return -x;
    case "exp":
      return Math.exp(x);
    case "log":
      return Math.log(x);
    case "sqrt":
      return Math.sqrt(x);
    case "rsqrt":
      return 1 / Math.sqrt(x);
    case "sigmoid":
      return sigmoid(x);
    case "silu":
      return x * sigmoid(x);
    case "relu":
      return x > 0 ? x : 0;
    case "tanh":
      return Math.tanh(x);
    case "abs":
      return Math.abs(x);
    case "square":
      return x * x;
    case "scale":
      return alpha * x;
    case "addScalar":
      return x + alpha;
    case "powScalar":
      return Math.pow(x, alpha);
  }
}

/** f'(x) for each {@link UnaryOp}. */
export function unaryDerivative(op: UnaryOp, x: number, alpha: number): number {
  switch (op) {
    case "neg":
      return -1;
    case "exp":
      return Math.exp(x);
    case "log":
      return 1 / x;
    case "sqrt":
      return 0.5 / Math.sqrt(x);
    case "rsqrt":
      return -0.5 * Math.pow(x, -1.5);
    case "sigmoid": {
      const s = sigmoid(x);
      return s * (1 - s);
    }
    case "silu": {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    }
    case "relu":
      return x > 0 ? 1 : 0;
    case "tanh": {
      const t = Math.tanh(x);
      return 1 - t * t;
    }
    case "abs":
      return x > 0 ? 1 : x < 0 ? -1 : 0;
    case "square":
      return 2 * x;
    case "scale":
      return alpha;
    case "addScalar":
      return 1;
    case "powScalar":
      return alpha * Math.pow(x, alpha - 1);
  }
}

/** f(a, b) for each {@link BinaryOp}. */
export function binaryForward(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case "add":
      return a + b;
    case "sub":
      return a - b;
    case "mul":
      return a * b;
    case "div":
      return a / b;
    case "maximum":
      return Math.max(a, b);
    case "minimum":
      return Math.min(a, b);
    case "pow":
      return Math.pow(a, b);
    case "eq":
      return a === b ? 1 : 0;
    case "lt":
      return a < b ? 1 : 0;
    case "gt":
      return a > b ? 1 : 0;
  }
}
