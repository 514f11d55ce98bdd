/**
 * KV caches for the mask predictor (Fast-dLLM, Wu et al. 2025): reuse keys and values across sampling steps.
 *
 * An autoregressive model caches keys and values because a token's never change once it is written. LLaDA's
 * attention is bidirectional, so in principle every position's keys change at every step (they see the tokens
 * revealed since). Fast-dLLM observes that they change little while one block is decoded, and caches them anyway:
 *
 * - a full evaluation ({@link logitsAndCache}) keeps every layer's keys and values, after RoPE, `[B, T, H, D]`;
 * - a cached evaluation ({@link logitsCached}) runs only the positions `[from, to)` through the network: their
 *   queries attend to their own fresh keys and values, with the cached ones of every other position around
 *   them. The prefix cache recomputes `[block start, end of canvas)`; the dual cache only the block.
 *
 * Shapes per layer: the window's hidden states `[B, W, d_model]`, its keys and values `[B, W, H, D]`, spliced into
 * `[B, T, H, D]` (`T` the canvas length) for attention with `W` queries and `T` keys. Positions (RoPE) and the
 * padding mask are those of the whole canvas, so a position's rotation is the same cached or not.
 *
 * Exactness: a cached evaluation equals the full one when no token outside the window changed since the cache
 * was filled (tested to float tolerance); otherwise it is Fast-dLLM's approximation, whose effect the sampler
 * lab measures. The autoregressive twin is not served: a causal model's cache is the ordinary one.
 *
 * @module
 */

import type { KVCache } from "../llada/logits_model.ts";
import type { LLaDAModel } from "./llada.ts";
import { positionsFromMask } from "./positions.ts";
import { noGrad } from "../autograd.ts";
import { keep, Tensor, tidy } from "../tensor.ts";
import { concat, slice } from "../ops/mod.ts";

/** Every layer's keys and values for one canvas, on the model's backend. */
export class LayerKVCache implements KVCache {
  /** Wraps tensors already computed (and kept) for a canvas of `batch` rows of `length` positions. */
  constructor(
    /** Per layer, keys after RoPE `[B, T, H, D]`. */
    readonly keys: Tensor[],
    /** Per layer, values `[B, T, H, D]`. */
    readonly values: Tensor[],
    readonly batch: number,
    readonly length: number,
  ) {}

  /** Releases every layer's tensors. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) if (!t.isDisposed) t.dispose();
  }
}

/**
 * A full evaluation that also fills a cache: `[batch, length, vocab_size]` logits, as `model.logits` gives, and
 * every layer's keys and values.
 */
export async function logitsAndCache(
  model: LLaDAModel,
  tokens: Int32Array,
  batch: number,
  length: number,
  attentionMask?: Uint8Array,
): Promise<{ logits: Float32Array; cache: LayerKVCache }> {
  refuseCausal(model);
  checkCanvas(model, tokens, batch, length, attentionMask);
  const keys: Tensor[] = [];
  const values: Tensor[] = [];
  const out = noGrad(() =>
    tidy(() => {
      const { backend } = model;
      const ids = Tensor.from(tokens, [batch, length], { backend, dtype: "i32" });
      const { positions, keyMask } = positionsFromMask(batch, length, attentionMask, backend);
      let x = model.wte.forward(ids);
      for (const block of model.blocks) {
        x = block.forward(x, positions, keyMask, (k, v) => {
          keys.push(keep(k));
          values.push(keep(v));
          return [k, v];
        });
      }
      return vocabularyLogits(model, x);
    })
  );
  return { logits: await readBack(out), cache: new LayerKVCache(keys, values, batch, length) };
}

/**
 * A cached evaluation: logits of positions `[from, to)` only, `[batch, to − from, vocab_size]`, computing those
 * positions through the network against the cache's keys and values for every other position.
 *
 * @param cache filled by {@link logitsAndCache} on a canvas of the same batch and length.
 * @param tokens the whole canvas now, `[batch, length]` (only `[from, to)` of each row is read).
 */
export async function logitsCached(
  model: LLaDAModel,
  cache: LayerKVCache,
  tokens: Int32Array,
  batch: number,
  length: number,
  from: number,
  to: number,
  attentionMask?: Uint8Array,
): Promise<Float32Array> {
  refuseCausal(model);
  checkCanvas(model, tokens, batch, length, attentionMask);
  if (cache.batch !== batch || cache.length !== length) {
    throw new Error(
      `logitsCached: the cache holds a [${cache.batch}, ${cache.length}] canvas, got [${batch}, ${length}]`,
    );
  }
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= length)) {
    throw new Error(`logitsCached: expected a window 0 ≤ from < to ≤ ${length}, got [${from}, ${to})`);
  }
  const W = to - from;
  const window = new Int32Array(batch * W);
  for (let b = 0; b < batch; b++) window.set(tokens.subarray(b * length + from, b * length + to), b * W);
  const out = noGrad(() =>
    tidy(() => {
      const { backend } = model;
      const ids = Tensor.from(window, [batch, W], { backend, dtype: "i32" });
      // The canvas's positions and padding mask: the window's rotations are those of the full evaluation.
      const full = positionsFromMask(batch, length, attentionMask, backend);
      const positions = slice(full.positions, 1, from, to);
      // Around the window's fresh keys (or values) [B, W, H, D], the cached ones of the other positions.
      const around = (cached: Tensor, fresh: Tensor) =>
        concat([
          ...(from > 0 ? [slice(cached, 1, 0, from)] : []),
          fresh,
          ...(to < length ? [slice(cached, 1, to, length)] : []),
        ], 1);
      let x = model.wte.forward(ids);
      model.blocks.forEach((block, layer) => {
        x = block.forward(
          x,
          positions,
          full.keyMask,
          (k, v) => [around(cache.keys[layer], k), around(cache.values[layer], v)],
        );
      });
      return vocabularyLogits(model, x);
    })
  );
  return await readBack(out);
}

/** The final norm and output projection, cut to the vocabulary (the embedding may have padding rows). */
function vocabularyLogits(model: LLaDAModel, x: Tensor): Tensor {
  const full = model.ffOut.forward(model.lnF.forward(x));
  const V = model.config.vocab_size;
  return full.shape[2] === V ? full : slice(full, 2, 0, V);
}

/** Reads a logits tensor back as float32 and releases it. */
async function readBack(out: Tensor): Promise<Float32Array> {
  const data = await out.data();
  out.dispose();
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** The cache serves the bidirectional mask predictor only. */
function refuseCausal(model: LLaDAModel): void {
  if (model.causal) {
    throw new Error("KV cache: the autoregressive twin (causal) is not served; use it uncached");
  }
}

/** The canvas fits the model: length, token count, ids and mask size. */
function checkCanvas(
  model: LLaDAModel,
  tokens: Int32Array,
  batch: number,
  length: number,
  attentionMask?: Uint8Array,
): void {
  if (tokens.length !== batch * length) {
    throw new Error(`KV cache: expected ${batch}×${length} = ${batch * length} tokens, got ${tokens.length}`);
  }
  if (length > model.config.max_sequence_length) {
    throw new Error(
      `KV cache: length ${length} exceeds max_sequence_length ${model.config.max_sequence_length}`,
    );
  }
  if (attentionMask && attentionMask.length !== tokens.length) {
    throw new Error(`KV cache: attentionMask has ${attentionMask.length} entries, expected ${tokens.length}`);
  }
  const E = model.config.embedding_size;
  const bad = tokens.findIndex((t) => t < 0 || t >= E);
  if (bad >= 0) throw new Error(`KV cache: token id ${tokens[bad]} at index ${bad} is outside [0, ${E})`);
}
