#!/usr/bin/env python3
"""The float32 rounding error of Winograd F(m, 3) for the tile sizes Sweep uses (2, 4, 6, 8), and
the interpolation points behind F(8,3)'s (`Sources/CSweepKernels/winograd.c`): a numpy simulation
of one 3x3 layer (32 input channels, 64 filters, He-scaled weights, ReLU-like inputs, a 24x24
output), every transform and product rounded to float32, against the exact (float64) convolution.
Prints the RMS and the largest error relative to the output's RMS.

    python3 bench/winograd_fp32_error.py
"""
from fractions import Fraction as Fr
import numpy as np


def matrices(m, points, r=3):
    """Aᵀ (m x n), G (n x r), Bᵀ (n x n) of F(m, r) for the finite points and ∞ (Toom-Cook)."""
    n = m + r - 1
    AT, G = np.zeros((m, n)), np.zeros((n, r))
    for j, p in enumerate(points):
        AT[:, j] = [float(p) ** i for i in range(m)]
        f = np.prod([float(p - q) for q in points if q != p])
        G[j] = [float(p) ** k / f for k in range(r)]
    AT[m - 1, n - 1], G[n - 1, r - 1] = 1, 1
    # Bᵀ from Aᵀ[(G g) ⊙ (Bᵀ d)] = the correlation of d and g, for every d and g
    rows, rhs = [], []
    for i in range(m):
        for k in range(r):
            for col in range(n):
                coef = np.zeros((n, n))
                coef[:, col] = AT[i] * G[:, k]
                rows.append(coef.ravel()); rhs.append(1.0 if col == i + k else 0.0)
    BT = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0].reshape(n, n)
    return AT, G, BT


def main():
    rng = np.random.default_rng(0)
    C, K, S = 32, 64, 24
    d = np.maximum(rng.standard_normal((C, S + 2, S + 2)), 0)
    w = rng.standard_normal((K, C, 3, 3)) * np.sqrt(2 / (9 * C))
    exact = sum(np.einsum('kc,cij->kij', w[:, :, a, b], d[:, a:a + S, b:b + S]) for a in range(3) for b in range(3))
    scale = np.sqrt(np.mean(exact ** 2))
    f = np.float32

    def winograd(m, points):
        AT, G, BT = (x.astype(f) for x in matrices(m, points))
        n, cover = m + 2, (S // m) * m
        U = np.einsum('ia,kcab,jb->ijkc', G, w.astype(f), G).astype(f)
        out = np.zeros((K, cover, cover), f)
        for ti in range(0, cover, m):
            for tj in range(0, cover, m):
                V = np.einsum('ia,cab,jb->ijc', BT, d[:, ti:ti + n, tj:tj + n].astype(f), BT).astype(f)
                M = np.einsum('ijkc,ijc->ijk', U, V).astype(f)
                out[:, ti:ti + m, tj:tj + m] = np.einsum('ai,ijk,bj->kab', AT, M, AT).astype(f)
        e = out - exact[:, :cover, :cover]
        return np.sqrt(np.mean(e ** 2)) / scale, np.abs(e).max() / scale

    direct = sum(np.einsum('kc,cij->kij', w[:, :, a, b].astype(f), d[:, a:a + S, b:b + S].astype(f)).astype(f)
                 for a in range(3) for b in range(3))
    print('direct float32: RMS %.1e, max %.1e' % (np.sqrt(np.mean((direct - exact) ** 2)) / scale,
                                                   np.abs(direct - exact).max() / scale))
    half = Fr(1, 2)
    base = [Fr(0), Fr(1), Fr(-1), Fr(2), Fr(-2), half, -half]
    cases = [(2, base[:3]), (4, base[:5]), (6, base)]
    cases += [(8, base + [q, -q]) for q in (Fr(3, 4), Fr(3, 2), Fr(2, 3), Fr(3), Fr(1, 4), Fr(4))]
    for m, points in cases:
        rms, worst = winograd(m, points)
        print('F(%d,3), points %s, inf: RMS %.1e, max %.1e' % (m, ' '.join(str(p) for p in points), rms, worst))


if __name__ == '__main__':
    main()
