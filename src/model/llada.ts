/**
 * The LLaDA mask predictor and its autoregressive twin: the network that `config.ts` beside it describes.
 *
 *     x = wte(ids)                                    [B, T, d_model]
 *     x = block_i(x)  for i = 0 … n_layers − 1        (bidirectional attention; causal for the twin)
 *     logits = ff_out(ln_f(x))                        [B, T, embedding_size]
 *
 * There is no timestep input: LLaDA's mask predictor infers how noisy its input is from the masks it sees.
 * The two models differ in one flag. The mask predictor is trained to predict every masked token from the whole
 * (partly masked) sequence; the twin, with causal attention, is trained to predict token t+1 from tokens ≤ t.
 *
 * Positions come from the attention mask: a row's first real token is position 0, so left padding (used to batch
 * prompts of different lengths) does not shift any position, and a padded row computes exactly what it would
 * alone.
 *
 * Initialisation (documented, reproducible from the seed): every weight matrix and the embedding ~ N(0, init_std²);
 * the two projections that write into the residual stream (`attn_out`, `ff_out` of each block) ~
 * N(0, (init_std/√(2·n_layers))²), GPT-2's scaling, so the residual stream's variance does not grow with depth;
 * RMSNorm weights = 1.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import {
  type BlockTensorName,
  type LLaDAConfig,
  lladaTensorLayout,
  type OuterTensorName,
  validateConfig,
} from "./config.ts";
import { noGrad } from "../autograd.ts";
import { Rng } from "../rng.ts";
import { getDefaultBackend, Tensor, tidy } from "../tensor.ts";
import { slice } from "../ops/mod.ts";
import { positionsFromMask } from "./positions.ts";
import { type LayerKVCache, logitsAndCache, logitsCached } from "./kv_cache.ts";
import type { CachedLogitsModel, KVCache } from "../llada/logits_model.ts";

import type { Init } from "../nn/module.ts";
import { Embedding, Linear, RMSNorm } from "../nn/layers.ts";
import { TransformerBlock } from "../nn/block.ts";

export { positionsFromMask };

/** Where each tensor of a block's checkpoint layout lives in a {@link TransformerBlock}. */
const BLOCK_TENSORS: Readonly<Record<BlockTensorName, (b: TransformerBlock) => Tensor>> = {
  "attn_norm.weight": (b) => b.attnNorm.weight,
  "q_proj.weight": (b) => b.attention.qProj.weight,
  "k_proj.weight": (b) => b.attention.kProj.weight,
  "v_proj.weight": (b) => b.attention.vProj.weight,
  "attn_out.weight": (b) => b.attention.attnOut.weight,
  "ff_norm.weight": (b) => b.ffNorm.weight,
  "ff_proj.weight": (b) => b.mlp.ffProj.weight,
  "up_proj.weight": (b) => b.mlp.upProj.weight,
  "ff_out.weight": (b) => b.mlp.ffOut.weight,
};

/** Where each tensor outside the blocks lives in the model. */
const OUTER_TENSORS: Readonly<Record<OuterTensorName, (m: LLaDAModel) => Tensor>> = {
  "wte.weight": (m) => m.wte.weight,
  "ln_f.weight": (m) => m.lnF.weight,
  "ff_out.weight": (m) => m.ffOut.weight,
};

/** Options for {@link createModel}. */
export interface ModelOptions {
  /** Seed of the initial weights. */
  seed?: number;
  /** Where the parameters live; defaults to the default backend. */
  backend?: Backend;
  /** Build the autoregressive twin (causal attention) instead of the mask predictor. */
  causal?: boolean;
}

/**
 * The LLaDA network (or its causal twin). Implements {@link CachedLogitsModel}: the mask predictor's logits, with
 * or without a KV cache (`kv_cache.ts`).
 */
export class LLaDAModel implements CachedLogitsModel {
  /** The token embedding `wte`, `[embedding_size, d_model]`. */
  readonly wte: Embedding;
  /** The transformer blocks, in order. */
  readonly blocks: TransformerBlock[];
  /** The final RMSNorm `ln_f`. */
  readonly lnF: RMSNorm;
  /** The output layer `ff_out`, `d_model → embedding_size` (untied from `wte`). */
  readonly ffOut: Linear;
  /** Where the parameters live. */
  readonly backend: Backend;

  /**
   * A network of `config`'s shape with freshly initialised parameters (use `createModel`, which also seeds them).
   *
   * @param config the LLaDA config (official field names).
   * @param causal the autoregressive twin (causal attention) instead of the mask predictor.
   * @param init where parameters go and how they are drawn.
   */
  constructor(readonly config: LLaDAConfig, readonly causal: boolean, init: Init) {
    const c = config;
    this.backend = init.backend;
    const rows = c.embedding_size;
    this.wte = new Embedding(rows, c.d_model, init);
    const outStd = c.init_std / Math.sqrt(2 * c.n_layers);
    this.blocks = Array.from({ length: c.n_layers }, () =>
      new TransformerBlock({
        dModel: c.d_model,
        nHeads: c.n_heads,
        mlpHidden: c.mlp_hidden_size,
        ropeTheta: c.rope_theta,
        eps: c.rms_norm_eps,
        causal,
        outStd,
      }, init));
    this.lnF = new RMSNorm(c.d_model, c.rms_norm_eps, init);
    this.ffOut = new Linear(c.d_model, rows, init);
  }

  /** The vocabulary size (logits returned by {@link logits} have this many columns). */
  get vocabSize(): number {
    return this.config.vocab_size;
  }

  /** Every parameter with its Hugging Face LLaDA checkpoint name, in the order of `lladaTensorLayout`. */
  namedParameters(): [string, Tensor][] {
    return lladaTensorLayout(this.config).map((t) => [
      t.name,
      t.block === null ? OUTER_TENSORS[t.local](this) : BLOCK_TENSORS[t.local](this.blocks[t.block]),
    ]);
  }

  /** Number of scalar parameters. */
  get parameterCount(): number {
    return this.namedParameters().reduce((n, [, t]) => n + t.size, 0);
  }

  /**
   * The network on i32 ids `[B, T]`, recording the graph when gradients are on. Returns logits
   * `[B, T, embedding_size]` as a tensor (training uses this; {@link logits} is the read-back version).
   *
   * @param attentionMask row-major `[B, T]`, 1 for real tokens and 0 for padding; omitted = all real.
   */
  forward(ids: Tensor, attentionMask?: Uint8Array): Tensor {
    if (ids.dtype !== "i32" || ids.shape.length !== 2) {
      throw new Error(
        `LLaDAModel.forward: expected i32 ids [batch, length], got ${ids.dtype} [${ids.shape}]`,
      );
    }
    const [B, T] = ids.shape;
    if (T > this.config.max_sequence_length) {
      throw new Error(
        `LLaDAModel.forward: length ${T} exceeds max_sequence_length ${this.config.max_sequence_length}`,
      );
    }
    const { positions, keyMask } = positionsFromMask(B, T, attentionMask, this.backend);
    let x = this.wte.forward(ids);
    for (const block of this.blocks) x = block.forward(x, positions, keyMask);
    return this.ffOut.forward(this.lnF.forward(x));
  }

  /** {@link LogitsModel.logits}: `[batch, length, vocab_size]` logits, computed without recording a graph. */
  async logits(
    tokens: Int32Array,
    batch: number,
    length: number,
    attentionMask?: Uint8Array,
  ): Promise<Float32Array> {
    if (tokens.length !== batch * length) {
      throw new Error(`logits: expected ${batch}×${length} = ${batch * length} tokens, got ${tokens.length}`);
    }
    if (attentionMask && attentionMask.length !== tokens.length) {
      throw new Error(`logits: attentionMask has ${attentionMask.length} entries, expected ${tokens.length}`);
    }
    const V = this.config.vocab_size;
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] < 0 || tokens[i] >= this.config.embedding_size) {
        throw new Error(
          `logits: token id ${
            tokens[i]
          } at index ${i} is outside the vocabulary [0, ${this.config.embedding_size})`,
        );
      }
    }
    const out = noGrad(() =>
      tidy(() => {
        const ids = Tensor.from(tokens, [batch, length], { backend: this.backend, dtype: "i32" });
        const full = this.forward(ids, attentionMask);
        // Padding rows of the embedding (embedding_size > vocab_size) are not part of the vocabulary.
        return full.shape[2] === V ? full : slice(full, 2, 0, V);
      })
    );
    const data = await out.data();
    out.dispose();
    return data instanceof Float32Array ? data : Float32Array.from(data);
  }

  /**
   * {@link CachedLogitsModel.logitsAndCache}: the logits and every layer's keys and values (see `kv_cache.ts`).
   * Not for the causal twin.
   */
  logitsAndCache(
    tokens: Int32Array,
    batch: number,
    length: number,
    attentionMask?: Uint8Array,
  ): Promise<{ logits: Float32Array; cache: KVCache }> {
    return logitsAndCache(this, tokens, batch, length, attentionMask);
  }

  /**
   * {@link CachedLogitsModel.logitsCached}: logits of positions `[from, to)`, the rest read from the cache (see
   * `kv_cache.ts`).
   */
  logitsCached(
    cache: KVCache,
    tokens: Int32Array,
    batch: number,
    length: number,
    from: number,
    to: number,
    attentionMask?: Uint8Array,
  ): Promise<Float32Array> {
    return logitsCached(this, cache as LayerKVCache, tokens, batch, length, from, to, attentionMask);
  }

  /** Releases every parameter. */
  dispose(): void {
    for (const [, t] of this.namedParameters()) t.dispose();
  }
}

/**
 * Builds a freshly initialised model from a LLaDA config (official field names; validated, with the project's
 * defaults for absent optional fields).
 *
 * @example
 * const model = await createModel(configFromJSON({ d_model: 64, n_layers: 2, … }), { seed: 0 });
 */
export function createModel(
  config: LLaDAConfig | Record<string, unknown>,
  options: ModelOptions = {},
): Promise<LLaDAModel> {
  const valid = validateConfig(config);
  const init: Init = {
    backend: options.backend ?? getDefaultBackend(),
    rng: new Rng(options.seed ?? 0),
    std: valid.init_std,
  };
  return Promise.resolve(new LLaDAModel(valid, options.causal ?? false, init));
}
