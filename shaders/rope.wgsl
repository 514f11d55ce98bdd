// rope.wgsl — rotary position embedding, rotate-half convention (LLaMA / LLaDA).
//
// x, y: [batch, seq, heads, headDim] f32; positions: [batch, seq] i32; inv_freq: [half] f32 with half = headDim/2
// and inv_freq[i] = θ^(−2i/headDim), computed once on the host exactly as the CPU backend does (in float64, stored
// as float32), so both backends rotate by the same float32 angle.
// For i < half, with angle = pos · inv_freq[i] and sin taken with the sign of `direction` (−1 undoes a rotation,
// which is the backward pass):
//   y[i]        = x[i] · cos − x[i + half] · sin
//   y[i + half] = x[i + half] · cos + x[i] · sin
// One invocation per 4 consecutive pairs (i, i + half) of one head vector, read and written as vec4s: each half of
// a head vector is h4 = ⌈half/4⌉ vec4s. When half is not a multiple of 4 the host pads each half (and inv_freq)
// with zeros, which rotate into zeros.

override WG: u32 = 64;

struct Params {
  groups: u32,      // batch · seq · heads · h4
  heads: u32,
  h4: u32,          // vec4s per half head vector
  direction: f32,   // +1 forward, −1 inverse
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;         // [batch, seq, heads, 2, h4]
@group(0) @binding(2) var<storage, read> positions: array<i32>;       // [batch, seq]
@group(0) @binding(3) var<storage, read> inv_freq: array<vec4<f32>>;  // [h4]
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;   // [batch, seq, heads, 2, h4]

@compute @workgroup_size(WG)
fn rope(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;  // = ((bt · heads) + h) · h4 + i4, with bt = b · seq + t
  if (e >= P.groups) {
    return;
  }
  let i4 = e % P.h4;                   // pairs 4·i4 … 4·i4 + 3
  let row = e / P.h4;                  // (bt · heads + h): which head vector
  let bt = row / P.heads;              // which token: positions[bt]
  let angle = f32(positions[bt]) * inv_freq[i4];
  let c = cos(angle);
  let s = P.direction * sin(angle);
  let o = row * 2u * P.h4 + i4;        // x1 = x[o] in the first half, x2 = x[o + h4] in the second
  let x1 = x[o];
  let x2 = x[o + P.h4];
  y[o] = x1 * c - x2 * s;              // rotate_half(x) = cat(−x2, x1)
  y[o + P.h4] = x2 * c + x1 * s;
}
