/**
 * The CPU backend's `Backend.greedyStep`: the loops that `shaders/sampling.wgsl` is tested against.
 *
 * Same decision, same certificate: R and its error bound are computed as the kernel computes them (the sums here
 * run in float64, which only makes the bound more generous than needed), and the choice is certified by the same
 * comparison. On the CPU the sampler does not need this primitive (its logits are already in host memory); it
 * exists so that the kernel has an executable specification and a parity test.
 *
 * @module
 */

import type { GreedyStepParams } from "./backend.ts";

/** 2⁻²⁴: the unit roundoff of float32, in which the kernel computes. */
const U = 2 ** -24;

/** One candidate: R, the interval holding the exact R (lo −1 when there is none), and the prediction. */
interface Candidate {
  r: number;
  lo: number;
  hi: number;
  prediction: number;
}

/** The prediction and the interval of R at one position (the kernel's `greedy_candidates`). */
function candidate(logits: Float32Array | Float64Array, base: number, p: GreedyStepParams): Candidate {
  let best = -1;
  let top = 0;
  let finite = true;
  for (let v = 0; v < p.vocab; v++) {
    const l = logits[base + v];
    finite &&= !Number.isNaN(l) && l < Infinity;
    if (v !== p.maskId && (best < 0 || l > top)) {
      best = v;
      top = l;
    }
  }
  finite &&= top > -Infinity;
  let r = 0;
  let weighted = 0;
  for (let v = 0; v < p.vocab; v++) {
    if (v === best) continue;
    const d = logits[base + v] - top;
    const t = Math.exp(d);
    r += t;
    if (t > 0) weighted += t * Math.abs(d);
  }
  finite &&= r < Infinity;
  const rel = 1.5 * (2 * U * 3 + U * p.vocab) + 8 * U;
  const absolute = 1.5 * (2 * U * 2.5 * weighted + p.vocab * 2 ** -120) + 1e-37;
  const lo = finite ? Math.max(0, r * (1 - rel) - absolute) : -1;
  return { r, lo, hi: r * (1 + rel) + absolute, prediction: best };
}

/** `Backend.greedyStep` on host arrays: `canvas` and `uncertain` are updated in place. */
export function greedyStepLoops(
  logits: Float32Array | Float64Array,
  canvas: Int32Array,
  uncertain: Int32Array,
  p: GreedyStepParams,
): void {
  if (p.count === 0) return; // a step of the schedule that commits nothing
  for (let b = 0; b < p.batch; b++) {
    // The candidates: positions of the block still holding the mask.
    const candidates = new Map<number, Candidate>();
    for (let i = p.start; i < p.end; i++) {
      if (canvas[b * p.length + i] !== p.maskId) continue;
      candidates.set(i, candidate(logits, (b * p.length + i) * p.row, p));
    }
    // The `count` smallest R, ties to the lower position, each committed.
    let sure = true;
    let chosenHi = 0;
    for (let n = 0; n < p.count; n++) {
      let pick = -1;
      for (const [i, c] of candidates) if (pick < 0 || c.r < candidates.get(pick)!.r) pick = i;
      if (pick < 0) {
        sure = false;
        break;
      }
      const c = candidates.get(pick)!;
      sure &&= c.lo >= 0;
      chosenHi = Math.max(chosenHi, c.hi);
      canvas[b * p.length + pick] = c.prediction;
      candidates.delete(pick);
    }
    // Certified when every candidate left is certainly less confident than every one chosen.
    for (const c of candidates.values()) sure &&= c.lo >= 0 && c.lo - chosenHi > p.tau * (1 + chosenHi);
    if (!sure) uncertain[0] = 1;
  }
}
