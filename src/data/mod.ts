/**
 * Data: the Brown corpus, Tang poems, synthetic tasks, splits, packing, SFT padding and the batch iterator.
 *
 * @module
 */

export * from "./brown.ts";
export * from "./tang.ts";
export * from "./synthetic.ts";
export * from "./split.ts";
export * from "./packing.ts";
export * from "./sft.ts";
export * from "./batches.ts";
