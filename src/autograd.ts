/**
 * Recording the graph: how an op links its output to its inputs and its backward closure, and the switch that
 * turns recording off.
 *
 * Each op, when one of its inputs requires a gradient, records a {@link GradNode} on its output: the op's name,
 * its inputs, and a `backward` closure that maps the gradient of the output to gradients of the inputs. The
 * closure sits in the op's own file, right under the forward code (micrograd's pairing), and captures what the
 * forward pass saved for it. The walk that runs the closures, `backward`, lives with the node's owner in
 * `tensor.ts` (as micrograd keeps `Value.backward` with `Value`), so this file needs tensors only as a type.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";
import { traceLevel, traceOp } from "./trace.ts";

/** How a tensor was computed: the op's name, its inputs and how to send a gradient back to them. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Given dL/d(output), returns dL/d(input) for each input, or null where an input needs none. */
  backward(dy: Tensor): (Tensor | null)[];
}

let gradEnabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording the graph (inference, the optimiser update, the backward closures themselves). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Links an op's output to its inputs when recording is on and an input requires a gradient. Every op calls this
 * once, with its backward closure, or null for an op without a gradient (argmax, comparisons); it returns `out`
 * for convenience. Being the one call every op makes, it is also where the op trace (`trace.ts`) sees each op.
 */
export function record(
  out: Tensor,
  op: string,
  inputs: readonly Tensor[],
  backward: ((dy: Tensor) => (Tensor | null)[]) | null,
): Tensor {
  if (traceLevel() > 0) traceOp(op, inputs, [out]);
  if (backward !== null && gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}
