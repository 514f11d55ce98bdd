/**
 * Fake {@link LogitsModel}s for the LLaDA module tests: deterministic functions of their input, cheap, and each
 * with a property the tests rely on.
 *
 * - {@link HashModel}: pseudo-random logits that depend on the whole visible row and the position, as a real
 *   network's would; it respects the attention mask (padding changes nothing), so a row's logits do not depend
 *   on its padding or its batch-mates.
 * - {@link TableModel}: context-free logits, `table[position]`, whatever the input.
 * - {@link JointModel}: the exact conditionals `q(x^i = v | visible tokens)` of an explicit joint distribution `q`
 *   over short sequences — the ideal mask predictor for that `q`.
 *
 * Every model records its calls (rows and lengths) so tests can count network evaluations.
 */

import type { CachedLogitsModel, KVCache, LogitsModel } from "../src/llada/logits_model.ts";

/** One 32-bit mixing step (a SplitMix-style finaliser over `h ^ v`). */
export function mix32(h: number, v: number): number {
  let z = (h ^ Math.imul(v | 0, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** The first real position of row `b` (the number of left-padding positions). */
function firstReal(b: number, length: number, attentionMask?: Uint8Array): number {
  if (!attentionMask) return 0;
  let i = 0;
  while (i < length && attentionMask[b * length + i] === 0) i++;
  return i;
}

/** A record of one call to a fake model. */
export interface Call {
  batch: number;
  length: number;
  tokens: Int32Array;
  attentionMask?: Uint8Array;
}

/** Base class: records calls. */
abstract class Recording implements LogitsModel {
  readonly calls: Call[] = [];
  constructor(readonly vocabSize: number) {}
  logits(
    tokens: Int32Array,
    batch: number,
    length: number,
    attentionMask?: Uint8Array,
  ): Promise<Float32Array> {
    this.calls.push({ batch, length, tokens: tokens.slice(), attentionMask: attentionMask?.slice() });
    const out = new Float32Array(batch * length * this.vocabSize);
    for (let b = 0; b < batch; b++) {
      const first = firstReal(b, length, attentionMask);
      this.row(
        tokens.subarray(b * length + first, (b + 1) * length),
        out,
        (b * length + first) * this.vocabSize,
      );
    }
    return Promise.resolve(out);
  }
  /** Writes the logits of one unpadded row at `out[offset …]`. */
  protected abstract row(tokens: Int32Array, out: Float32Array, offset: number): void;
}

/** Options of {@link HashModel}. */
export interface HashModelOptions {
  /** Which pseudo-random function (default 0). */
  seed?: number;
  /** Logits are uniform in `[−scale/2, scale/2]` (default 6). */
  scale?: number;
  /** Quantise the uniform draw to this many levels (creates exact ties); default: no quantisation. */
  levels?: number;
  /** Whether the logits depend on the row's tokens (default true) or only on the position. */
  context?: boolean;
  /** A fixed logit for one token id (e.g. a very low logit for the mask token). */
  fixed?: { id: number; logit: number }[];
}

/** Pseudo-random logits, a deterministic function of (seed, visible row, position, token). */
export class HashModel extends Recording {
  constructor(vocabSize: number, readonly options: HashModelOptions = {}) {
    super(vocabSize);
  }
  protected row(tokens: Int32Array, out: Float32Array, offset: number): void {
    const { seed = 0, scale = 6, levels, context = true, fixed = [] } = this.options;
    const V = this.vocabSize;
    let h = mix32(seed, 0x5eed);
    if (context) { for (const t of tokens) h = mix32(h, t + 1); }
    for (let i = 0; i < tokens.length; i++) {
      const hi = mix32(h, i + 7);
      for (let v = 0; v < V; v++) {
        let u = mix32(hi, v + 13) / 2 ** 32;
        if (levels) u = Math.floor(u * levels) / levels;
        out[offset + i * V + v] = scale * (u - 0.5);
      }
      for (const f of fixed) out[offset + i * V + f.id] = f.logit;
    }
  }
}

/** Context-free logits: position `i` of a row always gets `table[min(i, table.length − 1)]`. */
export class TableModel extends Recording {
  constructor(readonly table: number[][]) {
    super(table[0].length);
  }
  protected row(tokens: Int32Array, out: Float32Array, offset: number): void {
    const V = this.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      out.set(this.table[Math.min(i, this.table.length - 1)], offset + i * V);
    }
  }
}

/**
 * The exact conditionals of a joint distribution `q` over sequences of `length` tokens from `{0 … R−1}`; the mask
 * id is `R` (so `vocabSize = R + 1`) and gets logit `−∞`. At a masked position `i` the logits are
 * `log q(x^i = v | the unmasked tokens)`; at unmasked positions they are 0.
 */
export class JointModel extends Recording {
  readonly maskId: number;
  /** @param q probabilities of all `R^length` sequences, index = digits of the sequence in base `R`. */
  constructor(readonly R: number, readonly length: number, readonly q: Float64Array) {
    super(R + 1);
    this.maskId = R;
    if (q.length !== R ** length) throw new Error(`JointModel: expected ${R ** length} probabilities`);
  }
  /** The digits (tokens) of sequence number `s`. */
  decode(s: number): number[] {
    const x: number[] = [];
    for (let i = 0; i < this.length; i++) {
      x.push(s % this.R);
      s = Math.floor(s / this.R);
    }
    return x;
  }
  /** The index of a sequence. */
  encode(x: readonly number[]): number {
    let s = 0;
    for (let i = this.length - 1; i >= 0; i--) s = s * this.R + x[i];
    return s;
  }
  protected row(tokens: Int32Array, out: Float32Array, offset: number): void {
    const V = this.vocabSize;
    const T = tokens.length;
    if (T !== this.length) throw new Error(`JointModel: expected rows of ${this.length}, got ${T}`);
    const marg = new Float64Array(T * this.R);
    for (let s = 0; s < this.q.length; s++) {
      const x = this.decode(s);
      if (x.some((v, i) => tokens[i] !== this.maskId && tokens[i] !== v)) continue; // inconsistent with visible
      for (let i = 0; i < T; i++) if (tokens[i] === this.maskId) marg[i * this.R + x[i]] += this.q[s];
    }
    for (let i = 0; i < T; i++) {
      if (tokens[i] !== this.maskId) continue;
      for (let v = 0; v < this.R; v++) out[offset + i * V + v] = Math.log(marg[i * this.R + v]);
      out[offset + i * V + this.maskId] = -Infinity;
    }
  }
}

/** A random strictly positive joint distribution over `R^length` sequences, from a seed. */
export function randomJoint(R: number, length: number, seed: number): Float64Array {
  const q = new Float64Array(R ** length);
  let total = 0;
  for (let s = 0; s < q.length; s++) {
    q[s] = 0.05 + mix32(seed, s) / 2 ** 32;
    total += q[s];
  }
  for (let s = 0; s < q.length; s++) q[s] /= total;
  return q;
}

/** `log softmax(row)[target]` in float64, written out plainly for hand computations in tests. */
export function logSoftmax(row: ArrayLike<number>, target: number): number {
  const xs = Array.from(row);
  const max = Math.max(...xs);
  return xs[target] - max - Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0));
}

/**
 * A {@link HashModel} with a fake KV cache: the cache is a copy of the canvas it was filled from, and a cached
 * evaluation of `[from, to)` computes the window's logits as if every position outside it still held the cached
 * tokens. That is the approximation a real cache makes (stale keys and values outside the window), in a form
 * whose effect a test can see: it is exact when nothing outside the window changed since the refresh.
 */
export class CachedHashModel extends HashModel implements CachedLogitsModel {
  /** Full evaluations (refreshes) and cached ones, in order. */
  readonly kinds: ("full" | "cached")[] = [];
  /** The windows `[from, to)` of the cached evaluations. */
  readonly windows: [number, number][] = [];
  async logitsAndCache(
    tokens: Int32Array,
    batch: number,
    length: number,
    attentionMask?: Uint8Array,
  ): Promise<{ logits: Float32Array; cache: KVCache & { tokens: Int32Array } }> {
    this.kinds.push("full");
    const logits = await this.logits(tokens, batch, length, attentionMask);
    return { logits, cache: { tokens: tokens.slice(), dispose: () => {} } };
  }
  async logitsCached(
    cache: KVCache,
    tokens: Int32Array,
    batch: number,
    length: number,
    from: number,
    to: number,
    attentionMask?: Uint8Array,
  ): Promise<Float32Array> {
    this.kinds.push("cached");
    this.windows.push([from, to]);
    const seen = (cache as KVCache & { tokens: Int32Array }).tokens.slice();
    for (let b = 0; b < batch; b++) {
      seen.set(tokens.subarray(b * length + from, b * length + to), b * length + from);
    }
    const all = await this.logits(seen, batch, length, attentionMask);
    const V = this.vocabSize;
    const out = new Float32Array(batch * (to - from) * V);
    for (let b = 0; b < batch; b++) {
      out.set(all.subarray((b * length + from) * V, (b * length + to) * V), b * (to - from) * V);
    }
    return out;
  }
}
