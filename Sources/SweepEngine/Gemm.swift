import COpenBLAS

/// Row-major C = alpha * op(A) * op(B) + beta * C, with op(A) (M,K), op(B) (K,N), C (M,N).
/// `transA`: A is stored (K,M); `transB`: B is stored (N,K). One BLAS call: the fast path.
@inline(__always)
public func gemm(_ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int,
                 _ alpha: Float, _ A: UnsafePointer<Float>, _ lda: Int,
                 _ B: UnsafePointer<Float>, _ ldb: Int,
                 _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}

/// The naive reference for `gemm`, same arguments: kept beside the fast path and used by the
/// tests to check every BLAS call the layers make.
public func gemmNaive(_ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int,
                      _ alpha: Float, _ A: UnsafePointer<Float>, _ lda: Int,
                      _ B: UnsafePointer<Float>, _ ldb: Int,
                      _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int) {
    for i in 0..<M {
        for j in 0..<N {
            var acc: Double = 0
            for k in 0..<K {
                let a = transA ? A[k * lda + i] : A[i * lda + k]
                let b = transB ? B[j * ldb + k] : B[k * ldb + j]
                acc += Double(a) * Double(b)
            }
            let prior = beta == 0 ? 0 : beta * C[i * ldc + j]
            C[i * ldc + j] = alpha * Float(acc) + prior
        }
    }
}

/// Thread and floating-point settings for a training thread.
public enum ComputeSettings {
    /// One BLAS thread by default: trials run in parallel as processes, and results must be
    /// bit-identical for the same seed and thread count.
    public static func configure(blasThreads: Int = 1) {
        openblas_set_num_threads(Int32(blasThreads))
        sweep_enable_ftz_daz()
    }
}
