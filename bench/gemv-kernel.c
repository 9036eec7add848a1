// The fp32 kernels' few-row (GEMV) path alone, outside Swift: every kernel this CPU runs, every
// transpose case, M 1-5 around odd N and K, checked against a double-precision reference (and
// the same bits twice); then the time of mnist-mlp's one-sample products (best of 7 runs of 3000).
//
// Build and run from the repository's root (the stub stands in for OpenBLAS's core name, so the
// rule is not involved; each call names its kernel):
//   clang -O3 -fno-math-errno -ISources/CSweepKernels/include -o /tmp/gemv-kernel \
//     bench/gemv-kernel.c Sources/CSweepKernels/gemm_f32.c && /tmp/gemv-kernel
#include "sweep_kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *openblas_get_corename(void) { return "none"; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static unsigned long long state = 88172645463325252ULL;
static float uniform(void) {  // xorshift64 in [-1, 1)
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return (float)((state >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

static const char *names[] = {"openblas", "portable", "avx2", "avx512"};
static int failures;

// One product against the reference: leading dimensions wider than the rows, NaN in C where beta
// is 0 (must be neither read nor left), a sentinel past column N (must not change).
static void check(int kernel, int ta, int tb, int M, int N, int K, float alpha, float beta) {
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    const size_t na = (size_t)lda * (ta ? K : M), nb = (size_t)ldb * (tb ? N : K), nc = (size_t)ldc * M;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c0 = malloc(nc * 4), *c1 = malloc(nc * 4), *c2 = malloc(nc * 4);
    for (size_t i = 0; i < na; i++) a[i] = uniform();
    for (size_t i = 0; i < nb; i++) b[i] = uniform();
    for (size_t i = 0; i < nc; i++) c0[i] = (int)(i % ldc) >= N ? 12345 : beta == 0 ? NAN : uniform();
    memcpy(c1, c0, nc * 4);
    memcpy(c2, c0, nc * 4);
    sweep_sgemm(kernel, ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c1, ldc);
    sweep_sgemm(kernel, ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c2, ldc);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            const float x = c1[i * ldc + j];
            if (memcmp(&x, &c2[i * ldc + j], 4) != 0) failures++, printf("%s %d%d %dx%dx%d: not the same bits twice\n", names[kernel], ta, tb, M, N, K);
            if (j >= N) {
                if (x != 12345) failures++, printf("%s %d%d %dx%dx%d: column %d past N written\n", names[kernel], ta, tb, M, N, K, j);
                continue;
            }
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)(ta ? a[k * lda + i] : a[i * lda + k]) * (tb ? b[j * ldb + k] : b[k * ldb + j]);
            const double y = alpha * s + (beta == 0 ? 0 : beta * c0[i * ldc + j]);
            if (!isfinite(x)) { failures++; printf("%s %d%d %dx%dx%d: C[%d,%d] = %g\n", names[kernel], ta, tb, M, N, K, i, j, x); continue; }
            const double e = fabs(x - y) / fmax(1, fabs(y)) / sqrt(fmax(K, 1));
            if (e > worst) worst = e;
        }
    if (worst > 1e-5) failures++, printf("%s %d%d %dx%dx%d: error %g\n", names[kernel], ta, tb, M, N, K, worst);
    free(a); free(b); free(c0); free(c1); free(c2);
}

int main(void) {
    const int Ns[] = {1, 3, 7, 15, 16, 17, 31, 33, 64, 65, 127, 129, 130, 200, 257};
    const int Ks[] = {1, 2, 5, 15, 16, 17, 33, 64, 100, 513, 1030};
    for (int kernel = SWEEP_GEMM_PORTABLE; kernel <= SWEEP_GEMM_AVX512; kernel++) {
        if (!sweep_sgemm_supported(kernel)) continue;
        for (int t = 0; t < 4; t++)
            for (int M = 1; M <= 5; M++)
                for (unsigned n = 0; n < sizeof Ns / sizeof *Ns; n++)
                    for (unsigned k = 0; k < sizeof Ks / sizeof *Ks; k++) {
                        check(kernel, t >> 1, t & 1, M, Ns[n], Ks[k], 1, 0);
                        if ((n + k) % 3 == 0) check(kernel, t >> 1, t & 1, M, Ns[n], Ks[k], -1.5f, 0.25f);
                    }
    }
    printf("checked against the reference: %d failures\n", failures);
    // mnist-mlp 784-256-128-10, one sample: the forward products (NT: x · Wᵀ), and NN for comparison
    const int shapes[][3] = {{1, 256, 784}, {1, 128, 256}, {1, 10, 128}, {4, 256, 784}};
    for (unsigned s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int tb = 1; tb >= 0; tb--)
            for (int kernel = SWEEP_GEMM_PORTABLE; kernel <= SWEEP_GEMM_AVX512; kernel++) {
                if (!sweep_sgemm_supported(kernel)) continue;
                const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                float *a = malloc((size_t)M * K * 4), *b = malloc((size_t)N * K * 4), *c = calloc((size_t)M * N, 4);
                for (int i = 0; i < M * K; i++) a[i] = uniform();
                for (int i = 0; i < N * K; i++) b[i] = uniform();
                const int reps = 3000;
                double best = 1e9;
                for (int r = 0; r < 7; r++) {
                    const double t0 = now();
                    for (int i = 0; i < reps; i++) sweep_sgemm(kernel, 0, tb, M, N, K, 1, a, K, b, tb ? K : N, 1, c, N);
                    const double t = (now() - t0) / reps;
                    if (t < best) best = t;
                }
                printf("%-8s %s %dx%dx%d: %7.2f us  %6.1f GFLOP/s  %5.1f GB/s of B\n", names[kernel], tb ? "NT" : "NN", M, N, K,
                       best * 1e6, 2.0 * M * N * K / best * 1e-9, 4.0 * N * K / best * 1e-9);
                free(a); free(b); free(c);
            }
    return failures != 0;
}
