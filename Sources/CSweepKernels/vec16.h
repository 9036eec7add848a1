#ifndef SWEEP_VEC16_H
#define SWEEP_VEC16_H
/* 16-lane vectors for the convolution kernels (kernels.c, winograd.c): one AVX-512 register,
 * two AVX2 ones. Unaligned (aligned(4)): they are loaded from and stored to any float address
 * through memcpy. Lanes past a channel count that is not a multiple of 16 are handled by the
 * partial loads and stores below, so each kernel needs only its vector path. Also shared by
 * both files: their scratch allocation, and the gradient of a max-pool fused with a convolution. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
typedef float vec16 __attribute__((vector_size(64), aligned(4)));
typedef int32_t ivec16 __attribute__((vector_size(64), aligned(4)));
#define INLINE static inline __attribute__((always_inline))

/* The 16 four-byte lanes at d (a vec16 or an ivec16) = the first n lanes at p (none when
 * n <= 0), zeros after them. (Vectors go in and out of these helpers by pointer: by value, a
 * 64-byte vector changes the calling convention between the AVX2 and AVX-512 clones of a kernel.) */
INLINE void load_lanes(void *d, const void *p, int n) {
    if (n >= LANES) { __builtin_memcpy_inline(d, p, 64); return; }  /* one vector move, never a call */
    memset(d, 0, 64);
    if (n > 0) memcpy(d, p, (size_t)n * 4);
}

/* Stores the first n lanes (none when n <= 0) of the 16 four-byte lanes at v (a vec16 or an
 * ivec16) to o. */
INLINE void store_lanes(void *o, const void *v, int n) {
    if (n >= LANES) __builtin_memcpy_inline(o, v, 64);
    else if (n > 0) memcpy(o, v, (size_t)n * 4);
}
/* C (M,N) = beta · C (zeros when beta is 0, C not read): a GEMM with no products (K = 0). */
static inline void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
}

/* Zeroed scratch of the kernels; a failed allocation ends the (trial) process with a message
 * rather than a null dereference. */
static inline void *scratch_alloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size);
    if (!p) { fputs("sweep: out of memory in a convolution kernel\n", stderr); abort(); }
    return p;
}

/* A ReLU after a max-pool fused with the convolution before it: the pooled maxima m become
 * max(m, 0), and where a maximum is not positive its argmax becomes -1, no position of the
 * output: the pool's backward pass then sends nothing there, which is the ReLU's gradient. */
INLINE void relu_pooled(vec16 *m, ivec16 *ix) {
    const ivec16 pos = (ivec16)(*m > 0);  /* all ones where the maximum is positive */
    *m = (vec16)((ivec16)*m & pos);
    *ix = (*ix & pos) | ~pos;
}

/* A 2x2 stride-2 max-pool after a convolution fused with it (sweep_conv_direct_pool, the Winograd
 * output transform): its output gradient dpool (B,PH,PW,K) and the argmax it kept, offsets into
 * the convolution's output (B,OH,OW,K). */
typedef struct {
    const float *dpool;
    const int32_t *argmax;
    int PH, PW;
} pooled_grad;

/* The convolution's output gradient at (b, oh, ow), channels [k, k + 16) (zeros past K): the
 * pooled gradient where this position was its window's maximum, zero elsewhere, as the
 * max-pool's backward pass would write it. */
INLINE void pooled_lanes(vec16 *d, const pooled_grad *pool, int b, int oh, int ow, int k, int OH, int OW, int K) {
    static const ivec16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const size_t from = (((size_t)b * pool->PH + oh / 2) * pool->PW + ow / 2) * K + k;
    const int32_t at = (int32_t)((((size_t)b * OH + oh) * OW + ow) * K + k);
    ivec16 ix, g;
    load_lanes(&ix, pool->argmax + from, K - k);
    load_lanes(&g, pool->dpool + from, K - k);  /* zeros past K: nothing kept there */
    const ivec16 kept = g & (ix == at + lane);  /* all ones where this position was the maximum */
    memcpy(d, &kept, sizeof *d);
}
#endif
