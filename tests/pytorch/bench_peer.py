"""The PyTorch side of `deno task bench`: the same two measurements as llada-ts makes, on the same machine.

`bench/peer.ts` runs this with Debian's /usr/bin/python3 and prints its figures beside llada-ts's own, with the
ratio. The network is `llada_reference.py`'s re-implementation of the official `LLaDAModelLM` (the module the
checkpoint cross-check uses), so both sides run the same architecture on the same weights.

  sample REQUEST_JSON   the official `generate.py` algorithm (written out below from the paper's Algorithm 5 and
                        the official sampler's steps): one block, low-confidence remasking, temperature 0, batch
                        1. REQUEST_JSON = {"model_dir": DIR (config.json + model.safetensors), "prompt": [ids],
                        "gen_length": 64, "steps": 64, "repeats": 3}. Prints {"tokens_per_s", "ms_per_step",
                        "tokens": the generated row, "threads"}: tokens/s is gen_length over the median wall time
                        of `repeats` generations after one warm-up generation.
  train REQUEST_JSON    pre-training steps of a freshly initialised network (Algorithm 1): per row t ~ U(0, 1),
                        p = (1 − ε)t + ε, each token masked with probability p, the loss Σ_masked CE / p / (B·L),
                        backward, global gradient-norm clip at 1, AdamW (β 0.9/0.95, weight decay 0.1), and the
                        loss read back as a float every step (as the llada-ts trainer reads it).
                        REQUEST_JSON = {"config": {LLaDA config fields}, "batch": B, "length": L, "warmup": 2,
                        "steps": 5}. Prints {"tokens_per_s", "ms_per_step", "threads"}.

PyTorch runs with its default thread settings (printed as "threads"), as the official code would.

Deliberately left out: every sampling option but the one benchmarked (blocks, temperature, CFG, other
remasking rules), and data loading: the training batch is fixed random tokens, like llada-ts's bench.
"""

import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llada_reference import MODEL_CONFIG_DEFAULTS, LLaDAModelLM, load_model  # noqa: E402


@torch.no_grad()
def generate(model, prompt, gen_length, steps, mask_id):
    """The official sampler at temperature 0 with low-confidence remasking and one block, for one row."""
    x = torch.full((1, len(prompt) + gen_length), mask_id, dtype=torch.long)
    x[0, : len(prompt)] = torch.tensor(prompt, dtype=torch.long)
    # The reveal schedule: m masks over `steps` steps, ⌊m/steps⌋ per step and one more on the first m mod steps.
    base, remainder = divmod(gen_length, steps)
    counts = [base + (1 if i < remainder else 0) for i in range(steps)]
    for i in range(steps):
        mask_index = x == mask_id
        logits = model(x)
        x0 = torch.argmax(logits, dim=-1)  # temperature 0: no Gumbel noise
        p = F.softmax(logits.to(torch.float64), dim=-1)  # float64, as llada-ts ranks
        x0_p = torch.gather(p, dim=-1, index=x0.unsqueeze(-1)).squeeze(-1)  # the confidence of each prediction
        x0 = torch.where(mask_index, x0, x)
        confidence = torch.where(mask_index, x0_p, torch.tensor(-float("inf"), dtype=torch.float64))
        _, chosen = torch.topk(confidence[0], k=counts[i])
        x[0, chosen] = x0[0, chosen]
    return x[0, len(prompt) :].tolist()


def bench_sample(request):
    model = load_model(request["model_dir"])
    config = json.loads((Path(request["model_dir"]) / "config.json").read_text())
    prompt, gen_length, steps = request["prompt"], request["gen_length"], request["steps"]
    run = lambda: generate(model, prompt, gen_length, steps, config["mask_token_id"])
    run()  # warm-up: first calls allocate and pick kernels
    times, tokens = [], None
    for _ in range(request.get("repeats", 3)):
        t0 = time.perf_counter()
        tokens = run()
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    return {
        "tokens_per_s": gen_length / seconds,
        "ms_per_step": 1000 * seconds / steps,
        "tokens": tokens,
        "threads": torch.get_num_threads(),
    }


def bench_train(request):
    # The one architecture llada_reference.py implements, sized by the request (embedding rows = vocabulary).
    cfg = {
        **MODEL_CONFIG_DEFAULTS, "block_type": "llama", "activation_type": "silu", "layer_norm_type": "rms",
        "rope": True, "weight_tying": False, "bias_for_layer_norm": False, "embedding_size": None,
        **request["config"],
    }
    cfg["embedding_size"] = cfg["embedding_size"] or cfg["vocab_size"]
    cfg["mlp_hidden_size"] = cfg["mlp_hidden_size"] or cfg["mlp_ratio"] * cfg["d_model"]
    torch.manual_seed(0)
    model = LLaDAModelLM(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    B, L, eps, mask_id = request["batch"], request["length"], 1e-3, cfg["mask_token_id"]
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(2, cfg["vocab_size"], (B, L), generator=gen)

    def step():
        t = torch.rand(B, generator=gen)
        p = ((1 - eps) * t + eps)[:, None].expand(B, L)
        masked = torch.rand(B, L, generator=gen) < p
        noisy = torch.where(masked, torch.full_like(x, mask_id), x)
        logits = model(noisy)
        ce = F.cross_entropy(logits[masked], x[masked], reduction="none")
        loss = (ce / p[masked]).sum() / (B * L)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(request.get("warmup", 2)):
        step()
    steps = request.get("steps", 5)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - t0
    return {
        "tokens_per_s": steps * B * L / seconds,
        "ms_per_step": 1000 * seconds / steps,
        "threads": torch.get_num_threads(),
    }


def main(argv):
    usage = "usage: bench_peer.py sample REQUEST_JSON | train REQUEST_JSON"
    if len(argv) != 2 or argv[0] not in ("sample", "train"):
        sys.exit(usage)
    request = json.loads(argv[1])
    result = bench_sample(request) if argv[0] == "sample" else bench_train(request)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
