// Sustained single-thread throughput of VDPBF16PS zmm against VFMADD231PS zmm.
//
// Each loop iteration issues ACC = 12 independent instructions into ACC accumulators (no dependency
// chain shorter than ACC instructions), all operands in registers, so the figure is the
// execution-port limit, not memory. One VFMADD231PS zmm = 16 fp32 MACs; one VDPBF16PS zmm =
// 32 bf16 MACs (pairs of bf16 products summed into 16 fp32 lanes).
//
// Build and run:  clang -O2 -mavx512f -mavx512bf16 -o /tmp/bf16-throughput bench/bf16-throughput.c
//                 /tmp/bf16-throughput [iterations, default 40000000]
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ACC 12

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// The inputs come from memory the compiler cannot see through, so the loops are not folded.
static volatile float seed = 1.0f;

// ACC independent `OP a, b, acc[k]` in inline assembly: the compiler must not fold or reassociate
// the products.
#define TWELVE(OP, a, b, acc)                                                                 \
    __asm__ volatile(OP " %[x], %[y], %[c0]\n\t" OP " %[x], %[y], %[c1]\n\t"                     \
                     OP " %[x], %[y], %[c2]\n\t" OP " %[x], %[y], %[c3]\n\t"                     \
                     OP " %[x], %[y], %[c4]\n\t" OP " %[x], %[y], %[c5]\n\t"                     \
                     OP " %[x], %[y], %[c6]\n\t" OP " %[x], %[y], %[c7]\n\t"                     \
                     OP " %[x], %[y], %[c8]\n\t" OP " %[x], %[y], %[c9]\n\t"                     \
                     OP " %[x], %[y], %[c10]\n\t" OP " %[x], %[y], %[c11]"                        \
                     : [c0] "+v"(acc[0]), [c1] "+v"(acc[1]), [c2] "+v"(acc[2]), [c3] "+v"(acc[3]), \
                       [c4] "+v"(acc[4]), [c5] "+v"(acc[5]), [c6] "+v"(acc[6]), [c7] "+v"(acc[7]), \
                       [c8] "+v"(acc[8]), [c9] "+v"(acc[9]), [c10] "+v"(acc[10]),                 \
                       [c11] "+v"(acc[11])                                                          \
                     : [x] "v"(a), [y] "v"(b))

// A timed loop of n rounds of TWELVE(OP) on operands a and b (built from `seed`).
#define LOOP(name, OP, make_a, make_b)                                       \
    static double name(long n, float *sink) {                                \
        __typeof__(make_a) a = make_a;                                       \
        __typeof__(make_b) b = make_b;                                       \
        __m512 acc[ACC];                                                     \
        for (int k = 0; k < ACC; k++) acc[k] = _mm512_set1_ps(seed * k);     \
        double t0 = now();                                                   \
        for (long i = 0; i < n; i++) TWELVE(OP, a, b, acc);                  \
        double t = now() - t0;                                               \
        __m512 s = acc[0];                                                   \
        for (int k = 1; k < ACC; k++) s = _mm512_add_ps(s, acc[k]);          \
        *sink = _mm512_reduce_add_ps(s);                                     \
        return t;                                                            \
    }

#define BF16_PAIR(x) _mm512_cvtne2ps_pbh(_mm512_set1_ps(x), _mm512_set1_ps(x))
LOOP(fma_loop, "vfmadd231ps", _mm512_set1_ps(seed * 1e-7f), _mm512_set1_ps(seed * 0.999f))
LOOP(dpbf16_loop, "vdpbf16ps", BF16_PAIR(seed * 1e-7f), BF16_PAIR(seed * 0.999f))

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 40000000L;
    float sink;
    fma_loop(n / 10, &sink);  // warm-up: bring the core to its AVX-512 frequency
    for (int rep = 0; rep < 3; rep++) {
        double tf = fma_loop(n, &sink);
        double tb = dpbf16_loop(n, &sink);
        double instr = (double)n * ACC;
        printf("rep %d: VFMADD231PS %.2f Ginstr/s = %.1f GFLOP/s fp32 | VDPBF16PS %.2f Ginstr/s = "
               "%.1f GFLOP/s bf16 | bf16/fp32 MAC ratio %.2f (sink %g)\n",
               rep, instr / tf * 1e-9, instr * 32 / tf * 1e-9, instr / tb * 1e-9,
               instr * 64 / tb * 1e-9, (instr * 32 / tb) / (instr * 16 / tf), sink);
    }
    return 0;
}
