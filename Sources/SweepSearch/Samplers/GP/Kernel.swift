import Foundation

extension GP {
    /// The hyperparameters of the Matérn-5/2 ARD kernel plus observation noise,
    ///   k(x, x') = s (1 + √5 r + 5/3 r²) e^(−√5 r),   r² = Σ_d (x_d − x'_d)² / ℓ_d²,
    /// optimised as θ = [log ℓ_1 … log ℓ_D, log s, log(noise − minNoise)] (D + 2 values).
    struct KernelParams: Equatable {
        /// The noise floor: keeps K well conditioned when the objective is deterministic.
        static let minNoise = 1e-6

        var theta: [Double]
        var dims: Int { theta.count - 2 }

        init(theta: [Double]) { self.theta = theta }

        /// The deterministic warm start: length scales growing with √D (distances in the box do),
        /// unit signal (y is standardised), little noise.
        init(defaultFor dims: Int) {
            let ell = 0.5 * Double(max(dims, 1)).squareRoot()
            theta = [Double](repeating: Foundation.log(ell), count: dims) + [0, Foundation.log(1e-3)]
        }

        func lengthscale(_ d: Int) -> Double { Foundation.exp(theta[d]) }
        var signal: Double { Foundation.exp(theta[dims]) }
        var noise: Double { Self.minNoise + Foundation.exp(theta[dims + 1]) }
        /// 1/ℓ_d², the weights of r².
        var inverseSquaredLengthscales: [Double] { (0..<dims).map { Foundation.exp(-2 * theta[$0]) } }

        /// Box bounds of θ: wide, the priors do the real work.
        static func bounds(dims: Int) -> (lower: [Double], upper: [Double]) {
            let lower = [Double](repeating: Foundation.log(5e-3), count: dims) + [Foundation.log(1e-3), -23]
            let upper = [Double](repeating: Foundation.log(50), count: dims) + [Foundation.log(50), 0.7]
            return (lower, upper)
        }

        /// The log prior of θ and its gradient (added into `gradient`). Weak priors as Optuna's
        /// GP: on each 1/ℓ² ∝ exp(−0.1 ℓ² − 0.1/ℓ²), s ~ Gamma(2, 1), noise ~ Gamma(1.1, 30).
        func logPrior(gradient: inout [Double]) -> Double {
            var lp = 0.0
            for d in 0..<dims {
                let l2 = Foundation.exp(2 * theta[d])
                lp -= 0.1 * l2 + 0.1 / l2
                gradient[d] += -0.2 * l2 + 0.2 / l2
            }
            let s = signal
            lp += Foundation.log(s) - s
            gradient[dims] += 1 - s
            let e = Foundation.exp(theta[dims + 1]), nu = Self.minNoise + e
            lp += 0.1 * Foundation.log(nu) - 30 * nu
            gradient[dims + 1] += (0.1 / nu - 30) * e
            return lp
        }
    }

    /// (1 + √5 r + 5/3 r²) e^(−√5 r): the Matérn-5/2 correlation at distance r.
    @inline(__always)
    static func matern52(r: Double) -> Double {
        let a = 5.0.squareRoot() * r
        return (1 + a + a * a / 3) * Foundation.exp(-a)
    }

    /// Matérn-5/2 covariances in place: r2 holds squared scaled distances, becomes s·k(r).
    static func matern52InPlace(_ r2: UnsafeMutableBufferPointer<Double>, signal s: Double) {
        for i in r2.indices {
            let a = (5 * max(r2[i], 0)).squareRoot()
            r2[i] = s * (1 + a + a * a / 3) * Foundation.exp(-a)
        }
    }

    /// Cross-covariances: out (N,M) column-major with out[i + c·N] = k(x_i, q_c), for xT (D,N)
    /// (the training features, transposed so each dimension is contiguous) and q (M,D) row-major.
    static func crossCovariance(transposed xT: [Double], n: Int, _ q: [Double], m: Int, params: KernelParams) -> [Double] {
        let d = params.dims
        let w = params.inverseSquaredLengthscales
        var out = [Double](repeating: 0, count: n * m)
        xT.withUnsafeBufferPointer { xT in q.withUnsafeBufferPointer { q in
            out.withUnsafeMutableBufferPointer { out in
                for c in 0..<m {
                    let col = UnsafeMutableBufferPointer(rebasing: out[(c * n)..<((c + 1) * n)])
                    for k in 0..<d {
                        let qk = q[c * d + k], wk = w[k], row = k * n
                        for i in 0..<n { let t = xT[row + i] - qk; col[i] += t * t * wk }
                    }
                }
                matern52InPlace(out, signal: params.signal)
            }
        } }
        return out
    }

    /// x (N,D) row-major → (D,N) row-major.
    static func transpose(_ x: [Double], rows n: Int, columns d: Int) -> [Double] {
        var t = [Double](repeating: 0, count: x.count)
        for i in 0..<n { for k in 0..<d { t[k * n + i] = x[i * d + k] } }
        return t
    }
}
