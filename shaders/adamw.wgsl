// adamw.wgsl — one AdamW update, in place (Loshchilov & Hutter's decoupled weight decay):
//   m = β1·m + (1−β1)·g
//   v = β2·v + (1−β2)·g²
//   p = p − lr · ( m̂ / (√v̂ + eps) + wd · p ),   m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t)
// param, m, v (read-write) and grad: [count] f32, bound as vec4s (storage is allocated in whole vec4s, so the
// last vec4 may include padding past count, updated harmlessly). The bias corrections 1 − β^t are computed on the
// host in float64. One invocation per 4 elements.

override WG: u32 = 64;

struct Params {
  count: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  eps: f32,
  weight_decay: f32,
  bias_correction1: f32,  // 1 − β1^t
  bias_correction2: f32,  // 1 − β2^t
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;  // [count / 4]
@group(0) @binding(2) var<storage, read> grad: array<vec4<f32>>;         // [count / 4]
@group(0) @binding(3) var<storage, read_write> m: array<vec4<f32>>;      // [count / 4], first moment
@group(0) @binding(4) var<storage, read_write> v: array<vec4<f32>>;      // [count / 4], second moment

@compute @workgroup_size(WG)
fn adamw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;  // the vec4 this invocation updates
  if (4u * i >= P.count) {
    return;
  }
  let g = grad[i];
  let mi = P.beta1 * m[i] + P.one_minus_beta1 * g;
  let vi = P.beta2 * v[i] + P.one_minus_beta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let mhat = mi / P.bias_correction1;
  let vhat = vi / P.bias_correction2;
  let p = param[i];
  param[i] = p - P.lr * (mhat / (sqrt(vhat) + P.eps) + P.weight_decay * p);
}
