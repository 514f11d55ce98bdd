/**
 * llada-ts: a line-by-line documented reference implementation of LLaDA, the masked diffusion language model
 * ("Large Language Diffusion Models", Nie et al. 2025), with its compute in hand-written WGSL shaders run
 * through WebGPU and a plain TypeScript CPU backend that is the executable specification.
 *
 * Re-exports only. Reading order: `src/llada/` (the three LLaDA modules), `src/model/llada.ts` (the network),
 * `src/ops/` and `src/autograd.ts` (how gradients flow), `src/backend/` and `shaders/` (where the arithmetic runs).
 *
 * @example Generate with the shipped model, on WebGPU where an adapter exists
 * ```ts
 * import { generateText, loadPretrained, useBackend } from "./mod.ts";
 * const { name, reason } = await useBackend("auto");
 * console.log(`backend: ${name} (${reason})`);
 * const pretrained = await loadPretrained("models/brown-char");
 * const { text, nfe } = await generateText(pretrained, "The jury said", { genLength: 32 });
 * ```
 *
 * @example The sampler on a fresh network, token ids in and out
 * ```ts
 * import { createModel, generate } from "./mod.ts";
 * const model = await createModel({ d_model: 64, n_layers: 2, n_heads: 4, vocab_size: 32,
 *   max_sequence_length: 64, mask_token_id: 0, eos_token_id: 1 }, { seed: 0 });
 * const { tokens, nfe } = await generate(model, [[5, 6, 7]], { genLength: 8, steps: 8, maskId: 0 });
 * ```
 *
 * @module
 */

// Start here: a trained model from a directory, text in and out, the backend it runs on, and user errors.
export {
  type GenerationConfig,
  loadPretrained,
  type LoadPretrainedOptions,
  parseGenerationConfig,
  type Pretrained,
  type PretrainedFiles,
  pretrainedFromFiles,
  readGenerationConfig,
  resolveModelDir,
} from "./src/pretrained.ts";
export {
  encodePrompt,
  generateText,
  type GenerateTextOptions,
  type GenerateTextResult,
  type ResolvedSampling,
  resolveSampling,
  SAMPLING_DEFAULTS,
  type SamplingSettings,
  type TraceStep,
} from "./src/generate_text.ts";
export { type BackendChoice, useBackend } from "./src/use_backend.ts";
export { BACKEND_ENV, type BackendKind } from "./src/backend/select.ts";
export { InputError } from "./src/errors.ts";
export { VERSION } from "./src/version.ts";

// The three LLaDA modules and the interface they see a network through.
export * from "./src/llada/mod.ts";

// The network, its training and its files.
export { createModel, LLaDAModel, type ModelOptions, positionsFromMask } from "./src/model/llada.ts";
export { LayerKVCache, logitsAndCache, logitsCached } from "./src/model/kv_cache.ts";
export {
  BLOCK_TENSOR_NAMES,
  type BlockTensorName,
  ConfigError,
  configFromJSON,
  configToJSON,
  type LayoutEntry,
  type LLaDAConfig,
  lladaTensorLayout,
  lladaTensorShapes,
  MODEL_OBJECTIVES,
  type ModelObjective,
  OBJECTIVE_FIELD,
  objectiveFromJSON,
  OFFICIAL_DEFAULTS,
  type OuterTensorName,
  paddedEmbeddingSize,
  validateConfig,
} from "./src/model/config.ts";
export { Embedding, Linear, RMSNorm, RotaryEmbedding } from "./src/nn/layers.ts";
export { type BlockConfig, SwiGLU, TransformerBlock } from "./src/nn/block.ts";
export { type KeysValuesHook, MultiHeadAttention } from "./src/nn/attention.ts";
export { type Init } from "./src/nn/module.ts";
export * from "./src/optim/mod.ts";
export * from "./src/io/mod.ts";
export {
  type LossParts,
  type Objective,
  objectiveLoss,
  OBJECTIVES,
  type StepOptions,
  type StepResult,
  type TokenBatch,
  trainStep,
} from "./src/train/step.ts";
export {
  checkpointDir,
  readRunState,
  type StepInfo,
  train,
  type TrainOptions,
  type TrainResult,
} from "./src/train/trainer.ts";
export { type TrainSettings, trainSettings, type TrainSettingsInput } from "./src/train/settings.ts";
export { type TimeBudget } from "./src/train/time_budget.ts";
export {
  type EvalSet,
  type EvalSetOptions,
  heldOutBitsPerChar,
  type HeldOutEstimate,
  heldOutEstimate,
  type HeldOutOptions,
  makeEvalSet,
  makePairEvalSet,
  type UnigramBaseline,
  unigramBaseline,
} from "./src/train/eval.ts";
export {
  createProgress,
  type ProgressOptions,
  type ProgressReporter,
  type ProgressUpdate,
  silentProgress,
} from "./src/train/progress.ts";

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
