#!/usr/bin/env python3
"""The float32 rounding error of Winograd F(m, 3) for the tile sizes Sweep uses (2, 4, 6, 8), and
the interpolation points behind F(8,3)'s (`Sources/CSweepKernels/winograd.c`): the layer and the
transforms of bench/bf16_winograd_error.py computed in float32 throughout (the matrices, the
transforms, the sums over channels), against the exact (float64) convolution. Prints the RMS and the largest error relative to the output's RMS.

usage: python3 bench/winograd_fp32_error.py [--seed S]
"""
from fractions import Fraction

import numpy as np

from bf16_winograd_error import POINTS, conv, report, seeded_layer, winograd


def main():
    d, w, exact = seeded_layer(__doc__)
    f32 = np.float32
    report("direct", conv(d, w, dtype=f32), exact, 44, 1)
    for m in (2, 4, 6):
        report(f"F({m},3), points {POINTS[m]}", winograd(d, w, m, lambda x: x, dtype=f32), exact, 44, 1)
    # F(8,3): the points of F(6,3) and one more pair ±q
    for q in (Fraction(3, 4), Fraction(3, 2), Fraction(2, 3), Fraction(3), Fraction(1, 4), Fraction(4)):
        points = POINTS[6] + [float(q), -float(q)]
        report(f"F(8,3), F(6,3)'s points and ±{q}", winograd(d, w, 8, lambda x: x, points=points, dtype=f32), exact, 44, 1)

if __name__ == "__main__":
    main()
