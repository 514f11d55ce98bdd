/**
 * The tape: reverse-mode automatic differentiation over {@link Tensor}s.
 *
 * Each op, when one of its inputs requires a gradient, records a {@link GradNode} on its output: the op's name,
 * its inputs, and a `backward` closure that maps the gradient of the output to gradients of the inputs. The
 * closure sits in the op's own file, right under the forward code (micrograd's pairing), and captures what the
 * forward pass saved for it.
 *
 * `backward(loss)` then:
 *  1. sorts the graph topologically, so a node runs only after every use of its output has sent its gradient;
 *  2. walks it in reverse, calling each node's closure with gradient tracking switched off;
 *  3. accumulates (sums) gradients that reach a tensor along several paths;
 *  4. stores the result in `.grad` of every leaf that requires it (adding to a gradient already there).
 *
 * Left out on purpose: higher-order gradients (the closures run untracked) and keeping the graph for a second
 * backward pass (nodes are cut as they run, as PyTorch does by default).
 *
 * @module
 */

import { contiguousView } from "./backend/backend.ts";
import { keep, Tensor } from "./tensor.ts";

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
 * once, with its backward closure; it returns `out` for convenience.
 */
export function record(
  out: Tensor,
  op: string,
  inputs: readonly Tensor[],
  backward: (dy: Tensor) => (Tensor | null)[],
): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Tensors reachable from `root` through recorded nodes, each after all tensors it depends on. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative depth-first search (a deep network would overflow a recursive one).
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const inputs = frame.t.node?.inputs ?? [];
    if (frame.next < inputs.length) {
      const child = inputs[frame.next++];
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(frame.t);
      stack.pop();
    }
  }
  return order;
}

/** A copy of `t` in fresh storage (so that two tensors never share one gradient object). */
function clone(t: Tensor): Tensor {
  return new Tensor(t.backend.copy(t.storage, contiguousView(t.shape), [...t.shape]), t.shape, t.backend);
}

/** a + b for two tensors of one shape, straight on the backend (no graph). */
function accumulate(a: Tensor, b: Tensor): Tensor {
  const view = contiguousView(a.shape);
  return new Tensor(
    a.backend.binary("add", a.storage, view, b.storage, view, [...a.shape]),
    a.shape,
    a.backend,
  );
}

/**
 * Back-propagates from `root`: afterwards every leaf tensor with `requiresGrad` that `root` depends on has
 * `.grad` = d root / d leaf (added to any gradient it already had). `root` must have one element unless a
 * gradient `seed` of its shape is given.
 */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error("backward(): this tensor does not depend on any tensor with requiresGrad: true");
  }
  if (!seed && root.size !== 1) {
    throw new Error(`backward(): expected a scalar loss, got shape [${root.shape}]; pass a gradient seed`);
  }
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>();
  // A backward closure may return the same tensor for two inputs (d(a+b)/da = d(a+b)/db = dy); each gradient
  // is stored once, so a second use gets its own copy.
  const used = new Set<Tensor>();
  const own = (g: Tensor) => (used.has(g) ? clone(g) : (used.add(g), g));
  grads.set(root, seed ?? Tensor.ones(root.shape, { backend: root.backend }));
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      const node = t.node;
      if (node === null) {
        // A leaf: hand the gradient to the user.
        const previous = t.grad;
        t.grad = keep(previous ? accumulate(previous, g) : g);
        previous?.dispose();
        continue;
      }
      used.add(g);
      const inputGrads = node.backward(g);
      node.inputs.forEach((input, j) => {
        const gi = inputGrads[j];
        if (!input.requiresGrad || !gi) return;
        if (gi.shape.join() !== input.shape.join()) {
          throw new Error(
            `backward of ${node.op}: gradient [${gi.shape}] does not match input ${j} [${input.shape}]`,
          );
        }
        const previous = grads.get(input);
        grads.set(input, previous ? accumulate(previous, gi) : own(gi));
      });
      t.node = null; // the graph is used once, as in PyTorch's default
    }
  });
}
