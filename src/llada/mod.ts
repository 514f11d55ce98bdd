/**
 * The three LLaDA modules: the forward process (how text is corrupted), the loss bound (the training objective and
 * the likelihood estimators) and the reverse process (the sampler). They see a network only through
 * {@link LogitsModel}.
 *
 * @module
 */

export type { LogitsModel } from "./logits_model.ts";
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
