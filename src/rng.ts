/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna, 2018).
 *
 * Every stochastic function in llada-ts takes a seed or an {@link Rng}, so every result can be reproduced:
 * the masks of a training step, the Monte Carlo samples of the likelihood estimator, the Gumbel noise of the
 * sampler. `Math.random` is never used in library code.
 *
 * Why xoshiro128**: it has a 128-bit state held in four 32-bit words, which JavaScript handles exactly with
 * `Math.imul` and unsigned shifts (no BigInt), passes BigCrush, and its state is small enough to save in a
 * checkpoint as four numbers. Seeds are expanded into the state with SplitMix32, as the authors recommend, so
 * that nearby seeds (1, 2, 3…) give unrelated streams.
 *
 * Independent streams: {@link Rng.fork} derives a child generator from the parent's next outputs and a stream
 * label through SplitMix32. This is not the xoshiro "jump" function; it is simpler to read and, for the
 * stream counts used here (a handful per run), collisions of 128-bit states are not a practical concern.
 *
 * Left out on purpose: cryptographic strength (none is needed) and BigInt 64-bit variants (slower in JS).
 *
 * @module
 */

/** One step of SplitMix32: a 32-bit mixer used to expand seeds into generator state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** The saved state of an {@link Rng}: four unsigned 32-bit words (plus a cached normal, if any). */
export interface RngState {
  /** The generator's four 32-bit words. */
  s: [number, number, number, number];
  /** The second normal of the last Box–Muller pair, not yet drawn, or null. */
  spareNormal: number | null;
}

/** A seeded xoshiro128** generator with the draws the project needs. */
export class Rng {
  #s = new Uint32Array(4);
  #spareNormal: number | null = null;

  /**
   * A generator started from a seed, or resumed from a saved state.
   *
   * @param seed any integer (only its low 32 bits matter) or a saved {@link RngState}.
   */
  constructor(seed: number | RngState = 0) {
    if (typeof seed === "number") {
      if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
      const sm = { s: seed | 0 };
      for (let i = 0; i < 4; i++) this.#s[i] = splitmix32(sm);
      // The all-zero state is the one fixed point of xoshiro; SplitMix32 cannot produce four zeros, but be explicit.
      if (this.#s.every((w) => w === 0)) this.#s[0] = 1;
    } else {
      this.setState(seed);
    }
  }

  /** The next 32 random bits as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const s = this.#s;
    // result = rotl(s1 * 5, 7) * 9
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** A uniform float64 in [0, 1) with 53 random bits (two 32-bit draws). */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform float64 in the open interval (0, 1): never 0, so `log(u)` is finite. */
  uniformOpen(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    return u;
  }

  /** A uniform integer in [lo, hi] inclusive, without modulo bias (rejection sampling). */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) {
      throw new Error(`Rng.int: expected integers lo <= hi, got lo=${lo}, hi=${hi}`);
    }
    const range = hi - lo + 1;
    if (range > 2 ** 32) return lo + Math.floor(this.uniform() * range);
    const limit = Math.floor(2 ** 32 / range) * range;
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return lo + (x % range);
  }

  /** A standard normal draw (Box–Muller; the second value of each pair is cached). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const v = this.#spareNormal;
      this.#spareNormal = null;
      return v;
    }
    const u1 = this.uniformOpen();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** A standard Gumbel draw, `−log(−log u)`, in float64 (used by the sampler's Gumbel-max trick). */
  gumbel(): number {
    return -Math.log(-Math.log(this.uniformOpen()));
  }

  /** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  /** Shuffles an array in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }

  /** `k` distinct indices drawn uniformly from 0..n−1 without replacement, in the order drawn. */
  choose(n: number, k: number): Int32Array {
    if (k > n || k < 0) throw new Error(`Rng.choose: cannot choose ${k} of ${n}`);
    // Partial Fisher–Yates: the first k entries of a shuffled 0..n−1.
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = 0; i < k; i++) {
      const j = this.int(i, n - 1);
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p.slice(0, k);
  }

  /** Fills a Float32Array with `mean + std · N(0, 1)` draws. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /**
   * An independent child generator. The child is seeded from this generator's next two outputs mixed with
   * `stream`, so forking with different labels from the same parent state gives unrelated streams, and the
   * parent advances (forking twice with the same label gives two different children).
   */
  fork(stream = 0): Rng {
    if (!Number.isInteger(stream) || stream < 0 || stream >= 2 ** 32) {
      throw new Error(`Rng.fork: stream label must be an integer in [0, 2^32), got ${stream}`);
    }
    const a = this.nextUint32();
    const b = this.nextUint32();
    const sm = { s: (a ^ Math.imul(stream + 1, 0x9e3779b9)) | 0 };
    const child = new Rng(0);
    const s = new Uint32Array(4);
    s[0] = splitmix32(sm);
    s[1] = splitmix32(sm) ^ b;
    s[2] = splitmix32(sm);
    s[3] = splitmix32(sm);
    if (s.every((w) => w === 0)) s[0] = 1;
    child.setState({ s: [s[0], s[1], s[2], s[3]], spareNormal: null });
    return child;
  }

  /** The generator's state, to save in a checkpoint. */
  getState(): RngState {
    return { s: [this.#s[0], this.#s[1], this.#s[2], this.#s[3]], spareNormal: this.#spareNormal };
  }

  /** Restores a state from {@link getState}. */
  setState(state: RngState): void {
    if (!state || !Array.isArray(state.s) || state.s.length !== 4 || !state.s.every(Number.isInteger)) {
      throw new Error("Rng.setState: expected { s: [4 unsigned 32-bit integers], spareNormal }");
    }
    const words = state.s.map((w) => w >>> 0);
    // Check before writing, so a rejected state leaves the generator as it was.
    if (words.every((w) => w === 0)) throw new Error("Rng.setState: the all-zero state is invalid");
    for (let i = 0; i < 4; i++) this.#s[i] = words[i];
    this.#spareNormal = state.spareNormal ?? null;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Accepts a seed or a generator and returns a generator (a seed makes a fresh one). */
export function toRng(seedOrRng: number | Rng | undefined, fallbackSeed = 0): Rng {
  if (seedOrRng instanceof Rng) return seedOrRng;
  return new Rng(seedOrRng ?? fallbackSeed);
}
