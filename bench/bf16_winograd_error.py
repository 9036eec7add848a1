#!/usr/bin/env python3
"""Why Sweep's Winograd convolutions stay fp32 under `training.precision: bf16`: a numpy simulation
of one 3x3 layer (32 input channels, 64 filters, He-scaled weights, ReLU-like inputs, a 24x24
output) computed four ways with bfloat16 operands and exact sums, each against the exact (float64)
convolution:
  - im2col: the input and the filter rounded to bf16 (what bf16 im2col does);
  - Winograd F(m x m, 3x3), m = 2, 4, 6: the transformed tiles V = Bᵀ d B and filters U = G g Gᵀ
    rounded to bf16, then Y = Aᵀ (Σ_c U ⊙ V) A; and the same with fp32 rounding, for scale.
Prints each one's RMS error and largest error, relative to the output's RMS.
The transforms use the interpolation points of Sources/CSweepKernels/winograd.c (0, ±1, ±2, ±½,
∞); Bᵀ is solved for from Aᵀ and G, and each triple is checked to convolve exactly.

usage: python3 bench/bf16_winograd_error.py [--seed S]
"""
import argparse

import numpy as np

POINTS = {2: [0, 1, -1], 4: [0, 1, -1, 2, -2], 6: [0, 1, -1, 2, -2, 0.5, -0.5]}
C, K, OUT = 32, 64, 24


def bf16(x):
    """x rounded to the nearest bfloat16 (ties to even), as float64."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    return b.view(np.float32).astype(np.float64)


def fp32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def matrices(m, r=3, points=None):
    """Aᵀ (m, n), G (n, r), Bᵀ (n, n) of F(m, r) over the finite points (default POINTS[m]) and ∞."""
    pts = POINTS[m] if points is None else points
    n = m + r - 1
    AT, G = np.zeros((m, n)), np.zeros((n, r))
    for j, p in enumerate(pts):
        AT[:, j] = [p ** i for i in range(m)]
        f = np.prod([p - q for q in pts if q != p])
        G[j] = [p ** k / f for k in range(r)]
    AT[m - 1, n - 1] = 1
    G[n - 1, r - 1] = 1
    # Bᵀ from Σ_j Aᵀ[i,j] G[j,k] Bᵀ[j,l] = [l == i + k] for all i, k, l
    rows, rhs = [], []
    for i in range(m):
        for k in range(r):
            for l in range(n):
                coef = np.zeros((n, n))
                coef[:, l] = AT[i, :] * G[:, k]
                rows.append(coef.ravel())
                rhs.append(1.0 if l == i + k else 0.0)
    BT = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0].reshape(n, n)
    g, d = np.random.default_rng(1).standard_normal(r), np.random.default_rng(2).standard_normal(n)
    assert np.allclose(AT @ ((G @ g) * (BT @ d)), [g @ d[i:i + r] for i in range(m)]), f"F({m},{r}) does not convolve"
    return AT, G, BT


def conv(d, w, dtype=np.float64):
    """The direct convolution, computed in `dtype`."""
    d, w = d.astype(dtype), w.astype(dtype)
    out = np.zeros((K, OUT, OUT), dtype)
    for a in range(3):
        for b in range(3):
            out += np.einsum("kc,cij->kij", w[:, :, a, b], d[:, a:a + OUT, b:b + OUT])
    return out


def winograd(d, w, m, rnd, points=None, dtype=np.float64):
    """Tiles of m x m (OUT must be a multiple of m), computed in `dtype` (the matrices too), the
    transformed filters and tiles rounded by `rnd`."""
    assert OUT % m == 0
    AT, G, BT = (x.astype(dtype) for x in matrices(m, points=points))
    d, w = d.astype(dtype), w.astype(dtype)
    n = m + 2
    U = rnd(np.einsum("ia,kcab,jb->kcij", G, w, G)).astype(dtype)
    out = np.zeros((K, OUT, OUT), dtype)
    for ti in range(0, OUT, m):
        for tj in range(0, OUT, m):
            V = rnd(np.einsum("ia,cab,jb->cij", BT, d[:, ti:ti + n, tj:tj + n], BT)).astype(dtype)
            out[:, ti:ti + m, tj:tj + m] = np.einsum("ia,kab,jb->kij", AT, np.einsum("kcij,cij->kij", U, V), AT)
    return out


def seeded_layer(doc):
    """Parses --seed and draws the layer from it: the input d (ReLU-like), the filters w
    (He-scaled) and their exact (float64) convolution."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    rng = np.random.default_rng(ap.parse_args().seed)
    d = np.maximum(rng.standard_normal((C, OUT + 2, OUT + 2)), 0)
    w = rng.standard_normal((K, C, 3, 3)) * np.sqrt(2 / (9 * C))
    return d, w, conv(d, w)


def report(name, y, exact, width, digits):
    """Prints y's RMS and largest error, relative to the RMS of `exact`."""
    scale, err = np.sqrt(np.mean(exact ** 2)), y - exact
    print(f"{name:<{width}} RMS error {np.sqrt(np.mean(err ** 2)) / scale:.{digits}e}   "
          f"largest {np.abs(err).max() / scale:.{digits}e}")


def main():
    d, w, exact = seeded_layer(__doc__)
    report("im2col bf16", conv(bf16(d), bf16(w)), exact, 18, 2)
    for m in (2, 4, 6):
        report(f"F({m}x{m}) bf16", winograd(d, w, m, bf16), exact, 18, 2)
        report(f"F({m}x{m}) fp32", winograd(d, w, m, fp32), exact, 18, 2)

if __name__ == "__main__":
    main()
