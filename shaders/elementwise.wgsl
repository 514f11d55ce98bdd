// elementwise.wgsl — functions applied element by element: unary ops and their gradients, broadcasting binary
// ops, and where (select).
//
// Every invocation computes 4 consecutive output elements as one vec4: on llvmpipe (and GPUs) one vec4 load costs
// little more than one scalar load, so this is ~2.5× faster than an element per invocation. Outputs are bound as
// vec4 arrays; storage is allocated in whole vec4s, so the last vec4 may run past `count` into padding that no
// one reads. Launches are 1-D with WG invocations per workgroup, folded into two dimensions past 65,535
// workgroups (see flat_workgroup in common.wgsl). The operation is an override constant: each op gets its own
// pipeline, whose switch the compiler folds away.

override WG: u32 = 64;
override OP: u32 = 0;  // which op: UNARY_* or BINARY_*, constants generated from UNARY_OPS and BINARY_OPS in
                       // src/backend/backend.ts and appended to this file by the host

alias v4 = vec4<f32>;

// What an OP outside the lists computes: NaN, so that a mistake shows in every result rather than passing for a
// real op (the host refuses unknown ops before dispatching). The `var` keeps the NaN out of constant evaluation,
// which would reject it.
fn unknown_op() -> v4 {
  var nan_bits = 0x7fc00000u;
  return v4(bitcast<f32>(nan_bits));
}

// x^a componentwise, with JavaScript's Math.pow semantics for the cases training meets: a = 0 gives 1, a negative
// base needs an integer exponent (the sign follows its parity), anything else with a negative base is NaN.
fn pow_js(x: v4, a: v4) -> v4 {
  let magnitude = pow(abs(x), a);
  let negative_base = select(-magnitude, magnitude, fract(a * 0.5) == v4(0.0));  // even exponent: positive
  let negative = select(v4(nan()), negative_base, fract(a) == v4(0.0));
  return select(select(magnitude, negative, x < v4(0.0)), v4(1.0), a == v4(0.0));
}

fn sigmoid(x: v4) -> v4 {
  return 1.0 / (1.0 + exp(-x));  // exp(-x) = ∞ for very negative x gives 0, as it should
}

// tanh from e^(−2|x|) ≤ 1, which cannot overflow (the textbook (e^2x − 1)/(e^2x + 1) does for |x| > 44).
fn tanh_stable(x: v4) -> v4 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

// The first element of the 4 this invocation computes (4 · its index in the launch).
fn first_element(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return 4u * (flat_workgroup(wid, nwg) * WG + lid);
}

// ---- unary: y = f(x), f32 -------------------------------------------------------------------------------------
struct UnaryParams {
  count: u32,  // elements
  alpha: f32,  // the scalar of scale, addScalar and powScalar
}
@group(0) @binding(0) var<uniform> unary_p: UnaryParams;
@group(0) @binding(1) var<storage, read> unary_x: array<v4>;         // [count / 4]
@group(0) @binding(2) var<storage, read_write> unary_y: array<v4>;   // [count / 4]

fn unary_forward(x: v4, alpha: f32) -> v4 {
  switch OP {
    case UNARY_NEG: { return -x; }
    case UNARY_EXP: { return exp(x); }
    case UNARY_LOG: { return log(x); }
    case UNARY_SQRT: { return sqrt(x); }
    case UNARY_RSQRT: { return 1.0 / sqrt(x); }  // inverseSqrt may be an approximation
    case UNARY_SIGMOID: { return sigmoid(x); }
    case UNARY_SILU: { return x * sigmoid(x); }
    case UNARY_RELU: { return max(x, v4(0.0)); }
    case UNARY_TANH: { return tanh_stable(x); }
    case UNARY_ABS: { return abs(x); }
    case UNARY_SQUARE: { return x * x; }
    case UNARY_SCALE: { return alpha * x; }
    case UNARY_ADD_SCALAR: { return x + alpha; }
    case UNARY_POW_SCALAR: { return pow_js(x, v4(alpha)); }
    default: { return unknown_op(); }
  }
}

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let e = first_element(wid, nwg, lid);
  if (e < unary_p.count) {
    unary_y[e / 4u] = unary_forward(unary_x[e / 4u], unary_p.alpha);
  }
}

// ---- unary_grad: dx = dy · f'(x), f32 --------------------------------------------------------------------------
@group(0) @binding(0) var<uniform> grad_p: UnaryParams;
@group(0) @binding(1) var<storage, read> grad_x: array<v4>;         // [count / 4], the forward input
@group(0) @binding(2) var<storage, read> grad_dy: array<v4>;        // [count / 4]
@group(0) @binding(3) var<storage, read_write> grad_dx: array<v4>;  // [count / 4]

fn unary_derivative(x: v4, alpha: f32) -> v4 {
  switch OP {
    case UNARY_NEG: { return v4(-1.0); }
    case UNARY_EXP: { return exp(x); }
    case UNARY_LOG: { return 1.0 / x; }
    case UNARY_SQRT: { return 0.5 / sqrt(x); }
    case UNARY_RSQRT: { return -0.5 / (x * sqrt(x)); }  // −½ x^(−3/2)
    case UNARY_SIGMOID: { let s = sigmoid(x); return s * (1.0 - s); }
    case UNARY_SILU: { let s = sigmoid(x); return s * (1.0 + x * (1.0 - s)); }
    case UNARY_RELU: { return select(v4(0.0), v4(1.0), x > v4(0.0)); }  // 0 at 0
    case UNARY_TANH: { let t = tanh_stable(x); return 1.0 - t * t; }
    case UNARY_ABS: { return sign(x); }  // 0 at 0
    case UNARY_SQUARE: { return 2.0 * x; }
    case UNARY_SCALE: { return v4(alpha); }
    case UNARY_ADD_SCALAR: { return v4(1.0); }
    case UNARY_POW_SCALAR: { return alpha * pow_js(x, v4(alpha - 1.0)); }
    default: { return unknown_op(); }
  }
}

@compute @workgroup_size(WG)
fn unary_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let e = first_element(wid, nwg, lid);
  if (e < grad_p.count) {
    grad_dx[e / 4u] = grad_dy[e / 4u] * unary_derivative(grad_x[e / 4u], grad_p.alpha);
  }
}

// ---- swiglu: out = silu(gate) · up, and its backward ------------------------------------------------------------
// SwiGLU's gate in one pass: forward reads gate and up once; backward reads gate, up and dy once and writes both
// gradients (dgate = dy · up · silu'(gate), dup = dy · silu(gate)). All operands are contiguous, [count / 4].
struct SwigluParams {
  count: u32,
}
@group(0) @binding(0) var<uniform> swiglu_p: SwigluParams;
@group(0) @binding(1) var<storage, read> swiglu_gate: array<v4>;
@group(0) @binding(2) var<storage, read> swiglu_up: array<v4>;
@group(0) @binding(3) var<storage, read> swiglu_dy: array<v4>;
@group(0) @binding(4) var<storage, read_write> swiglu_out: array<v4>;  // forward: out; backward: dgate
@group(0) @binding(5) var<storage, read_write> swiglu_dup: array<v4>;

@compute @workgroup_size(WG)
fn swiglu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let e = first_element(wid, nwg, lid);
  if (e < swiglu_p.count) {
    let g = swiglu_gate[e / 4u];
    swiglu_out[e / 4u] = g * sigmoid(g) * swiglu_up[e / 4u];
  }
}

@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let e = first_element(wid, nwg, lid);
  if (e < swiglu_p.count) {
    let g = swiglu_gate[e / 4u];
    let dy = swiglu_dy[e / 4u];
    let s = sigmoid(g);
    swiglu_out[e / 4u] = dy * swiglu_up[e / 4u] * s * (1.0 + g * (1.0 - s));  // silu'(g) = s (1 + g (1 − s))
    swiglu_dup[e / 4u] = dy * g * s;
  }
}

// ---- binary: out[idx] = f(a[aView(idx)], b[bView(idx)]) -----------------------------------------------------------
// Operand 0 of the Strided block is a's view, operand 1 b's view; the output is contiguous (element i = idx).
// Inputs may be f32 or i32 (read as raw bits and converted); the output is always f32.
override A_I32: bool = false;
override B_I32: bool = false;
@group(0) @binding(0) var<uniform> binary_p: Strided;
@group(0) @binding(1) var<storage, read> binary_a: array<u32>;         // any length, read through a's view
@group(0) @binding(2) var<storage, read> binary_b: array<u32>;         // any length, read through b's view
@group(0) @binding(3) var<storage, read_write> binary_out: array<v4>;  // [count / 4]

fn as_f32(bits: vec4<u32>, is_i32: bool) -> v4 {
  return select(bitcast<v4>(bits), v4(bitcast<vec4<i32>>(bits)), is_i32);
}

fn binary_op(a: v4, b: v4) -> v4 {
  switch OP {
    case BINARY_ADD: { return a + b; }
    case BINARY_SUB: { return a - b; }
    case BINARY_MUL: { return a * b; }
    case BINARY_DIV: { return a / b; }
    case BINARY_MAXIMUM: { return max(a, b); }
    case BINARY_MINIMUM: { return min(a, b); }
    case BINARY_POW: { return pow_js(a, b); }
    case BINARY_EQ: { return select(v4(0.0), v4(1.0), a == b); }
    case BINARY_LT: { return select(v4(0.0), v4(1.0), a < b); }
    case BINARY_GT: { return select(v4(0.0), v4(1.0), a > b); }
    default: { return unknown_op(); }
  }
}

@compute @workgroup_size(WG)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let e = first_element(wid, nwg, lid);
  if (e >= binary_p.count) {
    return;
  }
  // Gather the 4 elements' operands through the views (the last vec4 repeats the final element past count).
  let o = strided_offsets4(e, binary_p);
  var a: vec4<u32>;
  var b: vec4<u32>;
  for (var j = 0u; j < 4u; j++) {
    a[j] = binary_a[u32(o[j].x)];
    b[j] = binary_b[u32(o[j].y)];
  }
  binary_out[e / 4u] = binary_op(as_f32(a, A_I32), as_f32(b, B_I32));
}

// ---- binary_contiguous: the same when both inputs are contiguous and start on a vec4 ----------------------------
// (the common case: residual adds, products of same-shaped tensors). Offsets are in vec4s.
struct ContiguousParams {
  count: u32,
  a_offset4: u32,
  b_offset4: u32,
}
@group(0) @binding(0) var<uniform> contiguous_p: ContiguousParams;
@group(0) @binding(1) var<storage, read> contiguous_a: array<vec4<u32>>;     // a from a_offset4, [count / 4]
@group(0) @binding(2) var<storage, read> contiguous_b: array<vec4<u32>>;     // b from b_offset4, [count / 4]
@group(0) @binding(3) var<storage, read_write> contiguous_out: array<v4>;    // [count / 4]

@compute @workgroup_size(WG)
fn binary_contiguous(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let e = first_element(wid, nwg, lid);
  if (e < contiguous_p.count) {
    let a = as_f32(contiguous_a[contiguous_p.a_offset4 + e / 4u], A_I32);
    let b = as_f32(contiguous_b[contiguous_p.b_offset4 + e / 4u], B_I32);
    contiguous_out[e / 4u] = binary_op(a, b);
  }
}

// ---- where: out[idx] = cond[condView(idx)] ≠ 0 ? a[aView(idx)] : b[bView(idx)] ------------------------------------
// Operands 0, 1, 2 of the Strided block are the views of cond, a and b. a, b and out share one dtype, moved as raw
// bits; cond may be f32 or i32 (for f32, −0 counts as zero, as in the CPU backend's `!== 0`).
override COND_I32: bool = false;
@group(0) @binding(0) var<uniform> where_p: Strided;
@group(0) @binding(1) var<storage, read> where_cond: array<u32>;           // any length, read through cond's view
@group(0) @binding(2) var<storage, read> where_a: array<u32>;              // any length, read through a's view
@group(0) @binding(3) var<storage, read> where_b: array<u32>;              // any length, read through b's view
@group(0) @binding(4) var<storage, read_write> where_out: array<vec4<u32>>;  // [count / 4]

@compute @workgroup_size(WG)
fn where_select(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let e = first_element(wid, nwg, lid);
  if (e >= where_p.count) {
    return;
  }
  let o = strided_offsets4(e, where_p);
  var out: vec4<u32>;
  for (var j = 0u; j < 4u; j++) {
    let c = where_cond[u32(o[j].x)];
    let taken = select(bitcast<f32>(c) != 0.0, bitcast<i32>(c) != 0, COND_I32);
    out[j] = select(where_b[u32(o[j].z)], where_a[u32(o[j].y)], taken);
  }
  where_out[e / 4u] = out;
}
