#include "sweep_kernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define CLONES
#endif

CLONES void sweep_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                       ptrdiff_t n, float b1, float b2, float step_size, float inv_sqrt_bc2, float eps, float l2) {
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    for (ptrdiff_t i = 0; i < n; i++) {
        float gi = g[i] + l2 * p[i];
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi; v[i] = vi;
        p[i] -= step_size * mi / (__builtin_sqrtf(vi) * inv_sqrt_bc2 + eps);
    }
}

CLONES void sweep_relu(float *restrict out, const float *restrict x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

CLONES void sweep_relu_backward(float *restrict dx, const float *restrict dy, const float *restrict x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

CLONES void sweep_column_sums(float *restrict acc, const float *restrict x, ptrdiff_t rows, ptrdiff_t cols) {
    memset(acc, 0, (size_t)cols * sizeof(float));
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        for (ptrdiff_t j = 0; j < cols; j++) acc[j] += row[j];
    }
}

void sweep_broadcast_rows(float *restrict out, const float *restrict b, ptrdiff_t rows, ptrdiff_t cols) {
    for (ptrdiff_t r = 0; r < rows; r++) memcpy(out + r * cols, b, (size_t)cols * sizeof(float));
}

void sweep_im2col(const float *restrict inp, float *restrict col, int B, int H, int W, int C, int KH, int KW,
                  int stride, int pad_top, int pad_left, int OH, int OW) {
    const size_t rowlen = (size_t)KW * C;
    float *dst = col;
    for (int b = 0; b < B; b++) {
        const float *img = inp + (size_t)b * H * W * C;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                const int iw0 = ow * stride - pad_left;
                for (int kh = 0; kh < KH; kh++) {
                    const int ih = oh * stride - pad_top + kh;
                    if (ih < 0 || ih >= H) { memset(dst, 0, rowlen * sizeof(float)); dst += rowlen; continue; }
                    if (iw0 >= 0 && iw0 + KW <= W) {
                        memcpy(dst, img + ((size_t)ih * W + iw0) * C, rowlen * sizeof(float));
                        dst += rowlen;
                    } else {
                        for (int kw = 0; kw < KW; kw++) {
                            const int iw = iw0 + kw;
                            if (iw < 0 || iw >= W) memset(dst, 0, (size_t)C * sizeof(float));
                            else memcpy(dst, img + ((size_t)ih * W + iw) * C, (size_t)C * sizeof(float));
                            dst += C;
                        }
                    }
                }
            }
        }
    }
}

CLONES void sweep_col2im(const float *restrict col, float *restrict dinp, int B, int H, int W, int C, int KH, int KW,
                         int stride, int pad_top, int pad_left, int OH, int OW) {
    memset(dinp, 0, (size_t)B * H * W * C * sizeof(float));
    const float *src = col;
    for (int b = 0; b < B; b++) {
        float *img = dinp + (size_t)b * H * W * C;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                for (int kh = 0; kh < KH; kh++) {
                    const int ih = oh * stride - pad_top + kh;
                    for (int kw = 0; kw < KW; kw++, src += C) {
                        const int iw = ow * stride - pad_left + kw;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                        float *d = img + ((size_t)ih * W + iw) * C;
                        for (int c = 0; c < C; c++) d[c] += src[c];
                    }
                }
            }
        }
    }
}

CLONES void sweep_maxpool(const float *restrict inp, float *restrict out, int32_t *restrict argmax, int B, int H, int W,
                          int C, int size, int stride, int OH, int OW) {
    size_t o = 0;
    for (int b = 0; b < B; b++) {
        const size_t base = (size_t)b * H * W * C;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++, o += C) {
                const size_t first = base + ((size_t)(oh * stride) * W + ow * stride) * C;
                for (int c = 0; c < C; c++) { out[o + c] = inp[first + c]; argmax[o + c] = (int32_t)(first + c); }
                for (int kh = 0; kh < size; kh++) {
                    for (int kw = 0; kw < size; kw++) {
                        if (kh == 0 && kw == 0) continue;
                        const size_t at = base + ((size_t)(oh * stride + kh) * W + ow * stride + kw) * C;
                        for (int c = 0; c < C; c++) {
                            const float x = inp[at + c];
                            if (x > out[o + c]) { out[o + c] = x; argmax[o + c] = (int32_t)(at + c); }
                        }
                    }
                }
            }
        }
    }
}

CLONES void sweep_maxpool_backward(const float *restrict dout, const int32_t *restrict argmax, float *restrict dinp,
                                   int B, int H, int W, int C, int size, int stride, int OH, int OW) {
    if (stride == size && OH * size == H && OW * size == W) {
        /* The windows tile the input exactly: every input element is written once, no zeroing pass. */
        size_t o = 0;
        for (int b = 0; b < B; b++) {
            const size_t base = (size_t)b * H * W * C;
            for (int oh = 0; oh < OH; oh++) {
                for (int ow = 0; ow < OW; ow++, o += C) {
                    for (int kh = 0; kh < size; kh++) {
                        for (int kw = 0; kw < size; kw++) {
                            const size_t at = base + ((size_t)(oh * size + kh) * W + ow * size + kw) * C;
                            for (int c = 0; c < C; c++)
                                dinp[at + c] = argmax[o + c] == (int32_t)(at + c) ? dout[o + c] : 0.0f;
                        }
                    }
                }
            }
        }
        return;
    }
    memset(dinp, 0, (size_t)B * H * W * C * sizeof(float));
    const size_t n = (size_t)B * OH * OW * C;
    for (size_t i = 0; i < n; i++) dinp[argmax[i]] += dout[i];
}

/* The direct convolution works on 16 output channels at a time (one AVX-512 register, two AVX2
 * ones), with K padded to whole vectors: fixed-size inner loops the compiler turns into whole
 * vectors (a loop over K would be vectorized 64 wide and leave K = 32 to its scalar remainder).
 * The KK = KH*KW*C taps of a window are numbered (kh, kw, c); `tap_offsets` gives their input
 * offsets from the window's corner, and `tap_mask` which are inside the image (the windows that
 * overlap the border use it; the others take every tap). */
#define LANES 16
typedef float vec16 __attribute__((vector_size(64), aligned(4)));

static int direct_taps(int *off, int ih0, int iw0, int H, int W, int C, int KH, int KW, int all) {
    int n = 0;
    for (int kh = 0; kh < KH; kh++)
        for (int kw = 0; kw < KW; kw++)
            for (int c = 0; c < C; c++, n++) {
                const int ih = ih0 + kh, iw = iw0 + kw;
                off[n] = (all || (ih >= 0 && ih < H && iw >= 0 && iw < W)) ? (kh * W + kw) * C + c : -1;
            }
    return n;
}

CLONES void sweep_conv_direct(const float *restrict inp, const float *restrict wt, const float *restrict bias,
                              float *restrict out, int B, int H, int W, int C, int K, int KH, int KW, int stride,
                              int pad_top, int pad_left, int OH, int OW) {
    const int KK = KH * KW * C, KP = (K + LANES - 1) / LANES * LANES;
    /* The filter (KK, KP) and the bias (KP), K padded with zeros */
    float *w = calloc((size_t)(KK + 1) * KP, sizeof(float));
    for (int r = 0; r < KK; r++) memcpy(w + (size_t)r * KP, wt + (size_t)r * K, (size_t)K * sizeof(float));
    memcpy(w + (size_t)KK * KP, bias, (size_t)K * sizeof(float));
    int *inner = malloc((size_t)KK * sizeof(int)), *edge = malloc((size_t)KK * sizeof(int));
    direct_taps(inner, 0, 0, H, W, C, KH, KW, 1);
    for (int b = 0; b < B; b++) {
        const float *img = inp + (size_t)b * H * W * C;
        for (int oh = 0; oh < OH; oh++) {
            const int ih0 = oh * stride - pad_top;
            for (int ow = 0; ow < OW; ow++) {
                const int iw0 = ow * stride - pad_left;
                const int interior = ih0 >= 0 && ih0 + KH <= H && iw0 >= 0 && iw0 + KW <= W;
                const int *off = interior ? inner : edge;
                if (!interior) direct_taps(edge, ih0, iw0, H, W, C, KH, KW, 0);
                /* the window's corner, possibly outside the image; only taps with off >= 0 are read */
                const float *x0 = img + ((ptrdiff_t)ih0 * W + iw0) * C;
                float *o = out + (((size_t)b * OH + oh) * OW + ow) * K;
                for (int k0 = 0; k0 < K; k0 += 2 * LANES) {
                    /* two vectors of outputs at a time (K padded to 16; the second may be past K) */
                    const int two = k0 + LANES < K;
                    vec16 a0 = *(const vec16 *)(w + (size_t)KK * KP + k0), a1 = a0;
                    if (two) a1 = *(const vec16 *)(w + (size_t)KK * KP + k0 + LANES);
                    for (int t = 0; t < KK; t++) {
                        if (off[t] < 0) continue;
                        const float xt = x0[off[t]];
                        const float *wr = w + (size_t)t * KP + k0;
                        a0 += xt * *(const vec16 *)wr;
                        if (two) a1 += xt * *(const vec16 *)(wr + LANES);
                    }
                    float tmp[2 * LANES];
                    *(vec16 *)tmp = a0; *(vec16 *)(tmp + LANES) = a1;
                    const int n = K - k0 < 2 * LANES ? K - k0 : 2 * LANES;
                    memcpy(o + k0, tmp, (size_t)n * sizeof(float));
                }
            }
        }
    }
    free(inner); free(edge); free(w);
}

CLONES void sweep_conv_direct_filter_grad(const float *restrict inp, const float *restrict dout, float *restrict dwt,
                                          float *restrict db, int B, int H, int W, int C, int K, int KH, int KW,
                                          int stride, int pad_top, int pad_left, int OH, int OW) {
    const int KK = KH * KW * C, KP = (K + LANES - 1) / LANES * LANES;
    /* Accumulators with K padded to whole vectors: (KK + 1, KP), the last row for the bias. */
    float *acc = calloc((size_t)(KK + 1) * KP, sizeof(float));
    int *inner = malloc((size_t)KK * sizeof(int)), *edge = malloc((size_t)KK * sizeof(int));
    direct_taps(inner, 0, 0, H, W, C, KH, KW, 1);
    for (int b = 0; b < B; b++) {
        const float *img = inp + (size_t)b * H * W * C;
        for (int oh = 0; oh < OH; oh++) {
            const int ih0 = oh * stride - pad_top;
            for (int ow = 0; ow < OW; ow++) {
                const int iw0 = ow * stride - pad_left;
                const int interior = ih0 >= 0 && ih0 + KH <= H && iw0 >= 0 && iw0 + KW <= W;
                const int *off = interior ? inner : edge;
                if (!interior) direct_taps(edge, ih0, iw0, H, W, C, KH, KW, 0);
                const float *x0 = img + ((ptrdiff_t)ih0 * W + iw0) * C;
                const float *g = dout + (((size_t)b * OH + oh) * OW + ow) * K;
                for (int k0 = 0; k0 < K; k0 += LANES) {
                    const int n = K - k0 < LANES ? K - k0 : LANES;
                    float dy[LANES] = {0};
                    memcpy(dy, g + k0, (size_t)n * sizeof(float));
                    const vec16 d = *(const vec16 *)dy;
                    *(vec16 *)(acc + (size_t)KK * KP + k0) += d;
                    for (int t = 0; t < KK; t++) {
                        if (off[t] < 0) continue;
                        *(vec16 *)(acc + (size_t)t * KP + k0) += x0[off[t]] * d;
                    }
                }
            }
        }
    }
    for (int r = 0; r < KK; r++) memcpy(dwt + (size_t)r * K, acc + (size_t)r * KP, (size_t)K * sizeof(float));
    memcpy(db, acc + (size_t)KK * KP, (size_t)K * sizeof(float));
    free(inner); free(edge); free(acc);
}
