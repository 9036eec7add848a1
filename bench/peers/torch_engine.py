#!/usr/bin/env python3
"""Benchmark peer: PyTorch on the CPU, one thread (torch.set_num_threads(1)), denormals flushed
(torch.set_flush_denormal(True)), Fashion-MNIST, batch 128, Adam lr 1e-3.

  --model mlp: 784-256-128-10, ReLU
  --model cnn: Conv 3x3x32 (same) → ReLU → MaxPool 2 → Conv 3x3x64 (same) → ReLU → MaxPool 2
               → Flatten → Dense 128 → ReLU → Dense 10

  --precision bf16: mixed precision, each forward pass and loss under
               torch.autocast("cpu", dtype=torch.bfloat16) (PyTorch's CPU mixed precision: matrix
               products and convolutions in bfloat16, weights and optimizer in fp32); peer "torch-bf16"

Measured: the wall time of each epoch's training loop over all 60,000 training samples in shuffled
batches of 128 (the shuffle, batch slicing, forward, backward and optimizer step). Loading the
IDX files and converting them to tensors happen before. Prints one JSON line per epoch:
  {"peer": "torch", "model": "cnn", "epoch": 1, "seconds": ..., "samples": 60000, "train_loss": ...}
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from fashion_mnist import default_data_dir, load_train  # noqa: E402

BATCH, LR = 128, 1e-3


def build(model: str) -> nn.Module:
    if model == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["mlp", "cnn"], required=True)
    ap.add_argument("--data-dir", default=default_data_dir(), help="holds fashion-mnist/ (default: %(default)s)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = ap.parse_args()
    peer = "torch" if args.precision == "fp32" else "torch-bf16"
    autocast = args.precision == "bf16"

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)

    images, labels = load_train(args.data_dir)
    X = torch.from_numpy(images).unsqueeze(1).contiguous()  # (N, 1, 28, 28); the MLP flattens it
    Y = torch.from_numpy(labels)
    n = len(X)
    model = build(args.model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n)
        loss_sum = torch.zeros(())
        for lo in range(0, n, BATCH):
            idx = order[lo:lo + BATCH]
            xb, yb = X[idx], Y[idx]
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)
        seconds = time.perf_counter() - start
        print(json.dumps({"peer": peer, "model": args.model, "epoch": epoch, "seconds": round(seconds, 4),
                          "samples": n, "train_loss": round(loss_sum.item() / n, 4)}), flush=True)


if __name__ == "__main__":
    main()
