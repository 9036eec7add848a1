#include "sweep_kernels.h"
#include <stdlib.h>
#include <string.h>

/* Winograd F(2x2, 3x3) transforms (Lavin & Gray, 2015) for 3x3 stride-1 convolutions over
 * channels-last images. Every transform is vectorized over the channel dimension, which is
 * contiguous in channels-last layouts: the 16 elements of a 4x4 tile are 16 channel vectors.
 *
 *   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   (input:  V = Bᵀ d B, d a 4x4 input tile)
 *   G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]              (filter: U = G g Gᵀ)
 *   Aᵀ = [1 1 1 0; 0 1 -1 -1]                        (output: Y = Aᵀ M A, M = U ⊙ V)
 *
 * Tiles: the output (B,OH,OW) is cut into 2x2 tiles, TH = ceil(OH/2) by TW = ceil(OW/2) per
 * image, numbered t = (b*TH + ty)*TW + tx; tile t reads the 4x4 input window whose top-left
 * corner is (2ty - pad_top, 2tx - pad_left), zero outside the image. A tile range [t0, t0+nt)
 * is transformed at a time (the caller works in cache-sized chunks); a transformed chunk is
 * (16, nt, channels) with `ld` floats between the 16 matrices. */

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define CLONES
#endif

/* Transform of a length-4 vector by Bᵀ, in place over four values. */
#define BT4(a0, a1, a2, a3, o0, o1, o2, o3) do { \
    o0 = (a0) - (a2); o1 = (a1) + (a2); o2 = (a2) - (a1); o3 = (a1) - (a3); } while (0)

static inline void tile_position(ptrdiff_t t, int TH, int TW, int *b, int *ty, int *tx) {
    *tx = (int)(t % TW);
    const ptrdiff_t r = t / TW;
    *ty = (int)(r % TH);
    *b = (int)(r / TH);
}

/* The four outputs of the 2x2 tile whose top-left output is (oh, ow) in an (OH, OW, K) image:
 * q[0] (oh, ow), q[1] (oh, ow+1), q[2] (oh+1, ow), q[3] (oh+1, ow+1); those past the image's
 * bottom or right edge (odd OH or OW) point at `outside` instead. */
static inline void tile_outputs(float *img, int oh, int ow, int OH, int OW, int K, float *outside, float *q[4]) {
    q[0] = img + ((size_t)oh * OW + ow) * K;
    q[1] = ow + 1 < OW ? q[0] + K : outside;
    q[2] = oh + 1 < OH ? q[0] + (size_t)OW * K : outside;
    q[3] = (ow + 1 < OW && oh + 1 < OH) ? q[0] + (size_t)(OW + 1) * K : outside;
}

CLONES void sweep_winograd_input(const float *restrict inp, float *restrict V, ptrdiff_t ld, int H, int W, int C,
                                 int pad_top, int pad_left, int OH, int OW, ptrdiff_t t0, ptrdiff_t nt) {
    const int TH = (OH + 1) / 2, TW = (OW + 1) / 2;
    float *zeros = calloc((size_t)C, sizeof(float));
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, ty, tx;
        tile_position(t0 + n, TH, TW, &b, &ty, &tx);
        const float *img = inp + (size_t)b * H * W * C;
        const int h0 = 2 * ty - pad_top, w0 = 2 * tx - pad_left;
        const float *p[16];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                const int ih = h0 + i, iw = w0 + j;
                p[i * 4 + j] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? img + ((size_t)ih * W + iw) * C : zeros;
            }
        }
        float *v = V + n * C;
#pragma clang loop vectorize(assume_safety)
        for (int c = 0; c < C; c++) {
            float r[16];
            /* columns of Bᵀ d: r[i][j] over i for each column j */
            for (int j = 0; j < 4; j++)
                BT4(p[j][c], p[4 + j][c], p[8 + j][c], p[12 + j][c], r[j], r[4 + j], r[8 + j], r[12 + j]);
            /* rows of (Bᵀ d) B */
            for (int i = 0; i < 4; i++) {
                float o0, o1, o2, o3;
                BT4(r[i * 4], r[i * 4 + 1], r[i * 4 + 2], r[i * 4 + 3], o0, o1, o2, o3);
                v[(i * 4 + 0) * ld + c] = o0;
                v[(i * 4 + 1) * ld + c] = o1;
                v[(i * 4 + 2) * ld + c] = o2;
                v[(i * 4 + 3) * ld + c] = o3;
            }
        }
    }
    free(zeros);
}

CLONES void sweep_winograd_output(const float *restrict M, ptrdiff_t ld, float *restrict out, const float *restrict bias,
                                  int OH, int OW, int K, ptrdiff_t t0, ptrdiff_t nt) {
    const int TH = (OH + 1) / 2, TW = (OW + 1) / 2;
    float *scratch = calloc((size_t)2 * K, sizeof(float));
    const float *b0 = bias ? bias : scratch;
    float *sink = scratch + K;
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, ty, tx;
        tile_position(t0 + n, TH, TW, &b, &ty, &tx);
        float *q[4];
        tile_outputs(out + (size_t)b * OH * OW * K, 2 * ty, 2 * tx, OH, OW, K, sink, q);
        float *q00 = q[0], *q01 = q[1], *q10 = q[2], *q11 = q[3];  /* the last three may share the sink */
        const float *m = M + n * K;
#pragma clang loop vectorize(assume_safety)
        for (int k = 0; k < K; k++) {
            float x[16];
            for (int e = 0; e < 16; e++) x[e] = m[e * ld + k];
            /* Aᵀ x: two rows of four */
            float s0[4], s1[4];
            for (int j = 0; j < 4; j++) {
                s0[j] = x[j] + x[4 + j] + x[8 + j];
                s1[j] = x[4 + j] - x[8 + j] - x[12 + j];
            }
            const float y00 = s0[0] + s0[1] + s0[2] + b0[k], y01 = s0[1] - s0[2] - s0[3] + b0[k];
            const float y10 = s1[0] + s1[1] + s1[2] + b0[k], y11 = s1[1] - s1[2] - s1[3] + b0[k];
            q00[k] = y00;
            q01[k] = y01;
            q10[k] = y10;
            q11[k] = y11;
        }
    }
    free(scratch);
}

CLONES void sweep_winograd_output_grad(const float *restrict dout, float *restrict dM, ptrdiff_t ld, int OH, int OW,
                                       int K, ptrdiff_t t0, ptrdiff_t nt) {
    const int TH = (OH + 1) / 2, TW = (OW + 1) / 2;
    float *zeros = calloc((size_t)K, sizeof(float));
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, ty, tx;
        tile_position(t0 + n, TH, TW, &b, &ty, &tx);
        float *q[4];  /* only read: dout's tile, zeros past its edge */
        tile_outputs((float *)dout + (size_t)b * OH * OW * K, 2 * ty, 2 * tx, OH, OW, K, zeros, q);
        const float *p00 = q[0], *p01 = q[1], *p10 = q[2], *p11 = q[3];
        float *d = dM + n * K;
#pragma clang loop vectorize(assume_safety)
        for (int k = 0; k < K; k++) {
            /* A y Aᵀ, with A y = (y0, y0 + y1, y0 - y1, -y1): first down the columns, then along the rows */
            const float y00 = p00[k], y01 = p01[k], y10 = p10[k], y11 = p11[k];
            const float a0 = y00, c0 = y01;
            const float a1 = y00 + y10, c1 = y01 + y11;
            const float a2 = y00 - y10, c2 = y01 - y11;
            const float a3 = -y10, c3 = -y11;
            d[0 * ld + k] = a0; d[1 * ld + k] = a0 + c0; d[2 * ld + k] = a0 - c0; d[3 * ld + k] = -c0;
            d[4 * ld + k] = a1; d[5 * ld + k] = a1 + c1; d[6 * ld + k] = a1 - c1; d[7 * ld + k] = -c1;
            d[8 * ld + k] = a2; d[9 * ld + k] = a2 + c2; d[10 * ld + k] = a2 - c2; d[11 * ld + k] = -c2;
            d[12 * ld + k] = a3; d[13 * ld + k] = a3 + c3; d[14 * ld + k] = a3 - c3; d[15 * ld + k] = -c3;
        }
    }
    free(zeros);
}

void sweep_winograd_filter(const float *restrict w, float *restrict U, int C, int K, int flip) {
    const size_t CK = (size_t)C * K;
    for (int k = 0; k < K; k++) {
        for (int c = 0; c < C; c++) {
            float g[9], r[12];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    g[i * 3 + j] = flip ? w[(((size_t)k * 3 + (2 - i)) * 3 + (2 - j)) * C + c]
                                        : w[(((size_t)k * 3 + i) * 3 + j) * C + c];
            /* G g: 4x3 */
            for (int j = 0; j < 3; j++) {
                const float a = g[j], m = g[3 + j], z = g[6 + j];
                r[j] = a; r[3 + j] = 0.5f * (a + m + z); r[6 + j] = 0.5f * (a - m + z); r[9 + j] = z;
            }
            /* (G g) Gᵀ: 4x4 */
            const size_t at = flip ? (size_t)k * C + c : (size_t)c * K + k;
            for (int i = 0; i < 4; i++) {
                const float a = r[i * 3], m = r[i * 3 + 1], z = r[i * 3 + 2];
                U[(i * 4 + 0) * CK + at] = a;
                U[(i * 4 + 1) * CK + at] = 0.5f * (a + m + z);
                U[(i * 4 + 2) * CK + at] = 0.5f * (a - m + z);
                U[(i * 4 + 3) * CK + at] = z;
            }
        }
    }
}

void sweep_winograd_filter_grad(const float *restrict dU, float *restrict dw, int C, int K) {
    const size_t CK = (size_t)C * K;
    for (int k = 0; k < K; k++) {
        for (int c = 0; c < C; c++) {
            const size_t at = (size_t)c * K + k;
            float x[16], r[12];
            for (int e = 0; e < 16; e++) x[e] = dU[e * CK + at];
            /* Gᵀ x: 3x4, Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1] */
            for (int j = 0; j < 4; j++) {
                const float a = x[j], m1 = x[4 + j], m2 = x[8 + j], z = x[12 + j];
                r[j] = a + 0.5f * (m1 + m2); r[4 + j] = 0.5f * (m1 - m2); r[8 + j] = 0.5f * (m1 + m2) + z;
            }
            /* (Gᵀ x) G: 3x3 */
            for (int i = 0; i < 3; i++) {
                const float a = r[i * 4], m1 = r[i * 4 + 1], m2 = r[i * 4 + 2], z = r[i * 4 + 3];
                float *o = dw + (((size_t)k * 3 + i) * 3) * C + c;
                o[0] = a + 0.5f * (m1 + m2);
                o[C] = 0.5f * (m1 - m2);
                o[2 * C] = 0.5f * (m1 + m2) + z;
            }
        }
    }
}
