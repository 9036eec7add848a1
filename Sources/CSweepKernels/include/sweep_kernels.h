#ifndef SWEEP_KERNELS_H
#define SWEEP_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* Element-wise and data-movement kernels of the engine, in C so the compiler vectorizes them
 * (with AVX2/AVX-512 clones picked at run time). Shapes as in the Swift layers' comments.
 * Each has a straightforward Swift reference the tests compare against. */

/* Adam step over n parameters; l2 adds l2*p to the gradient first (Adam's weight decay). */
void sweep_adam(float *p, const float *g, float *m, float *v, ptrdiff_t n, float b1, float b2,
                float step_size, float inv_sqrt_bc2, float eps, float l2);
/* out = max(x, 0) */
void sweep_relu(float *out, const float *x, ptrdiff_t n);
/* dx = x > 0 ? dy : 0 */
void sweep_relu_backward(float *dx, const float *dy, const float *x, ptrdiff_t n);
/* acc[j] = sum over rows of x[r, j]; x is (rows, cols) */
void sweep_column_sums(float *acc, const float *x, ptrdiff_t rows, ptrdiff_t cols);
/* out[r, :] = b for every row r; out is (rows, cols) */
void sweep_broadcast_rows(float *out, const float *b, ptrdiff_t rows, ptrdiff_t cols);
/* inp (B,H,W,C) → col (B*OH*OW, KH*KW*C), zero padding */
void sweep_im2col(const float *inp, float *col, int B, int H, int W, int C, int KH, int KW,
                  int stride, int pad_top, int pad_left, int OH, int OW);
/* col (B*OH*OW, KH*KW*C) → dinp (B,H,W,C), overwritten with the accumulated sum */
void sweep_col2im(const float *col, float *dinp, int B, int H, int W, int C, int KH, int KW,
                  int stride, int pad_top, int pad_left, int OH, int OW);
/* Max pooling (B,H,W,C) → (B,OH,OW,C), argmax = input offset of each maximum */
void sweep_maxpool(const float *inp, float *out, int32_t *argmax, int B, int H, int W, int C,
                   int size, int stride, int OH, int OW);
#endif
