#include "sweep_kernels.h"
#include "vec16.h"
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

/* Winograd F(4x4, 3x3): 36 multiplications per 4x4 output tile instead of 144 (4x fewer than
 * im2col, against F(2x2)'s 2.25x), at the price of larger transforms and of tiles that stick out
 * of outputs whose size is not a multiple of 4. Same layout and tile numbering as F(2x2), with
 * 4x4 output tiles (TH = ceil(OH/4) by TW = ceil(OW/4) per image), 6x6 input windows at
 * (4ty - pad_top, 4tx - pad_left), and 36 transformed matrices per chunk. Points 0, ±1, ±2, ∞:
 *
 *   Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G  = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 *
 * The element transforms are written out by hand: with the matrices as tables, the compiler may
 * not drop the products with zero (0·x is not 0 for every float x). */

/* o = Bᵀ a for a length-6 vector (of floats or of 16-channel vectors) */
#define BT6(a, o) do { \
    const __typeof__((a)[0]) t1_ = (a)[4] - 4.0f * (a)[2], t2_ = (a)[3] - 4.0f * (a)[1]; \
    const __typeof__((a)[0]) t3_ = (a)[4] - (a)[2], t4_ = 2.0f * ((a)[3] - (a)[1]); \
    (o)[0] = 4.0f * (a)[0] - 5.0f * (a)[2] + (a)[4]; (o)[1] = t1_ + t2_; (o)[2] = t1_ - t2_; \
    (o)[3] = t3_ + t4_; (o)[4] = t3_ - t4_; (o)[5] = 4.0f * (a)[1] - 5.0f * (a)[3] + (a)[5]; } while (0)

/* o = Aᵀ m for a length-6 vector (4 values) */
#define AT6(m, o) do { \
    const __typeof__((m)[0]) s12_ = (m)[1] + (m)[2], d12_ = (m)[1] - (m)[2], s34_ = (m)[3] + (m)[4], d34_ = (m)[3] - (m)[4]; \
    (o)[0] = (m)[0] + s12_ + s34_; (o)[1] = d12_ + 2.0f * d34_; (o)[2] = s12_ + 4.0f * s34_; \
    (o)[3] = d12_ + 8.0f * d34_ + (m)[5]; } while (0)

/* o = A y for a length-4 vector (6 values): the adjoint of AT6 */
#define A4(y, o) do { \
    const __typeof__((y)[0]) e_ = (y)[0] + (y)[2], f_ = (y)[1] + (y)[3], g_ = (y)[0] + 4.0f * (y)[2], h_ = 2.0f * (y)[1] + 8.0f * (y)[3]; \
    (o)[0] = (y)[0]; (o)[1] = e_ + f_; (o)[2] = e_ - f_; (o)[3] = g_ + h_; (o)[4] = g_ - h_; (o)[5] = (y)[3]; } while (0)

/* The 16 outputs of the 4x4 tile whose top-left output is (oh, ow), row by row; those past the
 * image's bottom or right edge point at `outside`. */
static inline void tile4_outputs(float *img, int oh, int ow, int OH, int OW, int K, float *outside, float *q[16]) {
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            q[i * 4 + j] = (oh + i < OH && ow + j < OW) ? img + ((size_t)(oh + i) * OW + ow + j) * K : outside;
}

/* V's 36 entries of channels [c, c + lanes) (lanes <= 16) for one tile whose 6x6 window rows
 * are at p: Bᵀ d column by column, then (Bᵀ d) B row by row. Inlined with lanes = 16 for whole
 * vectors, so their loads and stores are plain vector moves. */
INLINE void winograd4_input_lanes(const float *const p[36], float *restrict v, ptrdiff_t ld, int c, int lanes) {
    vec16 r[36];
    for (int j = 0; j < 6; j++) {
        vec16 a[6], o[6];
        for (int i = 0; i < 6; i++) load_lanes(&a[i], p[i * 6 + j] + c, lanes);
        BT6(a, o);
        for (int i = 0; i < 6; i++) r[i * 6 + j] = o[i];
    }
    for (int i = 0; i < 6; i++) {
        vec16 o[6];
        BT6(r + i * 6, o);
        for (int j = 0; j < 6; j++) store_lanes(v + (i * 6 + j) * ld + c, &o[j], lanes);
    }
}

CLONES void sweep_winograd4_input(const float *restrict inp, float *restrict V, ptrdiff_t ld, int H, int W, int C,
                                  int pad_top, int pad_left, int OH, int OW, ptrdiff_t t0, ptrdiff_t nt) {
    const int TH = (OH + 3) / 4, TW = (OW + 3) / 4;
    float *zeros = calloc((size_t)C, sizeof(float));
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, ty, tx;
        tile_position(t0 + n, TH, TW, &b, &ty, &tx);
        const float *img = inp + (size_t)b * H * W * C;
        const int h0 = 4 * ty - pad_top, w0 = 4 * tx - pad_left;
        const float *p[36];
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                const int ih = h0 + i, iw = w0 + j;
                p[i * 6 + j] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? img + ((size_t)ih * W + iw) * C : zeros;
            }
        }
        float *v = V + n * C;
        for (int c = 0; c < C; c += LANES) {
            if (C - c >= LANES) winograd4_input_lanes(p, v, ld, c, LANES);
            else winograd4_input_lanes(p, v, ld, c, C - c);
        }
    }
    free(zeros);
}

/* Max-pools a 4x4 tile of outputs y (row by row, a vector of channels per position) into its
 * four 2x2 windows, in sweep_maxpool's order ((0,0), (0,1), (1,0), (1,1), first maximum kept):
 * window (wi, wj) is pooled output (oh/2 + wi, ow/2 + wj) of the tile whose top-left output is
 * (oh, ow); windows past PH or PW are dropped. at0 is the offset of output (oh, ow) channel k
 * in (B,OH,OW,K); pool0 points at pooled (oh/2, ow/2) channel k in (B,PH,PW,K), argmax0 at its
 * argmax; `lanes` channels are stored. */
INLINE void pool_tile(const vec16 y[16], int oh, int ow, int OW, int K, int PH, int PW, int32_t at0, float *pool0,
                      int32_t *argmax0, int lanes) {
    static const ivec16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int wi = 0; wi < 2; wi++) {
        for (int wj = 0; wj < 2; wj++) {
            if (oh / 2 + wi >= PH || ow / 2 + wj >= PW) continue;
            vec16 m = y[2 * wi * 4 + 2 * wj];
            ivec16 ix = at0 + (2 * wi * OW + 2 * wj) * K + lane;
            for (int e = 1; e < 4; e++) {
                const int r = 2 * wi + e / 2, c = 2 * wj + e % 2;
                const vec16 v = y[r * 4 + c];
                const ivec16 gt = (ivec16)(v > m);  /* all ones where v is the new maximum */
                m = (vec16)(((ivec16)v & gt) | ((ivec16)m & ~gt));
                ix = ((at0 + (r * OW + c) * K + lane) & gt) | (ix & ~gt);
            }
            const size_t o = ((size_t)wi * PW + wj) * K;
            store_lanes(pool0 + o, &m, lanes);
            store_lanes(argmax0 + o, &ix, lanes);
        }
    }
}

/* Y = Aᵀ M A + bias for channels [k, k + lanes) (lanes <= 16) of one tile, M's entries at m: the
 * 16 outputs row by row into y. Inlined with lanes = 16 for whole vectors. */
INLINE void winograd4_output_lanes(const float *restrict m, ptrdiff_t ld, const float *restrict bias, int k, int lanes, vec16 y[16]) {
    vec16 x[36], s[24], bk;
    for (int e = 0; e < 36; e++) load_lanes(&x[e], m + e * ld + k, lanes);
    load_lanes(&bk, bias + k, lanes);
    for (int j = 0; j < 6; j++) {  /* Aᵀ x, column by column: s is 4x6 */
        vec16 a[6], o[4];
        for (int i = 0; i < 6; i++) a[i] = x[i * 6 + j];
        AT6(a, o);
        for (int i = 0; i < 4; i++) s[i * 6 + j] = o[i];
    }
    for (int i = 0; i < 4; i++) {  /* (Aᵀ x) A, row by row */
        vec16 o[4];
        AT6(s + i * 6, o);
        for (int j = 0; j < 4; j++) y[i * 4 + j] = o[j] + bk;
    }
}

CLONES void sweep_winograd4_output(const float *restrict M, ptrdiff_t ld, float *restrict out, const float *restrict bias,
                                   int OH, int OW, int K, ptrdiff_t t0, ptrdiff_t nt,
                                   float *restrict pooled, int32_t *restrict argmax) {
    const int TH = (OH + 3) / 4, TW = (OW + 3) / 4, PH = OH / 2, PW = OW / 2;
    float *scratch = calloc((size_t)2 * K, sizeof(float));
    const float *b0 = bias ? bias : scratch;
    float *sink = scratch + K;
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, ty, tx;
        tile_position(t0 + n, TH, TW, &b, &ty, &tx);
        const int oh = 4 * ty, ow = 4 * tx;
        float *q[16];  /* those past the output's edge share the sink */
        if (!pooled) tile4_outputs(out + (size_t)b * OH * OW * K, oh, ow, OH, OW, K, sink, q);
        const size_t pool_at = (((size_t)b * PH + oh / 2) * PW + ow / 2) * K;
        const int32_t at0 = (int32_t)((((size_t)b * OH + oh) * OW + ow) * K);
        const float *m = M + n * K;
        for (int k = 0; k < K; k += LANES) {
            const int lanes = K - k < LANES ? K - k : LANES;
            vec16 y[16];
            if (lanes == LANES) winograd4_output_lanes(m, ld, b0, k, LANES, y);
            else winograd4_output_lanes(m, ld, b0, k, lanes, y);
            if (pooled) pool_tile(y, oh, ow, OW, K, PH, PW, at0 + k, pooled + pool_at + k, argmax + pool_at + k, lanes);
            else for (int e = 0; e < 16; e++) store_lanes(q[e] + k, &y[e], lanes);
        }
    }
    free(scratch);
}

/* dM = A dY Aᵀ for channels [k, k + lanes) (lanes <= 16) of one tile whose 16 output-gradient
 * rows are at q: A y column by column, then (A y) Aᵀ row by row. Inlined with lanes = 16 for
 * whole vectors. */
INLINE void winograd4_output_grad_lanes(float *const q[16], float *restrict d, ptrdiff_t ld, int k, int lanes) {
    vec16 s[24];
    for (int j = 0; j < 4; j++) {
        vec16 a[4], o[6];
        for (int i = 0; i < 4; i++) load_lanes(&a[i], q[i * 4 + j] + k, lanes);
        A4(a, o);
        for (int i = 0; i < 6; i++) s[i * 4 + j] = o[i];
    }
    for (int i = 0; i < 6; i++) {
        vec16 o[6];
        A4(s + i * 4, o);
        for (int j = 0; j < 6; j++) store_lanes(d + (i * 6 + j) * ld + k, &o[j], lanes);
    }
}

CLONES void sweep_winograd4_output_grad(const float *restrict dout, float *restrict dM, ptrdiff_t ld, int OH, int OW,
                                        int K, ptrdiff_t t0, ptrdiff_t nt) {
    const int TH = (OH + 3) / 4, TW = (OW + 3) / 4;
    float *zeros = calloc((size_t)K, sizeof(float));
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, ty, tx;
        tile_position(t0 + n, TH, TW, &b, &ty, &tx);
        float *q[16];  /* only read: dout's tile, zeros past its edge */
        tile4_outputs((float *)dout + (size_t)b * OH * OW * K, 4 * ty, 4 * tx, OH, OW, K, zeros, q);
        float *d = dM + n * K;
        for (int k = 0; k < K; k += LANES) {
            if (K - k >= LANES) winograd4_output_grad_lanes(q, d, ld, k, LANES);
            else winograd4_output_grad_lanes(q, d, ld, k, K - k);
        }
    }
    free(zeros);
}

static const float G4[6][3] = {
    {1.0f / 4, 0, 0}, {-1.0f / 6, -1.0f / 6, -1.0f / 6}, {-1.0f / 6, 1.0f / 6, -1.0f / 6},
    {1.0f / 24, 1.0f / 12, 1.0f / 6}, {1.0f / 24, -1.0f / 12, 1.0f / 6}, {0, 0, 1},
};

void sweep_winograd4_filter(const float *restrict w, float *restrict U, int C, int K, int flip) {
    const size_t CK = (size_t)C * K;
    /* at, the position in each of the 36 matrices, runs contiguously: (c, k) or, flipped, (k, c) */
    const int outer = flip ? K : C, inner = flip ? C : K;
    for (int o = 0; o < outer; o++) {
        for (int i2 = 0; i2 < inner; i2++) {
            const size_t at = (size_t)o * inner + i2;
            const int k = flip ? o : i2, c = flip ? i2 : o;
            float g[9], r[18];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    g[i * 3 + j] = flip ? w[(((size_t)k * 3 + (2 - i)) * 3 + (2 - j)) * C + c]
                                        : w[(((size_t)k * 3 + i) * 3 + j) * C + c];
            /* G g: 6x3 */
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 3; j++) r[i * 3 + j] = G4[i][0] * g[j] + G4[i][1] * g[3 + j] + G4[i][2] * g[6 + j];
            /* (G g) Gᵀ: 6x6 */
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                    U[(i * 6 + j) * CK + at] = r[i * 3] * G4[j][0] + r[i * 3 + 1] * G4[j][1] + r[i * 3 + 2] * G4[j][2];
        }
    }
}

void sweep_winograd4_filter_grad(const float *restrict dU, float *restrict dw, int C, int K) {
    const size_t CK = (size_t)C * K;
    for (int k = 0; k < K; k++) {
        for (int c = 0; c < C; c++) {
            const size_t at = (size_t)c * K + k;
            float x[36], r[18];
            for (int e = 0; e < 36; e++) x[e] = dU[e * CK + at];
            /* Gᵀ x: 3x6 */
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 6; j++) {
                    float acc = 0;
                    for (int e = 0; e < 6; e++) acc += G4[e][i] * x[e * 6 + j];
                    r[i * 6 + j] = acc;
                }
            /* (Gᵀ x) G: 3x3 */
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    float acc = 0;
                    for (int e = 0; e < 6; e++) acc += r[i * 6 + e] * G4[e][j];
                    dw[(((size_t)k * 3 + i) * 3 + j) * C + c] = acc;
                }
        }
    }
}
