/* One instruction set's fp32 GEMM (gemm_f32.c includes this file once per path). Defined by the
 * includer:
 *   NAME(x)  the path's prefix for x        TARGET  its target attribute (or nothing)
 *   VW       lanes per vector               NVMAX   vectors across a B panel (its width: NVMAX·VW)
 *   MR1..MR4 rows of a register block with a panel of 1..4 vectors (unused ones: 1), MRMAX the largest
 *   MADD(acc, a, b)  acc + a·b, fused where the path has FMA
 * (undefined again at the end of this file).
 *
 * Row-major C (M,N) = alpha · op(A) op(B) + beta · C, the arguments of cblas_sgemm:
 *   - op(B) (K,N) is packed, kc rows at a time, into panels of width = NVMAX·VW columns, the
 *     last one as many vectors wide as its columns need (w), zeros past N:
 *     bp[q·kc·width + p·w + j] = op(B)[k0 + p, q·width + j].
 *   - op(A) (M,K) is read where it is, one element broadcast per row and k:
 *     element (i, k) at a[i·rs + k·ks] (A stored (M,K): rs = lda, ks = 1; stored (K,M): rs = 1, ks = lda).
 *   - each panel's C is computed in register blocks of mr rows x w columns over kc.
 * K is cut into blocks of at most KC (the same cut for every call of a shape): a block's panel
 * stays in L2; the first block applies beta, the later ones add to C. M is cut into blocks of
 * about A_BLOCK bytes of A, each passed by every panel while it is in L2. With DIRECT_ROWS rows
 * or fewer (too few to repay packing) a B stored (K,N) is read in place, bs = ldb floats a row. Each C element is one
 * accumulator summed in k order, so the result of a shape never depends on anything but the
 * operands. With SWEEP_GEMV_ROWS rows or fewer, NAME(gemv) instead (below: nothing packed). */

typedef float NAME(vf) __attribute__((vector_size(VW * 4), aligned(4)));

TARGET static inline __attribute__((always_inline)) NAME(vf) NAME(splat)(float x) {
    NAME(vf) v;
    for (int i = 0; i < VW; i++) v[i] = x;
    return v;
}

typedef float NAME(v8) __attribute__((vector_size(32), aligned(4)));

/* r[0..7] (8 floats each) → their transpose, in place. */
TARGET static inline __attribute__((always_inline)) void NAME(transpose8)(NAME(v8) r[8]) {
    NAME(v8) t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {  /* u[i + c]: rows i..i+3 of columns c and c + 4 */
        u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = __builtin_shufflevector(u[c], u[4 + c], 0, 1, 2, 3, 8, 9, 10, 11);
        r[c + 4] = __builtin_shufflevector(u[c], u[4 + c], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/* Columns [j0, j0 + n) of op(B), rows [k0, k0 + kc) → one panel of width w >= n (zeros past n):
 * panel[p·w + j] = op(B)[k0 + p, j0 + j]. */
TARGET static void NAME(pack_panel)(float *panel, int trans, const float *B, int ldb, int j0, int n, int k0, int kc, int w) {
    if (!trans) {  /* B (K,N): row pieces as they are (a loop the compiler vectorizes, not a call per row) */
        for (int p = 0; p < kc; p++) {
            float *d = panel + (size_t)p * w;
            const float *x = B + (size_t)(k0 + p) * ldb + j0;
            for (int j = 0; j < n; j++) d[j] = x[j];
            for (int j = n; j < w; j++) d[j] = 0;
        }
        return;
    }
    /* B (N,K): column j of the panel is row j0 + j of B. Blocks of 8 rows x 8 k are transposed in
     * registers; the rows past the last whole 8 and the k past the last whole 8 one by one. */
    const int n8 = n / 8 * 8, kc8 = kc / 8 * 8;
    for (int p0 = 0; p0 < kc8; p0 += 8) {
        for (int j = 0; j < n8; j += 8) {
            NAME(v8) r[8];
            for (int i = 0; i < 8; i++) memcpy(&r[i], B + (size_t)(j0 + j + i) * ldb + k0 + p0, sizeof r[i]);
            NAME(transpose8)(r);
            for (int i = 0; i < 8; i++) memcpy(panel + (size_t)(p0 + i) * w + j, &r[i], sizeof r[i]);
        }
    }
    for (int j = 0; j < n; j++) {
        const float *x = B + (size_t)(j0 + j) * ldb + k0;
        for (int p = j < n8 ? kc8 : 0; p < kc; p++) panel[(size_t)p * w + j] = x[p];
    }
    if (n < w)
        for (int p = 0; p < kc; p++) memset(panel + (size_t)p * w + n, 0, (size_t)(w - n) * 4);
}

/* C[0..mr, 0..nc) = alpha · (A rows · B panel) + beta · C (C not read when beta is 0), over kc;
 * the panel is nv vectors wide, its rows bs floats apart. Called with constant mr and nv, so acc stays in registers. */
TARGET static inline __attribute__((always_inline)) void NAME(micro)(int nv, int mr, int kc, const float *a, ptrdiff_t rs,
                                                                     ptrdiff_t ks, const float *b, ptrdiff_t bs, float *c,
                                                                     ptrdiff_t ldc, int nc, float alpha, float beta) {
    NAME(vf) acc[MRMAX][NVMAX];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = NAME(splat)(0);
    for (int p = 0; p < kc; p++) {
        const float *bq = b + p * bs;
        NAME(vf) bv[NVMAX];
        for (int v = 0; v < nv; v++) memcpy(&bv[v], bq + VW * v, sizeof bv[v]);
        const float *ap = a + p * ks;
        for (int r = 0; r < mr; r++) {
            const NAME(vf) w = NAME(splat)(ap[r * rs]);
            for (int v = 0; v < nv; v++) acc[r][v] = MADD(acc[r][v], w, bv[v]);
        }
    }
    const NAME(vf) va = NAME(splat)(alpha), vb = NAME(splat)(beta);
    if (nc >= nv * VW) {  /* whole vectors */
        for (int r = 0; r < mr; r++) {
            float *cr = c + r * ldc;
            for (int v = 0; v < nv; v++) {
                NAME(vf) y = va * acc[r][v], old;
                if (beta != 0) { memcpy(&old, cr + VW * v, sizeof old); y = MADD(y, vb, old); }
                memcpy(cr + VW * v, &y, sizeof y);
            }
        }
        return;
    }
    for (int r = 0; r < mr; r++) {  /* the last columns of C: a part of the last vector */
        float *cr = c + r * ldc;
        for (int v = 0; v < nv; v++) {
            const int n = nc - VW * v < VW ? nc - VW * v : VW;
            if (n <= 0) break;
            NAME(vf) y = va * acc[r][v], old = NAME(splat)(0);
            if (beta != 0) { memcpy(&old, cr + VW * v, (size_t)n * 4); y = MADD(y, vb, old); }
            memcpy(cr + VW * v, &y, (size_t)n * 4);
        }
    }
}

/* All row blocks of one panel: MRX rows at a time, then the remaining rows in one call with
 * their count as a constant. Cases of MRX rows or more cannot occur; they name 1 row so that
 * no block taller than MRX is compiled. */
#define NAME_ROWS(NV, MRX)                                                                                            \
    TARGET static void NAME(rows_nv##NV)(int M, int kc, const float *ap, ptrdiff_t rs, ptrdiff_t ks, const float *b,  \
                                         ptrdiff_t bs, float *C, ptrdiff_t ldc, int nc, float alpha, float beta) {   \
        int i = 0;                                                                                                    \
        for (; i + MRX <= M; i += MRX) NAME(micro)(NV, MRX, kc, ap + i * rs, rs, ks, b, bs, C + (size_t)i * ldc, ldc, nc, alpha, beta); \
        const float *a = ap + i * rs;                                                                                 \
        float *c = C + (size_t)i * ldc;                                                                               \
        switch (M - i) {                                                                                              \
        case 11: NAME(micro)(NV, 11 < MRX ? 11 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                \
        case 10: NAME(micro)(NV, 10 < MRX ? 10 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                \
        case 9: NAME(micro)(NV, 9 < MRX ? 9 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                   \
        case 8: NAME(micro)(NV, 8 < MRX ? 8 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                   \
        case 7: NAME(micro)(NV, 7 < MRX ? 7 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                   \
        case 6: NAME(micro)(NV, 6 < MRX ? 6 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                   \
        case 5: NAME(micro)(NV, 5 < MRX ? 5 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                   \
        case 4: NAME(micro)(NV, 4 < MRX ? 4 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                   \
        case 3: NAME(micro)(NV, 3 < MRX ? 3 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                   \
        case 2: NAME(micro)(NV, 2 < MRX ? 2 : 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                   \
        case 1: NAME(micro)(NV, 1, kc, a, rs, ks, b, bs, c, ldc, nc, alpha, beta); break;                                 \
        default: break;                                                                                               \
        }                                                                                                             \
    }
NAME_ROWS(1, MR1)
#if NVMAX >= 2
NAME_ROWS(2, MR2)
#endif
#if NVMAX >= 3
NAME_ROWS(3, MR3)
#endif
#if NVMAX >= 4
NAME_ROWS(4, MR4)
#endif
#undef NAME_ROWS

/* ---- Few rows (M <= SWEEP_GEMV_ROWS): op(B) read where it is, nothing packed ----
 * One-sample inference (M = 1) would otherwise pack (and for B stored (N,K) transpose) all of
 * op(B) to use each element once. GEMV_ACC vector accumulators are kept per register block.
 *   B stored (N,K), C[i, j] = dot(op(A) row i, B row j): jb rows of B at a time, each C element
 *     VW lane sums over k (k, k + VW, ...; the last VW-piece of K zero-padded) added in a fixed
 *     tree (NAME(hsum)); a transposed A is first copied into rows (M·K floats).
 *   B stored (K,N): nv vectors of C's columns at a time, one accumulator per element summed in k
 *     order; a last part vector is computed as the whole vector ending at column N (its columns
 *     already written are computed again, identically, and not stored); fewer than VW columns
 *     one by one.
 * Only the shape decides the blocks, so a shape's results depend only on its operands. */

/* The VW lanes of v summed as a fixed tree: the upper half added to the lower, then the upper
 * half of that, ... down to one lane. */
TARGET static inline __attribute__((always_inline)) float NAME(hsum)(NAME(vf) v) {
#if VW == 16
    const __typeof__(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)) h8 =
        __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#elif VW == 8
    const NAME(vf) h8 = v;
#endif
#if VW >= 8
    const __typeof__(__builtin_shufflevector(h8, h8, 0, 1, 2, 3)) h4 =
        __builtin_shufflevector(h8, h8, 0, 1, 2, 3) + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
#else
    const NAME(vf) h4 = v;
#endif
    const __typeof__(__builtin_shufflevector(h4, h4, 0, 1)) h2 =
        __builtin_shufflevector(h4, h4, 0, 1) + __builtin_shufflevector(h4, h4, 2, 3);
    return h2[0] + h2[1];
}

/* C[0..mr, 0..jb) = alpha · (rows of a, as floats apart) · (rows of b, ldb apart)^T + beta · C over K. */
TARGET static inline __attribute__((always_inline)) void NAME(gemv_nt)(int mr, int jb, int K, const float *a, ptrdiff_t as,
                                                                       const float *b, ptrdiff_t ldb, float *c,
                                                                       ptrdiff_t ldc, float alpha, float beta) {
    NAME(vf) acc[SWEEP_GEMV_ROWS][GEMV_ACC];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < jb; j++) acc[r][j] = NAME(splat)(0);
    int k = 0;
    for (; k + VW <= K; k += VW) {
        NAME(vf) bv[GEMV_ACC];
        for (int j = 0; j < jb; j++) memcpy(&bv[j], b + j * ldb + k, sizeof bv[j]);
        for (int r = 0; r < mr; r++) {
            NAME(vf) av;
            memcpy(&av, a + r * as + k, sizeof av);
            for (int j = 0; j < jb; j++) acc[r][j] = MADD(acc[r][j], av, bv[j]);
        }
    }
    if (k < K) {  /* the last K - k < VW: zeros past K */
        const size_t n = (size_t)(K - k) * 4;
        for (int r = 0; r < mr; r++) {
            NAME(vf) av = NAME(splat)(0);
            memcpy(&av, a + r * as + k, n);
            for (int j = 0; j < jb; j++) {
                NAME(vf) bv = NAME(splat)(0);
                memcpy(&bv, b + j * ldb + k, n);
                acc[r][j] = MADD(acc[r][j], av, bv);
            }
        }
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < jb; j++) {
            const float y = alpha * NAME(hsum)(acc[r][j]);
            c[r * ldc + j] = beta != 0 ? y + beta * c[r * ldc + j] : y;
        }
}

/* C[0..mr, j0 .. j0 + nv·VW) by B stored (K,N); columns below `from` are not stored. */
TARGET static inline __attribute__((always_inline)) void NAME(gemv_nn)(int mr, int nv, int K, const float *a, ptrdiff_t rs,
                                                                       ptrdiff_t ks, const float *b, ptrdiff_t ldb,
                                                                       float *c, ptrdiff_t ldc, int from, float alpha,
                                                                       float beta) {
    NAME(vf) acc[SWEEP_GEMV_ROWS][GEMV_ACC];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = NAME(splat)(0);
    for (int k = 0; k < K; k++) {
        NAME(vf) bv[GEMV_ACC];
        for (int v = 0; v < nv; v++) memcpy(&bv[v], b + k * ldb + VW * v, sizeof bv[v]);
        for (int r = 0; r < mr; r++) {
            const NAME(vf) w = NAME(splat)(a[r * rs + k * ks]);
            for (int v = 0; v < nv; v++) acc[r][v] = MADD(acc[r][v], w, bv[v]);
        }
    }
    const NAME(vf) va = NAME(splat)(alpha), vb = NAME(splat)(beta);
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            float *cv = c + r * ldc + VW * v;
            NAME(vf) y = va * acc[r][v], old;
            if (from == 0) {
                if (beta != 0) { memcpy(&old, cv, sizeof old); y = MADD(y, vb, old); }
                memcpy(cv, &y, sizeof y);
            } else {
                float t[VW];
                memcpy(t, &y, sizeof t);
                for (int l = from; l < VW; l++) cv[l] = beta != 0 ? t[l] + beta * cv[l] : t[l];
            }
        }
}

/* Register blocks of MR rows (constant) over all of C's columns. */
#define NAME_GEMV_ROWS(MR)                                                                                            \
    TARGET static void NAME(gemv_rows##MR)(int transB, int N, int K, const float *a, ptrdiff_t rs, ptrdiff_t ks,      \
                                           const float *B, int ldb, float beta, float *C, int ldc, float alpha) {     \
        enum { NB = GEMV_ACC / MR < GEMV_MAXB ? GEMV_ACC / MR : GEMV_MAXB };                                          \
        if (transB) {                                                                                                 \
            int j = 0;                                                                                                \
            for (; j + NB <= N; j += NB) NAME(gemv_nt)(MR, NB, K, a, rs, B + (size_t)j * ldb, ldb, C + j, ldc, alpha, beta); \
            for (; j < N; j++) NAME(gemv_nt)(MR, 1, K, a, rs, B + (size_t)j * ldb, ldb, C + j, ldc, alpha, beta);   \
            return;                                                                                                   \
        }                                                                                                             \
        if (N < VW) {  /* fewer columns than a vector: each element in k order, B read row by row (not vectorized:  \
                        * over k it would gather) */                                                                  \
            float s[MR][VW];                                                                                          \
            for (int r = 0; r < MR; r++)                                                                              \
                for (int j = 0; j < N; j++) s[r][j] = 0;                                                              \
            for (int k = 0; k < K; k++)                                                                               \
                for (int r = 0; r < MR; r++) {                                                                        \
                    const float w = a[r * rs + k * ks];                                                               \
                    _Pragma("clang loop vectorize(disable)") for (int j = 0; j < N; j++) s[r][j] = MADD(s[r][j], w, B[(size_t)k * ldb + j]);                   \
                }                                                                                                     \
            for (int r = 0; r < MR; r++)                                                                              \
                for (int j = 0; j < N; j++) {                                                                         \
                    const float y = alpha * s[r][j];                                                                  \
                    C[r * ldc + j] = beta != 0 ? y + beta * C[r * ldc + j] : y;                                       \
                }                                                                                                     \
            return;                                                                                                   \
        }                                                                                                             \
        int j = 0;                                                                                                    \
        for (; j + NB * VW <= N; j += NB * VW) NAME(gemv_nn)(MR, NB, K, a, rs, ks, B + j, ldb, C + j, ldc, 0, alpha, beta); \
        for (; j + VW <= N; j += VW) NAME(gemv_nn)(MR, 1, K, a, rs, ks, B + j, ldb, C + j, ldc, 0, alpha, beta);     \
        if (j < N) NAME(gemv_nn)(MR, 1, K, a, rs, ks, B + N - VW, ldb, C + N - VW, ldc, VW - (N - j), alpha, beta);  \
    }
NAME_GEMV_ROWS(1)
NAME_GEMV_ROWS(2)
NAME_GEMV_ROWS(3)
NAME_GEMV_ROWS(4)
#undef NAME_GEMV_ROWS

/* op(A) rows, K floats each, for a transposed A read by dot products; grow-only, one per thread. */
static _Thread_local float *NAME(rows);
static _Thread_local size_t NAME(rows_floats);

TARGET static void NAME(gemv)(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                              const float *B, int ldb, float beta, float *C, int ldc) {
    ptrdiff_t rs = transA ? 1 : lda, ks = transA ? lda : 1;
    if (transB && transA) {  /* dot products want each row of op(A) contiguous */
        const size_t need = (size_t)M * K;
        if (need > NAME(rows_floats)) {
            free(NAME(rows));
            NAME(rows) = scratch_aligned(need);
            NAME(rows_floats) = need;
        }
        for (int i = 0; i < M; i++)
            for (int k = 0; k < K; k++) NAME(rows)[(size_t)i * K + k] = A[(size_t)k * lda + i];
        A = NAME(rows);
        rs = K;
        ks = 1;
    }
    switch (M) {
    case 1: NAME(gemv_rows1)(transB, N, K, A, rs, ks, B, ldb, beta, C, ldc, alpha); break;
    case 2: NAME(gemv_rows2)(transB, N, K, A, rs, ks, B, ldb, beta, C, ldc, alpha); break;
    case 3: NAME(gemv_rows3)(transB, N, K, A, rs, ks, B, ldb, beta, C, ldc, alpha); break;
    default: NAME(gemv_rows4)(transB, N, K, A, rs, ks, B, ldb, beta, C, ldc, alpha); break;
    }
}

/* Scratch: the packed op(B) of one K block, 64-byte aligned (a vector load never splits a cache
 * line), grow-only, one per thread. */
static _Thread_local float *NAME(pack);
static _Thread_local size_t NAME(pack_floats);

TARGET static void NAME(gemm)(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= SWEEP_GEMV_ROWS) { NAME(gemv)(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); return; }
    const int width = NVMAX * VW, panels = (N + width - 1) / width;
    const int blocks = (K + KC - 1) / KC, kc0 = (K + blocks - 1) / blocks;
    /* rows of A per block: MC · kc0 floats (~A_BLOCK bytes) stay in L2 while every panel passes */
    const int mc = kc0 * 4 * 24 >= A_BLOCK ? 24 : A_BLOCK / (kc0 * 4) / 24 * 24;
    const size_t need = (size_t)panels * kc0 * width;
    if (need > NAME(pack_floats)) {
        free(NAME(pack));
        NAME(pack) = scratch_aligned(need);
        NAME(pack_floats) = need;
    }
    float *bp = NAME(pack);
    const ptrdiff_t rs = transA ? 1 : lda, ks = transA ? lda : 1;
    for (int k0 = 0; k0 < K; k0 += kc0) {
        const int kc = K - k0 < kc0 ? K - k0 : kc0;
        const float bet = k0 == 0 ? beta : 1;
        /* every panel is width columns wide but the last, as many vectors as its columns need.
         * With one block of rows, each panel is packed just before its rows run (still in L1);
         * with few rows, a B stored (K,N) is read where it is, but for a last panel of part vectors. */
        const int one = M <= mc, direct = !transB && M <= DIRECT_ROWS;
        for (int q = 0; q < panels && !one; q++) {
            const int j0 = q * width, n = N - j0 < width ? N - j0 : width;
            NAME(pack_panel)(bp + (size_t)q * kc * width, transB, B, ldb, j0, n, k0, kc, (n + VW - 1) / VW * VW);
        }
        for (int i0 = 0; i0 < M; i0 += mc) {
            const int m = M - i0 < mc ? M - i0 : mc;
            const float *a = A + k0 * ks + i0 * rs;
            float *c = C + (size_t)i0 * ldc;
            for (int q = 0; q < panels; q++) {
                const int j0 = q * width, nc = N - j0 < width ? N - j0 : width, w = (nc + VW - 1) / VW * VW;
                const float *b = one ? bp : bp + (size_t)q * kc * width;
                ptrdiff_t bs = w;
                if (direct && nc == w) { b = B + (size_t)k0 * ldb + j0; bs = ldb; }
                else if (one) NAME(pack_panel)(bp, transB, B, ldb, j0, nc, k0, kc, w);
                switch (w / VW) {
#if NVMAX >= 4
                case 4: NAME(rows_nv4)(m, kc, a, rs, ks, b, bs, c + j0, ldc, nc, alpha, bet); break;
#endif
#if NVMAX >= 3
                case 3: NAME(rows_nv3)(m, kc, a, rs, ks, b, bs, c + j0, ldc, nc, alpha, bet); break;
#endif
#if NVMAX >= 2
                case 2: NAME(rows_nv2)(m, kc, a, rs, ks, b, bs, c + j0, ldc, nc, alpha, bet); break;
#endif
                default: NAME(rows_nv1)(m, kc, a, rs, ks, b, bs, c + j0, ldc, nc, alpha, bet); break;
                }
            }
        }
    }
}

#undef NAME
#undef TARGET
#undef VW
#undef NVMAX
#undef MR1
#undef MR2
#undef MR3
#undef MR4
#undef MRMAX
#undef MADD
#undef GEMV_ACC
#undef GEMV_MAXB
