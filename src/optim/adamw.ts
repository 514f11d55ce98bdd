/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019), the optimiser LLaDA is trained
 * with (the paper uses weight decay 0.1).
 *
 * For each parameter p with gradient g, at step t = 1, 2, …:
 *
 *     m = β1·m + (1 − β1)·g                 first moment
 *     v = β2·v + (1 − β2)·g²                second moment
 *     m̂ = m / (1 − β1ᵗ),  v̂ = v / (1 − β2ᵗ)   bias correction (the moments start at 0)
 *     p = p − lr·( m̂ / (√v̂ + ε) + wd·p )     decay applied to p directly, not added to g ("decoupled")
 *
 * The update runs as one backend primitive per parameter (a WGSL kernel on WebGPU), in place, so parameters
 * and moments never leave the device. Weight decay applies to matrices (projections, embedding, output layer)
 * and not to the RMSNorm weights, whose natural value is 1, not 0 — the usual practice for LLaMA-style models.
 *
 * @module
 */

import { keep, Tensor } from "../tensor.ts";

/** AdamW settings. */
export interface AdamWOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay of the first-moment average (default 0.9). */
  beta1?: number;
  /** Decay of the second-moment average (default 0.95, as LLaDA). */
  beta2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0.1). */
  weightDecay?: number;
}

/** AdamW over a list of named parameters. */
export class AdamW {
  /** Steps taken so far (the bias correction uses step + 1 for the next update). */
  step = 0;
  /** Learning rate. */
  readonly lr: number;
  /** Decay of the first-moment average. */
  readonly beta1: number;
  /** Decay of the second-moment average. */
  readonly beta2: number;
  /** Added to the root of the second moment. */
  readonly eps: number;
  /** Decoupled weight decay. */
  readonly weightDecay: number;
  readonly #m: Tensor[];
  readonly #v: Tensor[];

  /**
   * An optimiser of `params`, its moment estimates starting at zero on each parameter's backend.
   *
   * @param params the parameters to update, by name.
   * @param options the settings; defaults as in {@link AdamWOptions}.
   */
  constructor(readonly params: readonly [string, Tensor][], options: AdamWOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.95;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.1;
    this.#m = params.map(([, p]) => keep(Tensor.zeros(p.shape, { backend: p.backend })));
    this.#v = params.map(([, p]) => keep(Tensor.zeros(p.shape, { backend: p.backend })));
  }

  /** Applies one update with learning rate `lr` (from a schedule) to every parameter that has a gradient. */
  update(lr = this.lr): void {
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`AdamW.update: learning rate must be ≥ 0, got ${lr}`);
    this.step++;
    this.params.forEach(([, p], i) => {
      if (!p.grad) return;
      const decay = p.shape.length >= 2 ? this.weightDecay : 0; // matrices only; norm weights are not decayed
      p.backend.adamw(p.storage, p.grad.storage, this.#m[i].storage, this.#v[i].storage, {
        lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: decay,
        step: this.step,
      });
    });
  }

  /** Drops every parameter's gradient (call before the next backward pass). */
  zeroGrad(): void {
    for (const [, p] of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The moments as named tensors (`<param>.exp_avg`, `<param>.exp_avg_sq`), for checkpoints. */
  stateTensors(): [string, Tensor][] {
    return this.params.flatMap(([name], i) =>
      [
        [`${name}.exp_avg`, this.#m[i]],
        [`${name}.exp_avg_sq`, this.#v[i]],
      ] as [string, Tensor][]
    );
  }

  /** Restores moments and the step count saved with {@link stateTensors}. */
  loadState(step: number, tensors: Map<string, Float32Array>): void {
    const missing: string[] = [];
    this.params.forEach(([name, p], i) => {
      for (const [suffix, target] of [["exp_avg", this.#m[i]], ["exp_avg_sq", this.#v[i]]] as const) {
        const data = tensors.get(`${name}.${suffix}`);
        if (!data || data.length !== p.size) {
          missing.push(`${name}.${suffix}`);
          continue;
        }
        target.assign(Tensor.from(data, p.shape, { backend: p.backend }));
      }
    });
    if (missing.length > 0) {
      throw new Error(`AdamW.loadState: optimiser state is missing or mis-sized for ${missing.join(", ")}`);
    }
    this.step = step;
  }

  /** Releases the moment tensors. */
  dispose(): void {
    for (const t of [...this.#m, ...this.#v]) t.dispose();
  }
}
