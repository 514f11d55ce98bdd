/**
 * Elementwise ops: functions of one tensor (exp, silu, …), of two broadcast tensors (add, mul, …) and `where`.
 *
 * Backward rules, each next to its forward:
 * - unary `y = f(x)`: `dx = dy · f'(x)`, one backend call (`unaryGrad`) that knows every f'.
 * - binary with broadcasting: the local derivatives, then {@link sumTo} to sum the gradient over the
 *   dimensions that were broadcast, so it has the input's shape again.
 *
 * @module
 */

import type { BinaryOp, UnaryOp } from "../backend/backend.ts";
import { contiguousView } from "../backend/backend.ts";
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { broadcastShapes, broadcastView, expectDType, sameBackend, wrap } from "./util.ts";
import { sumTo } from "./shape.ts";

// ---- one argument -------------------------------------------------------------------------------------------------

function unary(op: UnaryOp, x: Tensor, alpha = 0): Tensor {
  expectDType(op, "x", x, "f32");
  const out = wrap(x.backend.unary(op, x.storage, alpha), x.shape, x);
  return record(
    out,
    op,
    [x],
    (dy) => [wrap(x.backend.unaryGrad(op, x.storage, dy.storage, alpha), x.shape, x)],
  );
}

/** −x */
export const neg = (x: Tensor): Tensor => unary("neg", x);
/** eˣ */
export const exp = (x: Tensor): Tensor => unary("exp", x);
/** ln x */
export const log = (x: Tensor): Tensor => unary("log", x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
/** 1/√x */
export const rsqrt = (x: Tensor): Tensor => unary("rsqrt", x);
/** 1/(1+e^−x) */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);
/** x·sigmoid(x), the activation of LLaDA's SwiGLU feed-forward. */
export const silu = (x: Tensor): Tensor => unary("silu", x);
/** max(x, 0) */
export const relu = (x: Tensor): Tensor => unary("relu", x);
/** tanh x */
export const tanh = (x: Tensor): Tensor => unary("tanh", x);
/** |x| */
export const abs = (x: Tensor): Tensor => unary("abs", x);
/** x² */
export const square = (x: Tensor): Tensor => unary("square", x);
/** alpha·x */
export const scale = (x: Tensor, alpha: number): Tensor => unary("scale", x, alpha);
/** x + alpha */
export const addScalar = (x: Tensor, alpha: number): Tensor => unary("addScalar", x, alpha);
/** x^alpha */
export const powScalar = (x: Tensor, alpha: number): Tensor => unary("powScalar", x, alpha);

// ---- two arguments, broadcast ---------------------------------------------------------------------------------------

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  sameBackend(op, a, b);
  expectDType(op, "a", a, "f32");
  expectDType(op, "b", b, "f32");
  const shape = broadcastShapes(op, a.shape, b.shape);
  const storage = a.backend.binary(
    op,
    a.storage,
    broadcastView(a.shape, shape),
    b.storage,
    broadcastView(b.shape, shape),
    shape,
  );
  return wrap(storage, shape, a);
}

/** a + b (broadcast). */
export function add(a: Tensor, b: Tensor): Tensor {
  return record(binary("add", a, b), "add", [a, b], (dy) => [sumTo(dy, a.shape), sumTo(dy, b.shape)]);
}

/** a − b (broadcast). */
export function sub(a: Tensor, b: Tensor): Tensor {
  return record(binary("sub", a, b), "sub", [a, b], (dy) => [sumTo(dy, a.shape), sumTo(neg(dy), b.shape)]);
}

/** a · b (broadcast). */
export function mul(a: Tensor, b: Tensor): Tensor {
  return record(
    binary("mul", a, b),
    "mul",
    [a, b],
    (dy) => [sumTo(mul(dy, b), a.shape), sumTo(mul(dy, a), b.shape)],
  );
}

/** a / b (broadcast). */
export function div(a: Tensor, b: Tensor): Tensor {
  return record(binary("div", a, b), "div", [a, b], (dy) => [
    sumTo(div(dy, b), a.shape),
    sumTo(neg(div(mul(dy, a), square(b))), b.shape), // d(a/b)/db = −a/b²
  ]);
}

/** aᵇ (broadcast; a > 0 where b is not an integer). */
export function pow(a: Tensor, b: Tensor): Tensor {
  const y = binary("pow", a, b);
  return record(y, "pow", [a, b], (dy) => [
    sumTo(mul(dy, mul(b, pow(a, addScalar(b, -1)))), a.shape), // b·a^(b−1)
    sumTo(mul(dy, mul(y, log(a))), b.shape), // aᵇ·ln a
  ]);
}

/** max(a, b) elementwise; where equal, the gradient goes to a. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return record(binary("maximum", a, b), "maximum", [a, b], (dy) => {
    const bWins = binary("gt", b, a);
    return [sumTo(mul(dy, addScalar(neg(bWins), 1)), a.shape), sumTo(mul(dy, bWins), b.shape)];
  });
}

/** min(a, b) elementwise; where equal, the gradient goes to a. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return record(binary("minimum", a, b), "minimum", [a, b], (dy) => {
    const bWins = binary("lt", b, a);
    return [sumTo(mul(dy, addScalar(neg(bWins), 1)), a.shape), sumTo(mul(dy, bWins), b.shape)];
  });
}

/** 1 where a = b, else 0 (no gradient). */
export const equal = (a: Tensor, b: Tensor): Tensor => record(binary("eq", a, b), "equal", [a, b], null);
/** 1 where a < b, else 0 (no gradient). */
export const less = (a: Tensor, b: Tensor): Tensor => record(binary("lt", a, b), "less", [a, b], null);
/** 1 where a > b, else 0 (no gradient). */
export const greater = (a: Tensor, b: Tensor): Tensor => record(binary("gt", a, b), "greater", [a, b], null);

/**
 * `cond ≠ 0 ? a : b` elementwise with broadcasting (cond may be f32 or i32). The gradient flows to `a` where the
 * condition holds and to `b` elsewhere; none flows to `cond`.
 */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  sameBackend("where", cond, a, b);
  if (a.dtype !== b.dtype) {
    throw new Error(`where: a and b must share a dtype, got ${a.dtype} and ${b.dtype}`);
  }
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, a.shape), b.shape);
  const select = (x: Tensor | null, y: Tensor | null, like: Tensor) => {
    // Route a gradient of `shape` through the same condition; a null side contributes zeros.
    const xs = x ?? Tensor.zeros([], { backend: like.backend });
    const ys = y ?? Tensor.zeros([], { backend: like.backend });
    return wrap(
      like.backend.where(
        cond.storage,
        broadcastView(cond.shape, shape),
        xs.storage,
        broadcastView(xs.shape, shape),
        ys.storage,
        broadcastView(ys.shape, shape),
        shape,
      ),
      shape,
      like,
    );
  };
  const out = select(a, b, a);
  return record(out, "where", [cond, a, b], (dy) => [
    null,
    sumTo(select(dy, null, dy), a.shape),
    sumTo(select(null, dy, dy), b.shape),
  ]);
}

/** A contiguous copy of x (the identity, for code that wants fresh storage). */
export function copy(x: Tensor): Tensor {
  const storage = x.backend.copy(x.storage, contiguousView(x.shape), [...x.shape]);
  return record(wrap(storage, x.shape, x), "copy", [x], (dy) => [dy]);
}
