import COpenBLAS
import CSweepKernels

/// The arithmetic of a network's matrix products (dense layers, convolutions). Everything else
/// (parameters, optimizer state, activations, gradients between layers, the loss) is fp32 either way.
///
/// Contract: `.fp32` multiplies in single precision (OpenBLAS sgemm). `.bf16` is mixed precision,
/// as PyTorch's CPU autocast and Keras' `mixed_bfloat16`: each product's operands are rounded to
/// bfloat16 (8 significant bits, round to nearest even) and the products are summed in fp32. On a CPU
/// with AVX512-BF16 that runs at twice the fp32 arithmetic rate (`sweep_gemm_bf16`); elsewhere the
/// operands are rounded and multiplied by sgemm: the same rounding, fp32 speed. Results are
/// bit-identical run to run on one machine, not between the two paths. Convolutions on the
/// Winograd and direct paths stay fp32 (see `Conv2D.precision`).
public enum Precision: String, Codable, Sendable, CaseIterable {
    case fp32, bf16
}

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

/// `gemm` in the given precision (see `Precision`).
@inline(__always)
public func gemm(_ precision: Precision, _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int,
                 _ alpha: Float, _ A: UnsafePointer<Float>, _ lda: Int,
                 _ B: UnsafePointer<Float>, _ ldb: Int,
                 _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if precision == .fp32 {
        gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    } else if sweep_gemm_bf16(transA ? 1 : 0, transB ? 1 : 0, Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda),
                               B, Int32(ldb), beta, C, Int32(ldc)) == 0 {
        gemmRoundedBF16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    }
}

/// x rounded to the nearest bfloat16 (ties to even), as an fp32 value.
public func roundedToBF16(_ x: Float) -> Float {
    if x.isNaN { return x }
    let b = x.bitPattern
    return Float(bitPattern: (b &+ 0x7FFF &+ ((b >> 16) & 1)) & 0xFFFF_0000)
}

/// The `.bf16` product without AVX512-BF16: copies of the operands rounded to bfloat16, then sgemm.
func gemmRoundedBF16(_ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int,
                     _ alpha: Float, _ A: UnsafePointer<Float>, _ lda: Int,
                     _ B: UnsafePointer<Float>, _ ldb: Int,
                     _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int) {
    guard M > 0 && N > 0 else { return }
    let aRows = transA ? K : M, aCols = transA ? M : K, bRows = transB ? N : K, bCols = transB ? K : N
    var a = [Float](repeating: 0, count: max(aRows * aCols, 1)), b = [Float](repeating: 0, count: max(bRows * bCols, 1))
    for r in 0..<aRows { for c in 0..<aCols { a[r * aCols + c] = roundedToBF16(A[r * lda + c]) } }
    for r in 0..<bRows { for c in 0..<bCols { b[r * bCols + c] = roundedToBF16(B[r * ldb + c]) } }
    gemm(transA, transB, M, N, K, alpha, a, max(aCols, 1), b, max(bCols, 1), beta, C, ldc)
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
