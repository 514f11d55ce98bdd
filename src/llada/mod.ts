/**
 * The three LLaDA modules: the forward process (how text is corrupted), the loss bound (the training objective and
 * the likelihood estimators) and the reverse process (the sampler). They see a network only through
 * {@link LogitsModel}. Beside the official sampler, `strategies.ts` runs the lab's decoding strategies (ancestral,
 * factor and threshold parallel decoding, top-k/top-p, ReMDM remasking, early stop, infilling, KV caches).
 *
 * @module
 */

export {
  type CachedLogitsModel,
  isCachedLogitsModel,
  type KVCache,
  type LogitsModel,
} from "./logits_model.ts";
export { type GuidanceOptions, guidedLogits } from "./guidance.ts";
export {
  type CorruptedBatch,
  corruptForPretraining,
  corruptForSft,
  type CorruptionOptions,
  MASK_COUNTS,
  MASK_EPS,
  type MaskCount,
  maskExactly,
  maskingProbability,
  maybeTruncateBatch,
  padSftBatch,
  RANDOM_LENGTH_PROBABILITY,
  type SftCorruptedBatch,
  TIME_SAMPLINGS,
  type TimeSampling,
  truncateBatch,
} from "./forward_masking.ts";
export {
  type BoundOptions,
  type BoundReport,
  conditionalLogLikelihood,
  estimateConditionalLogLikelihood,
  evaluateBound,
  exactConditionalLogLikelihoodBound,
  LIKELIHOOD_SAMPLERS,
  type LikelihoodEstimate,
  type LikelihoodOptions,
  type LikelihoodSampler,
  logSoftmaxAt,
  MAX_EXACT_ANSWER_LENGTH,
  pretrainingLoss,
  pretrainingLossWeights,
  sftLoss,
  sftLossWeights,
  stratifiedMaskCounts,
  weightedCrossEntropy,
} from "./loss_bound.ts";
export {
  generate,
  type GenerateOptions,
  type GenerateResult,
  numTransferTokens,
  type Remasking,
  REMASKINGS,
  type StepState,
} from "./reverse_sampling.ts";
export {
  type CacheMode,
  CACHES,
  infill,
  sample,
  type SampleOptions,
  type SampleResult,
  type SampleStepState,
  STRATEGIES,
  type Strategy,
  type StrategyOptions,
} from "./strategies.ts";
export { PARALLEL_RULES, parallelCommitCount, type ParallelRule } from "./parallel_decoding.ts";
export { ancestralReveal, revealProbability } from "./ancestral.ts";
export { chooseRemasks, remaskProbability } from "./remdm.ts";
export { checkTokenFilter, filterLogits, type TokenFilter } from "./token_filters.ts";
export { type AutoregressiveOptions, generateAutoregressive } from "./autoregressive_sampling.ts";
