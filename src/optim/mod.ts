/**
 * Optimisation: AdamW, gradient clipping and the warmup-stable-decay learning-rate schedule.
 *
 * @module
 */

export * from "./adamw.ts";
export * from "./clip.ts";
export * from "./schedule.ts";
