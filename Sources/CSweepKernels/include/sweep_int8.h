#ifndef SWEEP_INT8_H
#define SWEEP_INT8_H
#include <stddef.h>
#include <stdint.h>

/* int8 inference kernels of quantized models (`QuantizedNetwork`): symmetric int8 activations
 * (one scale per tensor) times symmetric int8 weights (one scale per output channel), summed in
 * int32. Two paths give the same int32 sums, hence bit-identical outputs: AVX512-VNNI
 * (vpdpbusd over packed weights) where the CPU has it, and a scalar loop (the reference)
 * elsewhere. Shapes: M rows (samples, or output pixels of a convolution), N outputs, K inputs. */

enum { SWEEP_INT8_SCALAR = 0, SWEEP_INT8_AVX512VNNI = 1 };

/* The path sweep_int8_gemm takes by default: AVX512-VNNI when the CPU has it (avx512f, bw, vl,
 * vnni), else scalar; SWEEP_INT8_KERNEL=scalar in the environment forces the scalar path. */
int sweep_int8_kernel(void);
/* Whether this CPU can run the given path. */
int sweep_int8_kernel_available(int kernel);

/* q (rows, ldq) = clamp(round_half_even(x / scale), -127, 127) for x (rows, cols); the columns
 * cols..ldq-1 of each row are zeroed. */
void sweep_quantize_s8(const float *x, int8_t *q, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ldq, float scale);

/* K rounded up to the row stride the int8 kernels need (a multiple of 4), and the bytes of the
 * packed form of an (N, K) weight matrix. */
ptrdiff_t sweep_int8_row_stride(ptrdiff_t K);
ptrdiff_t sweep_int8_packed_bytes(ptrdiff_t N, ptrdiff_t K);
/* w (N, K) → packed: blocks of 16 outputs, in each the 4-byte groups of inputs of the 16
 * outputs side by side ((N/16, K/4, 16, 4), zero-padded), and wsum (N) = Σ_k w[n, k]. */
void sweep_int8_pack(const int8_t *w, int8_t *packed, int32_t *wsum, ptrdiff_t N, ptrdiff_t K);

/* out (M, N) = (float)(Σ_k a[m, k] · w[n, k]) · scale[n] + bias[n], the sum in int32.
 * a is (M, lda) with lda = sweep_int8_row_stride(K) and zeros past column K; w (N, K) is read by
 * the scalar path, packed and wsum (sweep_int8_pack) by the VNNI path. */
void sweep_int8_gemm(const int8_t *a, ptrdiff_t lda, const int8_t *w, const int8_t *packed, const int32_t *wsum,
                     const float *scale, const float *bias, float *out, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, int kernel);

/* inp (B,H,W,C) int8 → col (B*OH*OW, ldc) with KH*KW*C values per row, zero padding, zeros in
 * the columns KH*KW*C..ldc-1. */
void sweep_im2col_s8(const int8_t *inp, int8_t *col, ptrdiff_t ldc, int B, int H, int W, int C, int KH, int KW,
                     int stride, int pad_top, int pad_left, int OH, int OW);

#endif
