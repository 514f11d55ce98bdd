/**
 * LLaDA's `config.json`: the field names, the values this project supports, and the tensors a config implies.
 *
 * A checkpoint directory holds `config.json` + `model.safetensors`. Both follow the official Hugging Face
 * LLaDA release (`GSAI-ML/LLaDA-8B-Base` / `-Instruct`, loaded with `trust_remote_code=True` as
 * `LLaDAModelLM`, `model_type` `"llada"`), so a model trained here opens in PyTorch and a small PyTorch model
 * opens here.
 *
 * ## What the official code does with the config (read from its `configuration_llada.py` / `modeling_llada.py`)
 *
 * - `LLaDAConfig(**json)` starts from the dataclass `ModelConfig()` defaults and overwrites them with the JSON
 *   fields; `LLaDAModelLM` then copies every `ModelConfig` field into the model. A field missing from the JSON
 *   therefore takes the *dataclass default*, and several of those defaults describe a different network
 *   (`activation_type` "swiglu", `block_type` "sequential", `rope` false, `weight_tying` true,
 *   `layer_norm_type` "default", `rope_theta` 10000, `embedding_size` 50304). {@link configToJSON} writes
 *   every field so no default is ever relied on; {@link configFromJSON} applies the same defaults
 *   ({@link OFFICIAL_DEFAULTS}) so it sees the network PyTorch would build.
 * - `block_type` "llama" builds `LLaDALlamaBlock`: `attn_norm`, `q_proj`, `k_proj`, `v_proj`, `attn_out`,
 *   `ff_norm`, `ff_proj`, `up_proj`, `ff_out`. The feed-forward is `ff_out(act(ff_proj(h)) * up_proj(h))`, with
 *   `ff_proj` and `up_proj` both `nn.Linear(d_model, mlp_hidden_size)` and `ff_out`
 *   `nn.Linear(mlp_hidden_size, d_model)` (the "silu" activation has output multiplier 1). `k_proj`/`v_proj`
 *   output `effective_n_kv_heads * head_dim` features.
 * - Norms come from `layer_norm_type`: "rms" is `weight * (x / sqrt(mean(x²) + rms_norm_eps))`, a weight of
 *   size `d_model` and no bias (`bias_for_layer_norm` false, or null inheriting `include_bias` false).
 * - `wte` is `nn.Embedding(embedding_size or vocab_size, d_model)`; the model refuses
 *   `embedding_size < vocab_size` (a larger one pads the vocabulary, e.g. to a multiple of 128). With
 *   `weight_tying` false the head is a separate `ff_out = nn.Linear(d_model, embedding_size or vocab_size)`,
 *   so the logits have `embedding_size` columns.
 * - The model lives at `LLaDAModelLM.model` (`base_model_prefix = "model"`) and its modules in
 *   `model.transformer`, which gives the tensor names of {@link lladaTensorShapes}. The released
 *   `model.safetensors.index.json` of LLaDA-8B-Instruct lists exactly these names, and its `total_size`
 *   (16,031,162,368 bytes of BF16) matches the shapes below for d_model 4096, 32 layers, mlp 12288,
 *   vocab 126464.
 * - RoPE uses `head_dim = d_model / n_heads` and rotates halves (`view(..., 2, hs/2)`), so `head_dim` must be
 *   even. The masked-diffusion forward asserts `rope` true and `alibi` false.
 *
 * Sources: the paper (Nie et al., "Large Language Diffusion Models", arXiv 2502.09992) and the model code
 * published with `GSAI-ML/LLaDA-8B-Base` on Hugging Face (`configuration_llada.py`, `modeling_llada.py`,
 * `model.safetensors.index.json`).
 *
 * To open a directory written here in PyTorch: copy `configuration_llada.py` and `modeling_llada.py` from the
 * Hugging Face LLaDA repository next to `config.json` and call
 * `AutoModel.from_pretrained(dir, trust_remote_code=True)` (the `auto_map` written here points at them).
 *
 * ## What this project supports
 *
 * The LLaMA-style bidirectional network of `llada.ts` beside this file: RoPE, RMSNorm with weights, SiLU-gated MLP, no biases,
 * untied output layer, standard multi-head attention. Refused with an explanation: biases, tied weights,
 * LayerNorm/Gemma norms, other block types or activations, ALiBi or learned positions, QK-norm, input-embedding
 * scaling, logit scaling, block groups, and grouped-query / multi-query attention (`n_kv_heads` must equal
 * `n_heads`; the official code supports GQA, this project's attention does not). Dropout fields, `init_fn`,
 * `flash_attention` and precision settings only affect PyTorch training or speed, so any value is accepted and
 * ignored.
 *
 * @module
 */

/** The architecture settings this project reads from a LLaDA `config.json` (official field names). */
export interface LLaDAConfig {
  /** Hidden size. */
  readonly d_model: number;
  /** Number of transformer blocks. */
  readonly n_layers: number;
  /** Number of attention heads; `d_model / n_heads` is the head size, which must be even for RoPE. */
  readonly n_heads: number;
  /** Key/value heads; always equal to `n_heads` here (no grouped-query attention). */
  readonly n_kv_heads: number;
  /** Inner size of the SiLU-gated MLP (`ff_proj`, `up_proj`: d_model → mlp_hidden_size). */
  readonly mlp_hidden_size: number;
  /** Number of token ids the tokenizer produces. */
  readonly vocab_size: number;
  /** Rows of `wte` and of the output layer; ≥ vocab_size (extra rows pad the vocabulary). */
  readonly embedding_size: number;
  /** Longest sequence the model is built for. */
  readonly max_sequence_length: number;
  /** RoPE base θ: `inv_freq = θ^(−2i/head_dim)`. */
  readonly rope_theta: number;
  /** ε inside RMSNorm's square root. */
  readonly rms_norm_eps: number;
  /** The mask token M of the diffusion process. */
  readonly mask_token_id: number;
  /** End-of-sequence token (also pads SFT answers). */
  readonly eos_token_id: number;
  /** Token used to left-pad prompts in a batch; never equal to the mask token. */
  readonly pad_token_id: number;
  /** Standard deviation of the initial weights (normal initialisation). */
  readonly init_std: number;
}

/**
 * `embedding_size` for a tokenizer of `vocabSize` ids: rounded up to a multiple of 16, as the official models pad
 * theirs (126,464 = 988 × 128). The extra rows are never looked up, the sampler and the evaluation only read the
 * first `vocab_size` logits, and training learns to push the padding logits down; in exchange every product with
 * the vocabulary dimension has the vec4-aligned shape the WebGPU matmul needs, with no padded copies (measured on
 * llvmpipe: a vocabulary of 90 cost ≈ 14 ms more per training step of the demo's network than one of 96).
 */
export function paddedEmbeddingSize(vocabSize: number, multiple = 16): number {
  return Math.ceil(vocabSize / multiple) * multiple;
}

/** A config that failed validation; `problems` lists every issue found, one line each. */
export class ConfigError extends Error {
  /** One line per problem, each naming the field. */
  readonly problems: readonly string[];

  /**
   * @param problems one line per problem, each starting with the field name.
   * @param source where the config came from (a path), if known.
   */
  constructor(problems: readonly string[], source?: string) {
    const where = source ? ` (${source})` : "";
    super(`invalid LLaDA config${where}:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * The official `ModelConfig` dataclass defaults (configuration_llada.py), plus the `LLaDAConfig` wrapper's
 * `use_cache` false. These are what PyTorch uses for a field missing from `config.json`.
 */
export const OFFICIAL_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({
  d_model: 768,
  n_heads: 12,
  n_kv_heads: null,
  n_layers: 12,
  mlp_ratio: 4,
  mlp_hidden_size: null,
  activation_type: "swiglu",
  block_type: "sequential",
  block_group_size: 1,
  alibi: false,
  alibi_bias_max: 8.0,
  rope: false,
  rope_full_precision: true,
  flash_attention: false,
  attention_dropout: 0.1,
  multi_query_attention: null,
  attention_layer_norm: false,
  residual_dropout: 0.1,
  embedding_dropout: 0.1,
  input_emb_norm: false,
  layer_norm_type: "default",
  layer_norm_with_affine: true,
  rms_norm_eps: 1e-5,
  attention_layer_norm_with_affine: true,
  max_sequence_length: 1024,
  rope_theta: 10000.0,
  include_qkv_bias: false,
  include_bias: false,
  bias_for_layer_norm: null,
  scale_logits: false,
  vocab_size: 50257,
  embedding_size: 50304,
  weight_tying: true,
  eos_token_id: 50256,
  pad_token_id: 50256,
  mask_token_id: 50256,
  init_device: null,
  init_fn: "normal",
  init_std: 0.02,
  init_cutoff_factor: null,
  precision: null,
  use_cache: false,
});

/**
 * Defaults {@link validateConfig} uses for a plain object that leaves them out (this project's; see the module documentation).
 * Note `rope_theta` 500000, as LLaDA-8B, where the official dataclass default is 10000.
 */
const PROJECT_DEFAULTS = {
  rope_theta: 500000,
  rms_norm_eps: 1e-5,
  init_std: 0.02,
  mlp_ratio: 4,
} as const;

/**
 * Official fields whose value decides the architecture, with the one value (or values) this project implements
 * and why. A field that is absent is fine here; {@link configFromJSON} fills absent fields with the official
 * defaults first, so an official file that omits e.g. `rope` is judged as PyTorch would build it.
 */
const REQUIRED_FEATURES: readonly { field: string; allowed: readonly unknown[]; why: string }[] = [
  { field: "model_type", allowed: ["llada"], why: "this is the LLaDA config format" },
  {
    field: "block_type",
    allowed: ["llama"],
    why: "only the LLaMA-style block (q/k/v_proj, SiLU-gated MLP) is implemented",
  },
  {
    field: "activation_type",
    allowed: ["silu"],
    why: "the llama block's MLP is ff_out(silu(ff_proj(h)) * up_proj(h))",
  },
  { field: "layer_norm_type", allowed: ["rms"], why: "only RMSNorm is implemented" },
  { field: "layer_norm_with_affine", allowed: [true], why: "RMSNorm here always has a weight" },
  {
    field: "rope",
    allowed: [true],
    why: "positions are encoded with RoPE (the official MDM forward asserts it too)",
  },
  {
    field: "alibi",
    allowed: [false],
    why: "ALiBi is not implemented (and is refused by the official MDM forward)",
  },
  { field: "include_bias", allowed: [false], why: "the linear layers here have no biases" },
  { field: "include_qkv_bias", allowed: [false, null], why: "q/k/v projections here have no biases" },
  { field: "bias_for_layer_norm", allowed: [false, null], why: "RMSNorm here has no bias" },
  {
    field: "weight_tying",
    allowed: [false],
    why: "the output layer ff_out is a separate matrix, as in LLaDA-8B",
  },
  { field: "attention_layer_norm", allowed: [false], why: "QK-norm is not implemented" },
  { field: "input_emb_norm", allowed: [false], why: "embeddings are not scaled by sqrt(d_model) here" },
  { field: "scale_logits", allowed: [false], why: "logits are not scaled here" },
  { field: "block_group_size", allowed: [1], why: "block groups rename the tensors (block_groups.*); use 1" },
];

/** A short, readable rendering of a JSON value for error messages. */
function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Checks a config object and returns it completed and normalised as an {@link LLaDAConfig}.
 *
 * Accepts this project's fields and, optionally, any other official `config.json` field: architecture
 * switches must have the value this project implements (see the module documentation), and every problem is
 * reported at once in a {@link ConfigError}, each line naming the field, the value found and what is expected.
 *
 * Required: `d_model`, `n_layers`, `n_heads`, `vocab_size`, `max_sequence_length`, `mask_token_id`,
 * `eos_token_id`. Filled in when absent or null: `n_kv_heads` = n_heads, `mlp_hidden_size` = mlp_ratio ·
 * d_model (mlp_ratio 4), `embedding_size` = vocab_size, `pad_token_id` = eos_token_id, `rope_theta` 500000,
 * `rms_norm_eps` 1e-5, `init_std` 0.02. (To read an official file, whose absent fields mean the official
 * defaults instead, use {@link configFromJSON}.)
 *
 * @param obj the parsed config (e.g. `{ d_model: 128, n_layers: 4, n_heads: 4, ... }`).
 * @param source a path to name in error messages.
 * @throws ConfigError listing every problem.
 */
export function validateConfig(obj: unknown, source?: string): LLaDAConfig {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new ConfigError(
      [`the config must be a JSON object with LLaDA's field names, got ${show(obj)}`],
      source,
    );
  }
  const raw = obj as Record<string, unknown>;
  const problems: string[] = [];
  checkArchitectureSwitches(raw, problems);
  const read = fieldReader(raw, problems);

  // Read in the order the problems are reported: sizes, derived sizes, numerics, token ids.
  const d_model = read.integer("d_model", 1);
  const n_layers = read.integer("n_layers", 1);
  const n_heads = read.integer("n_heads", 1);
  const vocab_size = read.integer("vocab_size", 1);
  const max_sequence_length = read.integer("max_sequence_length", 1);
  // As the official block: `mlp_hidden_size if not None else mlp_ratio * d_model`.
  const mlp_hidden_size = raw.mlp_hidden_size === undefined || raw.mlp_hidden_size === null
    ? read.integer("mlp_ratio", 1, PROJECT_DEFAULTS.mlp_ratio) * d_model
    : read.integer("mlp_hidden_size", 1);
  const embedding_size = read.integer("embedding_size", 1, vocab_size);
  const rope_theta = read.positive("rope_theta", PROJECT_DEFAULTS.rope_theta);
  const rms_norm_eps = read.positive("rms_norm_eps", PROJECT_DEFAULTS.rms_norm_eps);
  const init_std = read.positive("init_std", PROJECT_DEFAULTS.init_std);
  const mask_token_id = read.integer("mask_token_id", 0);
  const eos_token_id = read.integer("eos_token_id", 0);
  const pad_token_id = read.integer("pad_token_id", 0, eos_token_id);
  const config = {
    d_model,
    n_layers,
    n_heads,
    n_kv_heads: n_heads,
    mlp_hidden_size,
    vocab_size,
    embedding_size,
    max_sequence_length,
    rope_theta,
    rms_norm_eps,
    mask_token_id,
    eos_token_id,
    pad_token_id,
    init_std,
  };
  checkHeadSize(config, problems);
  checkTokenIds(config, problems);
  config.n_kv_heads = resolveKvHeads(raw, n_heads, read, problems);
  if (problems.length > 0) throw new ConfigError(problems, source);
  return config;
}

/** Reports every architecture switch whose value this project does not implement ({@link REQUIRED_FEATURES}). */
function checkArchitectureSwitches(raw: Record<string, unknown>, problems: string[]): void {
  for (const { field, allowed, why } of REQUIRED_FEATURES) {
    if (raw[field] === undefined) continue;
    if (!allowed.includes(raw[field])) {
      const expected = allowed.map((a) => show(a)).join(" or ");
      problems.push(`${field}: expected ${expected}, got ${show(raw[field])} (${why})`);
    }
  }
}

/** Reads numeric fields of a raw config, adding a line to `problems` (and returning NaN) for each bad one. */
interface FieldReader {
  /**
   * An integer field ≥ `min`; `fallback` (if given) replaces an absent or null value. A NaN fallback means the
   * field it derives from was already reported, so nothing more is said.
   */
  integer(field: string, min: number, fallback?: number): number;
  /** A finite number > 0, `fallback` when absent or null. */
  positive(field: string, fallback: number): number;
}

function fieldReader(raw: Record<string, unknown>, problems: string[]): FieldReader {
  return {
    integer(field, min, fallback) {
      const value = raw[field] ?? fallback;
      if (Number.isNaN(value)) return NaN;
      if (value === undefined) {
        problems.push(`${field}: required, expected an integer ≥ ${min}`);
        return NaN;
      }
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
        problems.push(`${field}: expected an integer ≥ ${min}, got ${show(value)}`);
        return NaN;
      }
      return value;
    },
    positive(field, fallback) {
      const value = raw[field] ?? fallback;
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
        problems.push(`${field}: expected a finite number > 0, got ${show(value)}`);
        return NaN;
      }
      return value;
    },
  };
}

/** Key/value heads, resolved as the official `ModelConfig.effective_n_kv_heads` does; only `n_heads` is supported. */
function resolveKvHeads(
  raw: Record<string, unknown>,
  n_heads: number,
  read: FieldReader,
  problems: string[],
): number {
  let n_kv_heads = n_heads;
  const mqa = raw.multi_query_attention ?? null;
  if (mqa !== null && typeof mqa !== "boolean") {
    problems.push(`multi_query_attention: expected true, false or null, got ${show(mqa)}`);
  }
  if (raw.n_kv_heads !== undefined && raw.n_kv_heads !== null) {
    n_kv_heads = read.integer("n_kv_heads", 1);
    if (mqa !== null && n_kv_heads !== (mqa === true ? 1 : n_heads)) {
      problems.push(
        `n_kv_heads: ${n_kv_heads} contradicts multi_query_attention ${mqa} (the official code refuses both set)`,
      );
    }
  } else if (mqa === true) {
    n_kv_heads = 1;
  }
  if (Number.isSafeInteger(n_kv_heads) && n_kv_heads !== n_heads) {
    problems.push(
      `n_kv_heads: expected ${n_heads} (= n_heads), got ${n_kv_heads}; grouped-query and multi-query ` +
        `attention are not implemented in llada-ts`,
    );
  }
  return n_kv_heads;
}

/** The head size must be a whole, even number: RoPE rotates the two halves of each head. */
function checkHeadSize({ d_model, n_heads }: LLaDAConfig, problems: string[]): void {
  if (!Number.isSafeInteger(d_model) || !Number.isSafeInteger(n_heads)) return;
  if (d_model % n_heads !== 0) {
    problems.push(`n_heads: d_model (${d_model}) must be divisible by n_heads (${n_heads})`);
  } else if ((d_model / n_heads) % 2 !== 0) {
    problems.push(
      `n_heads: the head size d_model / n_heads = ${d_model / n_heads} must be even, because RoPE rotates ` +
        `the two halves of each head`,
    );
  }
}

/** The embedding must cover the vocabulary, the special ids must be token ids, and mask ≠ EOS, mask ≠ pad. */
function checkTokenIds(c: LLaDAConfig, problems: string[]): void {
  if (c.embedding_size < c.vocab_size) {
    problems.push(
      `embedding_size: expected at least vocab_size (${c.vocab_size}), got ${c.embedding_size}; ` +
        `leave it out or null to use vocab_size`,
    );
  }
  const ids = [["mask_token_id", c.mask_token_id], ["eos_token_id", c.eos_token_id], [
    "pad_token_id",
    c.pad_token_id,
  ]] as const;
  for (const [field, id] of ids) {
    if (id >= c.vocab_size) {
      problems.push(`${field}: ${id} is not a token id, expected < vocab_size (${c.vocab_size})`);
    }
  }
  if (c.mask_token_id === c.eos_token_id) {
    problems.push(`mask_token_id: must differ from eos_token_id (both ${c.mask_token_id})`);
  }
  if (c.mask_token_id === c.pad_token_id) {
    problems.push(
      `pad_token_id: must differ from mask_token_id (both ${c.pad_token_id}); padding is not masked text`,
    );
  }
}

/**
 * Reads an official-style LLaDA `config.json`.
 *
 * Fields the file leaves out take the official `ModelConfig` defaults ({@link OFFICIAL_DEFAULTS}), exactly as
 * PyTorch would, and the result is checked with {@link validateConfig}; so a file that omits `block_type`
 * is refused (PyTorch would build a "sequential" block), and one that omits `rope_theta` gets 10000. The one
 * exception is `pad_token_id`, which does not change the network: absent, it means `eos_token_id`. The
 * architecture sizes (`d_model`, `n_layers`, `n_heads`, `vocab_size`, `max_sequence_length`,
 * `mask_token_id`, `eos_token_id`) must be present: a file relying on the GPT-2-sized defaults for those is
 * almost certainly not what was meant. Unknown fields (`_name_or_path`, `torch_dtype`, …) are ignored.
 *
 * @param json the file's text, or the already-parsed object.
 * @param source a path to name in error messages.
 * @throws ConfigError if the text is not JSON or the config is invalid or unsupported.
 */
export function configFromJSON(json: string | Record<string, unknown>, source?: string): LLaDAConfig {
  let parsed: unknown = json;
  if (typeof json === "string") {
    try {
      parsed = JSON.parse(json);
    } catch (e) {
      throw new ConfigError([`config.json is not valid JSON: ${(e as Error).message}`], source);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(
      [`the config must be a JSON object with LLaDA's field names, got ${show(parsed)}`],
      source,
    );
  }
  const file = parsed as Record<string, unknown>;
  const sizes = [
    "d_model",
    "n_layers",
    "n_heads",
    "vocab_size",
    "max_sequence_length",
    "mask_token_id",
    "eos_token_id",
  ];
  const missing = sizes.filter((f) => file[f] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(missing.map((f) => `${f}: required in config.json, not found`), source);
  }
  // pad_token_id does not change the network (only how batches are padded), so an absent one means
  // eos_token_id, as validateConfig has it, rather than the dataclass's GPT-2 value 50256.
  const { pad_token_id: _unused, ...networkDefaults } = OFFICIAL_DEFAULTS;
  return validateConfig({ ...networkDefaults, ...file }, source);
}

/**
 * Writes a complete official-style `config.json` for a config: every `ModelConfig` field, set to this
 * project's architecture (llama block, SiLU, RMSNorm with weights, RoPE, no biases, untied `ff_out`, no
 * dropout), plus `architectures`, `auto_map` and `model_type` for Hugging Face. Keys are sorted and the text
 * ends with a newline, so the same config always gives the same bytes.
 *
 * `init_fn` is written as "normal" with `init_std`; it only matters if PyTorch initialises a fresh model.
 * `mlp_ratio` is informational (PyTorch ignores it when `mlp_hidden_size` is set).
 *
 * @param config the config; it is validated first.
 * @throws ConfigError if the config is invalid.
 */
export function configToJSON(config: LLaDAConfig): string {
  const c = validateConfig(config);
  const official: Record<string, unknown> = {
    ...OFFICIAL_DEFAULTS,
    activation_type: "silu",
    architectures: ["LLaDAModelLM"],
    attention_dropout: 0.0,
    auto_map: {
      AutoConfig: "configuration_llada.LLaDAConfig",
      AutoModel: "modeling_llada.LLaDAModelLM",
      AutoModelForCausalLM: "modeling_llada.LLaDAModelLM",
    },
    bias_for_layer_norm: false,
    block_type: "llama",
    d_model: c.d_model,
    embedding_dropout: 0.0,
    embedding_size: c.embedding_size,
    eos_token_id: c.eos_token_id,
    include_qkv_bias: false,
    init_fn: "normal",
    init_std: c.init_std,
    layer_norm_type: "rms",
    mask_token_id: c.mask_token_id,
    max_sequence_length: c.max_sequence_length,
    mlp_hidden_size: c.mlp_hidden_size,
    mlp_ratio: Math.max(1, Math.round(c.mlp_hidden_size / c.d_model)),
    model_type: "llada",
    n_heads: c.n_heads,
    n_kv_heads: c.n_kv_heads,
    n_layers: c.n_layers,
    pad_token_id: c.pad_token_id,
    residual_dropout: 0.0,
    rms_norm_eps: c.rms_norm_eps,
    rope: true,
    rope_theta: c.rope_theta,
    vocab_size: c.vocab_size,
    weight_tying: false,
  };
  const sorted = Object.fromEntries(Object.keys(official).sort().map((k) => [k, official[k]]));
  return JSON.stringify(sorted, null, 2) + "\n";
}

/** The tensors of each transformer block, by their names inside the block, in checkpoint order. */
export const BLOCK_TENSOR_NAMES = [
  "attn_norm.weight",
  "q_proj.weight",
  "k_proj.weight",
  "v_proj.weight",
  "attn_out.weight",
  "ff_norm.weight",
  "ff_proj.weight",
  "up_proj.weight",
  "ff_out.weight",
] as const;

/** A tensor of a block, by its name inside the block. */
export type BlockTensorName = typeof BLOCK_TENSOR_NAMES[number];

/** The tensors outside the blocks: the embedding, the final norm and the untied output layer. */
export type OuterTensorName = "wte.weight" | "ln_f.weight" | "ff_out.weight";

/** One tensor of the checkpoint layout: its full name, its shape, and where it sits in the network. */
export type LayoutEntry =
  & { name: string; shape: number[] }
  & ({ block: number; local: BlockTensorName } | { block: null; local: OuterTensorName });

/**
 * The tensors a LLaDA model with this config has, with the Hugging Face names and shapes
 * (`[out_features, in_features]` for linear layers, as `nn.Linear` stores them), in checkpoint order. This is the
 * one list of checkpoint names: the model names its parameters from it (`LLaDAModel.namedParameters`).
 *
 * ```text
 * model.transformer.wte.weight                   [embedding_size, d_model]
 * model.transformer.blocks.{i}.attn_norm.weight  [d_model]
 * model.transformer.blocks.{i}.q_proj.weight     [d_model, d_model]
 * model.transformer.blocks.{i}.k_proj.weight     [n_kv_heads·head_dim, d_model]   (= [d_model, d_model] here)
 * model.transformer.blocks.{i}.v_proj.weight     [n_kv_heads·head_dim, d_model]
 * model.transformer.blocks.{i}.attn_out.weight   [d_model, d_model]
 * model.transformer.blocks.{i}.ff_norm.weight    [d_model]
 * model.transformer.blocks.{i}.ff_proj.weight    [mlp_hidden_size, d_model]   (gate, through SiLU)
 * model.transformer.blocks.{i}.up_proj.weight    [mlp_hidden_size, d_model]
 * model.transformer.blocks.{i}.ff_out.weight     [d_model, mlp_hidden_size]
 * model.transformer.ln_f.weight                  [d_model]
 * model.transformer.ff_out.weight                [embedding_size, d_model]   (the untied output layer)
 * ```
 *
 * @param config a validated config.
 */
export function lladaTensorLayout(config: LLaDAConfig): LayoutEntry[] {
  const d = config.d_model;
  const kv = config.n_kv_heads * (d / config.n_heads);
  const h = config.mlp_hidden_size;
  const block: Record<BlockTensorName, number[]> = {
    "attn_norm.weight": [d],
    "q_proj.weight": [d, d],
    "k_proj.weight": [kv, d],
    "v_proj.weight": [kv, d],
    "attn_out.weight": [d, d],
    "ff_norm.weight": [d],
    "ff_proj.weight": [h, d],
    "up_proj.weight": [h, d],
    "ff_out.weight": [d, h],
  };
  const outer = (local: OuterTensorName, shape: number[]): LayoutEntry => ({
    name: `model.transformer.${local}`,
    shape,
    block: null,
    local,
  });
  return [
    outer("wte.weight", [config.embedding_size, d]),
    ...Array.from({ length: config.n_layers }, (_, i) =>
      BLOCK_TENSOR_NAMES.map((local): LayoutEntry => ({
        name: `model.transformer.blocks.${i}.${local}`,
        shape: block[local],
        block: i,
        local,
      }))).flat(),
    outer("ln_f.weight", [d]),
    outer("ff_out.weight", [config.embedding_size, d]),
  ];
}

/**
 * The checkpoint layout ({@link lladaTensorLayout}) as name → shape, in checkpoint order (embedding, blocks
 * 0…n_layers−1, final norm, head).
 *
 * @param config a validated config.
 */
export function lladaTensorShapes(config: LLaDAConfig): Map<string, number[]> {
  return new Map(lladaTensorLayout(config).map((t) => [t.name, t.shape]));
}
