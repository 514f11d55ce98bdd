// cross_entropy.wgsl — weighted cross-entropy of each row of logits, and its gradient.
//
//   forward   loss[r] = w[r] · (logsumexp(x_r) − x_r[t_r])          rows with w[r] = 0 give 0 whatever t_r is
//   backward  dx_r = dloss[r] · w[r] · (softmax(x_r) − onehot(t_r))
// logits x, dx: [rows, vocab] f32; targets t: [rows] i32; weights w, loss, dloss: [rows] f32.
// Row kernels: TPR invocations per row (see row_slot and group_reduce in common).

override WG: u32 = 64;
override TPR: u32 = 1;  // invocations per row (a power of two dividing WG)

struct Params {
  rows: u32,
  vocab: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;   // [rows, vocab]
@group(0) @binding(2) var<storage, read> targets: array<i32>;  // [rows]
@group(0) @binding(3) var<storage, read> weights: array<f32>;  // [rows]

// log Σ_j exp(x_r[j]) for the row at offset o, computed by the TPR lanes of the row together.
fn row_logsumexp(o: u32, lane: u32, lid: u32) -> f32 {
  var m = neg_inf();
  for (var j = lane; j < P.vocab; j += TPR) {
    m = max(m, logits[o + j]);
  }
  m = group_reduce(m, lid, TPR, true);
  var sum = 0.0;
  for (var j = lane; j < P.vocab; j += TPR) {
    sum += exp(logits[o + j] - m);
  }
  return m + log(group_reduce(sum, lid, TPR, false));
}

// ---- forward --------------------------------------------------------------------------------------------------
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;  // [rows]

@compute @workgroup_size(WG)
fn cross_entropy_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let r = min(s.row, P.rows - 1u);
  let lse = row_logsumexp(r * P.vocab, s.lane, lid);
  if (s.row < P.rows && s.lane == 0u) {
    let w = weights[r];
    let t = u32(clamp(targets[r], 0, i32(P.vocab) - 1));  // a weight-0 row may carry any target
    loss[r] = select(w * (lse - logits[r * P.vocab + t]), 0.0, w == 0.0);
  }
}

// ---- backward -------------------------------------------------------------------------------------------------
@group(0) @binding(4) var<storage, read> dloss: array<f32>;       // [rows]
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;    // [rows, vocab]

@compute @workgroup_size(WG)
fn cross_entropy_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let r = min(s.row, P.rows - 1u);
  let lse = row_logsumexp(r * P.vocab, s.lane, lid);
  if (s.row < P.rows) {
    let scale = dloss[r] * weights[r];
    let t = targets[r];
    for (var j = s.lane; j < P.vocab; j += TPR) {
      let p = exp(logits[r * P.vocab + j] - lse);  // softmax(x_r)[j]
      // scale = 0 gives exact zeros (even if the row's logits make p NaN), as in the CPU backend.
      dx[r * P.vocab + j] = select(scale * (p - select(0.0, 1.0, i32(j) == t)), 0.0, scale == 0.0);
    }
  }
}
