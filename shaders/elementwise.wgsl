// elementwise.wgsl — functions applied element by element: unary ops and their gradients, broadcasting binary
// ops, and where (select).
//
// 1-D launches of WG invocations per workgroup (folded into two dimensions past 65,535 workgroups, see
// flat_workgroup in common.wgsl); invocation i computes output element i. The operation is an override constant,
// so each op gets its own pipeline whose switch the compiler folds away.

override WG: u32 = 64;
override OP: u32 = 0;  // which op: the index into UnaryOp or BinaryOp, in the order of src/backend/backend.ts

// x^a with JavaScript's Math.pow semantics for the cases training meets: a = 0 gives 1, a negative base needs an
// integer exponent (the sign follows its parity), anything else with a negative base is NaN.
fn pow_js(x: f32, a: f32) -> f32 {
  if (a == 0.0) {
    return 1.0;
  }
  let magnitude = pow(abs(x), a);
  if (x >= 0.0) {
    return magnitude;
  }
  if (fract(a) != 0.0) {
    return nan();
  }
  return select(magnitude, -magnitude, fract(a * 0.5) != 0.0);  // odd exponent: negative
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));  // exp(-x) = ∞ for very negative x gives 0, as it should
}

// tanh from e^(−2|x|) ≤ 1, which cannot overflow (the textbook (e^2x − 1)/(e^2x + 1) does for |x| > 44).
fn tanh_stable(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

// ---- unary: y = f(x), f32 -------------------------------------------------------------------------------------
struct UnaryParams {
  count: u32,  // elements
  alpha: f32,  // the scalar of scale, addScalar and powScalar
}
@group(0) @binding(0) var<uniform> unary_p: UnaryParams;
@group(0) @binding(1) var<storage, read> unary_x: array<f32>;         // [count]
@group(0) @binding(2) var<storage, read_write> unary_y: array<f32>;   // [count]

fn unary_forward(x: f32, alpha: f32) -> f32 {
  switch OP {
    case 0u: { return -x; }                     // neg
    case 1u: { return exp(x); }                 // exp
    case 2u: { return log(x); }                 // log
    case 3u: { return sqrt(x); }                // sqrt
    case 4u: { return 1.0 / sqrt(x); }          // rsqrt (inverseSqrt may be an approximation)
    case 5u: { return sigmoid(x); }             // sigmoid
    case 6u: { return x * sigmoid(x); }         // silu
    case 7u: { return max(x, 0.0); }            // relu
    case 8u: { return tanh_stable(x); }         // tanh
    case 9u: { return abs(x); }                 // abs
    case 10u: { return x * x; }                 // square
    case 11u: { return alpha * x; }             // scale
    case 12u: { return x + alpha; }             // addScalar
    default: { return pow_js(x, alpha); }       // powScalar
  }
}

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i < unary_p.count) {
    unary_y[i] = unary_forward(unary_x[i], unary_p.alpha);
  }
}

// ---- unary_grad: dx = dy · f'(x), f32 --------------------------------------------------------------------------
@group(0) @binding(0) var<uniform> grad_p: UnaryParams;
@group(0) @binding(1) var<storage, read> grad_x: array<f32>;         // [count], the forward input
@group(0) @binding(2) var<storage, read> grad_dy: array<f32>;        // [count]
@group(0) @binding(3) var<storage, read_write> grad_dx: array<f32>;  // [count]

fn unary_derivative(x: f32, alpha: f32) -> f32 {
  switch OP {
    case 0u: { return -1.0; }                                   // neg
    case 1u: { return exp(x); }                                 // exp
    case 2u: { return 1.0 / x; }                                // log
    case 3u: { return 0.5 / sqrt(x); }                          // sqrt
    case 4u: { return -0.5 / (x * sqrt(x)); }                   // rsqrt: −½ x^(−3/2)
    case 5u: { let s = sigmoid(x); return s * (1.0 - s); }      // sigmoid
    case 6u: { let s = sigmoid(x); return s * (1.0 + x * (1.0 - s)); }  // silu
    case 7u: { return select(0.0, 1.0, x > 0.0); }              // relu (0 at 0)
    case 8u: { let t = tanh_stable(x); return 1.0 - t * t; }    // tanh
    case 9u: { return sign(x); }                                // abs (0 at 0)
    case 10u: { return 2.0 * x; }                               // square
    case 11u: { return alpha; }                                 // scale
    case 12u: { return 1.0; }                                   // addScalar
    default: { return alpha * pow_js(x, alpha - 1.0); }         // powScalar
  }
}

@compute @workgroup_size(WG)
fn unary_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i < grad_p.count) {
    grad_dx[i] = grad_dy[i] * unary_derivative(grad_x[i], grad_p.alpha);
  }
}

// ---- binary: out[idx] = f(a[aView(idx)], b[bView(idx)]) -----------------------------------------------------------
// Operand 0 of the Strided block is a's view, operand 1 b's view; the output is contiguous (element i = idx).
// Inputs may be f32 or i32 (read as raw bits and converted); the output is always f32.
override A_I32: bool = false;
override B_I32: bool = false;
@group(0) @binding(0) var<uniform> binary_p: Strided;
@group(0) @binding(1) var<storage, read> binary_a: array<u32>;          // any length, read through a's view
@group(0) @binding(2) var<storage, read> binary_b: array<u32>;          // any length, read through b's view
@group(0) @binding(3) var<storage, read_write> binary_out: array<f32>;  // [count]

fn as_f32(bits: u32, is_i32: bool) -> f32 {
  return select(bitcast<f32>(bits), f32(bitcast<i32>(bits)), is_i32);
}

fn binary_op(a: f32, b: f32) -> f32 {
  switch OP {
    case 0u: { return a + b; }                    // add
    case 1u: { return a - b; }                    // sub
    case 2u: { return a * b; }                    // mul
    case 3u: { return a / b; }                    // div
    case 4u: { return max(a, b); }                // maximum
    case 5u: { return min(a, b); }                // minimum
    case 6u: { return pow_js(a, b); }             // pow
    case 7u: { return select(0.0, 1.0, a == b); } // eq
    case 8u: { return select(0.0, 1.0, a < b); }  // lt
    default: { return select(0.0, 1.0, a > b); }  // gt
  }
}

@compute @workgroup_size(WG)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i < binary_p.count) {
    let o = strided_offsets(i, binary_p);
    binary_out[i] = binary_op(as_f32(binary_a[u32(o.x)], A_I32), as_f32(binary_b[u32(o.y)], B_I32));
  }
}

// ---- where: out[idx] = cond[condView(idx)] ≠ 0 ? a[aView(idx)] : b[bView(idx)] ------------------------------------
// Operands 0, 1, 2 of the Strided block are the views of cond, a and b. a, b and out share one dtype, moved as raw
// bits; cond may be f32 or i32 (for f32, −0 counts as zero, as in the CPU backend's `!== 0`).
override COND_I32: bool = false;
@group(0) @binding(0) var<uniform> where_p: Strided;
@group(0) @binding(1) var<storage, read> where_cond: array<u32>;        // any length, read through cond's view
@group(0) @binding(2) var<storage, read> where_a: array<u32>;           // any length, read through a's view
@group(0) @binding(3) var<storage, read> where_b: array<u32>;           // any length, read through b's view
@group(0) @binding(4) var<storage, read_write> where_out: array<u32>;   // [count]

@compute @workgroup_size(WG)
fn where_select(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i < where_p.count) {
    let o = strided_offsets(i, where_p);
    let c = where_cond[u32(o.x)];
    let taken = select(bitcast<f32>(c) != 0.0, bitcast<i32>(c) != 0, COND_I32);
    where_out[i] = select(where_b[u32(o.z)], where_a[u32(o.y)], taken);
  }
}
