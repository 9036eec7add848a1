import COpenBLAS
import Foundation
import SweepCore

extension GP {
    /// A GP conditioned on data with fixed hyperparameters: the factor of K + noise·I and α = K⁻¹y,
    /// from which the posterior of the latent function at any query points follows.
    struct Model {
        let x: [Double]        // (N,D) row-major features
        let xT: [Double]       // (D,N) the same, transposed
        let y: [Double]        // (N) standardised losses
        let n: Int
        let params: KernelParams
        let factor: [Double]   // (N,N) column-major lower L
        let alpha: [Double]    // (N)

        /// Nil when K cannot be factorised even with jitter.
        init?(x: [Double], y: [Double], n: Int, params: KernelParams) {
            let s = params.signal
            let xT = GP.transpose(x, rows: n, columns: params.dims)
            var k = GP.crossCovariance(transposed: xT, n: n, x, m: n, params: params)
            for i in 0..<n { k[i * n + i] = s + params.noise }
            guard let (l, _) = Cholesky.factorWithJitter(k, n: n, scale: s) else { return nil }
            var a = y
            Cholesky.solve(l, n: n, &a)
            self.x = x; self.xT = xT; self.y = y; self.n = n; self.params = params; factor = l; alpha = a
        }

        /// Posterior mean and variance of f at q (M,D) row-major: M values each.
        func predict(_ q: [Double], m: Int) -> (mean: [Double], variance: [Double]) {
            guard m > 0 else { return ([], []) }
            var kq = GP.crossCovariance(transposed: xT, n: n, q, m: m, params: params)   // (N,M)
            var mean = [Double](repeating: 0, count: m)
            cblas_dgemv(CblasColMajor, CblasTrans, Int32(n), Int32(m), 1, kq, Int32(n), alpha, 1, 0, &mean, 1)
            Cholesky.solveLower(factor, n: n, &kq, columns: m)                // (N,M): L⁻¹ k(X, q_c)
            let s = params.signal
            var variance = [Double](repeating: 0, count: m)
            kq.withUnsafeBufferPointer { v in
                for c in 0..<m {
                    var acc = 0.0
                    for i in 0..<n { acc += v[c * n + i] * v[c * n + i] }
                    variance[c] = max(s - acc, 1e-12 * s)
                }
            }
            return (mean, variance)
        }
    }

    /// Hyperparameters by maximum a posteriori: L-BFGS from the deterministic default; then, for
    /// each of `restarts` random perturbations of it, a short run that is carried on to full
    /// length only if it overtakes the best so far. Keeps the best end point.
    static func fitKernel(x: [Double], y: [Double], n: Int, d: Int, restarts: Int, rng: inout SweepRandom) -> KernelParams {
        let objective = MarginalLikelihood(x: x, y: y, n: n, d: d)
        let (lower, upper) = KernelParams.bounds(dims: d)
        let start = KernelParams(defaultFor: d).theta
        var best = BoxLBFGS(maxIterations: 20).minimize(start, lower: lower, upper: upper, objective.value)
        for _ in 0..<restarts {
            var theta = start
            for j in 0..<d { theta[j] += 0.7 * rng.nextGaussian() }
            theta[d] += 0.5 * rng.nextGaussian()
            theta[d + 1] = Foundation.log(1e-3) + 2 * rng.nextGaussian()
            var run = BoxLBFGS(maxIterations: 6).minimize(theta, lower: lower, upper: upper, objective.value)
            if run.value < best.value {
                run = BoxLBFGS(maxIterations: 19).minimize(run.x, lower: lower, upper: upper, objective.value)
                best = run
            }
        }
        return best.value.isFinite ? KernelParams(theta: best.x) : KernelParams(defaultFor: d)
    }
}
