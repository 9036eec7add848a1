import COpenBLAS
import Foundation

extension GP {
    /// The negative log posterior of the kernel hyperparameters, −(log p(y | X, θ) + log p(θ)),
    /// with its analytic gradient:
    ///   log p(y | X, θ) = −½ yᵀα − Σ log L_ii − N/2 log 2π,   α = K⁻¹y,  K = L Lᵀ,
    ///   ∂/∂θ_j = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ_j).
    /// One Cholesky factorisation and one inverse per evaluation; the per-pair work is laid out so
    /// the two contractions over D are BLAS calls. A reference type only to reuse its buffers
    /// across the optimiser's evaluations: make one per fit, do not share it.
    final class MarginalLikelihood {
        let n: Int, d: Int
        private let y: [Double]
        private let pairs: Int
        private var squaredDiffs: [Double]   // (pairs, D) column-major: (x_id − x_jd)² for i > j, j-major
        private var r2: [Double]             // (pairs)
        private var correlation: [Double]    // (pairs): Matérn correlation of each pair
        private var slope: [Double]          // (pairs): 5/3 (1 + √5 r) e^(−√5 r); ∂k/∂log ℓ_d = s·slope·q_d
        private var weighted: [Double]       // (pairs): W_ij · slope
        private var matrix: [Double]         // (N,N): K, then L, then K⁻¹
        private var alpha: [Double]          // (N)
        private(set) var evaluations = 0

        /// x (N,D) row-major features, y (N) standardised losses.
        init(x: [Double], y: [Double], n: Int, d: Int) {
            self.n = n; self.d = d; self.y = y
            pairs = n * (n - 1) / 2
            squaredDiffs = [Double](repeating: 0, count: max(pairs * d, 1))
            r2 = [Double](repeating: 0, count: max(pairs, 1))
            correlation = r2; slope = r2; weighted = r2
            matrix = [Double](repeating: 0, count: n * n)
            alpha = y
            var p = 0
            for j in 0..<n {
                for i in (j + 1)..<n {
                    for k in 0..<d { let t = x[i * d + k] - x[j * d + k]; squaredDiffs[k * pairs + p] = t * t }
                    p += 1
                }
            }
        }

        /// −log posterior at θ, and its gradient in `gradient` (D + 2 values); +∞ when K is not
        /// positive definite (the line search then steps back).
        func value(_ theta: [Double], gradient: inout [Double]) -> Double {
            evaluations += 1
            let params = KernelParams(theta: theta)
            let n = n, d = d, pairs = pairs, s = params.signal, noise = params.noise
            let w = params.inverseSquaredLengthscales

            // r² of every pair (one matrix-vector product), then K's lower triangle.
            if pairs > 0 {
                cblas_dgemv(CblasColMajor, CblasNoTrans, Int32(pairs), Int32(d), 1, squaredDiffs, Int32(pairs), w, 1, 0, &r2, 1)
            }
            r2.withUnsafeBufferPointer { r2 in
                correlation.withUnsafeMutableBufferPointer { corr in
                    slope.withUnsafeMutableBufferPointer { slope in
                        for p in 0..<pairs {
                            let a = (5 * r2[p]).squareRoot(), e = Foundation.exp(-a)
                            corr[p] = (1 + a + a * a / 3) * e
                            slope[p] = 5.0 / 3.0 * (1 + a) * e
                        }
                    }
                }
            }
            correlation.withUnsafeBufferPointer { corr in
                matrix.withUnsafeMutableBufferPointer { K in
                    var p = 0
                    for j in 0..<n {
                        K[j * n + j] = s + noise
                        for i in (j + 1)..<n { K[j * n + i] = s * corr[p]; p += 1 }
                    }
                }
            }
            guard Cholesky.factor(&matrix, n: n) else { return .infinity }
            var logDet = 0.0
            for i in 0..<n { logDet += 2 * Foundation.log(matrix[i * n + i]) }
            for i in 0..<n { alpha[i] = y[i] }
            Cholesky.solve(matrix, n: n, &alpha)
            var fit = 0.0
            for i in 0..<n { fit += y[i] * alpha[i] }
            guard Cholesky.invert(&matrix, n: n) else { return .infinity }

            // W = ααᵀ − K⁻¹ contracted with each ∂K/∂θ (pairs i > j count twice: ½ · 2 = 1).
            var traceW = 0.0, gSignal = 0.0
            alpha.withUnsafeBufferPointer { alpha in
                matrix.withUnsafeBufferPointer { Kinv in
                    correlation.withUnsafeBufferPointer { corr in
                        slope.withUnsafeBufferPointer { slope in
                            weighted.withUnsafeMutableBufferPointer { weighted in
                                var p = 0
                                for j in 0..<n {
                                    let aj = alpha[j]
                                    traceW += aj * aj - Kinv[j * n + j]
                                    for i in (j + 1)..<n {
                                        let wij = alpha[i] * aj - Kinv[j * n + i]
                                        gSignal += wij * corr[p]
                                        weighted[p] = wij * slope[p]
                                        p += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // Σ_pairs W_ij slope_ij q_ijd for every d: one transposed matrix-vector product.
            var gLength = [Double](repeating: 0, count: d)
            if pairs > 0 {
                cblas_dgemv(CblasColMajor, CblasTrans, Int32(pairs), Int32(d), 1, squaredDiffs, Int32(pairs), weighted, 1, 0, &gLength, 1)
            }
            for k in 0..<d { gradient[k] = s * w[k] * gLength[k] }
            gradient[d] = s * (gSignal + 0.5 * traceW)
            gradient[d + 1] = 0.5 * traceW * Foundation.exp(theta[d + 1])

            let logLikelihood = -0.5 * fit - 0.5 * logDet - 0.5 * Double(n) * Foundation.log(2 * Double.pi)
            let logPrior = params.logPrior(gradient: &gradient)
            for j in 0..<(d + 2) { gradient[j] = -gradient[j] }
            return -(logLikelihood + logPrior)
        }
    }
}
