#ifndef SWEEP_INT8_H
#define SWEEP_INT8_H
#include <stddef.h>
#include <stdint.h>

/* int8 inference kernels of quantized models (`QuantizedNetwork`): symmetric int8 activations
 * (one scale per tensor) times symmetric int8 weights (one scale per output channel), summed in
 * int32. Four paths give the same int32 sums, hence bit-identical outputs: AVX512-VNNI (512-bit
 * vpdpbusd), AVX-VNNI (256-bit VEX vpdpbusd: Alder Lake and later clients, Zen 5), AVX2 (bytes
 * widened to int16, vpmaddwd: exact, unlike the saturating vpmaddubsw) and a scalar loop (the
 * reference, any CPU). Shapes: M rows (samples, or output pixels of a convolution), N outputs,
 * K inputs. */

enum { SWEEP_INT8_SCALAR = 0, SWEEP_INT8_AVX512VNNI = 1, SWEEP_INT8_AVXVNNI = 2, SWEEP_INT8_AVX2 = 3 };

/* Whether this CPU can run the given path: scalar always; AVX2 with AVX2 and FMA; AVX-VNNI with
 * AVX-VNNI, AVX2 and FMA; AVX512-VNNI with AVX512-F, -BW, -VL and -VNNI. 0 for another value. */
int sweep_int8_kernel_available(int kernel);
/* The best path this CPU runs: AVX512-VNNI, else AVX-VNNI, else AVX2, else scalar. */
int sweep_int8_best(void);
/* The path quantized networks take: the one sweep_int8_force set, else sweep_int8_best(). */
int sweep_int8_kernel(void);
/* Every later sweep_int8_kernel answers `kernel` (an available path); -1 returns to the best.
 * `Int8Kernel.configure` sets it from SWEEP_INT8_KERNEL, after checking the name and the CPU. */
void sweep_int8_force(int kernel);

/* q (rows, ldq) = clamp(round_half_even(x / scale), -127, 127) for x (rows, cols); the columns
 * cols..ldq-1 of each row are zeroed. */
void sweep_quantize_s8(const float *x, int8_t *q, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t ldq, float scale);

/* K rounded up to the row stride the int8 kernels need (a multiple of 4), and the bytes of the
 * packed form of an (N, K) weight matrix. */
ptrdiff_t sweep_int8_row_stride(ptrdiff_t K);
ptrdiff_t sweep_int8_packed_bytes(ptrdiff_t N, ptrdiff_t K);
/* w (N, K) → packed: blocks of 16 outputs, in each the 4-byte groups of inputs of the 16
 * outputs side by side ((N/16, K/4, 16, 4), zero-padded), and wsum (N) = Σ_k w[n, k]. One layout
 * for every vector path: AVX512-VNNI reads a block's 64 bytes per group as one zmm, AVX-VNNI as
 * two ymm of 8 outputs, AVX2 as four 16-byte quarters of 4 outputs each widened to int16. */
void sweep_int8_pack(const int8_t *w, int8_t *packed, int32_t *wsum, ptrdiff_t N, ptrdiff_t K);

/* out (M, N) = (float)(Σ_k a[m, k] · w[n, k]) · scale[n] + bias[n], the sum in int32, the
 * product and the sum rounded apart (no fused multiply-add). a is (M, lda) with lda =
 * sweep_int8_row_stride(K) and zeros past column K; w (N, K) is read by the scalar path, packed
 * (sweep_int8_pack) by the vector paths, wsum by the VNNI paths. Returns 1, or 0 touching nothing
 * when this CPU cannot run `kernel` (sweep_int8_kernel_available). */
int sweep_int8_gemm(const int8_t *a, ptrdiff_t lda, const int8_t *w, const int8_t *packed, const int32_t *wsum,
                     const float *scale, const float *bias, float *out, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, int kernel);

/* inp (B,H,W,C) int8 → col (B*OH*OW, ldc) with KH*KW*C values per row, zero padding, zeros in
 * the columns KH*KW*C..ldc-1. */
void sweep_im2col_s8(const int8_t *inp, int8_t *col, ptrdiff_t ldc, int B, int H, int W, int C, int KH, int KW,
                     int stride, int pad_top, int pad_left, int OH, int OW);

#endif
