// softmax.wgsl — softmax and log-softmax of each row, and their backward passes.
//
// x, y, dy, dx: [rows, n], f32. Row kernels: TPR invocations per row (see row_slot and group_reduce in common).
//   softmax_forward   y = exp(x − lse)   or, with LOG,  y = x − lse,   lse = max + log Σ exp(x − max)
//   softmax_backward  dx = y ⊙ (dy − Σ dy⊙y)   or, with LOG,  dx = dy − exp(y) · Σ dy

override WG: u32 = 64;
override TPR: u32 = 1;     // invocations per row (a power of two dividing WG)
override LOG: bool = false;  // log-softmax instead of softmax

struct Params {
  rows: u32,
  n: u32,
}
@group(0) @binding(0) var<uniform> P: Params;

// ---- forward --------------------------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> fx: array<f32>;         // x [rows, n]
@group(0) @binding(2) var<storage, read_write> fy: array<f32>;   // y [rows, n]

@compute @workgroup_size(WG)
fn softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let o = min(s.row, P.rows - 1u) * P.n;  // rows past the end recompute the last row and store nothing
  // Subtract the row maximum so exp never overflows; the result is unchanged mathematically.
  var m = neg_inf();
  for (var j = s.lane; j < P.n; j += TPR) {
    m = max(m, fx[o + j]);
  }
  m = group_reduce(m, lid, TPR, true);
  var sum = 0.0;
  for (var j = s.lane; j < P.n; j += TPR) {
    sum += exp(fx[o + j] - m);
  }
  let lse = m + log(group_reduce(sum, lid, TPR, false));
  if (s.row < P.rows) {
    for (var j = s.lane; j < P.n; j += TPR) {
      let z = fx[o + j] - lse;
      fy[o + j] = select(exp(z), z, LOG);
    }
  }
}

// ---- backward -------------------------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> by: array<f32>;          // y [rows, n], the forward output
@group(0) @binding(2) var<storage, read> bdy: array<f32>;         // dy [rows, n]
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;   // dx [rows, n]

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let o = min(s.row, P.rows - 1u) * P.n;
  // The row's dot product: Σ dy⊙y for softmax, Σ dy for log-softmax.
  var dot = 0.0;
  for (var j = s.lane; j < P.n; j += TPR) {
    dot += select(bdy[o + j] * by[o + j], bdy[o + j], LOG);
  }
  dot = group_reduce(dot, lid, TPR, false);
  if (s.row < P.rows) {
    for (var j = s.lane; j < P.n; j += TPR) {
      let y = by[o + j];
      let g = bdy[o + j];
      bdx[o + j] = select(y * (g - dot), g - exp(y) * dot, LOG);
    }
  }
}
