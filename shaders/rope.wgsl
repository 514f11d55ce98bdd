// rope.wgsl — rotary position embedding, rotate-half convention (LLaMA / LLaDA).
//
// x, y: [batch, seq, heads, headDim] f32; positions: [batch, seq] i32; inv_freq: [half] f32 with half = headDim/2
// and inv_freq[i] = θ^(−2i/headDim), computed once on the host exactly as the CPU backend does (in float64, stored
// as float32), so both backends rotate by the same float32 angle.
// For i < half, with angle = pos · inv_freq[i] and sin taken with the sign of `direction` (−1 undoes a rotation,
// which is the backward pass):
//   y[i]        = x[i] · cos − x[i + half] · sin
//   y[i + half] = x[i + half] · cos + x[i] · sin
// One invocation per (batch, seq, head, i < half) pair of elements.

override WG: u32 = 64;

struct Params {
  pairs: u32,       // batch · seq · heads · half
  heads: u32,
  half: u32,
  direction: f32,   // +1 forward, −1 inverse
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // [batch, seq, heads, headDim]
@group(0) @binding(2) var<storage, read> positions: array<i32>;  // [batch, seq]
@group(0) @binding(3) var<storage, read> inv_freq: array<f32>;   // [half]
@group(0) @binding(4) var<storage, read_write> y: array<f32>;    // [batch, seq, heads, headDim]

@compute @workgroup_size(WG)
fn rope(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;  // = ((bt · heads) + h) · half + i, with bt = b · seq + t
  if (e >= P.pairs) {
    return;
  }
  let i = e % P.half;
  let row = e / P.half;                // (bt · heads + h): which head vector
  let bt = row / P.heads;              // which token: positions[bt]
  let angle = f32(positions[bt]) * inv_freq[i];
  let c = cos(angle);
  let s = P.direction * sin(angle);
  let o = row * 2u * P.half;           // start of this head vector in x and y
  let x1 = x[o + i];
  let x2 = x[o + i + P.half];
  y[o + i] = x1 * c - x2 * s;          // rotate_half(x) = cat(−x2, x1)
  y[o + i + P.half] = x2 * c + x1 * s;
}
