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
