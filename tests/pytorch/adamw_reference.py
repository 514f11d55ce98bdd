"""torch.optim.AdamW on parameters and gradients given in a JSON file: the reference for llada-ts's AdamW.

Usage: adamw_reference.py IN_JSON OUT_JSON

IN_JSON holds {"beta1", "beta2", "eps", "lrs": [lr of each step], "params": [{"name", "shape", "values",
"weight_decay"}], "grads": [[flat gradient of each parameter] for each step]}. Each parameter is its own param
group, so each carries its own weight decay (llada-ts decays matrices and not the 1-D norm weights); the
learning rate of every group is set before each step, as a schedule would. Everything is float32, like the
parameters and moments of llada-ts. OUT_JSON gets {"params": {name: flat values after the last step}}.
"""

import json
import sys

import torch


def main(inp, out):
    with open(inp) as f:
        spec = json.load(f)
    params = [torch.tensor(p["values"], dtype=torch.float32).reshape(p["shape"]) for p in spec["params"]]
    for p in params:
        p.requires_grad_(True)
    groups = [{"params": [p], "weight_decay": s["weight_decay"]} for p, s in zip(params, spec["params"])]
    opt = torch.optim.AdamW(groups, lr=spec["lrs"][0], betas=(spec["beta1"], spec["beta2"]), eps=spec["eps"])
    for lr, grads in zip(spec["lrs"], spec["grads"]):
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=torch.float32).reshape(p.shape)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
    result = {s["name"]: p.detach().reshape(-1).tolist() for p, s in zip(params, spec["params"])}
    with open(out, "w") as f:
        json.dump({"params": result}, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: adamw_reference.py IN_JSON OUT_JSON")
    main(sys.argv[1], sys.argv[2])
