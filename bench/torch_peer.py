#!/usr/bin/env python3
"""seqae's PyTorch peer: the model of `seqae bench` in PyTorch on the CPU, float32.

`seqae bench --peer` runs this script with its own flags; it also runs alone:

    python3 bench/torch_peer.py --n 4096 --mode bucketed --threads 2

Workload (the same as `seqae bench`): N sequences, sequence i of length
MIN_LEN + (i * 7919) % (MAX_LEN - MIN_LEN + 1), standard-normal values. Model:
an encoder LSTM (input_dim -> latent) whose last hidden state is the latent,
the latent repeated over the sequence's length into a decoder LSTM (latent ->
hidden), a linear head back to input_dim, and the mean squared error of each
real step. EPOCHS of training with Adam (lr 1e-3), then one encoding pass
without gradients.

  bucketed  every batch holds sequences of one length: nothing is padded
  padded    sequences sorted by length and cut into batches, padded to the
            longest; the encoder reads a PackedSequence and the loss is masked

It prints one JSON line: peer, blas, mode, threads, n, batches, real_steps,
train_seq_per_s, encode_seq_per_s, train_s, encode_s.

A fair run needs an optimised BLAS under PyTorch. Debian's python3-torch calls
the system libblas.so.3, which is the reference BLAS unless an optimised one is
installed (apt-get install python3-torch libopenblas0-pthread): on it PyTorch
runs many times slower than it can. The script stops there unless given
--allow-slow-blas, and names the BLAS it ran on in the "blas" field.
"""
import argparse
import json
import os
import sys
import time

import torch

FAST_BLAS = ("openblas", "mkl", "blis")


def mapped_blas():
    """Path of the BLAS library mapped into this process, after a product."""
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.rstrip("\n").split(" ")[-1]
            if ".so" in path and "blas" in os.path.basename(path).lower():
                found.add(path)
    fast = sorted(p for p in found if any(k in p for k in FAST_BLAS))
    if fast:
        return fast[0]
    return sorted(found)[0] if found else "unknown"


def blas_name(path):
    """A short name for the BLAS: its folder (openblas-pthread, blas, ...)."""
    parts = path.split("/")
    return parts[-2] if len(parts) >= 2 else path


def workload_lengths(n, lo, hi):
    span = hi - lo + 1
    return [lo + (i * 7919) % span for i in range(n)]


def plan_batches(lens, size, mode):
    """Lists of sequence indices, one list per batch."""
    if mode == "bucketed":
        groups = {}
        for i, n in enumerate(lens):
            groups.setdefault(n, []).append(i)
        plan = []
        for n in sorted(groups):
            members = groups[n]
            plan.extend(members[s:s + size] for s in range(0, len(members), size))
        return plan
    by_len = sorted(range(len(lens)), key=lambda i: (lens[i], i))
    return [by_len[s:s + size] for s in range(0, len(by_len), size)]


class Autoencoder(torch.nn.Module):
    def __init__(self, features, latent, hidden):
        super().__init__()
        self.encoder = torch.nn.LSTM(features, latent, batch_first=True)
        self.decoder = torch.nn.LSTM(latent, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, features)

    def forward(self, x, lens, packed):
        src = x
        if packed:
            src = torch.nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.encoder(src)
        z = h_n[-1]
        repeated = z.unsqueeze(1).expand(z.shape[0], x.shape[1], z.shape[1])
        out, _ = self.decoder(repeated)
        return z, self.head(out)


def step_losses(y, x, mask):
    """Mean squared error of each step, zero on padding: (B, T)."""
    return ((y - x) ** 2).mean(dim=2) * mask


def main(argv):
    ap = argparse.ArgumentParser(description="seqae's PyTorch peer benchmark")
    ap.add_argument("--n", type=int, default=4096, help="sequences")
    ap.add_argument("--min-len", type=int, default=10)
    ap.add_argument("--max-len", type=int, default=200)
    ap.add_argument("--input-dim", type=int, default=8)
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--mode", choices=("bucketed", "padded"), default="bucketed")
    ap.add_argument("--allow-slow-blas", action="store_true", help="run even on the reference BLAS")
    args = ap.parse_args(argv)

    blas = mapped_blas()
    if not any(k in blas for k in FAST_BLAS) and not args.allow_slow_blas:
        sys.exit("torch_peer: PyTorch runs on the reference BLAS (%s), which makes it many times "
                 "slower than it can be; apt-get install libopenblas0-pthread, or pass "
                 "--allow-slow-blas" % blas)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    lens = workload_lengths(args.n, args.min_len, args.max_len)
    values = [torch.randn(n, args.input_dim) for n in lens]
    plan = plan_batches(lens, args.batch, args.mode)
    packed = args.mode == "padded"

    batches = []
    for members in plan:
        blens = torch.tensor([lens[i] for i in members])
        x = torch.nn.utils.rnn.pad_sequence([values[i] for i in members], batch_first=True)
        mask = (torch.arange(x.shape[1])[None, :] < blens[:, None]).to(x.dtype)
        batches.append((x, blens, mask))

    model = Autoencoder(args.input_dim, args.latent, args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    start = time.perf_counter()
    for _ in range(args.epochs):
        for x, blens, mask in batches:
            opt.zero_grad()
            _, y = model(x, blens, packed)
            loss = step_losses(y, x, mask).sum() / mask.sum()
            loss.backward()
            opt.step()
    train_s = time.perf_counter() - start

    start = time.perf_counter()
    with torch.no_grad():
        for x, blens, mask in batches:
            _, y = model(x, blens, packed)
            step_losses(y, x, mask)
    encode_s = time.perf_counter() - start

    print(json.dumps({
        "peer": "pytorch " + torch.__version__,
        "blas": blas_name(blas),
        "mode": args.mode,
        "threads": args.threads,
        "n": args.n,
        "batches": len(plan),
        "real_steps": sum(lens),
        "train_seq_per_s": round(args.n * args.epochs / train_s, 1),
        "encode_seq_per_s": round(args.n / encode_s, 1),
        "train_s": round(train_s, 3),
        "encode_s": round(encode_s, 3),
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
