/**
 * Deterministic train/validation splits, by document.
 *
 * Splitting whole documents (not packed rows) keeps every validation text unseen: a held-out bound measured on
 * rows cut from training documents would flatter the model. The split depends only on the number of items and
 * the seed, so a run, its resumption and a later `eval` agree on which documents are held out.
 *
 * @module
 */

import { type Rng, toRng } from "../rng.ts";

/** Options for {@link splitTrainValid}. */
export interface SplitOptions {
  /** Fraction of the items held out for validation (rounded, at least 1). Default 0.1. Ignored if `validCount`. */
  validFraction?: number;
  /** Exact number of items held out for validation. */
  validCount?: number;
  /** Seed or generator (a generator is advanced). */
  seed: number | Rng;
}

/** The two sides of a split; each keeps the items' original order. */
export interface Split<T> {
  /** Items for training. */
  train: T[];
  /** Items held out for validation. */
  valid: T[];
  /** Indices into the original array of the training items, increasing. */
  trainIndices: number[];
  /** Indices into the original array of the validation items, increasing. */
  validIndices: number[];
}

/**
 * Splits `items` into disjoint training and validation sets: the validation set is a uniformly random subset
 * of `validCount` items (drawn with the seed), the rest is training data. Both keep the original order.
 *
 * @example
 * const { train, valid } = splitTrainValid(await loadBrown(), { validFraction: 0.1, seed: 0 }); // 450 / 50 documents
 */
export function splitTrainValid<T>(items: readonly T[], options: SplitOptions): Split<T> {
  const n = items.length;
  const { validFraction = 0.1 } = options;
  if (!(validFraction >= 0 && validFraction < 1)) {
    throw new Error(`splitTrainValid: validFraction must be in [0, 1), got ${validFraction}`);
  }
  const validCount = options.validCount ?? Math.max(1, Math.round(n * validFraction));
  if (!Number.isInteger(validCount) || validCount < 0 || validCount >= n) {
    throw new Error(
      `splitTrainValid: cannot hold out ${validCount} of ${n} items; need 0 <= validCount < number of items`,
    );
  }
  const held = new Uint8Array(n);
  for (const i of toRng(options.seed).choose(n, validCount)) held[i] = 1;
  const split: Split<T> = { train: [], valid: [], trainIndices: [], validIndices: [] };
  for (let i = 0; i < n; i++) {
    if (held[i]) {
      split.valid.push(items[i]);
      split.validIndices.push(i);
    } else {
      split.train.push(items[i]);
      split.trainIndices.push(i);
    }
  }
  return split;
}
