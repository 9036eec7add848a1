/* Mixed-precision GEMM: fp32 operands rounded to bfloat16 (round to nearest even), products
 * summed in fp32 by AVX512-BF16's VDPBF16PS, which does two multiply-adds per fp32 lane: twice the
 * arithmetic of an fp32 FMA per instruction. Row-major, the same arguments as cblas_sgemm.
 *
 * Layout. VDPBF16PS multiplies pairs of bf16 along K: lane j of the accumulator gets
 * a[2p]·b[2p] + a[2p+1]·b[2p+1]. So both operands are packed as 32-bit words, each holding the
 * bf16 pair (k = 2p, k = 2p + 1) of one row or column (low half: the even k; an odd K is padded
 * with a zero):
 *   - op(A), (M, K): word (i, p) at ap[i*rs + p*ks]: one word is broadcast per row and pair.
 *     A stored (M, K) has each pair side by side already: rows converted as they are (rs = Kw,
 *     ks = 1). A stored (K, M) is packed pair-major (rs = 1, ks = M): rows 2p and 2p+1 interleaved.
 *   - op(B), (K, N): panels of 64 columns (16, 32 or 48 when N is that narrow),
 *     bp[(panel*Kw + p)*width + j]: one to four vectors of 16 lanes per pair. B stored (K, N): rows 2p and 2p+1 interleaved; B stored (N, K): each
 *     row converted, then 16x16 blocks of words transposed. Columns past N are zeros.
 * The micro-kernel keeps a block of C (6 x 64, 8 x 48, 12 x 32 or 12 x 16) in 24 or fewer of the
 * 32 vector registers over all of K.
 *
 * Only for CPUs with AVX512-BF16 (sweep_bf16_supported), and the engine's choice only where it is
 * the faster one (sweep_bf16_uses_dot); elsewhere the engine rounds the operands
 * (sweep_bf16_round, below) and multiplies them with its fp32 kernels. */
#include "sweep_kernels.h"
#include "vec16.h"
#include <stdatomic.h>

/* Rounding to bf16 and its scratch: any CPU. */

void sweep_bf16_round(float *dst, const float *src, int rows, int cols, int ld) {
    for (int r = 0; r < rows; r++) {
        const uint32_t *s = (const uint32_t *)(src + (size_t)r * ld);
        uint32_t *d = (uint32_t *)(dst + (size_t)r * cols);
        for (int c = 0; c < cols; c++) {
            const uint32_t b = s[c];
            const int nan = (b & 0x7FFFFFFFu) > 0x7F800000u;
            d[c] = nan ? b : (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
        }
    }
}

static _Thread_local float *round_buf[2];
static _Thread_local size_t round_have[2];

float *sweep_bf16_scratch(int which, size_t count) {
    which = which ? 1 : 0;
    if (count > round_have[which]) {
        free(round_buf[which]);
        round_buf[which] = scratch_alloc(count, sizeof(float));
        round_have[which] = count;
    }
    return round_buf[which];
}

static _Atomic int bf16_forced = -1;

void sweep_bf16_force(int dot) { atomic_store_explicit(&bf16_forced, dot, memory_order_relaxed); }

/* The rule: VDPBF16PS on AMD's CPUs, where it issues at the rate of an fp32 FMA and so doubles
 * the arithmetic (Zen 4: bf16 GEMM floor 180 GFLOP/s against fp32's 98, bench/README.md); on
 * Intel's (Cooper Lake, Sapphire and Emerald Rapids) it issues at half that rate, and the
 * rounded operands through the fp32 kernels are faster (Xeon family 6 model 207: 78 GFLOP/s
 * against 147). The CPU decides, never a timing. */
int sweep_bf16_uses_dot(void) {
    const int f = atomic_load_explicit(&bf16_forced, memory_order_relaxed);
    if (f >= 0) return f && sweep_bf16_supported();
#if defined(__x86_64__) && defined(__clang__)
    return sweep_bf16_supported() && __builtin_cpu_is("amd");
#else
    return 0;
#endif
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int sweep_bf16_supported(void) {
    const unsigned f = sweep_cpu_features();
    return (f & SWEEP_CPU_AVX512_BF16) && (f & SWEEP_CPU_AVX512BW_VL) ? 1 : 0;
}

/* Grow-only scratch of one thread (a trial trains on one thread; tests may use several). */
static _Thread_local uint32_t *pack_a, *pack_b, *pack_rows;
static _Thread_local size_t pack_a_words, pack_b_words, pack_rows_words;

static uint32_t *scratch(uint32_t **buf, size_t *have, size_t words) {
    if (words > *have) {
        free(*buf);
        *buf = scratch_alloc(words, 4);
        *have = words;
    }
    return *buf;
}

static inline __mmask16 lanes_mask(int n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

/* n floats at src → n bf16 at dst (a zero after them when n is odd: dst holds (n+1)/2 words). */
BF16 static void convert_run(uint16_t *dst, const float *src, int n) {
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
        _mm512_storeu_si512(dst + i, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    if (i < n) {
        const int r = n - i;
        __m512 lo = _mm512_maskz_loadu_ps(lanes_mask(r), src + i);
        __m512 hi = _mm512_maskz_loadu_ps(lanes_mask(r - 16), src + i + 16);
        const int halves = (r + 1) & ~1;  /* the padding zero of an odd n included */
        _mm512_mask_storeu_epi16(dst + i, (__mmask32)(halves >= 32 ? 0xFFFFFFFFu : ((1u << halves) - 1)),
                                 (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
}

/* Rows x and y (y NULL: zeros), n floats each → n words, word j = (x[j], y[j]) in bf16. */
BF16 static void interleave_rows(uint32_t *dst, const float *x, const float *y, int n) {
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int j = 0; j < n; j += 16) {
        const __mmask16 m = lanes_mask(n - j);
        __m512 a = _mm512_maskz_loadu_ps(m, x + j);
        __m512 b = y ? _mm512_maskz_loadu_ps(m, y + j) : _mm512_setzero_ps();
        __m512i v = _mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(b, a));
        _mm512_mask_storeu_epi32(dst + j, m, v);
    }
}

/* r[0..15] (16 words each) → their transpose, in place. */
BF16 static inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* u[4q + c] holds, for rows 4q..4q+3, columns c, c+4, c+8, c+12 (one 128-bit lane each). */
    for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88);      /* rows 0-7: columns c, c+8 */
        t[4 + c] = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xdd);  /* rows 0-7: columns c+4, c+12 */
        t[8 + c] = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xdd);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0x88);
        r[c + 8] = _mm512_shuffle_i32x4(t[c], t[8 + c], 0xdd);
        r[c + 4] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0x88);
        r[c + 12] = _mm512_shuffle_i32x4(t[4 + c], t[12 + c], 0xdd);
    }
}

/* op(B) (K, N) → panels of NR (a multiple of 16) columns, bp[(panel*Kw + p)*NR + j]. */
BF16 static void pack_b_panels(uint32_t *bp, int trans, const float *B, int ldb, int K, int N, int Kw, int NR) {
    const int panels = (N + NR - 1) / NR;
    if (!trans) {  /* B (K, N): rows 2p, 2p+1 interleaved, NR columns at a time */
        for (int q = 0; q < panels; q++) {
            const int j0 = q * NR, n = N - j0 < NR ? N - j0 : NR;
            for (int p = 0; p < Kw; p++) {
                const float *x = B + (size_t)(2 * p) * ldb + j0;
                uint32_t *d = bp + ((size_t)q * Kw + p) * NR;
                interleave_rows(d, x, 2 * p + 1 < K ? x + ldb : NULL, n);
                if (n < NR) memset(d + n, 0, (size_t)(NR - n) * 4);
            }
        }
        return;
    }
    /* B (N, K): 16 rows converted, then 16 x 16 blocks of words transposed into the panel. */
    uint16_t *rows = (uint16_t *)scratch(&pack_rows, &pack_rows_words, (size_t)16 * Kw);
    for (int j0 = 0; j0 < N; j0 += 16) {
        const int nj = N - j0 < 16 ? N - j0 : 16;
        for (int j = 0; j < 16; j++) {
            if (j < nj) convert_run(rows + (size_t)j * 2 * Kw, B + (size_t)(j0 + j) * ldb, K);
            else memset(rows + (size_t)j * 2 * Kw, 0, (size_t)Kw * 4);
        }
        const int q = j0 / NR, lane0 = j0 % NR;
        for (int p0 = 0; p0 < Kw; p0 += 16) {
            const int np = Kw - p0 < 16 ? Kw - p0 : 16;
            __m512i r[16];
            for (int j = 0; j < 16; j++) r[j] = _mm512_maskz_loadu_epi32(lanes_mask(np), (const uint32_t *)rows + (size_t)j * Kw + p0);
            transpose16(r);
            for (int p = 0; p < np; p++) _mm512_storeu_si512(bp + ((size_t)q * Kw + p0 + p) * NR + lane0, r[p]);
        }
    }
    /* the rest of the last panel: zeros */
    const int tail = panels * NR - ((N + 15) / 16) * 16;
    if (tail > 0) {
        const int q = panels - 1, from = NR - tail;
        for (int p = 0; p < Kw; p++) memset(bp + ((size_t)q * Kw + p) * NR + from, 0, (size_t)tail * 4);
    }
}

/* C[0..mr, 0..nc) = alpha · (A rows · B panel) + beta · C, over Kw pairs; the panel is nv vectors
 * of 16 lanes wide. Called with constant mr and nv, so acc stays in registers. The epilogue, with
 * `bias` non-NULL (the panel's nc biases): alpha · acc + bias instead, C not read, then with `relu`
 * max(·, 0) (x > 0 ? x : 0, as sweep_relu), while the block is still in registers. The sum is the
 * one rounding that broadcasting the bias into C and running with beta = 1 gives, so the fused
 * result is bit for bit that of the three passes. */
BF16 static inline __attribute__((always_inline)) void micro(int nv, int mr, int Kw, const uint32_t *a, ptrdiff_t rs,
                                                            ptrdiff_t ks, const uint32_t *b, float *c, ptrdiff_t ldc,
                                                            int nc, float alpha, float beta, const float *bias, int relu) {
    __m512 acc[12][4];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    for (int p = 0; p < Kw; p++) {
        const uint32_t *bq = b + (size_t)p * nv * 16;
        __m512bh bv[4];
        for (int v = 0; v < nv; v++) bv[v] = (__m512bh)_mm512_loadu_si512(bq + 16 * v);
        const uint32_t *ap = a + p * ks;
        for (int r = 0; r < mr; r++) {
            __m512bh w = (__m512bh)_mm512_set1_epi32((int)ap[r * rs]);
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], w, bv[v]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        for (int v = 0; v < nv; v++) {
            const __mmask16 m = lanes_mask(nc - 16 * v);
            if (!m) break;
            __m512 y = _mm512_mul_ps(va, acc[r][v]);
            if (bias) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, bias + 16 * v));
            else if (beta != 0) y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, cr + 16 * v), y);
            if (relu) y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), y);
            _mm512_mask_storeu_ps(cr + 16 * v, m, y);
        }
    }
}

/* All row blocks of one panel: MR rows at a time (24 accumulators: 6 x 4 vectors, 8 x 3, 12 x 2,
 * 12 x 1), then the remaining rows in one call with their count as a constant. Cases of MRX rows
 * or more cannot occur; they name 1 row so that no block taller than MRX is compiled. */
#define ROWS(NV, MRX)                                                                                          \
    BF16 static void rows_nv##NV(int M, int Kw, const uint32_t *ap, ptrdiff_t rs, ptrdiff_t ks, const uint32_t *b, \
                                 float *C, ptrdiff_t ldc, int nc, float alpha, float beta, \
                                 const float *bias, int relu) {                     \
        int i = 0;                                                                                             \
        for (; i + MRX <= M; i += MRX) micro(NV, MRX, Kw, ap + i * rs, rs, ks, b, C + (size_t)i * ldc, ldc, nc, alpha, beta, bias, relu); \
        const uint32_t *a = ap + i * rs;                                                                       \
        float *c = C + (size_t)i * ldc;                                                                        \
        switch (M - i) {                                                                                       \
        case 11: micro(NV, 11 < MRX ? 11 : 1, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;               \
        case 10: micro(NV, 10 < MRX ? 10 : 1, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;               \
        case 9: micro(NV, 9 < MRX ? 9 : 1, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                  \
        case 8: micro(NV, 8 < MRX ? 8 : 1, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                  \
        case 7: micro(NV, 7 < MRX ? 7 : 1, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                  \
        case 6: micro(NV, 6 < MRX ? 6 : 1, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                  \
        case 5: micro(NV, 5, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                                \
        case 4: micro(NV, 4, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                                \
        case 3: micro(NV, 3, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                                \
        case 2: micro(NV, 2, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                                \
        case 1: micro(NV, 1, Kw, a, rs, ks, b, c, ldc, nc, alpha, beta, bias, relu); break;                                \
        default: break;                                                                                        \
        }                                                                                                      \
    }
ROWS(4, 6)
ROWS(3, 8)
ROWS(2, 12)
ROWS(1, 12)

BF16 static void gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc, const float *bias, int relu) {
    const int Kw = (K + 1) / 2;
    const int nv = N >= 64 ? 4 : (N + 15) / 16, width = 16 * nv, panels = (N + width - 1) / width;
    uint32_t *bp = scratch(&pack_b, &pack_b_words, (size_t)panels * Kw * width);
    pack_b_panels(bp, transB, B, ldb, K, N, Kw, width);
    uint32_t *ap = scratch(&pack_a, &pack_a_words, (size_t)M * Kw);
    ptrdiff_t rs, ks;
    if (!transA) {  /* A (M, K): rows as they are */
        for (int i = 0; i < M; i++) convert_run((uint16_t *)(ap + (size_t)i * Kw), A + (size_t)i * lda, K);
        rs = Kw; ks = 1;
    } else {        /* A (K, M): pair-major */
        for (int p = 0; p < Kw; p++) {
            const float *x = A + (size_t)(2 * p) * lda;
            interleave_rows(ap + (size_t)p * M, x, 2 * p + 1 < K ? x + lda : NULL, M);
        }
        rs = 1; ks = M;
    }
    for (int q = 0; q < panels; q++) {
        const uint32_t *b = bp + (size_t)q * Kw * width;
        const int j0 = q * width, nc = N - j0 < width ? N - j0 : width;
        switch (nv) {
        case 4: rows_nv4(M, Kw, ap, rs, ks, b, C + j0, ldc, nc, alpha, beta, bias ? bias + j0 : NULL, relu); break;
        case 3: rows_nv3(M, Kw, ap, rs, ks, b, C + j0, ldc, nc, alpha, beta, bias ? bias + j0 : NULL, relu); break;
        case 2: rows_nv2(M, Kw, ap, rs, ks, b, C + j0, ldc, nc, alpha, beta, bias ? bias + j0 : NULL, relu); break;
        default: rows_nv1(M, Kw, ap, rs, ks, b, C + j0, ldc, nc, alpha, beta, bias ? bias + j0 : NULL, relu); break;
        }
    }
}

int sweep_gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
    if (!sweep_bf16_supported()) return 0;
    sweep_gemm_note(SWEEP_GEMM_BF16);
    if (M <= 0 || N <= 0) return 1;
    if (K <= 0) { scale_c(M, N, beta, C, ldc); return 1; }  /* no products */
    gemm_bf16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0);
    return 1;
}

int sweep_gemm_bf16_bias(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                         const float *bias, int relu, float *C, int ldc) {
    if (!sweep_bf16_supported()) return 0;
    sweep_gemm_note(SWEEP_GEMM_BF16);
    if (M <= 0 || N <= 0) return 1;
    if (K <= 0) {  /* no products: the bias alone */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = relu && !(bias[j] > 0.0f) ? 0.0f : bias[j];
        return 1;
    }
    gemm_bf16(transA, transB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, bias, relu);
    return 1;
}

#else
int sweep_bf16_supported(void) { return 0; }
int sweep_gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
    (void)transA; (void)transB; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda;
    (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
    return 0;
}
int sweep_gemm_bf16_bias(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                         const float *bias, int relu, float *C, int ldc) {
    (void)transA; (void)transB; (void)M; (void)N; (void)K; (void)A; (void)lda; (void)B; (void)ldb;
    (void)bias; (void)relu; (void)C; (void)ldc;
    return 0;
}
#endif
