#include "sweep_kernels.h"
#include "vec16.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

void *sweep_alloc_buffer(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (bytes >= huge / 2) {
        bytes = (bytes + huge - 1) / huge * huge;
        if (posix_memalign(&p, huge, bytes) != 0) p = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (p) madvise(p, bytes, MADV_HUGEPAGE);  /* advice only: without it, ordinary pages */
#endif
    } else if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) {
        p = NULL;
    }
    if (!p) { fputs("sweep: out of memory for an engine buffer\n", stderr); abort(); }
    memset(p, 0, bytes);
    return p;
}

void sweep_free_buffer(void *p) { free(p); }

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

CLONES void sweep_relu_inplace(float *x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
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

/* dst (n, f) = rows[0..n) of src (·, f): a mini-batch gathered from the data set. Eight rows at a
 * time, 16 floats of each in turn, so that eight independent streams of random rows are in flight
 * at once (one memcpy per row waits on one row's cache misses at a time). */
CLONES void sweep_gather_rows(float *restrict dst, const float *restrict src, const ptrdiff_t *restrict rows,
                              ptrdiff_t n, ptrdiff_t f) {
    enum { R = 8, L = 16 };
    ptrdiff_t r = 0;
    for (; r + R <= n; r += R) {
        const float *s[R];
        float *d[R];
        for (int k = 0; k < R; k++) { s[k] = src + rows[r + k] * f; d[k] = dst + (r + k) * f; }
        ptrdiff_t j = 0;
        for (; j + L <= f; j += L)
            for (int k = 0; k < R; k++)
                for (int l = 0; l < L; l++) d[k][j + l] = s[k][j + l];
        for (; j < f; j++)
            for (int k = 0; k < R; k++) d[k][j] = s[k][j];
    }
    for (; r < n; r++) memcpy(dst + r * f, src + rows[r] * f, (size_t)f * sizeof(float));
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
    if (size == 2 && stride == 2) {
        /* The common 2x2 window, in the generic loop's order: (0,0), (0,1), (1,0), (1,1). */
        size_t o = 0;
        for (int b = 0; b < B; b++) {
            const size_t base = (size_t)b * H * W * C;
            for (int oh = 0; oh < OH; oh++) {
                for (int ow = 0; ow < OW; ow++, o += C) {
                    const size_t a0 = base + ((size_t)(2 * oh) * W + 2 * ow) * C, a1 = a0 + C, a2 = a0 + (size_t)W * C, a3 = a2 + C;
                    const float *p0 = inp + a0, *p1 = inp + a1, *p2 = inp + a2, *p3 = inp + a3;
                    float *restrict q = out + o;
                    int32_t *restrict ix = argmax + o;
#pragma clang loop vectorize(assume_safety)
                    for (int c = 0; c < C; c++) {
                        float m = p0[c];
                        int32_t i = (int32_t)(a0 + c);
                        if (p1[c] > m) { m = p1[c]; i = (int32_t)(a1 + c); }
                        if (p2[c] > m) { m = p2[c]; i = (int32_t)(a2 + c); }
                        if (p3[c] > m) { m = p3[c]; i = (int32_t)(a3 + c); }
                        q[c] = m; ix[c] = i;
                    }
                }
            }
        }
        return;
    }
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
                    if (size == 2) {
                        const int32_t a0 = (int32_t)(base + ((size_t)(2 * oh) * W + 2 * ow) * C), a1 = a0 + C;
                        const int32_t a2 = a0 + W * C, a3 = a2 + C;
                        float *restrict d0 = dinp + a0, *restrict d1 = dinp + a1, *restrict d2 = dinp + a2, *restrict d3 = dinp + a3;
                        const float *g = dout + o;
                        const int32_t *ix = argmax + o;
#pragma clang loop vectorize(assume_safety)
                        for (int c = 0; c < C; c++) {
                            const int32_t i = ix[c];
                            d0[c] = i == a0 + c ? g[c] : 0.0f;
                            d1[c] = i == a1 + c ? g[c] : 0.0f;
                            d2[c] = i == a2 + c ? g[c] : 0.0f;
                            d3[c] = i == a3 + c ? g[c] : 0.0f;
                        }
                        continue;
                    }
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
 * ones), with K padded to whole vectors. Its input is a zero-padded copy of the batch
 * (sweep_conv_direct_pad), so every window lies inside it and the taps of a window are one
 * fixed list of offsets from its corner: no border tests in the inner loops. The KK = KH*KW*C
 * taps of a window are numbered (kh, kw, c), the filter's own order. For the common first layers
 * (3x3 grey: KK = 9; 3x3 RGB: 27; 5x5 grey: 25) the tap count is a compile-time constant, the
 * loops have fixed trip counts, and the filter (forward) or the gradient accumulators (filter gradient) stay in
 * registers across all positions. */

void sweep_conv_direct_pad(const float *restrict inp, float *restrict pad, int B, int H, int W, int C, int Hp, int Wp,
                           int pad_top, int pad_left) {
    const size_t row = (size_t)Wp * C;
    for (int b = 0; b < B; b++) {
        for (int r = 0; r < Hp; r++) {
            float *dst = pad + ((size_t)b * Hp + r) * row;
            const int ih = r - pad_top;
            if (ih < 0 || ih >= H) { memset(dst, 0, row * sizeof(float)); continue; }
            /* columns [0, Wp) of the padded row are input columns iw = col - pad_left */
            const int first = pad_left > 0 ? pad_left : 0;                 /* first padded column inside */
            const int skip = pad_left < 0 ? -pad_left : 0;                 /* input columns before column 0 */
            int n = W - skip; if (n > Wp - first) n = Wp - first; if (n < 0) n = 0;
            memset(dst, 0, (size_t)first * C * sizeof(float));
            memcpy(dst + (size_t)first * C, inp + (((size_t)b * H + ih) * W + skip) * C, (size_t)n * C * sizeof(float));
            memset(dst + (size_t)(first + n) * C, 0, (size_t)(Wp - first - n) * C * sizeof(float));
        }
    }
}

/* The tap offsets of a window in the padded image, from its top-left corner. */
static int *direct_taps(int Wp, int C, int KH, int KW) {
    int *off = scratch_alloc((size_t)KH * KW * C, sizeof(int)), n = 0;
    for (int kh = 0; kh < KH; kh++)
        for (int kw = 0; kw < KW; kw++)
            for (int c = 0; c < C; c++) off[n++] = (kh * Wp + kw) * C + c;
    return off;
}

/* The outputs of the window at x0 for channels [k0, k0 + 32): bias + Σ_t x0[off[t]] · w[t], in
 * tap order. w is the filter as (KK, KP) followed by the bias (KP); inlined with KK a constant,
 * the tap loop has a fixed trip count the compiler can unroll. */
INLINE void direct_window(const float *restrict x0, const float *restrict w, const int *restrict off, const int KK, int k0,
                          int KP, vec16 acc[2]) {
    memcpy(&acc[0], w + (size_t)KK * KP + k0, sizeof(vec16));
    memcpy(&acc[1], w + (size_t)KK * KP + k0 + LANES, sizeof(vec16));
    for (int t = 0; t < KK; t++) {
        const float xt = x0[off[t]];
        vec16 w0, w1;
        memcpy(&w0, w + (size_t)t * KP + k0, sizeof w0);
        memcpy(&w1, w + (size_t)t * KP + k0 + LANES, sizeof w1);
        acc[0] += xt * w0;
        acc[1] += xt * w1;
    }
}

/* Forward over all positions for output channels [k0, k0 + 32) (K padded to KP, a multiple of 32). */
INLINE void direct_forward_block(const float *restrict pad, const float *restrict w, float *restrict out, const int *restrict off,
                                 const int KK, int k0, int KP, int K, int B, int Hp, int Wp, int C, int stride, int OH, int OW) {
    for (int b = 0; b < B; b++) {
        for (int oh = 0; oh < OH; oh++) {
            const float *xr = pad + (((size_t)b * Hp + (size_t)oh * stride) * Wp) * C;
            float *o = out + ((size_t)b * OH + oh) * OW * K + k0;
            for (int ow = 0; ow < OW; ow++, o += K) {
                vec16 acc[2];
                direct_window(xr + (size_t)ow * stride * C, w, off, KK, k0, KP, acc);
                store_lanes(o, &acc[0], K - k0);
                store_lanes(o + LANES, &acc[1], K - k0 - LANES);
            }
        }
    }
}

/* Forward with a 2x2 stride-2 max-pool: per pooling window the four outputs of channels
 * [k0, k0 + 32) are computed by direct_window, then pooled in the max-pool's order
 * ((0,0), (0,1), (1,0), (1,1), first maximum kept); only the pooled values and their argmax are
 * written. */
INLINE void direct_pool_block(const float *restrict pad, const float *restrict w, float *restrict pooled, int32_t *restrict argmax,
                              const int *restrict off, const int KK, int k0, int KP, int K, int B, int Hp, int Wp, int C,
                              int stride, int OH, int OW, int relu) {
    const int PH = OH / 2, PW = OW / 2, n = K - k0 < 2 * LANES ? K - k0 : 2 * LANES;
    for (int b = 0; b < B; b++) {
        for (int ph = 0; ph < PH; ph++) {
            for (int pw = 0; pw < PW; pw++) {
                float y[4][2 * LANES];
                for (int q = 0; q < 4; q++) {
                    const int oh = 2 * ph + q / 2, ow = 2 * pw + q % 2;
                    vec16 acc[2];
                    direct_window(pad + (((size_t)b * Hp + (size_t)oh * stride) * Wp + (size_t)ow * stride) * C, w, off, KK, k0, KP, acc);
                    memcpy(y[q], acc, sizeof acc);
                }
                const int32_t at0 = (int32_t)((((size_t)b * OH + 2 * ph) * OW + 2 * pw) * K + k0);
                const int32_t at[4] = {at0, at0 + K, at0 + OW * K, at0 + (OW + 1) * K};
                const size_t o = (((size_t)b * PH + ph) * PW + pw) * K + k0;
                float m[2 * LANES];
                int32_t ix[2 * LANES];
#pragma clang loop vectorize(assume_safety)
                for (int j = 0; j < 2 * LANES; j++) {
                    float v = y[0][j];
                    int32_t i = at[0] + j;
                    if (y[1][j] > v) { v = y[1][j]; i = at[1] + j; }
                    if (y[2][j] > v) { v = y[2][j]; i = at[2] + j; }
                    if (y[3][j] > v) { v = y[3][j]; i = at[3] + j; }
                    m[j] = v; ix[j] = i;
                }
                if (relu)
                    for (int j = 0; j < 2 * LANES; j += LANES) {
                        vec16 mv; ivec16 iv;
                        memcpy(&mv, m + j, sizeof mv); memcpy(&iv, ix + j, sizeof iv);
                        relu_pooled(&mv, &iv);
                        memcpy(m + j, &mv, sizeof mv); memcpy(ix + j, &iv, sizeof iv);
                    }
                memcpy(pooled + o, m, (size_t)n * sizeof(float));
                memcpy(argmax + o, ix, (size_t)n * sizeof(int32_t));
            }
        }
    }
}

/* The filter transposed to (KK, KP) followed by the bias (KP), K padded with zeros to KP, a
 * multiple of 32. */
static float *direct_filter(const float *restrict wt, const float *restrict bias, int K, int KK, int KP) {
    float *w = scratch_alloc((size_t)(KK + 1) * KP, sizeof(float));
    for (int k = 0; k < K; k++)
        for (int t = 0; t < KK; t++) w[(size_t)t * KP + k] = wt[(size_t)k * KK + t];
    memcpy(w + (size_t)KK * KP, bias, (size_t)K * sizeof(float));
    return w;
}

CLONES void sweep_conv_direct_pool(const float *restrict pad, const float *restrict wt, const float *restrict bias,
                                   float *restrict pooled, int32_t *restrict argmax, int B, int Hp, int Wp, int C, int K,
                                   int KH, int KW, int stride, int OH, int OW, int relu) {
    const int KK = KH * KW * C, KP = (K + 2 * LANES - 1) / (2 * LANES) * (2 * LANES);
    int *off = direct_taps(Wp, C, KH, KW);
    float *w = direct_filter(wt, bias, K, KK, KP);
    for (int k0 = 0; k0 < K; k0 += 2 * LANES) {
        if (KK == 9) direct_pool_block(pad, w, pooled, argmax, off, 9, k0, KP, K, B, Hp, Wp, C, stride, OH, OW, relu);
        else if (KK == 27) direct_pool_block(pad, w, pooled, argmax, off, 27, k0, KP, K, B, Hp, Wp, C, stride, OH, OW, relu);
        else if (KK == 25) direct_pool_block(pad, w, pooled, argmax, off, 25, k0, KP, K, B, Hp, Wp, C, stride, OH, OW, relu);
        else direct_pool_block(pad, w, pooled, argmax, off, KK, k0, KP, K, B, Hp, Wp, C, stride, OH, OW, relu);
    }
    free(off);
    free(w);
}

CLONES void sweep_conv_direct(const float *restrict pad, const float *restrict wt, const float *restrict bias,
                              float *restrict out, int B, int Hp, int Wp, int C, int K, int KH, int KW, int stride,
                              int OH, int OW) {
    const int KK = KH * KW * C, KP = (K + 2 * LANES - 1) / (2 * LANES) * (2 * LANES);
    int *off = direct_taps(Wp, C, KH, KW);
    float *w = direct_filter(wt, bias, K, KK, KP);
    for (int k0 = 0; k0 < K; k0 += 2 * LANES) {
        if (KK == 9) direct_forward_block(pad, w, out, off, 9, k0, KP, K, B, Hp, Wp, C, stride, OH, OW);
        else if (KK == 27) direct_forward_block(pad, w, out, off, 27, k0, KP, K, B, Hp, Wp, C, stride, OH, OW);
        else if (KK == 25) direct_forward_block(pad, w, out, off, 25, k0, KP, K, B, Hp, Wp, C, stride, OH, OW);
        else direct_forward_block(pad, w, out, off, KK, k0, KP, K, B, Hp, Wp, C, stride, OH, OW);
    }
    free(off);
    free(w);
}

/* The gradient accumulators of KK taps (and the bias) for channels [k0, k0 + NV*16), held in
 * registers when KK and NV are constants: acc[t*NV + v], the bias's at KK*NV + v. */
#define DIRECT_MAX_ACC 30
INLINE void direct_filter_grad_block(const float *restrict pad, const float *restrict dout, const pooled_grad *pool,
                                     float *restrict dwt, float *restrict db, const int *restrict off, const int KK, const int NV,
                                     int k0, int K, int B, int Hp, int Wp, int C, int stride, int OH, int OW) {
    vec16 acc[DIRECT_MAX_ACC] = {0};
    const int nk = K - k0;
    for (int b = 0; b < B; b++) {
        for (int oh = 0; oh < OH; oh++) {
            if (pool && oh / 2 >= pool->PH) break;  /* below the last pooling window: no gradient */
            const float *xr = pad + (((size_t)b * Hp + (size_t)oh * stride) * Wp) * C;
            const float *g = dout + ((size_t)b * OH + oh) * OW * K + k0;
            for (int ow = 0; ow < OW; ow++, g += K) {
                if (pool && ow / 2 >= pool->PW) break;
                const float *x0 = xr + (size_t)ow * stride * C;
                vec16 d[2];
                for (int v = 0; v < NV; v++) {
                    if (pool) pooled_lanes(&d[v], pool, b, oh, ow, k0 + v * LANES, OH, OW, K);
                    else load_lanes(&d[v], g + v * LANES, nk - v * LANES);
                    acc[KK * NV + v] += d[v];
                }
#pragma clang loop unroll(full)
                for (int t = 0; t < KK; t++) {
                    const float xt = x0[off[t]];
                    for (int v = 0; v < NV; v++) acc[t * NV + v] += xt * d[v];
                }
            }
        }
    }
    for (int v = 0; v < NV; v++) {
        float lane[LANES];
        for (int t = 0; t <= KK; t++) {
            memcpy(lane, &acc[t * NV + v], sizeof lane);
            for (int j = 0; j < LANES && k0 + v * LANES + j < K; j++) {
                const int k = k0 + v * LANES + j;
                if (t < KK) dwt[(size_t)k * KK + t] = lane[j]; else db[k] = lane[j];
            }
        }
    }
}

/* The same for any KK, with the accumulators in memory: acc (KK + 1, KP), the last row the bias's. */
INLINE void direct_filter_grad_any(const float *restrict pad, const float *restrict dout, const pooled_grad *pool, float *restrict dwt,
                                   float *restrict db, const int *restrict off, int KK, int K, int B, int Hp, int Wp, int C,
                                   int stride, int OH, int OW) {
    const int KP = (K + LANES - 1) / LANES * LANES;
    float *acc = scratch_alloc((size_t)(KK + 1) * KP, sizeof(float));
    for (int b = 0; b < B; b++) {
        for (int oh = 0; oh < OH; oh++) {
            if (pool && oh / 2 >= pool->PH) break;
            for (int ow = 0; ow < OW; ow++) {
                if (pool && ow / 2 >= pool->PW) break;
                const float *x0 = pad + (((size_t)b * Hp + (size_t)oh * stride) * Wp + (size_t)ow * stride) * C;
                const float *g = dout + (((size_t)b * OH + oh) * OW + ow) * K;
                for (int k0 = 0; k0 < K; k0 += LANES) {
                    vec16 d;
                    if (pool) pooled_lanes(&d, pool, b, oh, ow, k0, OH, OW, K);
                    else load_lanes(&d, g + k0, K - k0);
                    *(vec16 *)(acc + (size_t)KK * KP + k0) += d;
                    for (int t = 0; t < KK; t++) *(vec16 *)(acc + (size_t)t * KP + k0) += x0[off[t]] * d;
                }
            }
        }
    }
    for (int k = 0; k < K; k++)
        for (int t = 0; t < KK; t++) dwt[(size_t)k * KK + t] = acc[(size_t)t * KP + k];
    memcpy(db, acc + (size_t)KK * KP, (size_t)K * sizeof(float));
    free(acc);
}

INLINE void direct_filter_grad(const float *restrict pad, const float *restrict dout, const pooled_grad *pool,
                               float *restrict dwt, float *restrict db, int B, int Hp, int Wp, int C, int K, int KH, int KW,
                               int stride, int OH, int OW) {
    const int KK = KH * KW * C;
    int *off = direct_taps(Wp, C, KH, KW);
    if (KK == 9) {
        for (int k0 = 0; k0 < K; k0 += 2 * LANES)
            direct_filter_grad_block(pad, dout, pool, dwt, db, off, 9, 2, k0, K, B, Hp, Wp, C, stride, OH, OW);
    } else if (KK == 27 || KK == 25) {
        for (int k0 = 0; k0 < K; k0 += LANES) {
            if (KK == 27) direct_filter_grad_block(pad, dout, pool, dwt, db, off, 27, 1, k0, K, B, Hp, Wp, C, stride, OH, OW);
            else direct_filter_grad_block(pad, dout, pool, dwt, db, off, 25, 1, k0, K, B, Hp, Wp, C, stride, OH, OW);
        }
    } else {
        direct_filter_grad_any(pad, dout, pool, dwt, db, off, KK, K, B, Hp, Wp, C, stride, OH, OW);
    }
    free(off);
}

CLONES void sweep_conv_direct_filter_grad(const float *restrict pad, const float *restrict dout, float *restrict dwt,
                                          float *restrict db, int B, int Hp, int Wp, int C, int K, int KH, int KW,
                                          int stride, int OH, int OW) {
    direct_filter_grad(pad, dout, NULL, dwt, db, B, Hp, Wp, C, K, KH, KW, stride, OH, OW);
}

CLONES void sweep_conv_direct_pool_filter_grad(const float *restrict pad, const float *restrict dpool, const int32_t *restrict argmax,
                                               float *restrict dwt, float *restrict db, int B, int Hp, int Wp, int C, int K,
                                               int KH, int KW, int stride, int OH, int OW) {
    const pooled_grad pool = {dpool, argmax, OH / 2, OW / 2};
    direct_filter_grad(pad, NULL, &pool, dwt, db, B, Hp, Wp, C, K, KH, KW, stride, OH, OW);
}

CLONES void sweep_pooled_column_sums(float *restrict acc, const float *restrict dpool, const int32_t *restrict argmax,
                                     int B, int OH, int OW, int K) {
    /* In the order sweep_column_sums adds the unpooled gradient's rows: per pair of rows, the
     * maxima in the upper row, left to right, then those in the lower one. */
    const int PH = OH / 2, PW = OW / 2, nv = (K + LANES - 1) / LANES;
    vec16 *a = scratch_alloc((size_t)nv, sizeof(vec16));
    for (int b = 0; b < B; b++)
        for (int ph = 0; ph < PH; ph++) {
            const int32_t lower = (int32_t)((((size_t)b * OH + 2 * ph + 1) * OW) * K);  /* the lower row's first offset */
            const size_t row = ((size_t)b * PH + ph) * PW * K;
            for (int half = 0; half < 2; half++)
                for (int pw = 0; pw < PW; pw++)
                    for (int v = 0; v < nv; v++) {
                        const size_t at = row + (size_t)pw * K + (size_t)v * LANES;
                        ivec16 ix, g;
                        load_lanes(&ix, argmax + at, K - v * LANES);
                        load_lanes(&g, dpool + at, K - v * LANES);
                        const ivec16 kept = g & (half ? (ix >= lower) : (ix >= 0 & ix < lower));  /* -1: no position */
                        vec16 d;
                        memcpy(&d, &kept, sizeof d);
                        a[v] += d;
                    }
        }
    for (int v = 0; v < nv; v++) store_lanes(acc + v * LANES, &a[v], K - v * LANES);
    free(a);
}
