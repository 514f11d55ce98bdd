/**
 * The backend contract: a small set of primitives over raw, contiguous, row-major storage.
 *
 * Two backends implement it. `cpu.ts` does so with plain loops and is the executable specification: when the
 * documentation below and a backend disagree, the CPU backend's loops say what was meant. `webgpu.ts` implements
 * the same set by dispatching the WGSL kernels in `shaders/`, and every primitive has a parity test against the
 * CPU backend.
 *
 * Rules every primitive follows:
 * - Inputs are never modified (except the in-place `adamw` and `copyInto`, which say so), and every output is a
 *   fresh {@link Storage} the caller owns and must {@link Backend.release}.
 * - Shapes are passed explicitly as numbers; storage knows only its length and dtype. The tensor layer above
 *   computes shapes and checks them, so primitives trust their arguments (they validate only cheap invariants).
 * - Work is enqueued synchronously; the only asynchronous call is {@link Backend.read}. On WebGPU this means many
 *   primitives are recorded and submitted together and one read waits for all of them.
 *
 * Views: {@link View} describes where an n-dimensional array lives inside a flat storage (offset and per-dimension
 * strides, in elements). One strided copy with views on both sides implements transpose, permute, broadcast
 * (stride 0), slice (offset and strides) and the scatter half of concatenation.
 *
 * @module
 */

/** Element types. Token ids and masks are `i32`; everything else is `f32`. */
export type DType = "f32" | "i32";

/**
 * A typed array holding a storage's elements. `f32` storage reads back as Float32Array (Float64Array from a CPU
 * backend in float64 mode, used for gradient checks); `i32` as Int32Array. `upload` accepts any of them and
 * converts floats to the backend's precision.
 */
export type TypedArray = Float32Array | Float64Array | Int32Array;

/** A backend-owned block of `length` elements of `dtype`. Opaque above the backend. */
export interface Storage {
  readonly length: number;
  readonly dtype: DType;
}

/** Where an n-d array lives in flat storage: element index = offset + Σ_d index_d · strides[d]. */
export interface View {
  offset: number;
  strides: number[];
}

/**
 * Elementwise functions of one argument, in the order the WGSL kernels number them (`UNARY_NEG` = 0, …). `alpha` is
 * the scalar some of them take. This list is the one source of the ops: the type, the CPU loops' switch and the
 * WGSL constants all derive from it.
 */
export const UNARY_OPS = [
  "neg", // −x
  "exp", // eˣ
  "log", // ln x
  "sqrt", // √x
  "rsqrt", // 1/√x
  "sigmoid", // 1/(1+e^−x)
  "silu", // x·sigmoid(x)
  "relu", // max(x, 0)
  "tanh", // tanh x
  "abs", // |x|
  "square", // x²
  "scale", // alpha·x
  "addScalar", // x + alpha
  "powScalar", // x^alpha (x > 0, or alpha an integer)
] as const;

/** One of {@link UNARY_OPS}. */
export type UnaryOp = typeof UNARY_OPS[number];

/**
 * Elementwise functions of two broadcast arguments, in the order the WGSL kernels number them (`BINARY_ADD` = 0,
 * …). Comparisons give 1 or 0 (as f32).
 */
export const BINARY_OPS = [
  "add",
  "sub",
  "mul",
  "div",
  "maximum",
  "minimum",
  "pow",
  "eq",
  "lt",
  "gt",
] as const;

/** One of {@link BINARY_OPS}. */
export type BinaryOp = typeof BINARY_OPS[number];

/** Reductions along one axis. */
export type ReduceOp = "sum" | "max";

/** Batched matrix product `C[b] = op(A[b]) · op(B[b])` with `op` an optional transpose. */
export interface MatmulParams {
  batch: number;
  /** Rows of C. */
  m: number;
  /** Columns of C. */
  n: number;
  /** The contracted dimension. */
  k: number;
  /** A is stored `[k, m]` (per batch) and used transposed; otherwise `[m, k]`. */
  transA: boolean;
  /** B is stored `[n, k]` (per batch) and used transposed; otherwise `[k, n]`. */
  transB: boolean;
  /** Elements between consecutive batch items of A (0 broadcasts one A over the batch). Default m·k. */
  strideA?: number;
  /** Elements between consecutive batch items of B (0 broadcasts one B, e.g. a weight matrix). Default k·n. */
  strideB?: number;
}

/** Rotary position embedding over `x` laid out `[batch, seq, heads, headDim]`. */
export interface RopeParams {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  /** Base θ of `inv_freq_i = θ^(−2i/headDim)`. */
  theta: number;
  /** Rotate by −angle: the backward pass of a rotation is its inverse. */
  inverse: boolean;
}

/**
 * How an attention operand orders its rows of headDim values: `"bhtd"` is `[B, H, T, D]` (each head's positions
 * together), `"bthd"` is `[B, T, H, D]` (each position's heads side by side, as the q, k and v projections produce
 * them, so a model that uses it needs no permute around attention).
 */
export type AttentionLayout = "bhtd" | "bthd";

/** The row (in units of headDim) of batch item b, head h, position t in an operand of `length` positions. */
export function attentionRow(
  layout: AttentionLayout,
  heads: number,
  length: number,
  b: number,
  h: number,
  t: number,
): number {
  return layout === "bhtd" ? (b * heads + h) * length + t : (b * length + t) * heads + h;
}

/** Scaled dot-product attention over q `[B,H,Tq,D]`, k and v `[B,H,Tk,D]` (or `[B,T,H,D]`, see `layout`). */
export interface AttentionParams {
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  headDim: number;
  /** Multiplies q·k (usually 1/√headDim). */
  scale: number;
  /** Query i may attend to key j only if j ≤ i (for the autoregressive twin; requires tq == tk). */
  causal: boolean;
  /** The layout of q, k, v, the output and their gradients; the saved lse is `[B,H,Tq]` in both. */
  layout: AttentionLayout;
}

/** AdamW hyper-parameters for one update (the step count `t` starts at 1). */
export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

/**
 * One step of greedy decoding with low-confidence remasking over a canvas of token ids (see
 * {@link Backend.greedyStep} and `shaders/sampling.wgsl`).
 */
export interface GreedyStepParams {
  batch: number;
  /** Positions per row of the canvas. */
  length: number;
  /** Tokens a prediction is chosen among (the first `vocab` logits of each position). */
  vocab: number;
  /** Elements between the logits of consecutive positions (≥ vocab; the embedding's padding rows are skipped). */
  row: number;
  /** The current block: positions `[start, end)` of each row. */
  start: number;
  end: number;
  /** The mask token: the positions holding it are the candidates, and it is never predicted. */
  maskId: number;
  /** Positions to commit in each row. */
  count: number;
  /** The relative separation of R the host's float64 confidences need ({@link greedyTau}). */
  tau: number;
}

/**
 * The separation {@link Backend.greedyStep} demands between the chosen and the rest, in units of `1 + R`: a host
 * computing `c = softmax(l)[x̂]` in float64 over `vocab` terms (each `exp` within one ulp, `vocab` rounded
 * additions, one division) is within `(vocab + 3)·2⁻⁵²` of the exact `c = 1/(1 + R)` relatively, so two exact
 * values of R further apart than `3·(vocab + 3)·2⁻⁵²·(1 + R)` keep their order in float64. Four times that, to
 * spare the argument its first-order approximations.
 */
export function greedyTau(vocab: number): number {
  return 4 * 3 * (vocab + 3) * 2 ** -52;
}

/** The primitive set. See the module documentation for the rules. */
export interface Backend {
  /** "cpu" or "webgpu". */
  readonly name: "cpu" | "webgpu";
  /** A human-readable description (the adapter's, for WebGPU). */
  readonly description: string;

  // ---- memory ---------------------------------------------------------------------------------------------
  /** Copies `data` into new storage. */
  upload(data: TypedArray): Storage;
  /** New storage of `length` elements, all equal to `value`. */
  full(length: number, dtype: DType, value: number): Storage;
  /** Reads storage back (waits for all enqueued work that writes it). */
  read(s: Storage): Promise<TypedArray>;
  /** Returns storage to the backend. Using it afterwards is an error. */
  release(s: Storage): void;
  /** Submits enqueued work (a no-op on the CPU). */
  flush(): void;

  // ---- layout -----------------------------------------------------------------------------------------------
  /** `dst[dstView(idx)] = src[srcView(idx)]` for every index of `shape`. Writes into `dst` in place. */
  copyInto(src: Storage, srcView: View, dst: Storage, dstView: View, shape: number[]): void;
  /**
   * New contiguous storage of `shape` with `out[idx] = src[srcView(idx)]`: a permuted, broadcast or sliced view
   * made real. The same as {@link copyInto} into fresh storage, without first filling storage that every element
   * of the copy overwrites.
   */
  copy(src: Storage, srcView: View, shape: number[]): Storage;
  /** Converts between f32 and i32 (f32 → i32 truncates toward zero). */
  cast(x: Storage, dtype: DType): Storage;

  // ---- elementwise ------------------------------------------------------------------------------------------
  /** `y = f(x)` elementwise, f32. */
  unary(op: UnaryOp, x: Storage, alpha?: number): Storage;
  /** The backward of {@link unary}: `dx = dy · f'(x)`, f32. */
  unaryGrad(op: UnaryOp, x: Storage, dy: Storage, alpha?: number): Storage;
  /** `out[idx] = f(a[aView(idx)], b[bView(idx)])` over `shape` (broadcast with stride-0 views). Output contiguous f32. */
  binary(op: BinaryOp, a: Storage, aView: View, b: Storage, bView: View, shape: number[]): Storage;
  /** `out[idx] = cond[idx] ≠ 0 ? a[idx] : b[idx]` with broadcast views, output contiguous; dtype of a and b. */
  where(
    cond: Storage,
    condView: View,
    a: Storage,
    aView: View,
    b: Storage,
    bView: View,
    shape: number[],
  ): Storage;

  // ---- reductions -------------------------------------------------------------------------------------------
  /** Reduces x viewed as `[outer, n, inner]` over the middle axis to `[outer, inner]`. */
  reduce(op: ReduceOp, x: Storage, outer: number, n: number, inner: number): Storage;
  /** Index of the maximum of each row of x `[rows, n]` (first index wins ties), as i32 `[rows]`. */
  argmax(x: Storage, rows: number, n: number): Storage;

  // ---- linear algebra ---------------------------------------------------------------------------------------
  /** Batched matrix product; output `[batch, m, n]`. */
  matmul(a: Storage, b: Storage, p: MatmulParams): Storage;

  // ---- gated feed-forward -----------------------------------------------------------------------------------
  /** SwiGLU's gate: `out = silu(gate) · up = gate · sigmoid(gate) · up`, elementwise over `length` elements. */
  swiglu(gate: Storage, up: Storage, length: number): Storage;
  /** Backward of {@link swiglu}: `dgate = dy · up · silu'(gate)`, `dup = dy · silu(gate)`. */
  swigluBackward(gate: Storage, up: Storage, dy: Storage, length: number): { dgate: Storage; dup: Storage };

  // ---- normalisation and softmax ----------------------------------------------------------------------------
  /** Softmax (or log-softmax) of each row of x `[rows, n]`. */
  softmax(x: Storage, rows: number, n: number, log: boolean): Storage;
  /**
   * Backward of {@link softmax} given its output y: softmax `dx = y ⊙ (dy − Σ dy⊙y)`;
   * log-softmax `dx = dy − eʸ · Σ dy`.
   */
  softmaxBackward(y: Storage, dy: Storage, rows: number, n: number, log: boolean): Storage;
  /**
   * RMSNorm of each row of x `[rows, n]`: `y = x · rstd · w` with `rstd = 1/√(mean(x²) + eps)`.
   * Returns y and rstd `[rows]` (saved for backward).
   */
  rmsnorm(x: Storage, w: Storage, rows: number, n: number, eps: number): { y: Storage; rstd: Storage };
  /** Backward of {@link rmsnorm}: dx `[rows, n]` and dw `[n]` (summed over rows in a fixed order). */
  rmsnormBackward(
    x: Storage,
    w: Storage,
    rstd: Storage,
    dy: Storage,
    rows: number,
    n: number,
  ): { dx: Storage; dw: Storage };

  // ---- position -----------------------------------------------------------------------------------------------
  /**
   * Rotary embedding, rotate-half convention: with half = headDim/2 and angle = pos · θ^(−2i/headDim) for
   * i < half, `y[i] = x[i]·cos − x[i+half]·sin`, `y[i+half] = x[i+half]·cos + x[i]·sin`.
   * positions is i32 `[batch, seq]`.
   */
  rope(x: Storage, positions: Storage, p: RopeParams): Storage;

  // ---- embedding ----------------------------------------------------------------------------------------------
  /** Rows of `table` `[vocab, dim]` picked by i32 `ids` `[count]`: output `[count, dim]`. */
  gather(table: Storage, ids: Storage, count: number, dim: number): Storage;
  /** Backward of {@link gather}: `out[v] = Σ_{i: ids[i]=v} dy[i]`, `[vocab, dim]`, summed in index order. */
  scatterAdd(ids: Storage, dy: Storage, count: number, dim: number, vocab: number): Storage;

  // ---- loss -----------------------------------------------------------------------------------------------------
  /**
   * Weighted cross-entropy per row of logits `[rows, vocab]`: `loss[r] = w[r] · (logsumexp(x_r) − x_r[t_r])`,
   * with i32 targets `[rows]` and f32 weights `[rows]`. Rows with weight 0 give 0 whatever their target.
   */
  crossEntropy(logits: Storage, targets: Storage, weights: Storage, rows: number, vocab: number): Storage;
  /** Backward of {@link crossEntropy}: `dx_r = dloss[r] · w[r] · (softmax(x_r) − onehot(t_r))`. */
  crossEntropyBackward(
    logits: Storage,
    targets: Storage,
    weights: Storage,
    dloss: Storage,
    rows: number,
    vocab: number,
  ): Storage;

  // ---- attention -----------------------------------------------------------------------------------------------
  /**
   * Fused attention: `out = softmax(scale · q kᵀ + mask) v`, with `keyMask` i32 `[batch, tk]` (0 = padding,
   * never attended) or null. Returns out `[B,H,Tq,D]` (or `[B,Tq,H,D]`: the layout of q) and the row
   * log-sum-exp `[B,H,Tq]` (saved for backward).
   * A query row with no key it may attend to gets zeros and lse = −∞ (by convention −1e30).
   */
  attention(
    q: Storage,
    k: Storage,
    v: Storage,
    keyMask: Storage | null,
    p: AttentionParams,
  ): { out: Storage; lse: Storage };
  /** Backward of {@link attention}, recomputing the probabilities from q, k and the saved lse. */
  attentionBackward(
    q: Storage,
    k: Storage,
    v: Storage,
    keyMask: Storage | null,
    out: Storage,
    lse: Storage,
    dout: Storage,
    p: AttentionParams,
  ): { dq: Storage; dk: Storage; dv: Storage };

  // ---- optimiser -------------------------------------------------------------------------------------------------
  /**
   * One AdamW update, in place on param, m and v (all f32, same length as grad):
   * `m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; p −= lr (m̂/(√v̂ + eps) + wd · p)` with bias-corrected m̂, v̂.
   */
  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, p: AdamWParams): void;

  // ---- sampling --------------------------------------------------------------------------------------------------
  /**
   * One step of the reverse process at temperature 0 with low-confidence remasking, in place on the i32 `canvas`
   * `[batch, length]`: at every position of `[start, end)` that holds `maskId`, the prediction
   * `x̂ = argmax_{v ≠ maskId} logits[v]` (first index on ties) and `R = Σ_{v ≠ x̂} exp(l_v − l_x̂)` (the confidence
   * is `1/(1 + R)`); then in each row the `count` candidates of smallest R (ties to the lower position) get their
   * prediction. logits are f32 `[batch, length, row]`. When float32 cannot certify that a float64 host would make
   * the same choice — R too close across the cut (see `tau`), or a logit NaN or +∞ — the i32 `uncertain[0]` is set
   * to 1 (never cleared), and the caller must redo the decoding on the host.
   */
  greedyStep(logits: Storage, canvas: Storage, uncertain: Storage, p: GreedyStepParams): void;
}

/** The contiguous row-major view of an array of `shape`. */
export function contiguousView(shape: readonly number[], offset = 0): View {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return { offset, strides };
}

/** Number of elements of an array of `shape`. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
