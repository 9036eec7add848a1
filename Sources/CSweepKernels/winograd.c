#include "sweep_kernels.h"
#include "vec16.h"
#include <stdlib.h>
#include <string.h>

/* Winograd F(m, 3) transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2015) for 3x3 stride-1 convolutions over channels-last images, with output tiles
 * of ma x mb, ma and mb each 2, 4, 6 or 8: a tile's (ma+2) x (mb+2) input window d becomes
 * V = Bᵀ_a d B_b, the filter g becomes U = G_a g G_bᵀ, and the tile's outputs are
 * Y = Aᵀ_a (U ⊙ V) A_b (the products summed over input channels by the caller's GEMMs).
 * Rectangular tiles let a layer cover its output exactly with a mix of sizes (14 = 8 + 6)
 * instead of tiles that stick out. Every transform is vectorized over the channel dimension,
 * contiguous in channels-last layouts: each entry of a tile is a vector of 16 channels.
 *
 * The 1-D transforms, by n = m + 2 (points 0, ±1, ±2, ±½, ±¾, ∞ as needed):
 *   F(2,3): Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *           G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
 *           Aᵀ = [1 1 1 0; 0 1 -1 -1]
 *   F(4,3): Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *           G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
 *           Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 *   F(6,3): Bᵀ = [1 0 -21/4 0 21/4 0 -1 0; 0 1 1 -17/4 -17/4 1 1 0; 0 -1 1 17/4 -17/4 -1 1 0;
 *                 0 ½ ¼ -5/2 -5/4 2 1 0; 0 -½ ¼ 5/2 -5/4 -2 1 0; 0 2 4 -5/2 -5 ½ 1 0;
 *                 0 -2 4 5/2 -5 -½ 1 0; 0 -1 0 21/4 0 -21/4 0 1]
 *           G  = [1 0 0; -2/9 -2/9 -2/9; -2/9 2/9 -2/9; 1/90 1/45 2/45; 1/90 -1/45 2/45;
 *                 32/45 16/45 8/45; 32/45 -16/45 8/45; 0 0 1]
 *           Aᵀ = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 ½ -½ 0; 0 1 1 4 4 ¼ ¼ 0; 0 1 -1 8 -8 ⅛ -⅛ 0;
 *                 0 1 1 16 16 1/16 1/16 0; 0 1 -1 32 -32 1/32 -1/32 1]
 *   F(8,3): points 0, ±1, ±2, ±½, ±¾, ∞ (of the sets tried in bench/winograd_fp32_error.py,
 *           ±¾ rounded least: an RMS error of 3.5e-5 of the output's RMS against 2.5e-6 for
 *           F(6,3), simulated in float32); Aᵀ row i is
 *           [0^i 1 (-1)^i 2^i (-2)^i 2^-i (-2)^-i (¾)^i (-¾)^i 0], plus 1 in the last column of the
 *           last row; G row j is [1 p p²]/Π_{q≠p}(p - q) for the finite point p, [0 0 1] for ∞; Bᵀ
 *           (dyadic entries: 9/16, 253/64, ...) is written out in `bt` below. Its errors are
 *           larger still (the entries of Aᵀ reach 128, those of G 1/2475), but far below bf16's
 *           rounding (2.4e-3 for a bf16 im2col product in bench/bf16_winograd_error.py).
 * The data transforms (Bᵀ and Aᵀ, and their adjoints B and A for the gradients) are written out
 * by hand below, and applied to a tile along both axes by `TRANSFORM2`: as tables, the
 * compiler could not drop the products with zero (0·x is not 0 for every float x). The filter
 * transforms, run once per batch on the small filter, use the G tables.
 *
 * Tiles (sweep_tiles): one group of a layer's tiles, all ma x mb, nr rows by nc columns per
 * image, the tile in row i and column j covering the outputs from (r0 + i·ma, c0 + j·mb); they
 * are numbered image by image, row by row, and tile t reads the input window at
 * (r0 + i·ma - pad_top, c0 + j·mb - pad_left), zeros outside the image. Outputs past the image
 * (tiles that stick out) are neither read nor written. Each call handles the tiles
 * [t0, t0 + nt) of a group; a transformed chunk is (ma+2)(mb+2) matrices (nt, channels), `ld`
 * floats apart, entry (i, j) of a tile in matrix i·(mb+2) + j. */

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define CLONES
#endif

#define MAXN 10  /* the largest transformed size, F(8,3)'s */

/* o = Bᵀ a for a length-n vector a of channel vectors (n = 4, 6, 8 or 10, known when inlined).
 * For n >= 6 the rows of the points ±p share their even and odd parts: o(±p) = even ± odd. */
INLINE void bt(int n, const vec16 *a, vec16 *o) {
    if (n == 4) {
        o[0] = a[0] - a[2]; o[1] = a[1] + a[2]; o[2] = a[2] - a[1]; o[3] = a[1] - a[3];
    } else if (n == 6) {
        const vec16 t1 = a[4] - 4.0f * a[2], t2 = a[3] - 4.0f * a[1];
        const vec16 t3 = a[4] - a[2], t4 = 2.0f * (a[3] - a[1]);
        o[0] = 4.0f * a[0] - 5.0f * a[2] + a[4]; o[1] = t1 + t2; o[2] = t1 - t2;
        o[3] = t3 + t4; o[4] = t3 - t4; o[5] = 4.0f * a[1] - 5.0f * a[3] + a[5];
    } else if (n == 8) {
        const vec16 p1 = a[2] + a[6] - 4.25f * a[4], q1 = a[1] + a[5] - 4.25f * a[3];
        const vec16 p2 = 0.25f * a[2] - 1.25f * a[4] + a[6], q2 = 0.5f * a[1] - 2.5f * a[3] + 2.0f * a[5];
        const vec16 p3 = 4.0f * a[2] - 5.0f * a[4] + a[6], q3 = 2.0f * a[1] - 2.5f * a[3] + 0.5f * a[5];
        o[0] = a[0] - a[6] + 5.25f * (a[4] - a[2]);
        o[1] = p1 + q1; o[2] = p1 - q1; o[3] = p2 + q2; o[4] = p2 - q2; o[5] = p3 + q3; o[6] = p3 - q3;
        o[7] = a[7] - a[1] + 5.25f * (a[3] - a[5]);
    } else {
        o[0] = 0.5625f * a[0] - 3.953125f * a[2] + 8.203125f * a[4] - 5.8125f * a[6] + a[8];
        const vec16 e0 = -0.5625f * a[2] + 3.390625f * a[4] - 4.8125f * a[6] + a[8];
        const vec16 f0 = -0.5625f * a[1] + 3.390625f * a[3] - 4.8125f * a[5] + a[7];
        const vec16 e1 = -0.140625f * a[2] + 0.953125f * a[4] - 1.8125f * a[6] + a[8];
        const vec16 f1 = -0.28125f * a[1] + 1.90625f * a[3] - 3.625f * a[5] + 2.0f * a[7];
        const vec16 e2 = -2.25f * a[2] + 6.8125f * a[4] - 5.5625f * a[6] + a[8];
        const vec16 f2 = -1.125f * a[1] + 3.40625f * a[3] - 2.78125f * a[5] + 0.5f * a[7];
        const vec16 e3 = -a[2] + 5.25f * a[4] - 5.25f * a[6] + a[8];
        const vec16 f3 = -0.75f * a[1] + 3.9375f * a[3] - 3.9375f * a[5] + 0.75f * a[7];
        o[1] = e0 + f0; o[2] = e0 - f0; o[3] = e1 + f1; o[4] = e1 - f1;
        o[5] = e2 + f2; o[6] = e2 - f2; o[7] = e3 + f3; o[8] = e3 - f3;
        o[9] = 0.5625f * a[1] - 3.953125f * a[3] + 8.203125f * a[5] - 5.8125f * a[7] + a[9];
    }
}

/* o = Aᵀ x for a length-n vector x: n - 2 values */
INLINE void at(int n, const vec16 *x, vec16 *o) {
    if (n == 4) {
        o[0] = x[0] + x[1] + x[2]; o[1] = x[1] - x[2] - x[3];
    } else if (n == 6) {
        const vec16 s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
        o[0] = x[0] + s12 + s34; o[1] = d12 + 2.0f * d34; o[2] = s12 + 4.0f * s34; o[3] = d12 + 8.0f * d34 + x[5];
    } else if (n == 8) {
        const vec16 s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
        const vec16 s56 = x[5] + x[6], d56 = x[5] - x[6];
        o[0] = x[0] + s12 + s34 + s56;
        o[1] = d12 + 2.0f * d34 + 0.5f * d56;
        o[2] = s12 + 4.0f * s34 + 0.25f * s56;
        o[3] = d12 + 8.0f * d34 + 0.125f * d56;
        o[4] = s12 + 16.0f * s34 + 0.0625f * s56;
        o[5] = d12 + 32.0f * d34 + 0.03125f * d56 + x[7];
    } else {
        const vec16 s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
        const vec16 s56 = x[5] + x[6], d56 = x[5] - x[6], s78 = x[7] + x[8], d78 = x[7] - x[8];
        o[0] = x[0] + s12 + s34 + s56 + s78;
        o[1] = d12 + 2.0f * d34 + 0.5f * d56 + 0.75f * d78;
        o[2] = s12 + 4.0f * s34 + 0.25f * s56 + 0.5625f * s78;
        o[3] = d12 + 8.0f * d34 + 0.125f * d56 + 0.421875f * d78;
        o[4] = s12 + 16.0f * s34 + 0.0625f * s56 + 0.31640625f * s78;
        o[5] = d12 + 32.0f * d34 + 0.03125f * d56 + 0.2373046875f * d78;
        o[6] = s12 + 64.0f * s34 + 0.015625f * s56 + 0.177978515625f * s78;
        o[7] = d12 + 128.0f * d34 + 0.0078125f * d56 + 0.13348388671875f * d78 + x[9];
    }
}

/* o = A y for a length-(n - 2) vector y: n values, the adjoint of `at` */
INLINE void a_adj(int n, const vec16 *y, vec16 *o) {
    if (n == 4) {
        o[0] = y[0]; o[1] = y[0] + y[1]; o[2] = y[0] - y[1]; o[3] = -y[1];
    } else if (n == 6) {
        const vec16 e = y[0] + y[2], f = y[1] + y[3], g = y[0] + 4.0f * y[2], h = 2.0f * y[1] + 8.0f * y[3];
        o[0] = y[0]; o[1] = e + f; o[2] = e - f; o[3] = g + h; o[4] = g - h; o[5] = y[3];
    } else if (n == 8) {
        const vec16 e = y[0] + y[2] + y[4], f = y[1] + y[3] + y[5];
        const vec16 g = y[0] + 4.0f * y[2] + 16.0f * y[4], h = 2.0f * y[1] + 8.0f * y[3] + 32.0f * y[5];
        const vec16 p = y[0] + 0.25f * y[2] + 0.0625f * y[4], q = 0.5f * y[1] + 0.125f * y[3] + 0.03125f * y[5];
        o[0] = y[0]; o[1] = e + f; o[2] = e - f; o[3] = g + h; o[4] = g - h; o[5] = p + q; o[6] = p - q; o[7] = y[5];
    } else {
        const vec16 e1 = y[0] + y[2] + y[4] + y[6], f1 = y[1] + y[3] + y[5] + y[7];
        const vec16 e2 = y[0] + 4.0f * y[2] + 16.0f * y[4] + 64.0f * y[6], f2 = 2.0f * y[1] + 8.0f * y[3] + 32.0f * y[5] + 128.0f * y[7];
        const vec16 e3 = y[0] + 0.25f * y[2] + 0.0625f * y[4] + 0.015625f * y[6];
        const vec16 f3 = 0.5f * y[1] + 0.125f * y[3] + 0.03125f * y[5] + 0.0078125f * y[7];
        const vec16 e4 = y[0] + 0.5625f * y[2] + 0.31640625f * y[4] + 0.177978515625f * y[6];
        const vec16 f4 = 0.75f * y[1] + 0.421875f * y[3] + 0.2373046875f * y[5] + 0.13348388671875f * y[7];
        o[0] = y[0]; o[1] = e1 + f1; o[2] = e1 - f1; o[3] = e2 + f2; o[4] = e2 - f2;
        o[5] = e3 + f3; o[6] = e3 - f3; o[7] = e4 + f4; o[8] = e4 - f4; o[9] = y[7];
    }
}

/* o = B x for a length-n vector x: the adjoint of `bt`, for the input gradient */
INLINE void b_adj(int n, const vec16 *x, vec16 *o) {
    if (n == 4) {
        o[0] = x[0]; o[1] = x[1] - x[2] + x[3]; o[2] = x[1] + x[2] - x[0]; o[3] = -x[3];
    } else if (n == 6) {
        const vec16 s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
        o[0] = 4.0f * x[0]; o[1] = 4.0f * x[5] - 4.0f * d12 - 2.0f * d34; o[2] = -5.0f * x[0] - 4.0f * s12 - s34;
        o[3] = d12 + 2.0f * d34 - 5.0f * x[5]; o[4] = x[0] + s12 + s34; o[5] = x[5];
    } else if (n == 8) {
        const vec16 s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
        const vec16 s56 = x[5] + x[6], d56 = x[5] - x[6];
        o[0] = x[0];
        o[1] = d12 + 0.5f * d34 + 2.0f * d56 - x[7];
        o[2] = s12 + 0.25f * s34 + 4.0f * s56 - 5.25f * x[0];
        o[3] = 5.25f * x[7] - 4.25f * d12 - 2.5f * d34 - 2.5f * d56;
        o[4] = 5.25f * x[0] - 4.25f * s12 - 1.25f * s34 - 5.0f * s56;
        o[5] = d12 + 2.0f * d34 + 0.5f * d56 - 5.25f * x[7];
        o[6] = s12 + s34 + s56 - x[0];
        o[7] = x[7];
    } else {
        const vec16 s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
        const vec16 s56 = x[5] + x[6], d56 = x[5] - x[6], s78 = x[7] + x[8], d78 = x[7] - x[8];
        o[0] = 0.5625f * x[0];
        o[1] = 0.5625f * x[9] - 0.5625f * d12 - 0.28125f * d34 - 1.125f * d56 - 0.75f * d78;
        o[2] = -3.953125f * x[0] - 0.5625f * s12 - 0.140625f * s34 - 2.25f * s56 - s78;
        o[3] = 3.390625f * d12 + 1.90625f * d34 + 3.40625f * d56 + 3.9375f * d78 - 3.953125f * x[9];
        o[4] = 8.203125f * x[0] + 3.390625f * s12 + 0.953125f * s34 + 6.8125f * s56 + 5.25f * s78;
        o[5] = 8.203125f * x[9] - 4.8125f * d12 - 3.625f * d34 - 2.78125f * d56 - 3.9375f * d78;
        o[6] = -5.8125f * x[0] - 4.8125f * s12 - 1.8125f * s34 - 5.5625f * s56 - 5.25f * s78;
        o[7] = d12 + 2.0f * d34 + 0.5f * d56 + 0.75f * d78 - 5.8125f * x[9];
        o[8] = x[0] + s12 + s34 + s56 + s78;
        o[9] = x[9];
    }
}

static inline void tile_origin(sweep_tiles g, ptrdiff_t t, int *b, int *oh, int *ow) {
    const ptrdiff_t per = (ptrdiff_t)g.nr * g.nc, r = t % per;
    *b = (int)(t / per);
    *oh = g.r0 + (int)(r / g.nc) * g.ma;
    *ow = g.c0 + (int)(r % g.nc) * g.mb;
}

/* The 1-D transforms by kind, and the lengths they take and give for a transformed size n. */
enum { BT, B_ADJ, AT, A_ADJ };
INLINE int length_in(int kind, int n) { return kind == A_ADJ ? n - 2 : n; }
INLINE int length_out(int kind, int n) { return kind == AT ? n - 2 : n; }
INLINE void transform1(int kind, int n, const vec16 *x, vec16 *o) {
    switch (kind) {
    case BT: bt(n, x, o); break;
    case B_ADJ: b_adj(n, x, o); break;
    case AT: at(n, x, o); break;
    default: a_adj(n, x, o); break;
    }
}

/* T_a x T_bᵀ for one tile x, row by row (length_in(kind, na) x length_in(kind, nb) entries):
 * the 1-D transform `kind` of size na down each column, then of size nb along each row, giving
 * length_out(kind, na) x length_out(kind, nb) entries. LOAD(e, v) puts entry e of x into the
 * vec16 *v; STORE(e, v) takes entry e of the result from *v. (A macro rather than a function on
 * arrays: entries go straight from their loads into the column pass and from the row pass to
 * their stores; staging all 64 through arrays made the input transform 10-25% slower.) */
#define TRANSFORM2(KIND, NA, NB, LOAD, STORE) do { \
    const int ia_ = length_in(KIND, NA), oa_ = length_out(KIND, NA); \
    const int ib_ = length_in(KIND, NB), ob_ = length_out(KIND, NB); \
    vec16 s_[MAXN * MAXN];  /* the columns transformed: oa_ x ib_ */ \
    for (int j_ = 0; j_ < ib_; j_++) { \
        vec16 a_[MAXN], o_[MAXN]; \
        for (int i_ = 0; i_ < ia_; i_++) LOAD(i_ * ib_ + j_, &a_[i_]); \
        transform1(KIND, NA, a_, o_); \
        for (int i_ = 0; i_ < oa_; i_++) s_[i_ * ib_ + j_] = o_[i_]; \
    } \
    for (int i_ = 0; i_ < oa_; i_++) { \
        vec16 o_[MAXN]; \
        transform1(KIND, NB, s_ + i_ * ib_, o_); \
        for (int j_ = 0; j_ < ob_; j_++) STORE(i_ * ob_ + j_, &o_[j_]); \
    } } while (0)

/* The rows x cols positions from (h0, w0) of an (H, W, C) image, row by row; those outside it
 * point at `outside`. */
INLINE void positions(float *img, int h0, int w0, int rows, int cols, int H, int W, int C, float *outside, float **q) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            const int ih = h0 + i, iw = w0 + j;
            q[i * cols + j] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? img + ((size_t)ih * W + iw) * C : outside;
        }
}

/* ---- input: V = Bᵀ_a d B_b ---- */

/* V's entries of channels [c, c + lanes) for one tile whose window entries are at p (row by
 * row): Bᵀ_a d B_b. */
INLINE void input_lanes(int na, int nb, float *const *p, float *restrict v, ptrdiff_t ld, int c, int lanes) {
#define LOAD(e, x) load_lanes(x, p[e] + c, lanes)
#define STORE(e, x) store_lanes(v + (e) * ld + c, x, lanes)
    TRANSFORM2(BT, na, nb, LOAD, STORE);
#undef LOAD
#undef STORE
}

/* Calls BODY(na, nb) with na and nb as constants, for the 16 tile shapes. */
#define DISPATCH_ROW(NA, NB, BODY) \
    case NA * 16 + 4: BODY(NA, 4); break; case NA * 16 + 6: BODY(NA, 6); break; \
    case NA * 16 + 8: BODY(NA, 8); break; case NA * 16 + 10: BODY(NA, 10); break;
#define DISPATCH(NA, NB, BODY) do { \
    switch ((NA) * 16 + (NB)) { \
    DISPATCH_ROW(4, NB, BODY) DISPATCH_ROW(6, NB, BODY) DISPATCH_ROW(8, NB, BODY) DISPATCH_ROW(10, NB, BODY) \
    default: abort(); } } while (0)

/* ---- input gradient: dd = B_a dV B_bᵀ, the adjoint of the input transform ---- */

/* Adds B_a dV B_bᵀ of channels [c, c + lanes) of one tile, dV's entries at v, to the window
 * positions at p (row by row; those outside the image share a sink). */
INLINE void input_grad_lanes(int na, int nb, const float *restrict v, ptrdiff_t ld, float *const *p, int c, int lanes) {
#define LOAD(e, x) load_lanes(x, v + (e) * ld + c, lanes)
#define ADD(e, x) do { vec16 d_; load_lanes(&d_, p[e] + c, lanes); d_ += *(x); store_lanes(p[e] + c, &d_, lanes); } while (0)
    TRANSFORM2(B_ADJ, na, nb, LOAD, ADD);
#undef LOAD
#undef ADD
}

/* ---- both: the tiles of a chunk against their input windows ---- */

INLINE void window_lanes(int grad, int na, int nb, float *const *p, float *restrict v, ptrdiff_t ld, int c, int lanes) {
    if (grad) input_grad_lanes(na, nb, v, ld, p, c, lanes);
    else input_lanes(na, nb, p, v, ld, c, lanes);
}

/* The tiles [t0, t0 + nt) of group g and their windows in img (B,H,W,C), channels in vectors of
 * 16 (a partial last one): with grad 0, V = Bᵀ d B of each window d (positions outside the
 * image read `edge`, zeros); with grad 1, B dV Bᵀ of each tile's dV in V added to its window
 * (positions outside the image add to `edge`, a sink). */
INLINE void window_tiles(int grad, int na, int nb, float *restrict img, float *restrict V, ptrdiff_t ld, int H, int W, int C,
                         int pad_top, int pad_left, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt, float *edge) {
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, oh, ow;
        tile_origin(g, t0 + n, &b, &oh, &ow);
        float *p[MAXN * MAXN];
        positions(img + (size_t)b * H * W * C, oh - pad_top, ow - pad_left, na, nb, H, W, C, edge, p);
        float *v = V + n * C;
        for (int c = 0; c < C; c += LANES) {
            if (C - c >= LANES) window_lanes(grad, na, nb, p, v, ld, c, LANES);
            else window_lanes(grad, na, nb, p, v, ld, c, C - c);
        }
    }
}

CLONES void sweep_winograd_input(const float *restrict inp, float *restrict V, ptrdiff_t ld, int H, int W, int C,
                                 int pad_top, int pad_left, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt) {
    float *zeros = scratch_alloc((size_t)C, sizeof(float));
#define INPUT(NA, NB) window_tiles(0, NA, NB, (float *)inp, V, ld, H, W, C, pad_top, pad_left, g, t0, nt, zeros)
    DISPATCH(g.ma + 2, g.mb + 2, INPUT);
#undef INPUT
    free(zeros);
}

CLONES void sweep_winograd_input_grad(const float *restrict dV, ptrdiff_t ld, float *restrict dinp, int H, int W, int C,
                                      int pad_top, int pad_left, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt) {
    float *sink = scratch_alloc((size_t)C, sizeof(float));
#define INPUT_GRAD(NA, NB) window_tiles(1, NA, NB, dinp, (float *)dV, ld, H, W, C, pad_top, pad_left, g, t0, nt, sink)
    DISPATCH(g.ma + 2, g.mb + 2, INPUT_GRAD);
#undef INPUT_GRAD
    free(sink);
}

/* ---- output: Y = Aᵀ_a M A_b (+ bias), optionally max-pooled 2x2 ---- */

/* Y = Aᵀ_a M A_b + bias for channels [k, k + lanes) of one tile, M's entries at m: the ma x mb
 * outputs row by row into y. */
INLINE void output_lanes(int na, int nb, const float *restrict m, ptrdiff_t ld, const float *restrict bias, int k, int lanes,
                         vec16 *y) {
    vec16 bk;
    load_lanes(&bk, bias + k, lanes);
#define LOAD(e, x) load_lanes(x, m + (e) * ld + k, lanes)
#define STORE(e, x) (y[e] = *(x) + bk)
    TRANSFORM2(AT, na, nb, LOAD, STORE);
#undef LOAD
#undef STORE
}

/* Max-pools an ma x mb tile of outputs y (row by row) into its 2x2 windows, in sweep_maxpool's
 * order ((0,0), (0,1), (1,0), (1,1), the first maximum kept): window (wi, wj) is pooled output
 * (oh/2 + wi, ow/2 + wj) of the tile whose first output is (oh, ow) (both even); windows past
 * PH or PW are dropped. at0 is the offset of output (oh, ow) channel k in (B,OH,OW,K); pool0
 * points at pooled (oh/2, ow/2) channel k in (B,PH,PW,K), argmax0 at its argmax. With relu, a
 * ReLU follows (relu_pooled). */
INLINE void pool_tile(int ma, int mb, const vec16 *y, int oh, int ow, int OW, int K, int PH, int PW, int32_t at0,
                      float *pool0, int32_t *argmax0, int lanes, int relu) {
    static const ivec16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int wi = 0; wi < ma / 2; wi++) {
        for (int wj = 0; wj < mb / 2; wj++) {
            if (oh / 2 + wi >= PH || ow / 2 + wj >= PW) continue;
            vec16 m = y[2 * wi * mb + 2 * wj];
            ivec16 ix = at0 + (2 * wi * OW + 2 * wj) * K + lane;
            for (int e = 1; e < 4; e++) {
                const int r = 2 * wi + e / 2, c = 2 * wj + e % 2;
                const vec16 v = y[r * mb + c];
                const ivec16 gt = (ivec16)(v > m);  /* all ones where v is the new maximum */
                m = (vec16)(((ivec16)v & gt) | ((ivec16)m & ~gt));
                ix = ((at0 + (r * OW + c) * K + lane) & gt) | (ix & ~gt);
            }
            if (relu) relu_pooled(&m, &ix);
            const size_t o = ((size_t)wi * PW + wj) * K;
            store_lanes(pool0 + o, &m, lanes);
            store_lanes(argmax0 + o, &ix, lanes);
        }
    }
}

INLINE void output_tiles(int na, int nb, const float *restrict M, ptrdiff_t ld, float *restrict out, const float *restrict bias,
                         int OH, int OW, int K, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt, float *restrict pooled,
                         int32_t *restrict argmax, int relu, float *sink) {
    const int ma = na - 2, mb = nb - 2, PH = OH / 2, PW = OW / 2;
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, oh, ow;
        tile_origin(g, t0 + n, &b, &oh, &ow);
        float *q[(MAXN - 2) * (MAXN - 2)];  /* those past the output's edge share the sink */
        if (!pooled) positions(out + (size_t)b * OH * OW * K, oh, ow, ma, mb, OH, OW, K, sink, q);
        const size_t pool_at = (((size_t)b * PH + oh / 2) * PW + ow / 2) * K;
        const int32_t at0 = (int32_t)((((size_t)b * OH + oh) * OW + ow) * K);
        const float *m = M + n * K;
        for (int k = 0; k < K; k += LANES) {
            const int lanes = K - k < LANES ? K - k : LANES;
            vec16 y[(MAXN - 2) * (MAXN - 2)];
            if (lanes == LANES) output_lanes(na, nb, m, ld, bias, k, LANES, y);
            else output_lanes(na, nb, m, ld, bias, k, lanes, y);
            if (pooled) pool_tile(ma, mb, y, oh, ow, OW, K, PH, PW, at0 + k, pooled + pool_at + k, argmax + pool_at + k, lanes, relu);
            else for (int e = 0; e < ma * mb; e++) store_lanes(q[e] + k, &y[e], lanes);
        }
    }
}

CLONES void sweep_winograd_output(const float *restrict M, ptrdiff_t ld, float *restrict out, const float *restrict bias,
                                  int OH, int OW, int K, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt,
                                  float *restrict pooled, int32_t *restrict argmax, int relu) {
    float *scratch = scratch_alloc((size_t)2 * K, sizeof(float));
    const float *b0 = bias ? bias : scratch;
#define OUTPUT(NA, NB) output_tiles(NA, NB, M, ld, out, b0, OH, OW, K, g, t0, nt, pooled, argmax, relu, scratch + K)
    DISPATCH(g.ma + 2, g.mb + 2, OUTPUT);
#undef OUTPUT
    free(scratch);
}

/* ---- output gradient: dM = A_a dY A_bᵀ, the adjoint of the output transform ---- */

/* dM's entries of channels [k, k + lanes) for one tile whose output gradient is y (ma x mb, row
 * by row): A_a y A_bᵀ. */
INLINE void output_grad_lanes(int na, int nb, const vec16 *y, float *restrict d, ptrdiff_t ld, int k, int lanes) {
#define LOAD(e, x) (*(x) = y[e])
#define STORE(e, x) store_lanes(d + (e) * ld + k, x, lanes)
    TRANSFORM2(A_ADJ, na, nb, LOAD, STORE);
#undef LOAD
#undef STORE
}

/* The output gradient of channels [k, k + lanes) of the ma x mb tile whose first output is
 * (oh, ow) (both even), row by row into y, as the backward pass of the 2x2 max-pool after it
 * would write it: each window's pooled gradient at its argmax, zeros elsewhere (and outside
 * every window: the last row or column of an odd-sized output, tiles that stick out). */
INLINE void unpool_tile(int ma, int mb, const pooled_grad *pool, int b, int oh, int ow, int OH, int OW, int K, int k, int lanes,
                        vec16 *y) {
    static const ivec16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const int32_t at0 = (int32_t)((((size_t)b * OH + oh) * OW + ow) * K + k);
    for (int wi = 0; wi < ma / 2; wi++) {
        for (int wj = 0; wj < mb / 2; wj++) {
            vec16 *w = y + 2 * wi * mb + 2 * wj;  /* the window's four positions: w[0], w[1], w[mb], w[mb + 1] */
            if (oh / 2 + wi >= pool->PH || ow / 2 + wj >= pool->PW) {
                w[0] = w[1] = w[mb] = w[mb + 1] = (vec16){0};
                continue;
            }
            const size_t from = (((size_t)b * pool->PH + oh / 2 + wi) * pool->PW + ow / 2 + wj) * K + k;
            ivec16 ix, g;
            load_lanes(&ix, pool->argmax + from, lanes);
            load_lanes(&g, pool->dpool + from, lanes);
            for (int e = 0; e < 4; e++) {
                const int r = 2 * wi + e / 2, c = 2 * wj + e % 2;
                const ivec16 kept = g & (ix == at0 + (r * OW + c) * K + lane);
                memcpy(&y[r * mb + c], &kept, sizeof kept);
            }
        }
    }
}

INLINE void output_grad_tiles(int na, int nb, const float *restrict dout, float *restrict dM, ptrdiff_t ld, int OH, int OW,
                              int K, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt, const pooled_grad *pool, float *zeros) {
    const int ma = na - 2, mb = nb - 2;
    for (ptrdiff_t n = 0; n < nt; n++) {
        int b, oh, ow;
        tile_origin(g, t0 + n, &b, &oh, &ow);
        float *q[(MAXN - 2) * (MAXN - 2)];  /* only read: dout's tile, zeros past its edge */
        if (!pool) positions((float *)dout + (size_t)b * OH * OW * K, oh, ow, ma, mb, OH, OW, K, zeros, q);
        float *d = dM + n * K;
        for (int k = 0; k < K; k += LANES) {
            const int lanes = K - k < LANES ? K - k : LANES;
            vec16 y[(MAXN - 2) * (MAXN - 2)];
            if (pool) unpool_tile(ma, mb, pool, b, oh, ow, OH, OW, K, k, lanes, y);
            else for (int e = 0; e < ma * mb; e++) load_lanes(&y[e], q[e] + k, lanes);
            if (lanes == LANES) output_grad_lanes(na, nb, y, d, ld, k, LANES);
            else output_grad_lanes(na, nb, y, d, ld, k, lanes);
        }
    }
}

CLONES void sweep_winograd_output_grad(const float *restrict dout, float *restrict dM, ptrdiff_t ld, int OH, int OW,
                                       int K, sweep_tiles g, ptrdiff_t t0, ptrdiff_t nt,
                                       const float *restrict dpooled, const int32_t *restrict argmax) {
    float *zeros = scratch_alloc((size_t)K, sizeof(float));
    const pooled_grad pool = {dpooled, argmax, OH / 2, OW / 2};
    const pooled_grad *pp = dpooled ? &pool : NULL;
#define OUTPUT_GRAD(NA, NB) output_grad_tiles(NA, NB, dout, dM, ld, OH, OW, K, g, t0, nt, pp, zeros)
    DISPATCH(g.ma + 2, g.mb + 2, OUTPUT_GRAD);
#undef OUTPUT_GRAD
    free(zeros);
}

/* ---- filters: U = G_a g G_bᵀ and dg = G_aᵀ dU G_b, vectorized over 16 (c, k) pairs ----
 * The pairs go in blocks of FBLK vectors: each transformed entry of a block is then FBLK
 * vectors in a row of U (or dU), where one vector at a time stored or loaded a single vector
 * CK floats (8 KB for 32 x 64) from the last, the same cache set every time: 2.2-2.7x faster
 * in a C benchmark of a 32 -> 64 layer's F(8x8) filters (80 -> 31 us, transposed 62 -> 23, the
 * gradient 69 -> 31). */

static const float G2[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
static const float G4[6][3] = {
    {1.0f / 4, 0, 0}, {-1.0f / 6, -1.0f / 6, -1.0f / 6}, {-1.0f / 6, 1.0f / 6, -1.0f / 6},
    {1.0f / 24, 1.0f / 12, 1.0f / 6}, {1.0f / 24, -1.0f / 12, 1.0f / 6}, {0, 0, 1},
};
static const float G6[8][3] = {
    {1, 0, 0}, {-2.0f / 9, -2.0f / 9, -2.0f / 9}, {-2.0f / 9, 2.0f / 9, -2.0f / 9},
    {1.0f / 90, 1.0f / 45, 2.0f / 45}, {1.0f / 90, -1.0f / 45, 2.0f / 45},
    {32.0f / 45, 16.0f / 45, 8.0f / 45}, {32.0f / 45, -16.0f / 45, 8.0f / 45}, {0, 0, 1},
};

static const float G8[10][3] = {
    {16.0f / 9, 0, 0}, {-32.0f / 63, -32.0f / 63, -32.0f / 63}, {-32.0f / 63, 32.0f / 63, -32.0f / 63},
    {8.0f / 2475, 16.0f / 2475, 32.0f / 2475}, {8.0f / 2475, -16.0f / 2475, 32.0f / 2475},
    {-512.0f / 225, -256.0f / 225, -128.0f / 225}, {-512.0f / 225, 256.0f / 225, -128.0f / 225},
    {32768.0f / 17325, 8192.0f / 5775, 2048.0f / 1925}, {32768.0f / 17325, -8192.0f / 5775, 2048.0f / 1925}, {0, 0, 1},
};

static const float (*g_table(int n))[3] { return n == 4 ? G2 : n == 6 ? G4 : n == 8 ? G6 : G8; }

#define FBLK 8

/* A layer's filter taps between its layout w (K, 9, C) and t (9, C, K), (c, k) contiguous, 16
 * filters at a time so that their rows stay in cache: into t (to_w 0), or back into w (to_w 1),
 * added to it when accumulate. */
static void taps_ck(float *restrict t, float *restrict w, int C, int K, int to_w, int accumulate) {
    const size_t CK = (size_t)C * K;
    for (int e = 0; e < 9; e++)
        for (int k0 = 0; k0 < K; k0 += 16) {
            const int k1 = K - k0 < 16 ? K : k0 + 16;
            for (int c = 0; c < C; c++) {
                float *x = t + e * CK + (size_t)c * K;
                if (!to_w) for (int k = k0; k < k1; k++) x[k] = w[((size_t)k * 9 + e) * C + c];
                else if (accumulate) for (int k = k0; k < k1; k++) w[((size_t)k * 9 + e) * C + c] += x[k];
                else for (int k = k0; k < k1; k++) w[((size_t)k * 9 + e) * C + c] = x[k];
            }
        }
}

/* U's entries of the nv vectors from a0 (the last one `lanes` wide) from the taps g (9, CK). */
INLINE void filter_block(int nv, int na, int nb, const float (*Ga)[3], const float (*Gb)[3], const float *restrict g,
                         float *restrict U, size_t CK, size_t a0, int lanes) {
    vec16 r[FBLK][MAXN * 3];  /* G_a g: na x 3 per vector */
    for (int v = 0; v < nv; v++) {
        vec16 x[9];
        for (int e = 0; e < 9; e++) load_lanes(&x[e], g + e * CK + a0 + v * LANES, v == nv - 1 ? lanes : LANES);
        for (int i = 0; i < na; i++)
            for (int j = 0; j < 3; j++) r[v][i * 3 + j] = Ga[i][0] * x[j] + Ga[i][1] * x[3 + j] + Ga[i][2] * x[6 + j];
    }
    for (int i = 0; i < na; i++)  /* (G_a g) G_bᵀ: na x nb */
        for (int j = 0; j < nb; j++) {
            float *o = U + (i * nb + j) * CK + a0;
            const float g0 = Gb[j][0], g1 = Gb[j][1], g2 = Gb[j][2];
            for (int v = 0; v < nv; v++) {
                const vec16 u = r[v][i * 3] * g0 + r[v][i * 3 + 1] * g1 + r[v][i * 3 + 2] * g2;
                store_lanes(o + v * LANES, &u, v == nv - 1 ? lanes : LANES);
            }
        }
}

CLONES void sweep_winograd_filter(const float *restrict w, float *restrict U, int C, int K, int ma, int mb, int transpose) {
    const int na = ma + 2, nb = mb + 2;
    const float (*Ga)[3] = g_table(na), (*Gb)[3] = g_table(nb);
    const size_t CK = (size_t)C * K;
    float *g = scratch_alloc(9 * CK, sizeof(float));  /* (9, C, K) or transposed (9, K, C): the filter taps */
    if (transpose) {
        for (int k = 0; k < K; k++)
            for (int e = 0; e < 9; e++) memcpy(g + e * CK + (size_t)k * C, w + ((size_t)k * 9 + e) * C, (size_t)C * sizeof(float));
    } else {
        taps_ck(g, (float *)w, C, K, 0, 0);
    }
    size_t a0 = 0;
    for (; a0 + FBLK * LANES <= CK; a0 += FBLK * LANES) filter_block(FBLK, na, nb, Ga, Gb, g, U, CK, a0, LANES);
    for (; a0 < CK; a0 += LANES) filter_block(1, na, nb, Ga, Gb, g, U, CK, a0, CK - a0 < LANES ? (int)(CK - a0) : LANES);
    free(g);
}

/* The filter gradient's taps d (9, CK) of the nv vectors from a0 (the last one `lanes` wide)
 * from dU. */
INLINE void filter_grad_block(int nv, int na, int nb, const float (*Ga)[3], const float (*Gb)[3], const float *restrict dU,
                              float *restrict d, size_t CK, size_t a0, int lanes) {
    vec16 r[FBLK][3 * MAXN];  /* G_aᵀ x: 3 x nb per vector */
    for (int j = 0; j < nb; j++) {  /* column j, summed over the rows of x in registers */
        vec16 acc[FBLK][3];
        for (int v = 0; v < nv; v++) acc[v][0] = acc[v][1] = acc[v][2] = (vec16){0};
        for (int e = 0; e < na; e++) {
            const float *x0 = dU + (e * nb + j) * CK + a0;
            const float g0 = Ga[e][0], g1 = Ga[e][1], g2 = Ga[e][2];
            for (int v = 0; v < nv; v++) {
                vec16 x;
                load_lanes(&x, x0 + v * LANES, v == nv - 1 ? lanes : LANES);
                acc[v][0] += g0 * x;
                acc[v][1] += g1 * x;
                acc[v][2] += g2 * x;
            }
        }
        for (int v = 0; v < nv; v++)
            for (int i = 0; i < 3; i++) r[v][i * nb + j] = acc[v][i];
    }
    for (int v = 0; v < nv; v++)
        for (int i = 0; i < 3; i++)  /* (G_aᵀ x) G_b: 3 x 3 */
            for (int j = 0; j < 3; j++) {
                vec16 acc = {0};
                for (int e = 0; e < nb; e++) acc += r[v][i * nb + e] * Gb[e][j];
                store_lanes(d + (i * 3 + j) * CK + a0 + v * LANES, &acc, v == nv - 1 ? lanes : LANES);
            }
}

CLONES void sweep_winograd_filter_grad(const float *restrict dU, float *restrict dw, int C, int K, int ma, int mb, int accumulate) {
    const int na = ma + 2, nb = mb + 2;
    const float (*Ga)[3] = g_table(na), (*Gb)[3] = g_table(nb);
    const size_t CK = (size_t)C * K;
    float *d = scratch_alloc(9 * CK, sizeof(float));  /* (9, C, K): the filter gradient's taps, (c, k) contiguous */
    size_t a0 = 0;
    for (; a0 + FBLK * LANES <= CK; a0 += FBLK * LANES) filter_grad_block(FBLK, na, nb, Ga, Gb, dU, d, CK, a0, LANES);
    for (; a0 < CK; a0 += LANES) filter_grad_block(1, na, nb, Ga, Gb, dU, d, CK, a0, CK - a0 < LANES ? (int)(CK - a0) : LANES);
    taps_ck(d, dw, C, K, 1, accumulate);
    free(d);
}
