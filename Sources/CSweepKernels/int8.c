/* int8 inference kernels (sweep_int8.h). The VNNI path computes Σ (a + 128) · w with
 * vpdpbusd (unsigned bytes times signed bytes, four products per 32-bit lane) and subtracts
 * 128 · Σ w: the same int32 as the scalar path's Σ a · w, so both give the same floats. */
#include "sweep_int8.h"
#include "sweep_kernels.h"
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int sweep_int8_kernel_available(int kernel) {
    if (kernel == SWEEP_INT8_SCALAR) return 1;
    const unsigned need = SWEEP_CPU_AVX512F | SWEEP_CPU_AVX512BW_VL | SWEEP_CPU_AVX512_VNNI;  /* the shared CPU query */
    return kernel == SWEEP_INT8_AVX512VNNI && (sweep_cpu_features() & need) == need;
}

int sweep_int8_kernel(void) {
    static int chosen = -1;
    if (chosen < 0) {
        const char *force = getenv("SWEEP_INT8_KERNEL");
        if (force && strcmp(force, "scalar") == 0) chosen = SWEEP_INT8_SCALAR;
        else chosen = sweep_int8_kernel_available(SWEEP_INT8_AVX512VNNI) ? SWEEP_INT8_AVX512VNNI : SWEEP_INT8_SCALAR;
    }
    return chosen;
}

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define CLONES
#endif

/* Cloned so that the rounding (rintf) and the clamp vectorize (baseline x86-64 has no vector round). */
CLONES void sweep_quantize_s8(const float *x, int8_t *q, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ldq, float scale) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        int8_t *qr = q + r * ldq;
        for (ptrdiff_t c = 0; c < cols; c++) {
            float v = rintf(xr[c] / scale);   /* round half to even, as torch.round */
            v = v > 127.f ? 127.f : v < -127.f ? -127.f : v;
            qr[c] = (int8_t)v;
        }
        for (ptrdiff_t c = cols; c < ldq; c++) qr[c] = 0;
    }
}

ptrdiff_t sweep_int8_row_stride(ptrdiff_t K) { return (K + 3) / 4 * 4; }

ptrdiff_t sweep_int8_packed_bytes(ptrdiff_t N, ptrdiff_t K) { return (N + 15) / 16 * 16 * sweep_int8_row_stride(K); }

void sweep_int8_pack(const int8_t *w, int8_t *packed, int32_t *wsum, ptrdiff_t N, ptrdiff_t K) {
    ptrdiff_t Kq = sweep_int8_row_stride(K) / 4;
    memset(packed, 0, (size_t)sweep_int8_packed_bytes(N, K));
    for (ptrdiff_t n = 0; n < N; n++) {
        int32_t s = 0;
        for (ptrdiff_t k = 0; k < K; k++) {
            s += w[n * K + k];
            /* packed[nb][kq][j][r] */
            packed[((n / 16 * Kq + k / 4) * 16 + n % 16) * 4 + k % 4] = w[n * K + k];
        }
        wsum[n] = s;
    }
}

/* The reference: one int32 dot product per output. */
static void gemm_scalar(const int8_t *a, ptrdiff_t lda, const int8_t *w, const float *scale, const float *bias, float *out,
                        ptrdiff_t M, ptrdiff_t N, ptrdiff_t K) {
    for (ptrdiff_t m = 0; m < M; m++) {
        const int8_t *am = a + m * lda;
        for (ptrdiff_t n = 0; n < N; n++) {
            const int8_t *wn = w + n * K;
            int32_t acc = 0;
            for (ptrdiff_t k = 0; k < K; k++) acc += (int32_t)am[k] * (int32_t)wn[k];
            float y = (float)acc * scale[n];
            out[m * N + n] = y + bias[n];   /* two roundings, as the vector path (no contraction) */
        }
    }
}

#if defined(__x86_64__)
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

VNNI static inline void store_block(float *o, __m512i acc, __m512i ws, __m512 sc, __m512 bi, __mmask16 mask) {
    /* acc - 128 Σw = Σ a·w */
    __m512i s = _mm512_sub_epi32(acc, _mm512_slli_epi32(ws, 7));
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(s), sc);
    _mm512_mask_storeu_ps(o, mask, _mm512_add_ps(y, bi));
}

/* Four rows at a time against one block of 16 outputs: each 4-byte group of a row is broadcast
 * (its bytes flipped to unsigned by xor 0x80, i.e. + 128) and multiplied into the block's 64 bytes. */
VNNI static void gemm_vnni(const int8_t *a, ptrdiff_t lda, const int8_t *packed, const int32_t *wsum, const float *scale,
                           const float *bias, float *out, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K) {
    ptrdiff_t Kq = sweep_int8_row_stride(K) / 4, Nb = (N + 15) / 16;
    const __m512i flip = _mm512_set1_epi32((int)0x80808080u);
    for (ptrdiff_t nb = 0; nb < Nb; nb++) {
        ptrdiff_t n0 = nb * 16, left = N - n0;
        __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512i ws = _mm512_maskz_loadu_epi32(mask, wsum + n0);
        __m512 sc = _mm512_maskz_loadu_ps(mask, scale + n0), bi = _mm512_maskz_loadu_ps(mask, bias + n0);
        const int8_t *pb = packed + nb * Kq * 64;
        ptrdiff_t m = 0;
        for (; m + 4 <= M; m += 4) {
            const int8_t *a0 = a + m * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
            for (ptrdiff_t kq = 0; kq < Kq; kq++) {
                __m512i wv = _mm512_loadu_si512(pb + kq * 64);
                int32_t v0, v1, v2, v3;
                memcpy(&v0, a0 + kq * 4, 4); memcpy(&v1, a1 + kq * 4, 4);
                memcpy(&v2, a2 + kq * 4, 4); memcpy(&v3, a3 + kq * 4, 4);
                c0 = _mm512_dpbusd_epi32(c0, _mm512_xor_si512(_mm512_set1_epi32(v0), flip), wv);
                c1 = _mm512_dpbusd_epi32(c1, _mm512_xor_si512(_mm512_set1_epi32(v1), flip), wv);
                c2 = _mm512_dpbusd_epi32(c2, _mm512_xor_si512(_mm512_set1_epi32(v2), flip), wv);
                c3 = _mm512_dpbusd_epi32(c3, _mm512_xor_si512(_mm512_set1_epi32(v3), flip), wv);
            }
            store_block(out + m * N + n0, c0, ws, sc, bi, mask);
            store_block(out + (m + 1) * N + n0, c1, ws, sc, bi, mask);
            store_block(out + (m + 2) * N + n0, c2, ws, sc, bi, mask);
            store_block(out + (m + 3) * N + n0, c3, ws, sc, bi, mask);
        }
        for (; m < M; m++) {
            const int8_t *a0 = a + m * lda;
            __m512i c0 = _mm512_setzero_si512();
            for (ptrdiff_t kq = 0; kq < Kq; kq++) {
                int32_t v0;
                memcpy(&v0, a0 + kq * 4, 4);
                c0 = _mm512_dpbusd_epi32(c0, _mm512_xor_si512(_mm512_set1_epi32(v0), flip), _mm512_loadu_si512(pb + kq * 64));
            }
            store_block(out + m * N + n0, c0, ws, sc, bi, mask);
        }
    }
}
#endif

void sweep_int8_gemm(const int8_t *a, ptrdiff_t lda, const int8_t *w, const int8_t *packed, const int32_t *wsum,
                     const float *scale, const float *bias, float *out, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, int kernel) {
#if defined(__x86_64__)
    if (kernel == SWEEP_INT8_AVX512VNNI && sweep_int8_kernel_available(SWEEP_INT8_AVX512VNNI)) {
        gemm_vnni(a, lda, packed, wsum, scale, bias, out, M, N, K);
        return;
    }
#endif
    (void)packed; (void)wsum;
    gemm_scalar(a, lda, w, scale, bias, out, M, N, K);
}

void sweep_im2col_s8(const int8_t *inp, int8_t *col, ptrdiff_t ldc, int B, int H, int W, int C, int KH, int KW,
                     int stride, int pad_top, int pad_left, int OH, int OW) {
    ptrdiff_t KK = (ptrdiff_t)KH * KW * C;
    for (int b = 0; b < B; b++) {
        const int8_t *img = inp + (ptrdiff_t)b * H * W * C;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                int8_t *row = col + (((ptrdiff_t)b * OH + oh) * OW + ow) * ldc;
                int8_t *dst = row;
                for (int kh = 0; kh < KH; kh++) {
                    int ih = oh * stride - pad_top + kh;
                    for (int kw = 0; kw < KW; kw++) {
                        int iw = ow * stride - pad_left + kw;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) memset(dst, 0, (size_t)C);
                        else memcpy(dst, img + ((ptrdiff_t)ih * W + iw) * C, (size_t)C);
                        dst += C;
                    }
                }
                if (ldc > KK) memset(row + KK, 0, (size_t)(ldc - KK));
            }
        }
    }
}
