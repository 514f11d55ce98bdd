"""A minimal PyTorch LLaDA, written to check that llada-ts checkpoints mean the same thing in the official code.

The official model is `LLaDAModelLM` from the Hugging Face release (GSAI-ML/LLaDA-8B-Base / -Instruct,
`modeling_llada.py` + `configuration_llada.py`, loaded with `trust_remote_code=True`). It needs
`transformers`, which this machine does not have, so this file re-implements the part of it that a llada-ts
checkpoint uses, with the same module tree, so that `load_state_dict(strict=True)` accepts exactly the tensor
names the official loader maps, and the same numerics, so that its logits are the official logits.

Where each convention was read (public copies of the official files, found through the project's code search):
  - `yinj66/support_basis`, folder `LLaDA-8B-Instruct-B&S-light/` (`modeling_llada.py`, `config.json`): module
    layout, RMSNorm, RoPE, the llama block, the forward, the output wrapper. That copy replaces the softmax inside
    `_scaled_dot_product_attention` with an approximation, so the attention itself was read from
  - `charleschen-ml/pa-dllm`, `modeling_llada.py` (the same file with the official attention:
    `F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=False)`,
    commented "Modify: MDM set causal to False"; other copies carry the same line) and `configuration_llada.py`
    (the `ModelConfig` dataclass defaults, `effective_n_kv_heads`, `LLaDAConfig.__init__`).

The conventions, with the official names:
  - Module tree: `LLaDAModelLM.model` (`base_model_prefix = "model"`) is `LLaDAModel`, whose `transformer` is an
    `nn.ModuleDict` of `wte` (`nn.Embedding(embedding_size or vocab_size, d_model)`), `blocks`
    (`nn.ModuleList` of `LLaDALlamaBlock`, when `block_group_size` is 1), `ln_f`, and, when `weight_tying` is
    false, `ff_out` (`nn.Linear(d_model, embedding_size or vocab_size)`). Hence `model.transformer.wte.weight`,
    `model.transformer.blocks.{i}.q_proj.weight`, ... Every `nn.Linear` stores its weight `[out, in]`.
  - `RMSLayerNorm.forward`: in float32, `x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)`, cast back to
    the input dtype, then `self.weight * x` (normalise, then multiply; eps inside the square root; `eps` is
    `config.rms_norm_eps`). `ln_f`, `attn_norm`, `ff_norm` are all built by `LayerNorm.build(config)`, which
    picks `RMSLayerNorm` for `layer_norm_type` "rms".
  - `RotaryEmbedding`: `dim = d_model // n_heads`; `inv_freq = 1 / rope_theta ** (arange(0, dim, 2) / dim)`;
    `freqs = outer(arange(seq_len), inv_freq)`; `positions = cat((freqs, freqs), -1)`; `rotate_half` views the
    head as `(2, dim/2)` and returns `cat((-x2, x1))`; `q * cos + rotate_half(q) * sin`, same for k, computed in
    float32 (`rope_full_precision` true). Positions are `0 … T−1` for every row: the official forward does not
    derive positions from `attention_mask`. (RoPE scores depend only on position differences, so a row's real
    tokens see the same scores whether its padding is counted or not, as llada-ts does; see the test.)
  - Attention (`LLaDABlock.attention`): q/k/v viewed `(B, T, n_heads, dim)` and transposed to `(B, nh, T, dim)`,
    RoPE applied after the transpose, then `F.scaled_dot_product_attention` with its default scale
    `1/sqrt(dim)`, `is_causal=False`, and as `attn_mask` the float bias `(1 − attention_mask) · finfo.min` of
    shape `(B, 1, 1, T)` (padding keys get the most negative float, only when a 0 is present). Heads are
    re-joined `transpose(1, 2).view(B, T, C)` and go through `attn_out`. PyTorch 1.13 (Debian's) has no
    `scaled_dot_product_attention`, so it is written out here: `softmax(q kᵀ / sqrt(dim) + bias) v`.
  - `LLaDALlamaBlock.forward`: `x = x + attention(q_proj(h), k_proj(h), v_proj(h))` with `h = attn_norm(x)`;
    then `h = ff_norm(x)`, `x = x + ff_out(act(ff_proj(h)) * up_proj(h))`, `act` = SiLU for `activation_type`
    "silu" (output multiplier 1, so `ff_out` is `nn.Linear(mlp_hidden_size, d_model)`). No biases.
  - `LLaDAModel.forward`: `x = wte(input_ids)`, the blocks, `x = ln_f(x)`, `logits = ff_out(x)`. The logits have
    `embedding_size` columns (the padding rows of the vocabulary included); `LLaDAModelLM.forward` returns them
    unchanged as `CausalLMOutputWithPast.logits`. Dropout is the identity at inference (all probabilities are 0
    in the configs here anyway).
  - Config: `LLaDAConfig(**json)` starts from the `ModelConfig()` dataclass defaults, so a field missing from
    `config.json` takes the dataclass default (e.g. `rope_theta` 10000, `embedding_size` 50304, `weight_tying`
    true, `block_type` "sequential"). `read_config` does the same.
  - Precision: `from_pretrained` without `torch_dtype` loads every tensor as float32, whatever the file stores;
    `load_model` does the same, so a BF16 file gives float32 logits of the BF16-rounded weights.

Deliberately left out (refused with a message by `read_config`): every architecture switch other than the one
LLaDA-8B uses (sequential blocks, LayerNorm, ALiBi, biases, weight tying, QK-norm, grouped-query attention, block
groups, logit scaling), the KV cache, generation, and training.

Command line (run with Debian's /usr/bin/python3, which has python3-torch and python3-numpy):
  load DIR TOKENS_JSON OUT_JSON        load DIR/config.json + DIR/model.safetensors strictly, run the forward on
                                       TOKENS_JSON = {"tokens": [[id, ...], ...], "attention_mask": [[0|1, ...],
                                       ...] or null}, write {"shape": [B, T, embedding_size], "logits": [...]}
                                       (row-major) to OUT_JSON.
  create DIR SEED [F32|BF16]           build a small random model from an official-style config.json written into
                                       DIR, save DIR/model.safetensors in the given dtype (default F32), and write
                                       DIR/reference_logits.json: fixed tokens (one left-padded row), their
                                       attention mask and the float32 logits of the stored weights.
"""

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------------------------------------------
# safetensors: 8-byte little-endian header length N, N bytes of JSON header, then the raw little-endian data.
# ---------------------------------------------------------------------------------------------------------------


def read_safetensors(path):
    """Returns {name: float32 torch tensor} from a safetensors file with F32, F16 or BF16 tensors."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        chunk = data[begin:end]
        dtype = info["dtype"]
        if dtype == "F32":
            arr = np.frombuffer(chunk, dtype="<f4")
        elif dtype == "F16":
            arr = np.frombuffer(chunk, dtype="<f2").astype(np.float32)
        elif dtype == "BF16":
            # A bfloat16 is the top 16 bits of a float32: widen exactly by shifting into place.
            arr = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {dtype}; this reader handles F32, F16 and BF16")
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out


def write_safetensors(path, tensors, dtype="F32"):
    """Writes {name: tensor} as F32 or BF16 (round-to-nearest-even, as torch's .to(bfloat16)), names sorted."""
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if dtype == "F32":
            blob = t.to(torch.float32).numpy().astype("<f4").tobytes()
        elif dtype == "BF16":
            blob = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raise ValueError(f"write_safetensors: dtype must be F32 or BF16, got {dtype}")
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        chunks.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad with spaces so the data starts 8-byte aligned, as safetensors does
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


# ---------------------------------------------------------------------------------------------------------------
# config.json, read as `LLaDAConfig(**json)` does: the `ModelConfig` dataclass defaults, overwritten by the file.
# ---------------------------------------------------------------------------------------------------------------

MODEL_CONFIG_DEFAULTS = {
    "d_model": 768, "n_heads": 12, "n_kv_heads": None, "n_layers": 12, "mlp_ratio": 4, "mlp_hidden_size": None,
    "activation_type": "swiglu", "block_type": "sequential", "block_group_size": 1, "alibi": False, "rope": False,
    "rope_full_precision": True, "multi_query_attention": None, "attention_layer_norm": False,
    "input_emb_norm": False, "layer_norm_type": "default", "layer_norm_with_affine": True, "rms_norm_eps": 1e-5,
    "max_sequence_length": 1024, "rope_theta": 10000.0, "include_qkv_bias": False, "include_bias": False,
    "bias_for_layer_norm": None, "scale_logits": False, "vocab_size": 50257, "embedding_size": 50304,
    "weight_tying": True,
}

# The one architecture this reference implements (LLaDA-8B's); anything else would compute something different.
REQUIRED = {
    "block_type": ["llama"], "activation_type": ["silu"], "layer_norm_type": ["rms"],
    "layer_norm_with_affine": [True], "rope": [True], "rope_full_precision": [True], "alibi": [False],
    "include_bias": [False], "include_qkv_bias": [False, None], "bias_for_layer_norm": [False, None],
    "weight_tying": [False], "attention_layer_norm": [False], "input_emb_norm": [False],
    "scale_logits": [False], "block_group_size": [1],
}


def read_config(path):
    """The effective config of a config.json, with every size resolved as the official model resolves it."""
    cfg = {**MODEL_CONFIG_DEFAULTS, **json.loads(Path(path).read_text())}
    problems = [f"{k}: the reference implements {v}, got {cfg[k]!r}" for k, v in REQUIRED.items() if cfg[k] not in v]
    kv = cfg["n_kv_heads"]
    if kv is None:
        kv = 1 if cfg["multi_query_attention"] else cfg["n_heads"]
    if kv != cfg["n_heads"]:
        problems.append(f"n_kv_heads: grouped-query attention is not implemented here (got {kv})")
    if problems:
        raise ValueError(f"{path}: unsupported config:\n  " + "\n  ".join(problems))
    cfg["mlp_hidden_size"] = cfg["mlp_hidden_size"] or cfg["mlp_ratio"] * cfg["d_model"]
    cfg["embedding_size"] = cfg["embedding_size"] or cfg["vocab_size"]
    return cfg


# ---------------------------------------------------------------------------------------------------------------
# The network. Attribute names are the official ones, so state_dict() keys are the checkpoint's tensor names.
# ---------------------------------------------------------------------------------------------------------------


class RMSLayerNorm(nn.Module):
    """weight · x / sqrt(mean(x²) + eps); the normalisation in float32, then the weight in the input dtype."""

    def __init__(self, size, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x):
        og_dtype = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(og_dtype)


def rotary(t, theta):
    """RoPE on t (B, nh, T, dim) at positions 0 … T−1, rotate-half convention, in float32."""
    dim, seq_len = t.shape[-1], t.shape[-2]
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))  # (dim/2,)
    freqs = torch.outer(torch.arange(seq_len, dtype=torch.float), inv_freq)  # (T, dim/2)
    angles = torch.cat((freqs, freqs), dim=-1)  # (T, dim): pair i is (i, i + dim/2)
    x1, x2 = t.float().view(*t.shape[:-1], 2, dim // 2).unbind(dim=-2)
    rotated = torch.cat((-x2, x1), dim=-1)  # rotate_half
    return (t.float() * angles.cos() + rotated * angles.sin()).type_as(t)


class LLaDALlamaBlock(nn.Module):
    """Pre-norm block: bidirectional attention with RoPE, then the SiLU-gated MLP; both residual."""

    def __init__(self, cfg):
        super().__init__()
        d, h = cfg["d_model"], cfg["mlp_hidden_size"]
        self.n_heads, self.theta = cfg["n_heads"], cfg["rope_theta"]
        self.attn_norm = RMSLayerNorm(d, cfg["rms_norm_eps"])
        self.ff_norm = RMSLayerNorm(d, cfg["rms_norm_eps"])
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_proj = nn.Linear(d, h, bias=False)  # the gate, through SiLU
        self.up_proj = nn.Linear(d, h, bias=False)
        self.ff_out = nn.Linear(h, d, bias=False)

    def attention(self, q, k, v, bias):
        B, T, C = q.shape
        heads = lambda x: x.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, nh, T, dim)
        q, k, v = heads(q), heads(k), heads(v)
        q, k = rotary(q, self.theta), rotary(k, self.theta)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # F.scaled_dot_product_attention's scale
        if bias is not None:
            scores = scores + bias
        att = torch.softmax(scores, dim=-1) @ v  # (B, nh, T, dim)
        return self.attn_out(att.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, bias):
        h = self.attn_norm(x)
        x = x + self.attention(self.q_proj(h), self.k_proj(h), self.v_proj(h), bias)
        h = self.ff_norm(x)
        return x + self.ff_out(F.silu(self.ff_proj(h)) * self.up_proj(h))


class LLaDAModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        rows = cfg["embedding_size"]
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(rows, cfg["d_model"]),
                blocks=nn.ModuleList([LLaDALlamaBlock(cfg) for _ in range(cfg["n_layers"])]),
                ln_f=RMSLayerNorm(cfg["d_model"], cfg["rms_norm_eps"]),
                ff_out=nn.Linear(cfg["d_model"], rows, bias=False),
            )
        )

    def forward(self, input_ids, attention_mask=None):
        """input_ids (B, T) → logits (B, T, embedding_size)."""
        x = self.transformer.wte(input_ids)
        bias = None
        if attention_mask is not None and (attention_mask == 0).any():
            m = attention_mask.to(torch.float)[:, None, None, :]  # (B, 1, 1, T): masks keys only
            bias = (1.0 - m) * torch.finfo(m.dtype).min
        for block in self.transformer.blocks:
            x = block(x, bias)
        return self.transformer.ff_out(self.transformer.ln_f(x))


class LLaDAModelLM(nn.Module):
    """The Hugging Face wrapper: only adds the `model.` prefix to every name (`base_model_prefix = "model"`)."""

    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.model = LLaDAModel(cfg)

    def forward(self, input_ids, attention_mask=None):
        return self.model(input_ids, attention_mask)


def load_model(directory):
    """config.json + model.safetensors → LLaDAModelLM in float32; every name and shape must match (strict)."""
    directory = Path(directory)
    model = LLaDAModelLM(read_config(directory / "config.json"))
    model.load_state_dict(read_safetensors(directory / "model.safetensors"), strict=True)
    return model.eval()


@torch.no_grad()
def run_logits(model, tokens, attention_mask=None):
    ids = torch.tensor(tokens, dtype=torch.long)
    mask = None if attention_mask is None else torch.tensor(attention_mask, dtype=torch.long)
    return model(ids, mask)


def write_logits(path, logits, extra=None):
    out = {**(extra or {}), "shape": list(logits.shape), "logits": logits.reshape(-1).tolist()}
    Path(path).write_text(json.dumps(out))


# ---------------------------------------------------------------------------------------------------------------
# create: a small model made in PyTorch, saved as the official code would save it.
# ---------------------------------------------------------------------------------------------------------------


def official_config():
    """A small config in the layout of the released LLaDA-8B config.json (every field present)."""
    return {
        "activation_type": "silu", "alibi": False, "alibi_bias_max": 8.0, "architectures": ["LLaDAModelLM"],
        "attention_dropout": 0.0, "attention_layer_norm": False, "attention_layer_norm_with_affine": True,
        "auto_map": {
            "AutoConfig": "configuration_llada.LLaDAConfig",
            "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
            "AutoModel": "modeling_llada.LLaDAModelLM",
        },
        "bias_for_layer_norm": False, "block_group_size": 1, "block_type": "llama", "d_model": 64,
        "embedding_dropout": 0.0, "embedding_size": 128, "eos_token_id": 98, "flash_attention": False,
        "include_bias": False, "include_qkv_bias": False, "init_cutoff_factor": None, "init_device": "meta",
        "init_fn": "mitchell", "init_std": 0.02, "input_emb_norm": False, "layer_norm_type": "rms",
        "layer_norm_with_affine": True, "mask_token_id": 99, "max_sequence_length": 64, "mlp_hidden_size": 96,
        "mlp_ratio": 4, "model_type": "llada", "multi_query_attention": None, "n_heads": 4, "n_kv_heads": 4,
        "n_layers": 2, "pad_token_id": 98, "precision": "amp_bf16", "residual_dropout": 0.0,
        "rms_norm_eps": 1e-5, "rope": True, "rope_full_precision": True, "rope_theta": 10000.0,
        "scale_logits": False, "transformers_version": "4.46.3", "use_cache": False, "vocab_size": 100,
        "weight_tying": False,
    }


def create(directory, seed, dtype):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(official_config(), indent=2) + "\n")
    cfg = read_config(directory / "config.json")
    torch.manual_seed(seed)
    model = LLaDAModelLM(cfg)
    # Not LLaDA's initialisation (which parity does not depend on): weights large enough that attention is
    # peaked and the norm weights differ from 1, so a wrong RoPE pairing, norm order or scale moves the logits.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("ln_f.weight"):
                p.uniform_(0.5, 1.5)
            elif name.endswith("wte.weight"):
                p.normal_(0.0, 1.0)
            else:
                p.normal_(0.0, 1.5 / math.sqrt(p.shape[1]))
    write_safetensors(directory / "model.safetensors", model.state_dict(), dtype)
    # The logits of what was stored, read back as from_pretrained reads it (float32).
    stored = load_model(directory)
    gen = torch.Generator().manual_seed(seed + 1)
    T, pad = 16, 3
    tokens = torch.randint(0, cfg["vocab_size"], (2, T), generator=gen)
    tokens[0, ::4] = cfg["mask_token_id"]
    tokens[1, :pad] = cfg["pad_token_id"]
    tokens[1, pad + 1 :: 3] = cfg["mask_token_id"]
    mask = torch.ones(2, T, dtype=torch.long)
    mask[1, :pad] = 0
    logits = run_logits(stored, tokens.tolist(), mask.tolist())
    extra = {"tokens": tokens.tolist(), "attention_mask": mask.tolist(), "dtype": dtype}
    write_logits(directory / "reference_logits.json", logits, extra)


def main(argv):
    usage = "usage: llada_reference.py load DIR TOKENS_JSON OUT_JSON | create DIR SEED [F32|BF16]"
    if len(argv) == 4 and argv[0] == "load":
        request = json.loads(Path(argv[2]).read_text())
        model = load_model(argv[1])
        write_logits(argv[3], run_logits(model, request["tokens"], request.get("attention_mask")))
    elif len(argv) in (3, 4) and argv[0] == "create":
        create(argv[1], int(argv[2]), argv[3] if len(argv) == 4 else "F32")
    else:
        sys.exit(usage)


if __name__ == "__main__":
    main(sys.argv[1:])
