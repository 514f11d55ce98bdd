/**
 * llada-ts: a line-by-line documented reference implementation of LLaDA, the masked diffusion language model
 * ("Large Language Diffusion Models", Nie et al. 2025), with its compute in hand-written WGSL shaders run
 * through WebGPU and a plain TypeScript CPU backend that is the executable specification.
 *
 * Re-exports only. Reading order: `src/llada/` (the three LLaDA modules), `src/model/llada.ts` (the network),
 * `src/ops/` and `src/autograd.ts` (how gradients flow), `src/backend/` and `shaders/` (where the arithmetic runs).
 *
 * @example
 * ```ts
 * import { createModel, generate } from "./mod.ts";
 * const model = await createModel({ d_model: 64, n_layers: 2, n_heads: 4, vocab_size: 32,
 *   max_sequence_length: 64, mask_token_id: 0, eos_token_id: 1 }, { seed: 0 });
 * const { tokens, nfe } = await generate(model, [[5, 6, 7]], { genLength: 8, steps: 8, maskId: 0 });
 * ```
 *
 * @module
 */

// The three LLaDA modules and the interface they see a network through.
export * from "./src/llada/mod.ts";

// The network, its training and its files.
export { createModel, LLaDAModel, type ModelOptions, positionsFromMask } from "./src/model/llada.ts";
export { LayerKVCache, logitsAndCache, logitsCached } from "./src/model/kv_cache.ts";
export {
  ConfigError,
  configFromJSON,
  configToJSON,
  type LayoutEntry,
  type LLaDAConfig,
  lladaTensorLayout,
  lladaTensorShapes,
  OFFICIAL_DEFAULTS,
  paddedEmbeddingSize,
  validateConfig,
} from "./src/model/config.ts";
export * from "./src/optim/mod.ts";
export * from "./src/io/mod.ts";
export {
  type LossParts,
  type Objective,
  objectiveLoss,
  type StepOptions,
  type StepResult,
  type TokenBatch,
  trainStep,
} from "./src/train/step.ts";

// Text.
export * from "./src/tokenizer/mod.ts";
export * from "./src/data/mod.ts";

// Tensors, autograd, ops and backends.
export {
  backward,
  getDefaultBackend,
  keep,
  setDefaultBackend,
  Tensor,
  type TensorOptions,
  tidy,
} from "./src/tensor.ts";
export { type GradNode, isGradEnabled, noGrad } from "./src/autograd.ts";
export {
  setTrace,
  TRACE_ENV,
  traceFlushed,
  type TraceLevel,
  traceLevel,
  type TraceOptions,
} from "./src/trace.ts";
export * as ops from "./src/ops/mod.ts";
export * from "./src/backend/backend.ts";
export { CpuBackend } from "./src/backend/cpu.ts";
export { Rng, type RngState, toRng } from "./src/rng.ts";
