#include "sweep_kernels.h"
#include <math.h>
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
