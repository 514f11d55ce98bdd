/**
 * The one interface through which the three LLaDA modules see a network.
 *
 * The forward process, the loss bound's estimators and the reverse sampler need nothing from a model but
 * "token ids in, logits at every position out". Keeping that contract this small means each module can be read,
 * tested and property-tested with fake models (a table of fixed logits, a model that prefers the lowest id, …)
 * and then used unchanged with the trained transformer.
 *
 * @module
 */

/** Anything that maps token ids to logits at every position. */
export interface LogitsModel {
  /** Number of entries in each position's logit vector. */
  readonly vocabSize: number;
  /**
   * Logits for every position of every row.
   *
   * @param tokens row-major `[batch, length]` token ids.
   * @param batch number of rows.
   * @param length number of positions per row.
   * @param attentionMask optional row-major `[batch, length]`; 1 where a position is real, 0 for padding that must
   *   be kept out of attention. Omitted means every position is real.
   * @returns row-major `[batch, length, vocabSize]` logits.
   */
  logits(
    tokens: Int32Array,
    batch: number,
    length: number,
    attentionMask?: Uint8Array,
  ): Promise<Float32Array>;
}

/**
 * What a {@link CachedLogitsModel} keeps between evaluations: every layer's keys and values for one canvas. Opaque
 * to the sampler; release it with `dispose` when it is replaced.
 */
export interface KVCache {
  /** Releases the cached tensors. */
  dispose(): void;
}

/**
 * A network that can reuse keys and values between steps (Fast-dLLM's prefix and dual caches). A full evaluation
 * also returns a cache; a cached evaluation recomputes only the positions `[from, to)` and reads every other
 * position's keys and values from the cache, as they were when it was filled. The result is exact when nothing
 * outside `[from, to)` changed since then, and an approximation otherwise (the bidirectional model's keys of the
 * other positions depend on the window's tokens).
 */
export interface CachedLogitsModel extends LogitsModel {
  /** {@link LogitsModel.logits}, plus a cache of every position's keys and values. */
  logitsAndCache(
    tokens: Int32Array,
    batch: number,
    length: number,
    attentionMask?: Uint8Array,
  ): Promise<{ logits: Float32Array; cache: KVCache }>;
  /**
   * Logits of positions `[from, to)` only, row-major `[batch, to − from, vocabSize]`, computing just those
   * positions through the network against the cache's keys and values for the rest.
   *
   * @param cache a cache from {@link logitsAndCache} on a canvas of the same batch and length.
   * @param tokens the whole canvas now, row-major `[batch, length]` (only `[from, to)` of each row is read).
   */
  logitsCached(
    cache: KVCache,
    tokens: Int32Array,
    batch: number,
    length: number,
    from: number,
    to: number,
    attentionMask?: Uint8Array,
  ): Promise<Float32Array>;
}

/** Whether a model implements {@link CachedLogitsModel}. */
export function isCachedLogitsModel(model: LogitsModel): model is CachedLogitsModel {
  const m = model as Partial<CachedLogitsModel>;
  return typeof m.logitsAndCache === "function" && typeof m.logitsCached === "function";
}
