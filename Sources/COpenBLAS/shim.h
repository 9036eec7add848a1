#ifndef SWEEP_COPENBLAS_SHIM_H
#define SWEEP_COPENBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>

// OpenBLAS's own controls (declared in its cblas.h on Debian; repeated here for other layouts).
void openblas_set_num_threads(int num_threads);

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
/// Flush-to-zero and denormals-are-zero for the calling thread. Adam's second moments decay into
/// denormals; without this every update that touches one takes a ~100-cycle microcode assist.
static inline void sweep_enable_ftz_daz(void) { _mm_setcsr(_mm_getcsr() | 0x8040); }
#else
static inline void sweep_enable_ftz_daz(void) {}
#endif

#endif
