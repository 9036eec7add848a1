#ifndef SWEEP_VEC16_H
#define SWEEP_VEC16_H
/* 16-lane vectors for the convolution kernels (kernels.c, winograd.c): one AVX-512 register,
 * two AVX2 ones. Unaligned (aligned(4)): they are loaded from and stored to any float address
 * through memcpy. Lanes past a channel count that is not a multiple of 16 are handled by the
 * partial loads and stores below, so each kernel needs only its vector path. */
#include <stdint.h>
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
#endif
