/**
 * Reproducible mini-batches whose position can be saved in a checkpoint and restored exactly.
 *
 * Rows are drawn without replacement: each epoch is a fresh seeded permutation of all rows, and batches take
 * the next `batchSize` rows of it. When an epoch runs out mid-batch, the batch is completed from the next
 * epoch's permutation, so every batch has exactly `batchSize` rows (fixed shapes suit the compute backends)
 * and every row is seen once per epoch.
 *
 * Resuming: the state is the epoch number, the position in the epoch and the generator's state *before* that
 * epoch's permutation was drawn. Restoring redraws the same permutation and continues at the same position,
 * so an interrupted and resumed run sees exactly the batches of an uninterrupted one. The state is plain JSON.
 *
 * @module
 */

import { Rng, type RngState } from "../rng.ts";
import type { TokenRows } from "./packing.ts";
import type { SftRows } from "./sft.ts";

/** Options for {@link BatchIterator}. */
export interface BatchIteratorOptions {
  /** Rows per batch, `B`. */
  batchSize: number;
  /** Seed, or a generator to fork a private stream from (the generator advances by one fork). */
  seed: number | Rng;
}

/** The saved position of a {@link BatchIterator} (plain JSON, for checkpoints). */
export interface BatchIteratorState {
  /** Number of rows of the data it iterates (checked on restore). */
  rows: number;
  /** Rows per batch (checked on restore). */
  batchSize: number;
  /** Current epoch, from 0. */
  epoch: number;
  /** Rows of the current epoch already drawn. */
  cursor: number;
  /** Generator state just before the current epoch's permutation was drawn. */
  epochRng: RngState;
}

/** One mini-batch: the gathered rows, and which rows of the data they were. */
export type Batch<D extends TokenRows> = (D extends SftRows ? SftRows : TokenRows) & {
  /** `[batchSize]`: the row of the data each batch row was taken from. */
  indices: Int32Array;
};

/** Draws seeded mini-batches from token rows (or SFT rows, whose prompt lengths come along). */
export class BatchIterator<D extends TokenRows = TokenRows> {
  /** The rows batches are drawn from. */
  readonly data: D;
  /** Rows per batch. */
  readonly batchSize: number;
  #rng: Rng;
  #epoch = 0;
  #cursor = 0;
  #epochRng: RngState;
  #order: Int32Array;

  /**
   * An iterator over `data` in a seeded order, reshuffled every epoch.
   *
   * @param data the rows to draw from, `[rows, length]` (with `promptLengths` for SFT data).
   */
  constructor(data: D, options: BatchIteratorOptions) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`BatchIterator: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (data.rows < 1) throw new Error("BatchIterator: the data has no rows");
    this.data = data;
    this.batchSize = batchSize;
    this.#rng = typeof options.seed === "number" ? new Rng(options.seed) : options.seed.fork();
    this.#epochRng = this.#rng.getState();
    this.#order = this.#rng.permutation(data.rows);
  }

  /** The current epoch (0 during the first pass over the data). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Row indices of the next batch, `[batchSize]`, continuing into the next epoch when this one runs out. */
  nextIndices(): Int32Array {
    const indices = new Int32Array(this.batchSize);
    for (let b = 0; b < this.batchSize; b++) {
      if (this.#cursor === this.data.rows) {
        this.#epoch++;
        this.#cursor = 0;
        this.#epochRng = this.#rng.getState();
        this.#order = this.#rng.permutation(this.data.rows);
      }
      indices[b] = this.#order[this.#cursor++];
    }
    return indices;
  }

  /** The next batch: rows gathered into `[batchSize, length]` (and their prompt and pair lengths for SFT data). */
  next(): Batch<D> {
    const indices = this.nextIndices();
    const { length } = this.data;
    const tokens = new Int32Array(this.batchSize * length);
    indices.forEach((row, b) =>
      tokens.set(this.data.tokens.subarray(row * length, (row + 1) * length), b * length)
    );
    const batch: TokenRows & { indices: Int32Array; promptLengths?: Int32Array; pairLengths?: Int32Array } = {
      tokens,
      rows: this.batchSize,
      length,
      indices,
    };
    const { promptLengths, pairLengths } = this.data as Partial<SftRows>;
    if (promptLengths) batch.promptLengths = indices.map((row) => promptLengths[row]);
    if (pairLengths) batch.pairLengths = indices.map((row) => pairLengths[row]);
    return batch as Batch<D>;
  }

  /** The position, to save in a checkpoint. */
  getState(): BatchIteratorState {
    return {
      rows: this.data.rows,
      batchSize: this.batchSize,
      epoch: this.#epoch,
      cursor: this.#cursor,
      epochRng: structuredClone(this.#epochRng),
    };
  }

  /**
   * Continues from a saved position: the following batches are those the saved iterator would have drawn.
   *
   * @throws when the state was saved for data with a different number of rows or another batch size.
   */
  setState(state: BatchIteratorState): void {
    if (state.rows !== this.data.rows || state.batchSize !== this.batchSize) {
      throw new Error(
        `BatchIterator.setState: the state is for ${state.rows} rows in batches of ${state.batchSize}, ` +
          `but this iterator has ${this.data.rows} rows in batches of ${this.batchSize}`,
      );
    }
    if (!Number.isInteger(state.cursor) || state.cursor < 0 || state.cursor > state.rows) {
      throw new Error(`BatchIterator.setState: cursor ${state.cursor} is outside [0, ${state.rows}]`);
    }
    this.#rng.setState(state.epochRng);
    this.#epochRng = this.#rng.getState();
    this.#order = this.#rng.permutation(this.data.rows); // the same permutation as when it was first drawn
    this.#epoch = state.epoch;
    this.#cursor = state.cursor;
  }
}
