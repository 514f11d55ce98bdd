// copy.wgsl — moving and converting raw elements: fill, strided copy (copyInto) and cast.
//
// Buffers are bound as arrays of u32 and elements moved as raw 32-bit patterns, so one kernel serves f32 and i32.
// Every kernel here is a 1-D launch of WG invocations per workgroup, folded into two dimensions by the host when
// it needs more than 65,535 workgroups (see flat_workgroup in common.wgsl). Each invocation handles 4 elements:
// a vec4 for fill, cast and copy_strided_vec4, 4 consecutive elements of the shape for copy_strided.

override WG: u32 = 64;

// ---- fill: dst[i] = bits for i < count (and the padding of the last vec4) ----------------------------------------
struct FillParams {
  count: u32,  // elements to write
  bits: u32,   // the value's 32-bit pattern (an f32 or an i32, as the storage's dtype says)
}
@group(0) @binding(0) var<uniform> fill_p: FillParams;
@group(0) @binding(1) var<storage, read_write> fill_dst: array<vec4<u32>>;  // [count / 4]

@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;  // the vec4 this invocation writes
  if (4u * i < fill_p.count) {
    fill_dst[i] = vec4<u32>(fill_p.bits);
  }
}

// ---- copy_strided: dst[dstView(idx)] = src[srcView(idx)] for every idx of the shape ------------------------------
// Operand 0 of the Strided block is the source view, operand 1 the destination view (operand 2 unused).
@group(0) @binding(0) var<uniform> copy_p: Strided;
@group(0) @binding(1) var<storage, read> copy_src: array<u32>;        // any length; read through the source view
@group(0) @binding(2) var<storage, read_write> copy_dst: array<u32>;  // any length; written through the dest view

@compute @workgroup_size(WG)
fn copy_strided(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let e = 4u * (flat_workgroup(wid, nwg) * WG + lid);  // the first of this invocation's 4 elements
  if (e >= copy_p.count) {
    return;
  }
  let o = strided_offsets4(e, copy_p);
  for (var j = 0u; j < 4u; j++) {
    if (e + j < copy_p.count) {
      copy_dst[u32(o[j].y)] = copy_src[u32(o[j].x)];
    }
  }
}

// ---- copy_strided_vec4: the same, moving vec4s ------------------------------------------------------------------
// Used when both views are contiguous along the innermost dimension, in whole aligned vec4s (head dimensions of
// 32 when splitting and merging attention heads): the host rewrites shape, offsets and strides in units of vec4s.
@group(0) @binding(0) var<uniform> copy4_p: Strided;
@group(0) @binding(1) var<storage, read> copy4_src: array<vec4<u32>>;        // read through the source view
@group(0) @binding(2) var<storage, read_write> copy4_dst: array<vec4<u32>>;  // written through the dest view

@compute @workgroup_size(WG)
fn copy_strided_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;  // this invocation's vec4 of the shape
  if (i < copy4_p.count) {
    let o = strided_offsets(i, copy4_p);
    copy4_dst[u32(o.y)] = copy4_src[u32(o.x)];
  }
}

// ---- cast: f32 → i32 (truncating toward zero) or i32 → f32 ------------------------------------------------------
override TO_I32: bool = true;  // the direction, specialised per pipeline
struct CastParams {
  count: u32,
}
@group(0) @binding(0) var<uniform> cast_p: CastParams;
@group(0) @binding(1) var<storage, read> cast_src: array<vec4<u32>>;        // [count / 4], the source dtype
@group(0) @binding(2) var<storage, read_write> cast_dst: array<vec4<u32>>;  // [count / 4], the target dtype

@compute @workgroup_size(WG)
fn cast_dtype(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;  // the vec4 this invocation converts
  if (4u * i < cast_p.count) {
    if (TO_I32) {
      cast_dst[i] = bitcast<vec4<u32>>(vec4<i32>(bitcast<vec4<f32>>(cast_src[i])));  // truncates toward zero
    } else {
      cast_dst[i] = bitcast<vec4<u32>>(vec4<f32>(bitcast<vec4<i32>>(cast_src[i])));
    }
  }
}
