/* int8 inference kernels (sweep_int8.h). The VNNI paths compute Σ (a + 128) · w with vpdpbusd
 * (unsigned bytes times signed bytes, four products per 32-bit lane) and subtract 128 · Σ w; the
 * AVX2 path widens both operands to int16 and sums pairs of products with vpmaddwd (a pair is at
 * most 2 · 128 · 127 in magnitude: exact, where vpmaddubsw would saturate at 2^15). All give the
 * same int32 as the scalar path's Σ a · w (sums modulo 2^32), so all give the same floats. */
#include "sweep_int8.h"
#include "sweep_kernels.h"
#include <immintrin.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

int sweep_int8_kernel_available(int kernel) {
    unsigned need;
    switch (kernel) {
    case SWEEP_INT8_SCALAR: return 1;
    case SWEEP_INT8_AVX2: need = SWEEP_CPU_AVX2_FMA; break;
    case SWEEP_INT8_AVXVNNI: need = SWEEP_CPU_AVX2_FMA | SWEEP_CPU_AVX_VNNI; break;
    case SWEEP_INT8_AVX512VNNI: need = SWEEP_CPU_AVX512F | SWEEP_CPU_AVX512BW_VL | SWEEP_CPU_AVX512_VNNI; break;
    default: return 0;
    }
#if defined(__x86_64__)
    return (sweep_cpu_features() & need) == need;   /* the shared CPU query */
#else
    (void)need;
    return 0;
#endif
}

int sweep_int8_best(void) {
    static const int order[] = {SWEEP_INT8_AVX512VNNI, SWEEP_INT8_AVXVNNI, SWEEP_INT8_AVX2};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (sweep_int8_kernel_available(order[i])) return order[i];
    return SWEEP_INT8_SCALAR;
}

static _Atomic int forced = -1;

void sweep_int8_force(int kernel) { atomic_store_explicit(&forced, kernel, memory_order_relaxed); }

int sweep_int8_kernel(void) {
    int k = atomic_load_explicit(&forced, memory_order_relaxed);
    return k >= 0 ? k : sweep_int8_best();
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
VNNI static void gemm_avx512vnni(const int8_t *a, ptrdiff_t lda, const int8_t *packed, const int32_t *wsum, const float *scale,
                                 const float *bias, float *out, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K) {
    ptrdiff_t Kq = sweep_int8_row_stride(K) / 4, Nb = (N + 15) / 16;
    const __m512i flip = _mm512_set1_epi32((int)0x80808080u);
    for (ptrdiff_t nb = 0; nb < Nb; nb++) {
        ptrdiff_t n0 = nb * 16, left = N - n0;
        __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512i ws = _mm512_maskz_loadu_epi32(mask, wsum + n0);
        __m512 sc = _mm512_maskz_loadu_ps(mask, scale + n0), bi = _mm512_maskz_loadu_ps(mask, bias + n0);
        const int8_t *pb = packed + nb * Kq * 64;
        for (ptrdiff_t m = 0; m + 4 <= M; m += 4) {
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
    }
    /* The rows left (fewer than 4; all of a one-sample pass): one row against four blocks at once,
     * four independent accumulators (one would wait on vpdpbusd's latency at every group). A
     * missing block reads the last one again and is not stored. */
    for (ptrdiff_t m = M / 4 * 4; m < M; m++) {
        const int8_t *a0 = a + m * lda;
        for (ptrdiff_t nb = 0; nb < Nb; nb += 4) {
            const int8_t *p[4];
            __m512i c[4];
            for (int j = 0; j < 4; j++) { p[j] = packed + (nb + j < Nb ? nb + j : Nb - 1) * Kq * 64; c[j] = _mm512_setzero_si512(); }
            for (ptrdiff_t kq = 0; kq < Kq; kq++) {
                int32_t v0;
                memcpy(&v0, a0 + kq * 4, 4);
                __m512i u0 = _mm512_xor_si512(_mm512_set1_epi32(v0), flip);
                for (int j = 0; j < 4; j++) c[j] = _mm512_dpbusd_epi32(c[j], u0, _mm512_loadu_si512(p[j] + kq * 64));
            }
            for (int j = 0; j < 4 && nb + j < Nb; j++) {
                ptrdiff_t n0 = (nb + j) * 16, left = N - n0;
                __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                store_block(out + m * N + n0, c[j], _mm512_maskz_loadu_epi32(mask, wsum + n0), _mm512_maskz_loadu_ps(mask, scale + n0),
                            _mm512_maskz_loadu_ps(mask, bias + n0), mask);
            }
        }
    }
}

/* The 256-bit paths write 8 outputs at a time: (float)s · scale + bias for the lanes below `left`
 * (maskload/maskstore: nothing is read or written past N). */
#define TARGET_AVX2 __attribute__((target("avx2")))

/* The 8 lanes i < left (left may be ≤ 0 or > 8). */
TARGET_AVX2 static inline __m256i lanes_below(ptrdiff_t left) {
    int l = left < 0 ? 0 : left > 8 ? 8 : (int)left;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(l), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* One block's 16 outputs as two halves of 8: per half its lanes, 128 Σw (zero for AVX2), scale, bias. */
typedef struct { __m256i mask[2], ws128[2]; __m256 sc[2], bi[2]; } Block8x2;

TARGET_AVX2 static inline Block8x2 block_of(const int32_t *wsum, const float *scale, const float *bias, ptrdiff_t n0, ptrdiff_t N) {
    Block8x2 b;
    for (int h = 0; h < 2; h++) {
        b.mask[h] = lanes_below(N - n0 - 8 * h);
        b.ws128[h] = wsum ? _mm256_slli_epi32(_mm256_maskload_epi32((const int *)wsum + n0 + 8 * h, b.mask[h]), 7) : _mm256_setzero_si256();
        b.sc[h] = _mm256_maskload_ps(scale + n0 + 8 * h, b.mask[h]);
        b.bi[h] = _mm256_maskload_ps(bias + n0 + 8 * h, b.mask[h]);
    }
    return b;
}

TARGET_AVX2 static inline void store8(float *o, __m256i acc, const Block8x2 *b, int h) {
    __m256i s = _mm256_sub_epi32(acc, b->ws128[h]);
    __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(s), b->sc[h]);
    _mm256_maskstore_ps(o + 8 * h, b->mask[h], _mm256_add_ps(y, b->bi[h]));
}

#define AVXVNNI __attribute__((target("avx2,fma,avxvnni")))

/* AVX512-VNNI's scheme on ymm: four rows at a time against one block of 16 outputs, read as two
 * halves of 8 (the block's first and last 32 bytes of each group), 8 accumulators. */
AVXVNNI static void gemm_avxvnni(const int8_t *a, ptrdiff_t lda, const int8_t *packed, const int32_t *wsum, const float *scale,
                                 const float *bias, float *out, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K) {
    ptrdiff_t Kq = sweep_int8_row_stride(K) / 4, Nb = (N + 15) / 16;
    const __m256i flip = _mm256_set1_epi32((int)0x80808080u);
    for (ptrdiff_t nb = 0; nb < Nb; nb++) {
        ptrdiff_t n0 = nb * 16;
        Block8x2 b = block_of(wsum, scale, bias, n0, N);
        const int8_t *pb = packed + nb * Kq * 64;
        for (ptrdiff_t m = 0; m + 4 <= M; m += 4) {
            const int8_t *a0 = a + m * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (ptrdiff_t kq = 0; kq < Kq; kq++) {
                __m256i w0 = _mm256_loadu_si256((const __m256i *)(pb + kq * 64));
                __m256i w1 = _mm256_loadu_si256((const __m256i *)(pb + kq * 64 + 32));
                int32_t v0, v1, v2, v3;
                memcpy(&v0, a0 + kq * 4, 4); memcpy(&v1, a1 + kq * 4, 4);
                memcpy(&v2, a2 + kq * 4, 4); memcpy(&v3, a3 + kq * 4, 4);
                __m256i u0 = _mm256_xor_si256(_mm256_set1_epi32(v0), flip), u1 = _mm256_xor_si256(_mm256_set1_epi32(v1), flip);
                __m256i u2 = _mm256_xor_si256(_mm256_set1_epi32(v2), flip), u3 = _mm256_xor_si256(_mm256_set1_epi32(v3), flip);
                c00 = _mm256_dpbusd_avx_epi32(c00, u0, w0); c01 = _mm256_dpbusd_avx_epi32(c01, u0, w1);
                c10 = _mm256_dpbusd_avx_epi32(c10, u1, w0); c11 = _mm256_dpbusd_avx_epi32(c11, u1, w1);
                c20 = _mm256_dpbusd_avx_epi32(c20, u2, w0); c21 = _mm256_dpbusd_avx_epi32(c21, u2, w1);
                c30 = _mm256_dpbusd_avx_epi32(c30, u3, w0); c31 = _mm256_dpbusd_avx_epi32(c31, u3, w1);
            }
            float *o = out + m * N + n0;
            store8(o, c00, &b, 0); store8(o, c01, &b, 1); o += N;
            store8(o, c10, &b, 0); store8(o, c11, &b, 1); o += N;
            store8(o, c20, &b, 0); store8(o, c21, &b, 1); o += N;
            store8(o, c30, &b, 0); store8(o, c31, &b, 1);
        }
    }
    /* The rows left, as in the AVX512-VNNI path: one row against four blocks (eight halves) at once. */
    for (ptrdiff_t m = M / 4 * 4; m < M; m++) {
        const int8_t *a0 = a + m * lda;
        for (ptrdiff_t nb = 0; nb < Nb; nb += 4) {
            const int8_t *p[4];
            __m256i c[4][2];
            for (int j = 0; j < 4; j++) {
                p[j] = packed + (nb + j < Nb ? nb + j : Nb - 1) * Kq * 64;
                c[j][0] = c[j][1] = _mm256_setzero_si256();
            }
            for (ptrdiff_t kq = 0; kq < Kq; kq++) {
                int32_t v0;
                memcpy(&v0, a0 + kq * 4, 4);
                __m256i u0 = _mm256_xor_si256(_mm256_set1_epi32(v0), flip);
                for (int j = 0; j < 4; j++) {
                    c[j][0] = _mm256_dpbusd_avx_epi32(c[j][0], u0, _mm256_loadu_si256((const __m256i *)(p[j] + kq * 64)));
                    c[j][1] = _mm256_dpbusd_avx_epi32(c[j][1], u0, _mm256_loadu_si256((const __m256i *)(p[j] + kq * 64 + 32)));
                }
            }
            for (int j = 0; j < 4 && nb + j < Nb; j++) {
                ptrdiff_t n0 = (nb + j) * 16;
                Block8x2 b = block_of(wsum, scale, bias, n0, N);
                store8(out + m * N + n0, c[j][0], &b, 0); store8(out + m * N + n0, c[j][1], &b, 1);
            }
        }
    }
}

/* A quarter of a block's group (4 outputs x 4 inputs, 16 bytes) widened to int16. */
TARGET_AVX2 static inline __m256i quarter16(const int8_t *p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)); }

/* A row's 4-byte group as int16, repeated 4 times (one per output of a quarter). */
TARGET_AVX2 static inline __m256i group16(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_cvtepi8_epi16(_mm_set1_epi32(v));
}

/* The sums of 8 outputs from the quarters' accumulators q (outputs 0-3) and r (4-7), whose lanes
 * hold two partial sums per output in 128-bit halves ([o0 o0 o1 o1 | o2 o2 o3 o3]): hadd gives
 * [o0 o1 o4 o5 | o2 o3 o6 o7], and the 64-bit permutation (0, 2, 1, 3) puts them in order. */
TARGET_AVX2 static inline __m256i pair_sums(__m256i q, __m256i r) {
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(q, r), _MM_SHUFFLE(3, 1, 2, 0));
}

/* Two rows at a time against one block of 16 outputs: per group, the block's four quarters are
 * widened once and multiplied (vpmaddwd: pairs of int16 products summed in int32) by each row's
 * group, 8 accumulators. */
TARGET_AVX2 static void gemm_avx2(const int8_t *a, ptrdiff_t lda, const int8_t *packed, const float *scale, const float *bias,
                                  float *out, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K) {
    ptrdiff_t Kq = sweep_int8_row_stride(K) / 4, Nb = (N + 15) / 16;
    for (ptrdiff_t nb = 0; nb < Nb; nb++) {
        ptrdiff_t n0 = nb * 16;
        Block8x2 b = block_of(NULL, scale, bias, n0, N);
        const int8_t *pb = packed + nb * Kq * 64;
        ptrdiff_t m = 0;
        for (; m + 2 <= M; m += 2) {
            const int8_t *a0 = a + m * lda, *a1 = a0 + lda;
            __m256i c[2][4];
            for (int r = 0; r < 2; r++) for (int q = 0; q < 4; q++) c[r][q] = _mm256_setzero_si256();
            for (ptrdiff_t kq = 0; kq < Kq; kq++) {
                __m256i u0 = group16(a0 + kq * 4), u1 = group16(a1 + kq * 4);
                for (int q = 0; q < 4; q++) {
                    __m256i w = quarter16(pb + kq * 64 + 16 * q);
                    c[0][q] = _mm256_add_epi32(c[0][q], _mm256_madd_epi16(w, u0));
                    c[1][q] = _mm256_add_epi32(c[1][q], _mm256_madd_epi16(w, u1));
                }
            }
            for (int r = 0; r < 2; r++) {
                float *o = out + (m + r) * N + n0;
                store8(o, pair_sums(c[r][0], c[r][1]), &b, 0);
                store8(o, pair_sums(c[r][2], c[r][3]), &b, 1);
            }
        }
        for (; m < M; m++) {
            const int8_t *a0 = a + m * lda;
            __m256i c[4];
            for (int q = 0; q < 4; q++) c[q] = _mm256_setzero_si256();
            for (ptrdiff_t kq = 0; kq < Kq; kq++) {
                __m256i u0 = group16(a0 + kq * 4);
                for (int q = 0; q < 4; q++) c[q] = _mm256_add_epi32(c[q], _mm256_madd_epi16(quarter16(pb + kq * 64 + 16 * q), u0));
            }
            float *o = out + m * N + n0;
            store8(o, pair_sums(c[0], c[1]), &b, 0);
            store8(o, pair_sums(c[2], c[3]), &b, 1);
        }
    }
}
#endif

int sweep_int8_gemm(const int8_t *a, ptrdiff_t lda, const int8_t *w, const int8_t *packed, const int32_t *wsum,
                    const float *scale, const float *bias, float *out, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, int kernel) {
    if (!sweep_int8_kernel_available(kernel)) return 0;
    switch (kernel) {
#if defined(__x86_64__)
    case SWEEP_INT8_AVX512VNNI: gemm_avx512vnni(a, lda, packed, wsum, scale, bias, out, M, N, K); break;
    case SWEEP_INT8_AVXVNNI: gemm_avxvnni(a, lda, packed, wsum, scale, bias, out, M, N, K); break;
    case SWEEP_INT8_AVX2: gemm_avx2(a, lda, packed, scale, bias, out, M, N, K); break;
#endif
    default: gemm_scalar(a, lda, w, scale, bias, out, M, N, K); break;
    }
    return 1;
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
