// common.wgsl — helpers shared by every kernel. The loader (src/backend/webgpu/shaders.ts) appends this file to
// each shader file before compiling it, and maps compiler messages back to the right file and line.

// WebGPU caps every dispatch dimension at 65,535 workgroups, so a 1-D launch of more workgroups is folded into
// two dimensions by the host: x = min(total, 65,535), y = ⌈total / x⌉. This undoes the fold: the index of the
// workgroup in the unfolded launch. Invocations past the end see an index ≥ total and must do nothing.
fn flat_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// −∞ and NaN. WGSL has no literals for them and naga cannot fold a bitcast into a constant, so they are built at
// run time from their bit patterns.
fn neg_inf() -> f32 {
  let bits = 0xff800000u;
  return bitcast<f32>(bits);
}
fn nan() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

// Partial results of the invocations of one workgroup, for the row reductions below (size = largest workgroup).
var<workgroup> partial: array<f32, 256>;

// Reduction over the `width` consecutive invocations that share one row (width = a power of two dividing the
// workgroup size; local index `lid`). Every invocation passes its partial value `v` and gets back the sum (or the
// maximum, when `is_max`) over its group. The order of the sums is fixed (a binary tree), so results are
// deterministic. `width` must be the same for the whole workgroup, and every invocation of the workgroup must
// call this (it contains barriers): rows past the end still take part, with a neutral value.
fn group_reduce(v: f32, lid: u32, width: u32, is_max: bool) -> f32 {
  if (width == 1u) {
    return v;  // one invocation per row: nothing to combine, and no barrier needed
  }
  partial[lid] = v;
  workgroupBarrier();
  for (var s = width / 2u; s > 0u; s = s / 2u) {
    if (lid % width < s) {
      let other = partial[lid + s];
      partial[lid] = select(partial[lid] + other, max(partial[lid], other), is_max);
    }
    workgroupBarrier();
  }
  let result = partial[lid - lid % width];  // the first invocation of the group holds the result
  workgroupBarrier();  // everyone has read it before `partial` is reused by the next reduction
  return result;
}

// Where up to three operands live in flat storage while one index walks an n-d `shape` in row-major order
// (the host has already merged dimensions that are contiguous for every operand, and dropped dimensions of size 1,
// so `ndim` ≤ 8 covers any practical view). Element index of operand k = offsets[k] + Σ_d index_d · strides[k][d].
struct Strided {
  count: u32,                             // number of elements of `shape` (the launch size)
  ndim: u32,                              // dimensions used in shape and strides
  _pad0: u32,
  _pad1: u32,
  offsets: vec4<i32>,                     // element offset of operands 0, 1, 2 (w unused)
  shape: array<vec4<u32>, 2>,             // shape[d / 4][d % 4], innermost dimension last
  strides: array<array<vec4<i32>, 2>, 3>, // strides[k][d / 4][d % 4] of operand k, in elements (0 = broadcast)
}

// Element indices of the three operands for the i-th element (row-major) of the shape: one division and one
// remainder per dimension.
fn strided_offsets(i: u32, v: Strided) -> vec3<i32> {
  var rest = i;
  var o = v.offsets.xyz;
  for (var d = i32(v.ndim) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let n = v.shape[q][r];
    let index = i32(rest % n);  // index along dimension d
    rest = rest / n;
    o += index * vec3<i32>(v.strides[0][q][r], v.strides[1][q][r], v.strides[2][q][r]);
  }
  return o;
}

// Row kernels (softmax, RMSNorm, cross-entropy, row reductions) give each row of a [rows, n] array to `width`
// consecutive invocations of a workgroup of `wg_size`: width = 1 (one invocation walks the whole row; best when
// there are many rows, and on CPU adapters) up to wg_size (the whole workgroup shares one long row). Invocation
// `lane` of a row visits elements lane, lane + width, lane + 2·width, … and group_reduce combines the lanes.
struct RowSlot {
  row: u32,   // the row this invocation works on (may be ≥ rows in the last workgroup: compute, don't store)
  lane: u32,  // 0 ≤ lane < width
}
fn row_slot(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, width: u32, wg_size: u32) -> RowSlot {
  return RowSlot(flat_workgroup(wid, nwg) * (wg_size / width) + lid / width, lid % width);
}

// The same for the 4 consecutive elements e, e+1, e+2, e+3 (kernels handle 4 elements per invocation). Only the
// first is computed in full; the next ones step along the innermost dimension, and recompute only when they wrap
// into the next row. Elements past the end (≥ count) repeat the last element, so they read valid memory.
fn strided_offsets4(e: u32, v: Strided) -> array<vec3<i32>, 4> {
  let last = v.ndim - 1u;
  let n_last = v.shape[last / 4u][last % 4u];
  let step = vec3<i32>(v.strides[0][last / 4u][last % 4u], v.strides[1][last / 4u][last % 4u],
                       v.strides[2][last / 4u][last % 4u]);
  var out: array<vec3<i32>, 4>;
  var o = strided_offsets(min(e, v.count - 1u), v);
  var inner = e % n_last;  // index along the innermost dimension
  out[0] = o;
  for (var j = 1u; j < 4u; j++) {
    if (e + j < v.count) {
      inner += 1u;
      if (inner == n_last) {
        o = strided_offsets(e + j, v);  // wrapped into the next row
        inner = 0u;
      } else {
        o += step;
      }
    }
    out[j] = o;
  }
  return out;
}
