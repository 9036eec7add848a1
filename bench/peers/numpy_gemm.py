#!/usr/bin/env python3
"""Benchmark peer of `sweep-bench gemm-shapes`: numpy's sgemm (np.matmul on float32, its bundled
OpenBLAS) on the same product shapes (bench/gemm-shapes.txt: 'TRANS M N K' per line), one thread,
timed in the same way: the best of --rounds rounds of about 0.1 s of arithmetic, this thread's CPU
time. A transposed operand is a transposed view of a stored array, as the engine stores it.
Prints one JSON line per shape:
  {"benchmark": "gemm-shapes", "trans": "NT", "M": 128, "N": 256, "K": 784, "kernel": "numpy", "gflops": ...}
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (bench/engine.sh does) so that numpy's
OpenBLAS picks its best kernel for this CPU."""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def parse(path):
    shapes = []
    with open(path) as f:
        for i, raw in enumerate(f, 1):
            body, _, note = raw.partition("#")
            fields = body.split()
            if not fields:
                continue
            if len(fields) != 4 or fields[0] not in ("NN", "NT", "TN", "TT") or not all(x.isdigit() and int(x) > 0 for x in fields[1:]):
                sys.exit(f"{path}:{i}: '{raw.rstrip()}' is not 'TRANS M N K' (TRANS one of NN, NT, TN, TT; M, N, K at least 1)")
            shapes.append((fields[0], int(fields[1]), int(fields[2]), int(fields[3]), note.strip()))
    return shapes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default=os.path.join(os.path.dirname(__file__), "..", "gemm-shapes.txt"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    for trans, M, N, K, note in parse(args.shapes):
        a = np.arange(M * K, dtype=np.float32) * 7919 % 1000 / 1000 - 0.5
        b = np.arange(K * N, dtype=np.float32) * 104729 % 1000 / 1000 - 0.5
        a = a.astype(np.float32).reshape((K, M)).T if trans[0] == "T" else a.astype(np.float32).reshape((M, K))
        b = b.astype(np.float32).reshape((N, K)).T if trans[1] == "T" else b.astype(np.float32).reshape((K, N))
        c = np.empty((M, N), dtype=np.float32)
        flops = 2.0 * M * N * K
        reps = max(1, int(1e8 / flops))
        best = float("inf")
        for _ in range(args.rounds):
            start = time.thread_time()
            for _ in range(reps):
                np.matmul(a, b, out=c)
            best = min(best, (time.thread_time() - start) / reps)
        print(json.dumps({"benchmark": "gemm-shapes", "trans": trans, "M": M, "N": N, "K": K, "kernel": "numpy",
                          "gflops": round(flops / best / 1e9, 1), "note": note}), flush=True)


if __name__ == "__main__":
    main()
