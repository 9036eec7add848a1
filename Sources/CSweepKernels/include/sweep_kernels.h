#ifndef SWEEP_KERNELS_H
#define SWEEP_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* Element-wise and data-movement kernels of the engine, in C so the compiler vectorizes them
 * (with AVX2/AVX-512 clones picked at run time). Shapes as in the Swift layers' comments.
 * Each has a straightforward Swift reference the tests compare against. */

/* Zeroed memory for the engine's buffers (activations, gradients, parameters, scratch), never
 * NULL (a failed allocation ends the trial process with a message). From 1 MB up, the size is
 * rounded up to whole 2 MB pages and the kernel is asked for transparent huge pages
 * (madvise(MADV_HUGEPAGE): Debian's default is "madvise"), so that a batch's activations
 * take a few TLB entries instead of hundreds. Freed with sweep_free_buffer. */
void *sweep_alloc_buffer(size_t bytes);
void sweep_free_buffer(void *p);

/* Adam step over n parameters; l2 adds l2*p to the gradient first (Adam's weight decay). */
void sweep_adam(float *p, const float *g, float *m, float *v, ptrdiff_t n, float b1, float b2,
                float step_size, float inv_sqrt_bc2, float eps, float l2);
/* out = max(x, 0) */
void sweep_relu(float *out, const float *x, ptrdiff_t n);
/* x = max(x, 0) in place (as sweep_relu) */
void sweep_relu_inplace(float *x, ptrdiff_t n);
/* dx = x > 0 ? dy : 0 */
void sweep_relu_backward(float *dx, const float *dy, const float *x, ptrdiff_t n);
/* acc[j] = sum over rows of x[r, j]; x is (rows, cols) */
void sweep_column_sums(float *acc, const float *x, ptrdiff_t rows, ptrdiff_t cols);
/* out[r, :] = b for every row r; out is (rows, cols) */
void sweep_broadcast_rows(float *out, const float *b, ptrdiff_t rows, ptrdiff_t cols);
/* dst (n, f) row r = src row rows[r] (a mini-batch gathered from a data set (·, f)) */
void sweep_gather_rows(float *dst, const float *src, const ptrdiff_t *rows, ptrdiff_t n, ptrdiff_t f);
/* inp (B,H,W,C) → col (B*OH*OW, KH*KW*C), zero padding */
void sweep_im2col(const float *inp, float *col, int B, int H, int W, int C, int KH, int KW,
                  int stride, int pad_top, int pad_left, int OH, int OW);
/* col (B*OH*OW, KH*KW*C) → dinp (B,H,W,C), overwritten with the accumulated sum */
void sweep_col2im(const float *col, float *dinp, int B, int H, int W, int C, int KH, int KW,
                  int stride, int pad_top, int pad_left, int OH, int OW);
/* Max pooling (B,H,W,C) → (B,OH,OW,C), argmax = input offset of each maximum */
void sweep_maxpool(const float *inp, float *out, int32_t *argmax, int B, int H, int W, int C,
                   int size, int stride, int OH, int OW);
/* dout (B,OH,OW,C) → dinp (B,H,W,C), overwritten: each gradient goes to its argmax, zeros elsewhere */
void sweep_maxpool_backward(const float *dout, const int32_t *argmax, float *dinp, int B, int H, int W, int C,
                            int size, int stride, int OH, int OW);
/* Direct convolution, for inputs with few channels (too thin for im2col + GEMM). It reads a
 * zero-padded copy of the batch, pad (B,Hp,Wp,C) with Hp = (OH-1)*stride + KH and
 * Wp = (OW-1)*stride + KW, the input at (pad_top, pad_left) and zeros around it: */
void sweep_conv_direct_pad(const float *inp, float *pad, int B, int H, int W, int C, int Hp, int Wp,
                           int pad_top, int pad_left);
/* pad (B,Hp,Wp,C), wt (K,KH,KW,C) (the layer's filter), bias (K) → out (B,OH,OW,K) */
void sweep_conv_direct(const float *pad, const float *wt, const float *bias, float *out, int B, int Hp, int Wp,
                       int C, int K, int KH, int KW, int stride, int OH, int OW);
/* Its parameter gradients: dwt (K,KH,KW,C) = Σ dY ⊗ x, db (K) = Σ dY, both overwritten */
void sweep_conv_direct_filter_grad(const float *pad, const float *dout, float *dwt, float *db, int B, int Hp, int Wp,
                                   int C, int K, int KH, int KW, int stride, int OH, int OW);
/* The direct convolution fused with a 2x2 stride-2 max-pool over its output (B,OH,OW,K): only
 * the pooled values (B,OH/2,OW/2,K) and the argmax (offsets into (B,OH,OW,K), as sweep_maxpool
 * keeps them) are written, the same values the two kernels one after the other give. With relu
 * non-zero a ReLU after the pool is fused as well: pooled values max(m, 0), and argmax -1 where
 * m <= 0, so the pool's backward pass (and every kernel below that reads the argmax) sends no
 * gradient there: the ReLU's backward pass. */
void sweep_conv_direct_pool(const float *pad, const float *wt, const float *bias, float *pooled, int32_t *argmax,
                            int B, int Hp, int Wp, int C, int K, int KH, int KW, int stride, int OH, int OW, int relu);
/* Its parameter gradients from the pooled output's gradient dpool (B,OH/2,OW/2,K) and that
 * argmax: the same as sweep_maxpool_backward then sweep_conv_direct_filter_grad, bit for bit. */
void sweep_conv_direct_pool_filter_grad(const float *pad, const float *dpool, const int32_t *argmax, float *dwt, float *db,
                                        int B, int Hp, int Wp, int C, int K, int KH, int KW, int stride, int OH, int OW);
/* acc (K) = Σ over (b, oh, ow) of the output gradient a 2x2 / stride 2 max-pool's backward pass
 * writes from dpool (B,OH/2,OW/2,K) and argmax: the same sums, bit for bit, as sweep_maxpool_backward
 * then sweep_column_sums (the bias gradient of a convolution fused with the pool) */
void sweep_pooled_column_sums(float *acc, const float *dpool, const int32_t *argmax, int B, int OH, int OW, int K);
/* Winograd F(ma x mb, 3x3) transforms of 3x3 stride-1 convolutions (winograd.c), output tiles
 * ma x mb with ma, mb in {2, 4, 6}. A layer's output (B,OH,OW) is covered by groups of tiles;
 * this is one group: per image nr rows by nc columns of ma x mb tiles, the tile in row i and
 * column j covering the outputs from (r0 + i*ma, c0 + j*mb) (those past the image are dropped),
 * numbered image by image, row by row. A tile reads the (ma+2) x (mb+2) input window at its
 * first output minus (pad_top, pad_left), zeros outside. Each call handles the tiles
 * [t0, t0 + nt) of a group; a transformed chunk is n = (ma+2)(mb+2) matrices (nt, channels),
 * `ld` floats apart. */
typedef struct { int ma, mb, r0, nr, c0, nc; } sweep_tiles;
/* inp (B,H,W,C) → V (n, nt, C): V = Bᵀ d B of each input window d */
void sweep_winograd_input(const float *inp, float *V, ptrdiff_t ld, int H, int W, int C,
                          int pad_top, int pad_left, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt);
/* M (n, nt, K) → out (B,OH,OW,K): Y = Aᵀ M A (+ bias (K) unless NULL), only the positions inside
 * the output written. With `pooled` non-NULL, the output is max-pooled 2x2 / stride 2 on the way
 * out instead: pooled (B,OH/2,OW/2,K) and argmax (offsets into (B,OH,OW,K)) are written as
 * sweep_maxpool would write them from the output, and `out` is not touched; with relu non-zero, a
 * ReLU after the pool too, as in sweep_conv_direct_pool. */
void sweep_winograd_output(const float *M, ptrdiff_t ld, float *out, const float *bias, int OH, int OW,
                           int K, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt, float *pooled, int32_t *argmax, int relu);
/* dout (B,OH,OW,K) → dM (n, nt, K): A dY Aᵀ of each output tile (zeros outside the output);
 * the transpose of sweep_winograd_output, for the gradients. With `dpooled` non-NULL, dY is
 * instead what the backward pass of a 2x2 / stride 2 max-pool would write from its output
 * gradient dpooled (B,OH/2,OW/2,K) and argmax (offsets into (B,OH,OW,K)); dout is not read. */
void sweep_winograd_output_grad(const float *dout, float *dM, ptrdiff_t ld, int OH, int OW, int K,
                                sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt, const float *dpooled, const int32_t *argmax);
/* dV (n, nt, C) → dinp (B,H,W,C), added: B dV Bᵀ of each tile added to its input window (the
 * positions inside the image): the transpose of sweep_winograd_input, for the input gradient */
void sweep_winograd_input_grad(const float *dV, ptrdiff_t ld, float *dinp, int H, int W, int C,
                               int pad_top, int pad_left, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt);
/* w (K,3,3,C) → U (n, C, K) = G_a g G_bᵀ for ma x mb tiles, or with `transpose` U (n, K, C) */
void sweep_winograd_filter(const float *w, float *U, int C, int K, int ma, int mb, int transpose);
/* dU (n, C, K) → dw (K,3,3,C) = G_aᵀ dU G_b: the filter gradient from the transformed one,
 * overwritten, or added to dw when `accumulate` is non-zero */
void sweep_winograd_filter_grad(const float *dU, float *dw, int C, int K, int ma, int mb, int accumulate);
/* Mixed-precision GEMM (gemm_bf16.c), the arguments of cblas_sgemm in row-major order:
 * C (M,N) = alpha · op(A) op(B) + beta · C with op(A) (M,K) (stored (K,M) when transA), op(B)
 * (K,N) (stored (N,K) when transB). The operands are rounded to bfloat16 (nearest even), the
 * products summed in fp32 (AVX512-BF16). Returns 0, touching nothing, on a CPU without AVX512-BF16. */
int sweep_gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);
/* sweep_gemm_bf16 with alpha = 1 and a bias epilogue: C (M,N) = op(A) op(B) + bias (N) on every
 * row, then, when `relu` is non-zero, max(·, 0) (x > 0 ? x : 0), while each block of C is in
 * registers; C is not read. Bit for bit the result of sweep_broadcast_rows(C, bias), sweep_gemm_bf16
 * with beta = 1, then sweep_relu. Returns 0, touching nothing, without AVX512-BF16. */
int sweep_gemm_bf16_bias(int transA, int transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                         const float *bias, int relu, float *C, int ldc);
/* 1 when this CPU has AVX512-BF16 (and AVX512-BW), else 0. */
int sweep_bf16_supported(void);
/* 1 when the engine's bf16 products take sweep_gemm_bf16 (VDPBF16PS), 0 when they are rounded
 * (sweep_bf16_round) and multiplied by the fp32 kernels: the one sweep_bf16_force set, else a
 * fixed rule of the CPU (gemm_bf16.c). */
int sweep_bf16_uses_dot(void);
/* Every later sweep_bf16_uses_dot answers `dot` (1 only where AVX512-BF16 exists); -1 returns to the rule. */
void sweep_bf16_force(int dot);
/* dst (rows, cols), dense = src (rows, cols) with leading dimension ld, every value rounded to the
 * nearest bfloat16 (ties to even; NaNs kept), as fp32. */
void sweep_bf16_round(float *dst, const float *src, int rows, int cols, int ld);
/* This thread's grow-only scratch `which` (0 or 1) of at least `count` floats, 64-byte aligned,
 * valid until its next call with the same `which`. */
float *sweep_bf16_scratch(int which, size_t count);

/* What this CPU reports (cpuid), as SWEEP_CPU_* bits; 0 off x86-64. Computed once. */
#define SWEEP_CPU_AVX2_FMA 1u       /* AVX2 and FMA */
#define SWEEP_CPU_AVX512F 2u
#define SWEEP_CPU_AVX512BW_VL 4u    /* AVX512-BW and AVX512-VL */
#define SWEEP_CPU_AVX512_BF16 8u
#define SWEEP_CPU_AVX512_VNNI 16u
#define SWEEP_CPU_AVX_VNNI 32u
unsigned sweep_cpu_features(void);

/* Sweep's own fp32 GEMM (gemm_f32.c), the arguments of cblas_sgemm in row-major order as
 * sweep_gemm_bf16, run by the given kernel: C (M,N) = alpha · op(A) op(B) + beta · C, C not read
 * when beta is 0. Each element of C is one fp32 sum in k order (fused multiply-adds on the AVX
 * kernels), so a shape's results depend only on its operands and the kernel. Returns 0, touching
 * nothing, when this CPU cannot run the kernel (sweep_sgemm_supported). With SWEEP_GEMV_ROWS rows
 * or fewer (one-sample inference) op(B) is read in place, not packed; there, with B stored (N,K),
 * each element is the sum of the kernel's lane sums over k added in a fixed tree. */
#define SWEEP_GEMV_ROWS 4
#define SWEEP_GEMM_OPENBLAS 0       /* not run here: the caller's cblas_sgemm (for sweep_gemm_note) */
#define SWEEP_GEMM_PORTABLE 1       /* plain C, any CPU */
#define SWEEP_GEMM_AVX2 2           /* AVX2 + FMA */
#define SWEEP_GEMM_AVX512 3         /* AVX-512F */
#define SWEEP_GEMM_BF16 4           /* sweep_gemm_bf16 (for sweep_gemm_used only) */
#define SWEEP_GEMM_BF16_ROUNDED 5   /* bf16 operands rounded, fp32 kernels (for sweep_gemm_used only) */
int sweep_sgemm(int kernel, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc);
int sweep_sgemm_supported(int kernel);
/* The GEMM kernels that ran in this process: bit 1 << SWEEP_GEMM_* set by every sweep_sgemm call
 * and by sweep_gemm_note for those run elsewhere. */
void sweep_gemm_note(int kernel);
unsigned sweep_gemm_used(void);
/* The kernel (SWEEP_GEMM_*) for an fp32 product of this shape: the one sweep_gemm_force set, else
 * sweep_sgemm_rule with the linked OpenBLAS's core, so the same shape always takes the same kernel
 * on one machine. */
int sweep_sgemm_choose(int transA, int transB, int M, int N, int K);
/* The fixed rule (gemm_f32.c; measured in bench/README.md): a function of the CPU's features, of
 * whether OpenBLAS runs AVX2 kernels or wider (`openblas_wide`) and of the shape. */
int sweep_sgemm_rule(int openblas_wide, int transA, int transB, int M, int N, int K);
/* Whether an OpenBLAS core (openblas_get_corename) runs AVX2+FMA kernels or wider: Haswell, Zen,
 * SkylakeX, Cooperlake, SapphireRapids (any case); an SSE core such as Prescott is not. */
int sweep_openblas_core_is_wide(const char *core);
/* Every later sweep_sgemm_choose answers `kernel`; -1 returns to the rule. */
void sweep_gemm_force(int kernel);
/* on non-zero: sweep_sgemm_choose prints each distinct shape and its kernel once on stderr
 * (SWEEP_GEMM_LOG=1; for one thread). */
void sweep_gemm_log(int on);
#endif
