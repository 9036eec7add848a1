import COpenBLAS

extension GP {
    /// The LAPACK and BLAS calls of the GP. Matrices are column-major; a symmetric matrix is read
    /// from its lower triangle only, and a factor L is lower-triangular with A = L Lᵀ. The
    /// `_work` entry points skip LAPACKE's NaN scan of every input (the callers' inputs are finite).
    enum Cholesky {
        private static let lower = Int8(UInt8(ascii: "L"))

        /// a (N,N) symmetric → its factor L, in place. False when `a` is not positive definite.
        static func factor(_ a: inout [Double], n: Int) -> Bool {
            LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, lower, Int32(n), &a, Int32(n)) == 0
        }

        /// b (N, nrhs) → A⁻¹ b, given L (N,N) of A.
        static func solve(_ l: [Double], n: Int, _ b: inout [Double], nrhs: Int = 1) {
            _ = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, lower, Int32(n), Int32(nrhs), l, Int32(n), &b, Int32(n))
        }

        /// L (N,N) of A → the lower triangle of A⁻¹, in place (the upper triangle is left as is).
        static func invert(_ l: inout [Double], n: Int) -> Bool {
            LAPACKE_dpotri_work(LAPACK_COL_MAJOR, lower, Int32(n), &l, Int32(n)) == 0
        }

        /// b (N,M) → L⁻¹ b, in place, given L (N,N): M triangular solves in one BLAS call.
        static func solveLower(_ l: [Double], n: Int, _ b: inout [Double], columns m: Int) {
            cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
                        Int32(n), Int32(m), 1, l, Int32(n), &b, Int32(n))
        }

        /// The factor of a (N,N) with the smallest diagonal jitter (none, then 1e-9 · scale up
        /// to 1e-3 · scale, tenfold each time) that makes it positive definite; nil if none does.
        static func factorWithJitter(_ a: [Double], n: Int, scale: Double) -> (factor: [Double], jitter: Double)? {
            var jitter = 0.0
            while true {
                var l = a
                if jitter > 0 { for i in 0..<n { l[i * n + i] += jitter } }
                if factor(&l, n: n) { return (l, jitter) }
                jitter = jitter == 0 ? 1e-9 * scale : jitter * 10
                if jitter > 1e-3 * scale { return nil }
            }
        }
    }
}
