#!/usr/bin/env python3
"""Whether a trajectory fixture is fair to a float32 implementation.

Runs a fixture's trajectory again in PyTorch twice: in float64 from the start
rounded to float32 (what any float32 implementation is given), and wholly in
float32. It prints each run's worst |got - want| / (1e-6 + 1e-4 |want|) for
the losses, the pre-clip gradient norms and the parameters after the last
step, the quantities stages' TestTrajectory compares. A fixture is fair only
if both stay well inside 1: a step where the gradient norm jumps (seed 7 of
trajectory_asm's shapes jumps 65x at step 28) amplifies the start's rounding
alone past the tolerance, and then no float32 code can pass it.

Usage: conditioning.py FIXTURE.json...   (needs Debian's python3-torch)

The fixtures with a trajectory here were made with torch_reference.py:
  trajectory_small      (the shared fixture; its seed is not recorded) --input-dim 3 --latent 4 --decoder-hidden 5 --head linear
                        --lengths 5,3,7,1,4 --steps 20 --clip-norm 0.15
  trajectory_asm        --seed 5 --input-dim 8 --latent 16 --decoder-hidden 24 --head linear
                        --lengths 12,1,30,7,30,19,2,25,9 --steps 30 --clip-norm 0.05
  trajectory_head_none  --seed 11 --input-dim 8 --latent 8 --decoder-hidden 8 --head none
                        --lengths 6,6,2,9,4,16,3 --steps 25 --clip-norm 0
"""
import json
import sys

import torch

import torch_reference as ref


def rerun(doc, dtype):
    c, t = doc["config"], doc["trajectory"]
    enc = torch.nn.LSTM(c["input_dim"], c["latent_dim"], batch_first=True).to(dtype)
    dec = torch.nn.LSTM(c["latent_dim"], c["decoder_hidden"], batch_first=True).to(dtype)
    head = torch.nn.Linear(c["decoder_hidden"], c["input_dim"]).to(dtype) if c["head"] == "linear" else None
    P = ref.params(enc, dec, head)
    rounded = lambda v: torch.tensor(v, dtype=torch.float32).to(dtype)
    with torch.no_grad():
        for m in (enc, dec):
            m.bias_hh_l0.zero_()
            m.bias_hh_l0.requires_grad_(False)
        for k, v in P.items():
            v.copy_(rounded(doc["params"][k]))
    seqs = [rounded(s) for s in doc["sequences"]]
    opt = torch.optim.Adam(list(P.values()), lr=t["lr"], betas=(0.9, 0.999), eps=1e-8)
    losses, norms = [], []
    for _ in range(t["steps"]):
        opt.zero_grad()
        _, _, loss, _ = ref.forward(enc, dec, head, seqs)
        loss.backward()
        max_norm = t["clip_norm"] if t["clip_norm"] > 0 else float("inf")
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(P.values()), max_norm)))
        losses.append(loss.item())
        opt.step()
    return losses, norms, P


def worst(got, want):
    return max(abs(g - w) / (1e-6 + 1e-4 * abs(w)) for g, w in zip(got, want))


def main():
    for path in sys.argv[1:]:
        with open(path) as f:
            doc = json.load(f)
        t = doc["trajectory"]
        for name, dtype in (("float64 from the float32 start", torch.float64), ("float32", torch.float32)):
            losses, norms, P = rerun(doc, dtype)
            params = max(worst(v.detach().double().flatten().tolist(),
                               torch.tensor(t["params_after"][k]).flatten().tolist()) for k, v in P.items())
            print(f"{path}: PyTorch {name}: worst ratio loss {worst(losses, t['losses']):.3f}, "
                  f"grad_norm {worst(norms, t['grad_norms']):.3f}, params_after {params:.3f}")


if __name__ == "__main__":
    main()
