import Foundation
import SweepCore

/// A Parzen (kernel density) estimator over a search space in the unit box, multivariate: each
/// component is one observation, a product of per-parameter kernels (a truncated normal on
/// [0, 1] for numeric parameters, a smoothed one-hot for categorical ones). Where an observation
/// lacks a parameter (inactive for it), its kernel for that parameter is the prior, which
/// marginalizes the parameter out; so conditional spaces need no special grouping.
/// Component 0 is the prior itself (uniform-ish over the box).
struct ParzenEstimator {
    let dims: Int
    /// Per component: log weight (normalized).
    var logWeights: [Double] = []
    /// Numeric kernels, component-major: mean, 1/(2σ²), and log normalizer (−log σ√(2π)Z).
    var mean: [Double] = []
    var inv2s2: [Double] = []
    var logNorm: [Double] = []
    var sigma: [Double] = []
    /// Whether component k has a value for dimension d (component-major).
    var present: [Bool] = []
    /// Categorical kernels: for a categorical dim d, log probabilities (component-major, then choice).
    var catLogP: [[Double]] = []   // indexed by dim; flat [component * choices + c]
    let isCat: [Bool]
    let choices: [Int]
    let count: Int

    static let priorWeight = 1.0

    /// `obs[k][d]`: unit value (numeric) or category index, nil where inactive.
    init(obs: [[Double?]], weights: [Double], kinds: [Distribution]) {
        dims = kinds.count
        isCat = kinds.map(\.isCategorical)
        choices = kinds.map { if case .categorical(let c) = $0 { return c.count } else { return 0 } }
        count = obs.count + 1
        let n = Double(obs.count)
        // Scott-like bandwidth shrinking with the number of observations, as Optuna's multivariate TPE.
        let numericDims = max(isCat.filter { !$0 }.count, 1)
        let bw = 0.2 * pow(max(n, 1), -1.0 / Double(numericDims + 4))
        let minBw = 1.0 / min(100, 1 + n)
        let s = max(bw, minBw)
        var w = [ParzenEstimator.priorWeight] + weights
        let total = w.reduce(0, +)
        w = w.map { $0 / total }
        logWeights = w.map { Foundation.log($0) }
        mean = [Double](repeating: 0.5, count: count * dims)
        sigma = [Double](repeating: 1, count: count * dims)
        present = [Bool](repeating: false, count: count * dims)
        catLogP = Array(repeating: [], count: dims)
        for d in 0..<dims where isCat[d] {
            let m = choices[d]
            var table = [Double](repeating: -Foundation.log(Double(m)), count: count * m)
            for (k, o) in obs.enumerated() {
                guard let x = o[d] else { continue }
                let c = Int(x)
                // Optuna: prior_weight / n_obs spread over all choices, +1 at the observed one.
                let base = ParzenEstimator.priorWeight / max(n, 1)
                let denom = base * Double(m) + 1
                for j in 0..<m { table[(k + 1) * m + j] = Foundation.log((base + (j == c ? 1 : 0)) / denom) }
            }
            catLogP[d] = table
        }
        for (k, o) in obs.enumerated() {
            for d in 0..<dims where !isCat[d] {
                guard let x = o[d] else { continue }
                mean[(k + 1) * dims + d] = x
                sigma[(k + 1) * dims + d] = s
                present[(k + 1) * dims + d] = true
            }
        }
        inv2s2 = sigma.map { 1 / (2 * $0 * $0) }
        logNorm = (0..<(count * dims)).map { i in
            let mu = mean[i], sg = sigma[i]
            let z = Self.phi((1 - mu) / sg) - Self.phi((0 - mu) / sg)
            return -Foundation.log(sg * (2 * Double.pi).squareRoot() * max(z, 1e-300))
        }
        for k in 0..<count { for d in 0..<dims where isCat[d] { present[k * dims + d] = k > 0 && obs[k - 1][d] != nil } }
    }

    @inline(__always) static func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Log density of a point (unit values / category indices; nil = inactive, left out).
    func logDensity(_ x: [Double?], scratch: inout [Double]) -> Double {
        if scratch.count < count { scratch = [Double](repeating: 0, count: count) }
        var best = -Double.infinity
        for k in 0..<count {
            var s = logWeights[k]
            let base = k * dims
            for d in 0..<dims {
                guard let v = x[d] else { continue }
                if isCat[d] {
                    s += catLogP[d][k * choices[d] + Int(v)]
                } else {
                    let diff = v - mean[base + d]
                    s += logNorm[base + d] - diff * diff * inv2s2[base + d]
                }
            }
            scratch[k] = s
            if s > best { best = s }
        }
        var sum = 0.0
        for k in 0..<count { sum += Foundation.exp(scratch[k] - best) }
        return best + Foundation.log(sum)
    }

    /// Picks a component by weight.
    func pickComponent(_ rng: inout SweepRandom) -> Int {
        let u = rng.nextDouble()
        var acc = 0.0
        for k in 0..<count {
            acc += Foundation.exp(logWeights[k])
            if u < acc { return k }
        }
        return count - 1
    }

    /// Samples dimension d from component k (a truncated normal on [0,1], or a category).
    func sample(_ d: Int, component k: Int, _ rng: inout SweepRandom) -> Double {
        if isCat[d] {
            let m = choices[d]
            let u = rng.nextDouble()
            var acc = 0.0
            for j in 0..<m {
                acc += Foundation.exp(catLogP[d][k * m + j])
                if u < acc { return Double(j) }
            }
            return Double(m - 1)
        }
        let i = k * dims + d
        let mu = mean[i], sg = sigma[i]
        // Inverse-CDF sampling of the truncated normal.
        let lo = Self.phi((0 - mu) / sg), hi = Self.phi((1 - mu) / sg)
        let p = lo + rng.nextDouble() * (hi - lo)
        let x = mu + sg * Self.inverseNormalCDF(min(max(p, 1e-16), 1 - 1e-16))
        return min(max(x, 0), 1)
    }

    /// Acklam's rational approximation refined by one Halley step (|error| < 1e-12).
    static func inverseNormalCDF(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        var x: Double
        if p < 0.02425 {
            let q = (-2 * Foundation.log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p > 1 - 0.02425 {
            let q = (-2 * Foundation.log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        let e = phi(x) - p
        let u = e * (2 * Double.pi).squareRoot() * Foundation.exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }
}
