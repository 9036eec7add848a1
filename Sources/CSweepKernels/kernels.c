#include "sweep_kernels.h"
#include <math.h>
#include <stdio.h>
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
 * The KK = KH*KW*C taps of a window are numbered (kh, kw, c), the filter's own order. */
#define LANES 16
typedef float vec16 __attribute__((vector_size(64), aligned(4)));

/* Scratch of the direct kernels; a failed allocation ends the (trial) process with a message
 * rather than a null dereference. */
static void *direct_alloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size);
    if (!p) { fputs("sweep: out of memory in the direct convolution\n", stderr); abort(); }
    return p;
}

/* The windows of a direct convolution, output position by output position. `inner` holds the
 * input offset of every tap from the window's corner; a window that overlaps the border gets
 * its own list in `edge`, -1 for the taps outside the image. */
typedef struct {
    int H, W, C, KH, KW, KK, stride, pad_top, pad_left;
    int *inner, *edge;
} direct_windows;

static void direct_taps(int *off, int ih0, int iw0, const direct_windows *dw, int all) {
    int n = 0;
    for (int kh = 0; kh < dw->KH; kh++)
        for (int kw = 0; kw < dw->KW; kw++)
            for (int c = 0; c < dw->C; c++, n++) {
                const int ih = ih0 + kh, iw = iw0 + kw;
                off[n] = (all || (ih >= 0 && ih < dw->H && iw >= 0 && iw < dw->W)) ? (kh * dw->W + kw) * dw->C + c : -1;
            }
}

static direct_windows direct_windows_make(int H, int W, int C, int KH, int KW, int stride, int pad_top, int pad_left) {
    direct_windows dw = {H, W, C, KH, KW, KH * KW * C, stride, pad_top, pad_left, NULL, NULL};
    dw.inner = direct_alloc((size_t)dw.KK, sizeof(int));
    dw.edge = direct_alloc((size_t)dw.KK, sizeof(int));
    direct_taps(dw.inner, 0, 0, &dw, 1);
    return dw;
}

static void direct_windows_free(direct_windows *dw) { free(dw->inner); free(dw->edge); }

/* The tap offsets of the window of output (oh, ow), and in *corner the offset of its top-left
 * corner in the image (possibly outside it: only taps with offset >= 0 may be read). */
static inline const int *direct_window(direct_windows *dw, int oh, int ow, ptrdiff_t *corner) {
    const int ih0 = oh * dw->stride - dw->pad_top, iw0 = ow * dw->stride - dw->pad_left;
    *corner = ((ptrdiff_t)ih0 * dw->W + iw0) * dw->C;
    if (ih0 >= 0 && ih0 + dw->KH <= dw->H && iw0 >= 0 && iw0 + dw->KW <= dw->W) return dw->inner;
    direct_taps(dw->edge, ih0, iw0, dw, 0);
    return dw->edge;
}

CLONES void sweep_conv_direct(const float *restrict inp, const float *restrict wt, const float *restrict bias,
                              float *restrict out, int B, int H, int W, int C, int K, int KH, int KW, int stride,
                              int pad_top, int pad_left, int OH, int OW) {
    direct_windows dw = direct_windows_make(H, W, C, KH, KW, stride, pad_top, pad_left);
    const int KK = dw.KK, KP = (K + LANES - 1) / LANES * LANES;
    /* The filter transposed to (KK, KP) and the bias (KP), K padded with zeros */
    float *w = direct_alloc((size_t)(KK + 1) * KP, sizeof(float));
    for (int k = 0; k < K; k++)
        for (int t = 0; t < KK; t++) w[(size_t)t * KP + k] = wt[(size_t)k * KK + t];
    memcpy(w + (size_t)KK * KP, bias, (size_t)K * sizeof(float));
    for (int b = 0; b < B; b++) {
        const float *img = inp + (size_t)b * H * W * C;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                ptrdiff_t corner;
                const int *off = direct_window(&dw, oh, ow, &corner);
                const float *x0 = img + corner;
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
    direct_windows_free(&dw);
    free(w);
}

CLONES void sweep_conv_direct_filter_grad(const float *restrict inp, const float *restrict dout, float *restrict dwt,
                                          float *restrict db, int B, int H, int W, int C, int K, int KH, int KW,
                                          int stride, int pad_top, int pad_left, int OH, int OW) {
    direct_windows dw = direct_windows_make(H, W, C, KH, KW, stride, pad_top, pad_left);
    const int KK = dw.KK, KP = (K + LANES - 1) / LANES * LANES;
    /* Accumulators with K padded to whole vectors: (KK + 1, KP), the last row for the bias. */
    float *acc = direct_alloc((size_t)(KK + 1) * KP, sizeof(float));
    for (int b = 0; b < B; b++) {
        const float *img = inp + (size_t)b * H * W * C;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                ptrdiff_t corner;
                const int *off = direct_window(&dw, oh, ow, &corner);
                const float *x0 = img + corner;
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
    /* back to the filter's layout (K, KK) */
    for (int k = 0; k < K; k++)
        for (int t = 0; t < KK; t++) dwt[(size_t)k * KK + t] = acc[(size_t)t * KP + k];
    memcpy(db, acc + (size_t)KK * KP, (size_t)K * sizeof(float));
    direct_windows_free(&dw);
    free(acc);
}
