// rmsnorm.wgsl — RMSNorm of each row and its backward pass (LLaDA's: normalise, then multiply by the weight).
//
//   forward      y = x · rstd · w,  rstd = 1/√(mean(x²) + eps)         x, y: [rows, n]; w: [n]; rstd: [rows]
//   backward_dx  dx = rstd · (dy·w − x̂ · mean(dy·w·x̂)),  x̂ = x · rstd    dy, dx: [rows, n]
//   backward_dw  dw = Σ_rows dy · x̂, summed over rows in order          dw: [n]
// rstd is saved by the forward pass so the backward pass need not recompute it.
// The row kernels use TPR invocations per row (see row_slot and group_reduce in common); backward_dw is one
// invocation per column, walking the rows in order (deterministic, no atomics).

override WG: u32 = 64;
override TPR: u32 = 1;  // invocations per row (a power of two dividing WG)

struct Params {
  rows: u32,
  n: u32,
  eps: f32,
}
@group(0) @binding(0) var<uniform> P: Params;

// ---- forward --------------------------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> fx: array<f32>;            // x [rows, n]
@group(0) @binding(2) var<storage, read> fw: array<f32>;            // w [n]
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;      // y [rows, n]
@group(0) @binding(4) var<storage, read_write> frstd: array<f32>;   // rstd [rows]

@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let r = min(s.row, P.rows - 1u);
  var ss = 0.0;
  for (var j = s.lane; j < P.n; j += TPR) {
    let v = fx[r * P.n + j];
    ss += v * v;
  }
  let rstd = 1.0 / sqrt(group_reduce(ss, lid, TPR, false) / f32(P.n) + P.eps);
  if (s.row < P.rows) {
    for (var j = s.lane; j < P.n; j += TPR) {
      fy[r * P.n + j] = fx[r * P.n + j] * rstd * fw[j];
    }
    if (s.lane == 0u) {
      frstd[r] = rstd;
    }
  }
}

// ---- backward: dx -----------------------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> bx: array<f32>;           // x [rows, n]
@group(0) @binding(2) var<storage, read> bw: array<f32>;           // w [n]
@group(0) @binding(3) var<storage, read> brstd: array<f32>;        // rstd [rows]
@group(0) @binding(4) var<storage, read> bdy: array<f32>;          // dy [rows, n]
@group(0) @binding(5) var<storage, read_write> bdx: array<f32>;    // dx [rows, n]

@compute @workgroup_size(WG)
fn rmsnorm_backward_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let r = min(s.row, P.rows - 1u);
  let rstd = brstd[r];
  // mean(dy·w·x̂) over the row
  var dot = 0.0;
  for (var j = s.lane; j < P.n; j += TPR) {
    dot += bdy[r * P.n + j] * bw[j] * bx[r * P.n + j] * rstd;
  }
  dot = group_reduce(dot, lid, TPR, false) / f32(P.n);
  if (s.row < P.rows) {
    for (var j = s.lane; j < P.n; j += TPR) {
      let xhat = bx[r * P.n + j] * rstd;
      bdx[r * P.n + j] = rstd * (bdy[r * P.n + j] * bw[j] - xhat * dot);
    }
  }
}

// ---- backward: dw -----------------------------------------------------------------------------------------------
@group(0) @binding(5) var<storage, read_write> bdw: array<f32>;    // dw [n]

@compute @workgroup_size(WG)
fn rmsnorm_backward_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let j = flat_workgroup(wid, nwg) * WG + lid;  // the column this invocation owns
  if (j >= P.n) {
    return;
  }
  var acc = 0.0;
  for (var r = 0u; r < P.rows; r++) {
    acc += bdy[r * P.n + j] * bx[r * P.n + j] * brstd[r];
  }
  bdw[j] = acc;
}
