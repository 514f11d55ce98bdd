/**
 * Every differentiable op, re-exported. Each op family lives in its own file with forward and backward side by
 * side.
 *
 * @module
 */

export * from "./elementwise.ts";
export * from "./reduce.ts";
export * from "./shape.ts";
export * from "./matmul.ts";
export * from "./softmax.ts";
export * from "./nn.ts";
export * from "./attention.ts";
