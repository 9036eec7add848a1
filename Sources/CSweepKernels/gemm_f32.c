/* Sweep's own fp32 GEMM: one register-blocked kernel (gemm_f32_kernel.h) compiled for three
 * paths, AVX-512F (panels of up to 64 columns, 16-lane FMA), AVX2 + FMA (16 columns, 8 lanes)
 * and portable C (16 columns, 4-lane vectors of whatever the compiler targets), chosen by the
 * caller among those this CPU runs (sweep_sgemm_supported). Plus the CPU-feature query that
 * every kernel's dispatch uses, and the record of which GEMM kernels ran. */
#include "sweep_kernels.h"
#include "vec16.h"
#include <stdatomic.h>
#include <strings.h>

unsigned sweep_cpu_features(void) {
    static _Atomic int known = -1;  /* every thread computes the same answer */
    int f = atomic_load_explicit(&known, memory_order_relaxed);
    if (f >= 0) return (unsigned)f;
    f = 0;
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= SWEEP_CPU_AVX2_FMA;
    if (__builtin_cpu_supports("avx512f")) f |= SWEEP_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) f |= SWEEP_CPU_AVX512BW_VL;
    if (__builtin_cpu_supports("avx512bf16")) f |= SWEEP_CPU_AVX512_BF16;
    if (__builtin_cpu_supports("avx512vnni")) f |= SWEEP_CPU_AVX512_VNNI;
    if (__builtin_cpu_supports("avxvnni")) f |= SWEEP_CPU_AVX_VNNI;
#endif
    atomic_store_explicit(&known, f, memory_order_relaxed);
    return (unsigned)f;
}

static _Atomic unsigned used;

void sweep_gemm_note(int kernel) {
    const unsigned bit = 1u << kernel;
    if (!(atomic_load_explicit(&used, memory_order_relaxed) & bit)) atomic_fetch_or_explicit(&used, bit, memory_order_relaxed);
}

unsigned sweep_gemm_used(void) { return atomic_load_explicit(&used, memory_order_relaxed); }

#define KC 512
#define A_BLOCK (384 << 10)
#define DIRECT_ROWS 64

/* Zeroed, 64-byte aligned scratch; a failed allocation ends the process with a message. */
static float *scratch_aligned(size_t floats) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (floats ? floats : 1) * 4) != 0 || !p) {
        fputs("sweep: out of memory in the fp32 GEMM\n", stderr);
        abort();
    }
    return memset(p, 0, floats * 4);
}

/* portable C: 4-lane vectors, mul + add (fused only where the compiler's target fuses them) */
#define NAME(x) portable_##x
#define TARGET
#define VW 4
#define NVMAX 2
#define MR1 8
#define MR2 6
#define MR3 1
#define MR4 1
#define MRMAX 8
#define GEMV_ACC 8
#define GEMV_MAXB 8
#define MADD(acc, a, b) ((acc) + (a) * (b))
#include "gemm_f32_kernel.h"

#if defined(__x86_64__) && defined(__clang__)
/* AVX2 + FMA: 16 registers of 8 lanes; 6 x 16 keeps 12 accumulators, 2 B vectors, 1 broadcast. */
#define NAME(x) avx2_##x
#define TARGET __attribute__((target("avx2,fma")))
#define VW 8
#define NVMAX 2
#define MR1 12
#define MR2 6
#define MR3 1
#define MR4 1
#define MRMAX 12
#define GEMV_ACC 8
#define GEMV_MAXB 8
#define MADD(acc, a, b) __builtin_elementwise_fma((a), (b), (acc))
#include "gemm_f32_kernel.h"

/* AVX-512F: 32 registers of 16 lanes; blocks of 6 x 64, 8 x 48, 12 x 32, 12 x 16 keep 24 or
 * fewer accumulators. */
#define NAME(x) avx512_##x
#define TARGET __attribute__((target("avx512f,fma")))
#define VW 16
#define NVMAX 4
#define MR1 12
#define MR2 12
#define MR3 8
#define MR4 6
#define MRMAX 12
#define GEMV_ACC 16
#define GEMV_MAXB 8
#define MADD(acc, a, b) __builtin_elementwise_fma((a), (b), (acc))
#include "gemm_f32_kernel.h"
#endif

int sweep_sgemm_supported(int kernel) {
    const unsigned f = sweep_cpu_features();
    switch (kernel) {
    case SWEEP_GEMM_PORTABLE: return 1;
#if defined(__x86_64__) && defined(__clang__)
    case SWEEP_GEMM_AVX2: return (f & SWEEP_CPU_AVX2_FMA) != 0;
    case SWEEP_GEMM_AVX512: return (f & SWEEP_CPU_AVX512F) && (f & SWEEP_CPU_AVX2_FMA);
#endif
    default: (void)f; return 0;
    }
}

int sweep_sgemm(int kernel, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc) {
    if (!sweep_sgemm_supported(kernel)) return 0;
    sweep_gemm_note(kernel);
    if (M <= 0 || N <= 0) return 1;
    if (K <= 0) { scale_c(M, N, beta, C, ldc); return 1; }  /* no products */
    switch (kernel) {
#if defined(__x86_64__) && defined(__clang__)
    case SWEEP_GEMM_AVX512: avx512_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case SWEEP_GEMM_AVX2: avx2_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
#endif
    default: portable_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    }
    return 1;
}

/* The kernel every fp32 product of the engine takes (see sweep_sgemm_choose). */
static _Atomic int forced = -1;

void sweep_gemm_force(int kernel) { atomic_store_explicit(&forced, kernel, memory_order_relaxed); }

/* SWEEP_GEMM_LOG: each distinct shape once, on stderr (a debugging aid for one thread). */
static _Atomic int logging;
static struct { int ta, tb, M, N, K; } logged[512];
static int nlogged;

void sweep_gemm_log(int on) { atomic_store_explicit(&logging, on, memory_order_relaxed); }

static void log_shape(int transA, int transB, int M, int N, int K, int kernel) {
    for (int i = 0; i < nlogged; i++)
        if (logged[i].ta == transA && logged[i].tb == transB && logged[i].M == M && logged[i].N == N && logged[i].K == K) return;
    if (nlogged < (int)(sizeof logged / sizeof logged[0])) {
        logged[nlogged].ta = transA; logged[nlogged].tb = transB;
        logged[nlogged].M = M; logged[nlogged].N = N; logged[nlogged].K = K;
        nlogged++;
    }
    static const char *names[] = {"openblas", "portable", "avx2", "avx512"};
    fprintf(stderr, "sweep gemm: %c%c M=%d N=%d K=%d -> %s\n", transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K,
            kernel >= 0 && kernel <= 3 ? names[kernel] : "?");
}

/* OpenBLAS's name for the kernels it runs (declared in its cblas.h, which this file does not include). */
extern char *openblas_get_corename(void);

int sweep_openblas_core_is_wide(const char *core) {
    static const char *wide[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
    for (size_t i = 0; core && i < sizeof wide / sizeof wide[0]; i++)
        if (strcasecmp(core, wide[i]) == 0) return 1;
    return 0;
}

/* sweep_openblas_core_is_wide of the OpenBLAS linked, asked once. */
static int openblas_is_wide(void) {
    static _Atomic int known = -1;
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (k < 0) {
        k = sweep_openblas_core_is_wide(openblas_get_corename());
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k;
}

/* The rule, from `sweep-bench gemm-shapes` on the engine's shapes (bench/gemm-shapes.txt; figures in
 * bench/README.md, AMD EPYC Zen 4 against Debian's OpenBLAS 0.3.21): Sweep's widest kernel, but
 * OpenBLAS for the products with B stored (K,N) where it measured faster: small ones (fewer than
 * 2^18 multiply-adds: the Winograd point products, K of 10), short ones (K < 32: a weight gradient
 * at batch 16), wide ones (N >= 2048: the gradients of a dense layer over 3136 features) and tall
 * ones with A stored (M,K) (M >= 4096: the im2col input gradient). With B stored (N,K) (every layer's forward pass) Sweep's kernels were faster on every
 * shape. With SWEEP_GEMV_ROWS rows or fewer (one-sample inference, the weight
 * gradient of a layer of 4 units or fewer) always Sweep's: its GEMV path reads op(B) once, in place. OpenBLAS is taken only when it runs AVX2 kernels or wider (`openblas_wide`, see
 * sweep_openblas_core_is_wide). Only the CPU's features, the OpenBLAS core and the shape decide:
 * the same shape always takes the same kernel. */
int sweep_sgemm_rule(int openblas_wide, int transA, int transB, int M, int N, int K) {
    const int own = sweep_sgemm_supported(SWEEP_GEMM_AVX512) ? SWEEP_GEMM_AVX512
                    : sweep_sgemm_supported(SWEEP_GEMM_AVX2) ? SWEEP_GEMM_AVX2 : SWEEP_GEMM_OPENBLAS;
    if (own == SWEEP_GEMM_OPENBLAS || transB || !openblas_wide || M <= SWEEP_GEMV_ROWS) return own;
    if ((double)M * N * K < (double)(1 << 18) || K < 32 || N >= 2048 || (!transA && M >= 4096)) return SWEEP_GEMM_OPENBLAS;
    return own;
}

int sweep_sgemm_choose(int transA, int transB, int M, int N, int K) {
    const int f = atomic_load_explicit(&forced, memory_order_relaxed);
    const int kernel = f >= 0 ? f : sweep_sgemm_rule(openblas_is_wide(), transA, transB, M, N, K);
    if (atomic_load_explicit(&logging, memory_order_relaxed)) log_shape(transA, transB, M, N, K, kernel);
    return kernel;
}
