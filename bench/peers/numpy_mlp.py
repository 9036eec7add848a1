#!/usr/bin/env python3
"""Benchmark peer: a hand-written numpy MLP 784-256-128-10 (ReLU, softmax cross-entropy, Adam by
hand, float32) on Fashion-MNIST, one BLAS thread, batch 128, lr 1e-3.

Measured: the wall time (and the thread's CPU time, cpu_seconds) of each epoch's training loop over all 60,000 training samples in shuffled
batches of 128 (the shuffle, batch gathering, forward, backward and Adam step). Loading the data
happens before. Prints one JSON line per epoch:
  {"peer": "numpy", "model": "mlp", "epoch": 1, "seconds": ..., "cpu_seconds": ..., "samples": 60000, "train_loss": ...}
"""
import os

# One thread, set before numpy loads OpenBLAS (bench/engine.sh sets these too).
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fashion_mnist import default_data_dir, load_train  # noqa: E402

SIZES = [784, 256, 128, 10]
BATCH, LR, BETA1, BETA2, EPS = 128, 1e-3, 0.9, 0.999, 1e-8  # PyTorch's Adam defaults


class MLP:
    """Weights and biases are views into one flat float32 buffer (gradients likewise), so the Adam
    step is a handful of vectorised operations over all parameters at once."""

    def __init__(self, rng: np.random.Generator):
        shapes = []
        for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
            shapes += [(fan_in, fan_out), (fan_out,)]
        count = sum(int(np.prod(s)) for s in shapes)
        self.params = np.zeros(count, np.float32)
        self.grads = np.zeros(count, np.float32)
        self.p, self.g, offset = [], [], 0
        for s in shapes:
            n = int(np.prod(s))
            self.p.append(self.params[offset:offset + n].reshape(s))
            self.g.append(self.grads[offset:offset + n].reshape(s))
            offset += n
        for w in self.p[0::2]:  # He-normal weights, zero biases
            w[...] = rng.standard_normal(w.shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / w.shape[0]))
        # Adam state and a scratch buffer, all flat.
        self.m = np.zeros(count, np.float32)
        self.v = np.zeros(count, np.float32)
        self.tmp = np.zeros(count, np.float32)
        self.step_count = 0

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward, backward and Adam step on one batch; returns the batch's mean loss."""
        W1, b1, W2, b2, W3, b3 = self.p
        gW1, gb1, gW2, gb2, gW3, gb3 = self.g
        B = x.shape[0]
        # Forward.
        h1 = x @ W1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ W2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ W3
        z += b3
        # Softmax cross-entropy; dz = (softmax - onehot) / B.
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        rows = np.arange(B)
        loss = -float(np.log(z[rows, y] + np.float32(1e-30)).mean())
        z[rows, y] -= 1
        z *= np.float32(1.0 / B)
        # Backward (ReLU's gradient: zero where the activation was zero).
        np.matmul(h2.T, z, out=gW3)
        z.sum(axis=0, out=gb3)
        d2 = z @ W3.T
        d2 *= h2 > 0
        np.matmul(h1.T, d2, out=gW2)
        d2.sum(axis=0, out=gb2)
        d1 = d2 @ W2.T
        d1 *= h1 > 0
        np.matmul(x.T, d1, out=gW1)
        d1.sum(axis=0, out=gb1)
        self.adam()
        return loss

    def adam(self):
        """PyTorch's Adam: p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""
        self.step_count += 1
        t = self.step_count
        g, m, v, tmp = self.grads, self.m, self.v, self.tmp
        m *= np.float32(BETA1)
        np.multiply(g, np.float32(1 - BETA1), out=tmp)
        m += tmp
        v *= np.float32(BETA2)
        np.multiply(g, g, out=tmp)
        tmp *= np.float32(1 - BETA2)
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= np.float32(1 / np.sqrt(1 - BETA2 ** t))
        tmp += np.float32(EPS)
        np.divide(m, tmp, out=tmp)
        tmp *= np.float32(LR / (1 - BETA1 ** t))
        self.params -= tmp


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=default_data_dir(), help="holds fashion-mnist/ (default: %(default)s)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    images, labels = load_train(args.data_dir)
    X = np.ascontiguousarray(images.reshape(len(images), -1))
    Y = labels
    n = len(X)
    rng = np.random.default_rng(args.seed)
    model = MLP(rng)

    for epoch in range(1, args.epochs + 1):
        start, cpu_start = time.perf_counter(), time.thread_time()
        order = rng.permutation(n)
        loss_sum = 0.0
        for lo in range(0, n, BATCH):
            idx = order[lo:lo + BATCH]
            loss_sum += model.train_step(X[idx], Y[idx]) * len(idx)
        seconds, cpu_seconds = time.perf_counter() - start, time.thread_time() - cpu_start
        print(json.dumps({"peer": "numpy", "model": "mlp", "epoch": epoch, "seconds": round(seconds, 4),
                          "cpu_seconds": round(cpu_seconds, 4),
                          "samples": n, "train_loss": round(loss_sum / n, 4)}), flush=True)


if __name__ == "__main__":
    main()
