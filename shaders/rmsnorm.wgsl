// rmsnorm.wgsl — RMSNorm of each row and its backward pass (LLaDA's: normalise, then multiply by the weight).
//
//   forward      y = x · rstd · w,  rstd = 1/√(mean(x²) + eps)         x, y: [rows, n]; w: [n]; rstd: [rows]
//   backward_dx  dx = rstd · (dy·w − x̂ · mean(dy·w·x̂)),  x̂ = x · rstd    dy, dx: [rows, n]
//   backward_dw  dw = Σ_rows dy · x̂, summed over rows in order          dw: [n]
// rstd is saved by the forward pass so the backward pass need not recompute it.
//
// Rows are read as vec4s: n4 = ⌈n/4⌉ of them per row. The host pads rows whose length is not a multiple of 4 with
// zeros (x, w and dy alike), which add nothing to any sum and give zeros in the padding of y, dx and dw; means
// still divide by the true n. A vec4 load costs a CPU adapter about what a scalar load costs, so this is 4× fewer.
// The row kernels use TPR invocations per row (see row_slot and group_reduce in common); backward_dw is one
// invocation per vec4 of columns, walking the rows in order (deterministic, no atomics).

override WG: u32 = 64;
override TPR: u32 = 1;  // invocations per row (a power of two dividing WG)

struct Params {
  rows: u32,
  n: u32,     // true row length (the mean's divisor)
  n4: u32,    // row length in vec4s, padding included
  eps: f32,
}
@group(0) @binding(0) var<uniform> P: Params;

fn sum4(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// ---- forward --------------------------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> fx: array<vec4<f32>>;          // x [rows, n4]
@group(0) @binding(2) var<storage, read> fw: array<vec4<f32>>;          // w [n4]
@group(0) @binding(3) var<storage, read_write> fy: array<vec4<f32>>;    // y [rows, n4]
@group(0) @binding(4) var<storage, read_write> frstd: array<f32>;       // rstd [rows]

@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let o = min(s.row, P.rows - 1u) * P.n4;  // start of the row (rows past the end compute on the last one)
  var ss = vec4<f32>(0.0);
  for (var j = s.lane; j < P.n4; j += TPR) {
    let v = fx[o + j];
    ss += v * v;
  }
  let rstd = 1.0 / sqrt(group_reduce(sum4(ss), lid, TPR, false) / f32(P.n) + P.eps);
  if (s.row < P.rows) {
    for (var j = s.lane; j < P.n4; j += TPR) {
      fy[o + j] = fx[o + j] * rstd * fw[j];
    }
    if (s.lane == 0u) {
      frstd[s.row] = rstd;
    }
  }
}

// ---- backward: dx -----------------------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> bx: array<vec4<f32>>;         // x [rows, n4]
@group(0) @binding(2) var<storage, read> bw: array<vec4<f32>>;         // w [n4]
@group(0) @binding(3) var<storage, read> brstd: array<f32>;            // rstd [rows]
@group(0) @binding(4) var<storage, read> bdy: array<vec4<f32>>;        // dy [rows, n4]
@group(0) @binding(5) var<storage, read_write> bdx: array<vec4<f32>>;  // dx [rows, n4]

@compute @workgroup_size(WG)
fn rmsnorm_backward_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let r = min(s.row, P.rows - 1u);
  let o = r * P.n4;
  let rstd = brstd[r];
  // mean(dy·w·x̂) over the row
  var dot = vec4<f32>(0.0);
  for (var j = s.lane; j < P.n4; j += TPR) {
    dot += bdy[o + j] * bw[j] * bx[o + j];
  }
  let mean = group_reduce(sum4(dot), lid, TPR, false) * rstd / f32(P.n);
  if (s.row < P.rows) {
    for (var j = s.lane; j < P.n4; j += TPR) {
      let xhat = bx[o + j] * rstd;
      bdx[o + j] = rstd * (bdy[o + j] * bw[j] - xhat * mean);
    }
  }
}

// ---- backward: dw -----------------------------------------------------------------------------------------------
@group(0) @binding(5) var<storage, read_write> bdw: array<vec4<f32>>;  // dw [n4]

@compute @workgroup_size(WG)
fn rmsnorm_backward_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let j = flat_workgroup(wid, nwg) * WG + lid;  // the 4 columns this invocation owns
  if (j >= P.n4) {
    return;
  }
  var acc = vec4<f32>(0.0);
  for (var r = 0u; r < P.rows; r++) {
    acc += bdy[r * P.n4 + j] * bx[r * P.n4 + j] * brstd[r];
  }
  bdw[j] = acc;
}
