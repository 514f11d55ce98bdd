// reduce.wgsl — sums and maxima along one axis, and the row argmax.
//
// reduce_serial  x viewed as [outer, n, inner] → out [outer, inner]; one invocation per output element walks n
//                in order (the CPU backend's order), so it is deterministic and needs no barriers. Used when
//                inner > 1, where neighbouring invocations read neighbouring elements.
// reduce_serial4 the same for 4 neighbouring outputs per invocation, read and written as vec4s, when inner is a
//                multiple of 4: a quarter of the loads, the same sums in the same order.
// reduce_rows    the same with inner = 1: rows of x [outer, n], TPR invocations per row (see row_slot in common).
// argmax         index of the maximum of each row of x [rows, n] (first index wins ties), as i32.

override WG: u32 = 64;
override TPR: u32 = 1;       // invocations per row for the row kernels (a power of two dividing WG)
override IS_MAX: bool = false;  // sum (false) or max (true), specialised per pipeline

struct ReduceParams {
  outer: u32,
  n: u32,      // the reduced axis
  inner: u32,
}
@group(0) @binding(0) var<uniform> P: ReduceParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // [outer, n, inner]
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // [outer, inner]

fn combine(acc: f32, v: f32) -> f32 {
  return select(acc + v, max(acc, v), IS_MAX);
}
fn combine4(acc: vec4<f32>, v: vec4<f32>) -> vec4<f32> {
  return select(acc + v, max(acc, v), IS_MAX);
}

@compute @workgroup_size(WG)
fn reduce_serial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;  // output element: (o, i) = (e / inner, e % inner)
  if (e >= P.outer * P.inner) {
    return;
  }
  let o = e / P.inner;
  let i = e % P.inner;
  var acc = select(0.0, neg_inf(), IS_MAX);
  for (var j = 0u; j < P.n; j++) {
    acc = combine(acc, x[(o * P.n + j) * P.inner + i]);
  }
  out[e] = acc;
}

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;         // [outer, n, inner / 4]
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;  // [outer, inner / 4]

@compute @workgroup_size(WG)
fn reduce_serial4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;  // output vec4: (o, i4) = (e / inner4, e % inner4)
  let inner4 = P.inner / 4u;
  if (e >= P.outer * inner4) {
    return;
  }
  let o = e / inner4;
  let i4 = e % inner4;
  var acc = vec4<f32>(select(0.0, neg_inf(), IS_MAX));
  for (var j = 0u; j < P.n; j++) {
    acc = combine4(acc, x4[(o * P.n + j) * inner4 + i4]);
  }
  out4[e] = acc;
}

@compute @workgroup_size(WG)
fn reduce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let r = min(s.row, P.outer - 1u);  // rows past the end recompute the last row (they must reach the barriers)
  var acc = select(0.0, neg_inf(), IS_MAX);
  for (var j = s.lane; j < P.n; j += TPR) {
    acc = combine(acc, x[r * P.n + j]);
  }
  acc = group_reduce(acc, lid, TPR, IS_MAX);
  if (s.row < P.outer && s.lane == 0u) {
    out[r] = acc;
  }
}

// ---- argmax ---------------------------------------------------------------------------------------------------
struct ArgmaxParams {
  rows: u32,
  n: u32,
}
@group(0) @binding(0) var<uniform> A: ArgmaxParams;
@group(0) @binding(1) var<storage, read> ax: array<f32>;          // [rows, n]
@group(0) @binding(2) var<storage, read_write> aout: array<i32>;  // [rows]

@compute @workgroup_size(WG)
fn argmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let s = row_slot(wid, nwg, lid, TPR, WG);
  let r = min(s.row, A.rows - 1u);
  // First the row maximum, then the smallest index holding it: each lane finds its first hit, and the group takes
  // the minimum as a maximum of negated indices (exact in f32 for rows shorter than 2^24).
  var best = neg_inf();
  for (var j = s.lane; j < A.n; j += TPR) {
    best = max(best, ax[r * A.n + j]);
  }
  best = group_reduce(best, lid, TPR, true);
  var first = A.n;  // "not found" (every row has a hit, so the group minimum is always a real index)
  for (var j = s.lane; j < A.n; j += TPR) {
    if (ax[r * A.n + j] == best) {
      first = j;
      break;
    }
  }
  let index = -group_reduce(-f32(first), lid, TPR, true);
  if (s.row < A.rows && s.lane == 0u) {
    aout[r] = i32(index);
  }
}
