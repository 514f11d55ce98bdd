// sampling.wgsl — one step of the reverse process on the device: greedy predictions, low-confidence remasking.
//
// The sampler (src/llada/reverse_sampling.ts) ranks the masked positions of the current block by the confidence
// c = softmax(l)[x̂] of their prediction x̂ = argmax_{v ≠ M} l_v, computed in float64 on the host, and commits the
// `count` most confident (ties to the lower position). This file makes the same decision on the device, where
// only float32 exists, and says when it cannot be sure it is the same decision:
//
//   c = 1 / (1 + R),   R = Σ_{v ≠ x̂} exp(l_v − l_x̂)          (exactly; R ≥ 0, smaller R = more confident)
//
// R keeps its relative precision where c rounds to 1 (a confident prediction), so ranking by R separates what
// float32 values of c could not. Each candidate carries an interval [R_lo, R_hi] that certainly holds the exact R
// (the float32 error bound below), and a choice of `count` positions is certified when every chosen R_hi lies
// below every unchosen R_lo by more than the host's own float64 rounding could blur (TAU, from the host). Then
// the host's float64 ranking makes the same choice. Otherwise, and on any non-finite logit, the step raises the
// `uncertain` flag and the sampler redoes the whole generation on the host: the result is always the host's.
//
// Buffers:
//   logits    f32 [batch, length, row]   row = the logits' row length (≥ vocab: embedding padding is ignored)
//   canvas    i32 [batch, length]        the tokens; the chosen positions get their predictions (in place)
//   keys      f32 [batch, span, 4]       per candidate: (R, R_lo, R_hi, x̂ as f32), span = end − start;
//                                        x̂ = −1 for a position that is not a candidate (already decoded)
//   uncertain atomic<u32> [1]            set to 1 by a step that could not certify its choice (never cleared)
//
// Float32 error bound of R (u = 2⁻²⁴, one ulp ≤ 2u relative): each term exp(d_v) with d_v = fl(l_v − l_x̂) has
// relative error ≤ |d_v|·u from rounding d_v and ≤ (3 + 2|d_v|) ulp from exp (WGSL's accuracy for exp), so at
// most 2u·(3 + 2.5|d_v|); weighted by the terms, the sum's error is ≤ 2u·(3·R + 2.5·Σ t_v|d_v|); the summation of
// `vocab` positive terms adds ≤ vocab·u·R; terms flushed to zero add ≤ vocab·2⁻¹²⁰ absolutely. The bound used
// is 1.5 times that, plus 8u for the arithmetic of the bound itself.

struct Params {
  batch: u32,
  length: u32,
  vocab: u32,
  row: u32,        // elements between the logits of consecutive positions
  start: u32,      // the current block: positions [start, end) of each row
  end: u32,
  mask_id: u32,
  count: u32,      // positions to commit in each row at this step
  tau: f32,        // relative separation the host's float64 confidences need (see sampling.ts)
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> canvas: array<i32>;
@group(0) @binding(3) var<storage, read_write> keys: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> uncertain: array<atomic<u32>>;

override WG: u32 = 64;

// One invocation per (row b, block position i): the prediction and its interval of R.
@compute @workgroup_size(WG)
fn greedy_candidates(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let span = P.end - P.start;
  let e = flat_workgroup(wid, nwg) * WG + lid;
  if (e >= P.batch * span) {
    return;
  }
  let b = e / span;
  let i = P.start + e % span;
  if (canvas[b * P.length + i] != i32(P.mask_id)) {
    keys[e] = vec4<f32>(0.0, 0.0, 0.0, -1.0);  // decoded already: not a candidate
    return;
  }
  let base = (b * P.length + i) * P.row;
  // x̂: the first maximum among the tokens other than M (the host's rule, on the same float32 values).
  var best = -1;
  var top = 0.0;
  var finite = true;
  for (var v = 0u; v < P.vocab; v++) {
    let l = logits[base + v];
    finite = finite && !(l != l) && l < -neg_inf();  // NaN or +∞ make the host's softmax NaN: leave it to the host
    if (v != P.mask_id && (best < 0 || l > top)) {
      best = i32(v);
      top = l;
    }
  }
  finite = finite && top > neg_inf();
  // R and the size-weighted |d| of its terms.
  var r = 0.0;
  var weighted = 0.0;
  for (var v = 0u; v < P.vocab; v++) {
    if (i32(v) == best) {
      continue;
    }
    let d = logits[base + v] - top;
    let t = exp(d);
    r += t;
    if (t > 0.0) {
      weighted += t * abs(d);
    }
  }
  finite = finite && r < -neg_inf();
  let u = 5.9604645e-8;  // 2⁻²⁴
  let rel = 1.5 * (2.0 * u * 3.0 + u * f32(P.vocab)) + 8.0 * u;
  let absolute = 1.5 * (2.0 * u * 2.5 * weighted + f32(P.vocab) * 7.52316e-37) + 1e-37;  // 2⁻¹²⁰ = 7.5e-37
  let lo = select(-1.0, max(0.0, r * (1.0 - rel) - absolute), finite);  // −1: no valid interval
  keys[e] = vec4<f32>(r, lo, r * (1.0 + rel) + absolute, f32(best));
}

// One invocation per row: choose the `count` candidates of smallest R (ties to the lower position), write their
// predictions into the canvas, and certify the choice.
@compute @workgroup_size(WG)
fn greedy_commit(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let b = flat_workgroup(wid, nwg) * WG + lid;
  if (b >= P.batch || P.count == 0u) {
    return;  // past the last row, or a step of the schedule that commits nothing (nothing to certify)
  }
  let span = P.end - P.start;
  let first = b * span;
  var sure = true;
  var chosenHi = 0.0;  // the largest R_hi among the chosen
  for (var n = 0u; n < P.count; n++) {
    var pick = -1;
    var pickR = 0.0;
    for (var j = 0u; j < span; j++) {
      let k = keys[first + j];
      if (k.w >= 0.0 && (pick < 0 || k.x < pickR)) {  // strict: the lower position wins ties
        pick = i32(j);
        pickR = k.x;
      }
    }
    if (pick < 0) {
      sure = false;  // fewer candidates than the schedule asks for: cannot happen with the host's schedule
      break;
    }
    let k = keys[first + u32(pick)];
    sure = sure && k.y >= 0.0;
    chosenHi = max(chosenHi, k.z);
    canvas[b * P.length + P.start + u32(pick)] = i32(k.w);
    keys[first + u32(pick)] = vec4<f32>(k.x, k.y, k.z, -1.0);  // taken: no longer a candidate
  }
  // Every candidate left must be certainly less confident than every one chosen.
  for (var j = 0u; j < span; j++) {
    let k = keys[first + j];
    if (k.w >= 0.0) {
      sure = sure && k.y >= 0.0 && k.y - chosenHi > P.tau * (1.0 + chosenHi);
    }
  }
  if (!sure) {
    atomicOr(&uncertain[0], 1u);
  }
}
