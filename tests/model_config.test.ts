/**
 * LLaDA config.json: reading the official LLaDA-8B file, writing a complete official-style file, refusing what
 * this project does not implement with messages that name the field, and the tensor names and shapes.
 */
import assert from "node:assert/strict";
import {
  ConfigError,
  configFromJSON,
  configToJSON,
  type LLaDAConfig,
  lladaTensorShapes,
  OFFICIAL_DEFAULTS,
  paddedEmbeddingSize,
  validateConfig,
} from "../src/model/config.ts";
import { createModel } from "../src/model/llada.ts";
import { CpuBackend } from "../src/backend/cpu.ts";

/** The config.json of GSAI-ML/LLaDA-8B-Instruct as released (field values as published). */
const LLADA_8B = {
  activation_type: "silu",
  alibi: false,
  alibi_bias_max: 8.0,
  architectures: ["LLaDAModelLM"],
  attention_dropout: 0.0,
  attention_layer_norm: false,
  attention_layer_norm_with_affine: true,
  auto_map: {
    AutoConfig: "configuration_llada.LLaDAConfig",
    AutoModelForCausalLM: "modeling_llada.LLaDAModelLM",
    AutoModel: "modeling_llada.LLaDAModelLM",
  },
  bias_for_layer_norm: false,
  block_group_size: 1,
  block_type: "llama",
  d_model: 4096,
  embedding_dropout: 0.0,
  embedding_size: 126464,
  eos_token_id: 126081,
  flash_attention: false,
  include_bias: false,
  include_qkv_bias: false,
  init_cutoff_factor: null,
  init_device: "meta",
  init_fn: "mitchell",
  init_std: 0.02,
  input_emb_norm: false,
  layer_norm_type: "rms",
  layer_norm_with_affine: true,
  mask_token_id: 126336,
  max_sequence_length: 4096,
  mlp_hidden_size: 12288,
  mlp_ratio: 4,
  model_type: "llada",
  multi_query_attention: null,
  n_heads: 32,
  n_kv_heads: 32,
  n_layers: 32,
  pad_token_id: 126081,
  precision: "amp_bf16",
  residual_dropout: 0.0,
  rms_norm_eps: 1e-05,
  rope: true,
  rope_full_precision: true,
  rope_theta: 500000.0,
  scale_logits: false,
  transformers_version: "4.46.3",
  use_cache: false,
  vocab_size: 126464,
  weight_tying: false,
};

/** The `tiny` benchmark model (`bench/model_benches.ts`). */
const TINY = {
  d_model: 128,
  n_layers: 4,
  n_heads: 4,
  mlp_hidden_size: 384,
  vocab_size: 256,
  max_sequence_length: 128,
  mask_token_id: 255,
  eos_token_id: 254,
};

/** Asserts that `fn` throws a ConfigError whose problems match each pattern (and counts them). */
function assertProblems(fn: () => unknown, patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.equal(e.problems.length, patterns.length, e.message);
    patterns.forEach((p, i) => assert.match(e.problems[i], p));
    return true;
  });
}

Deno.test("the released LLaDA-8B config.json is read as published", () => {
  const c = configFromJSON(JSON.stringify(LLADA_8B));
  assert.deepEqual(c, {
    d_model: 4096,
    n_layers: 32,
    n_heads: 32,
    n_kv_heads: 32,
    mlp_hidden_size: 12288,
    vocab_size: 126464,
    embedding_size: 126464,
    max_sequence_length: 4096,
    rope_theta: 500000,
    rms_norm_eps: 1e-5,
    mask_token_id: 126336,
    eos_token_id: 126081,
    pad_token_id: 126081,
    init_std: 0.02,
  });
});

Deno.test("LLaDA-8B tensor shapes add up to the released index's total_size (16,031,162,368 bytes of BF16)", () => {
  const shapes = lladaTensorShapes(configFromJSON(LLADA_8B));
  assert.equal(shapes.size, 2 + 32 * 9 + 1);
  let elements = 0;
  for (const shape of shapes.values()) elements += shape.reduce((a, b) => a * b, 1);
  assert.equal(elements * 2, 16031162368);
  assert.deepEqual(shapes.get("model.transformer.blocks.31.ff_proj.weight"), [12288, 4096]);
  assert.deepEqual(shapes.get("model.transformer.blocks.31.ff_out.weight"), [4096, 12288]);
});

Deno.test("tensor names and shapes for the tiny config, in order", () => {
  const c = validateConfig({ ...TINY, n_layers: 1, embedding_size: 260 });
  assert.deepEqual([...lladaTensorShapes(c)], [
    ["model.transformer.wte.weight", [260, 128]],
    ["model.transformer.blocks.0.attn_norm.weight", [128]],
    ["model.transformer.blocks.0.q_proj.weight", [128, 128]],
    ["model.transformer.blocks.0.k_proj.weight", [128, 128]],
    ["model.transformer.blocks.0.v_proj.weight", [128, 128]],
    ["model.transformer.blocks.0.attn_out.weight", [128, 128]],
    ["model.transformer.blocks.0.ff_norm.weight", [128]],
    ["model.transformer.blocks.0.ff_proj.weight", [384, 128]],
    ["model.transformer.blocks.0.up_proj.weight", [384, 128]],
    ["model.transformer.blocks.0.ff_out.weight", [128, 384]],
    ["model.transformer.ln_f.weight", [128]],
    ["model.transformer.ff_out.weight", [260, 128]],
  ]);
});

Deno.test("a model's parameters carry the layout's names and shapes, each name its own tensor", async () => {
  const c = validateConfig({ ...TINY, d_model: 16, n_heads: 2, mlp_hidden_size: 24, n_layers: 2 });
  const model = await createModel(c, { backend: new CpuBackend() });
  const named = model.namedParameters();
  assert.deepEqual(named.map(([name, t]) => [name, t.shape]), [...lladaTensorShapes(c)]);
  // Tensors of the same shape (q/k/v/attn_out) must still be different parameters.
  assert.equal(new Set(named.map(([, t]) => t)).size, named.length);
  model.dispose();
});

Deno.test("validateConfig fills the documented defaults", () => {
  const c = validateConfig({ ...TINY, mlp_hidden_size: undefined });
  assert.equal(c.n_kv_heads, 4);
  assert.equal(c.mlp_hidden_size, 512); // mlp_ratio 4 × d_model
  assert.equal(c.embedding_size, 256);
  assert.equal(c.pad_token_id, 254); // = eos
  assert.equal(c.rope_theta, 500000);
  assert.equal(c.rms_norm_eps, 1e-5);
  assert.equal(c.init_std, 0.02);
  assert.equal(validateConfig({ ...TINY, mlp_hidden_size: null, mlp_ratio: 3 }).mlp_hidden_size, 384);
  assert.equal(validateConfig({ ...TINY, include_bias: undefined }).d_model, 128); // undefined = absent
});

Deno.test("configToJSON writes every official field, deterministically, and reads back to the same config", () => {
  const c = validateConfig({ ...TINY, rope_theta: 10000, pad_token_id: 0 });
  const text = configToJSON(c);
  assert.equal(text, configToJSON({ ...c }));
  assert.ok(text.endsWith("}\n"));
  const json = JSON.parse(text);
  assert.deepEqual(Object.keys(json), Object.keys(json).sort());
  for (const field of Object.keys(OFFICIAL_DEFAULTS)) assert.ok(field in json, `missing ${field}`);
  assert.deepEqual(json.architectures, ["LLaDAModelLM"]);
  assert.equal(json.model_type, "llada");
  assert.equal(json.auto_map.AutoModel, "modeling_llada.LLaDAModelLM");
  assert.equal(json.auto_map.AutoConfig, "configuration_llada.LLaDAConfig");
  const architecture = {
    block_type: "llama",
    activation_type: "silu",
    layer_norm_type: "rms",
    layer_norm_with_affine: true,
    rope: true,
    alibi: false,
    include_bias: false,
    include_qkv_bias: false,
    bias_for_layer_norm: false,
    weight_tying: false,
    attention_layer_norm: false,
    input_emb_norm: false,
    scale_logits: false,
    block_group_size: 1,
    attention_dropout: 0,
    residual_dropout: 0,
    embedding_dropout: 0,
    mlp_hidden_size: 384,
    mlp_ratio: 3,
    embedding_size: 256,
    n_kv_heads: 4,
    pad_token_id: 0,
  };
  for (const [field, value] of Object.entries(architecture)) assert.equal(json[field], value, field);
  assert.deepEqual(configFromJSON(text), c);
});

Deno.test("unsupported architecture switches are refused, each naming the field, the value and why", () => {
  assertProblems(() => validateConfig({ ...TINY, include_bias: true }), [
    /^include_bias: expected false, got true \(the linear layers here have no biases\)$/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, weight_tying: true }), [
    /^weight_tying: expected false, got true/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, layer_norm_type: "gemma_rms" }), [
    /^layer_norm_type: expected "rms", got "gemma_rms"/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, block_type: "sequential" }), [
    /^block_type: expected "llama", got "sequential"/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, alibi: true, rope: false }), [
    /^rope: expected true/,
    /^alibi: expected false/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, activation_type: "swiglu" }), [
    /^activation_type: expected "silu"/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, include_qkv_bias: true }), [
    /^include_qkv_bias: expected false or null, got true/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, block_group_size: 2 }), [
    /^block_group_size: expected 1, got 2/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, model_type: "llama" }), [/^model_type: expected "llada"/]);
  assertProblems(() => validateConfig({ ...TINY, n_kv_heads: 2 }), [
    /^n_kv_heads: expected 4 \(= n_heads\), got 2; grouped-query and multi-query attention are not implemented/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, multi_query_attention: true }), [
    /^n_kv_heads: expected 4 .* got 1/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, multi_query_attention: false, n_kv_heads: 2 }), [
    /^n_kv_heads: 2 contradicts multi_query_attention false/,
    /^n_kv_heads: expected 4/,
  ]);
});

Deno.test("sizes and token ids are checked, and all problems are reported together", () => {
  assertProblems(() => validateConfig({ ...TINY, d_model: 130 }), [
    /^n_heads: d_model \(130\) must be divisible by n_heads \(4\)$/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, d_model: 12, n_heads: 4 }), [
    /^n_heads: the head size .* = 3 must be even/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, embedding_size: 200 }), [
    /^embedding_size: expected at least vocab_size \(256\), got 200/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, mask_token_id: 256 }), [
    /^mask_token_id: 256 is not a token id, expected < vocab_size \(256\)$/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, mask_token_id: 254 }), [
    /^mask_token_id: must differ from eos_token_id \(both 254\)$/,
    /^pad_token_id: must differ from mask_token_id/, // pad defaults to eos
  ]);
  assertProblems(() => validateConfig({ ...TINY, pad_token_id: 255 }), [
    /^pad_token_id: must differ from mask_token_id/,
  ]);
  assertProblems(() => validateConfig({ ...TINY, rope_theta: -1, rms_norm_eps: "1e-5" }), [
    /^rope_theta: expected a finite number > 0, got -1$/,
    /^rms_norm_eps: expected a finite number > 0, got "1e-5"$/,
  ]);
  assertProblems(
    () =>
      validateConfig({ n_layers: 0, n_heads: 2.5, vocab_size: 10, max_sequence_length: 8, mask_token_id: 9 }),
    [
      /^d_model: required, expected an integer ≥ 1$/,
      /^n_layers: expected an integer ≥ 1, got 0$/,
      /^n_heads: expected an integer ≥ 1, got 2.5$/,
      /^eos_token_id: required/,
    ],
  );
  assertProblems(() => validateConfig([1, 2]), [
    /^the config must be a JSON object with LLaDA's field names, got \[1,2\]$/,
  ]);
  assert.throws(
    () => validateConfig({}, "runs/x/config.json"),
    /^ConfigError: invalid LLaDA config \(runs\/x\/config\.json\):\n {2}- d_model/,
  );
});

Deno.test("configFromJSON judges a file as PyTorch would build it: absent fields take the official defaults", () => {
  const minimal = {
    ...TINY,
    rope: true,
    activation_type: "silu",
    layer_norm_type: "rms",
    weight_tying: false,
  };
  // block_type is absent → the official default "sequential", which this project does not implement.
  assertProblems(() => configFromJSON({ ...minimal, embedding_size: null }), [
    /^block_type: expected "llama", got "sequential"/,
  ]);
  const c = configFromJSON({ ...minimal, block_type: "llama", embedding_size: null });
  assert.equal(c.rope_theta, 10000); // the official default, not this project's 500000
  assert.equal(c.embedding_size, 256); // null means vocab_size, as `embedding_size or vocab_size`
  assert.equal(c.pad_token_id, 254); // absent pad means eos (it does not change the network)
  // embedding_size absent → the official default 50304 rows.
  assert.equal(configFromJSON({ ...minimal, block_type: "llama" }).embedding_size, 50304);
  assertProblems(() => configFromJSON({ d_model: 64 }), [
    /^n_layers: required in config\.json/,
    /^n_heads: required/,
    /^vocab_size: required/,
    /^max_sequence_length: required/,
    /^mask_token_id: required/,
    /^eos_token_id: required/,
  ]);
  assert.throws(
    () => configFromJSON("{oops", "m/config.json"),
    /\(m\/config\.json\):\n {2}- config\.json is not valid JSON/,
  );
});

Deno.test("configToJSON refuses an invalid config instead of writing it", () => {
  const bad = { ...validateConfig(TINY), n_heads: 3 } satisfies LLaDAConfig;
  assert.throws(() => configToJSON(bad), ConfigError);
});

Deno.test("paddedEmbeddingSize rounds a vocabulary up to a multiple of 16 (or the multiple given)", () => {
  assert.equal(paddedEmbeddingSize(90), 96);
  assert.equal(paddedEmbeddingSize(96), 96);
  assert.equal(paddedEmbeddingSize(1), 16);
  assert.equal(paddedEmbeddingSize(126_400, 128), 126_464); // the official LLaDA vocabulary
});
