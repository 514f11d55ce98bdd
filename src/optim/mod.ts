/**
 * Optimisation: AdamW, gradient clipping and learning-rate schedules.
 *
 * @module
 */

export * from "./adamw.ts";
export * from "./clip.ts";
export * from "./schedule.ts";
