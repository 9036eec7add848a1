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
    /// Numeric kernels, component-major (`sample`): mean and σ.
    var mean: [Double] = []
    var sigma: [Double] = []
    /// The same kernels dimension-major (`logDensity`, contiguous over components): mean, 1/(2σ²)
    /// and log normalizer (−log σ√(2π)Z); zeros for categorical dimensions.
    var meanT: [Double] = []
    var inv2s2T: [Double] = []
    var logNormT: [Double] = []
    /// Whether component k has a value for dimension d (component-major).
    var present: [Bool] = []
    /// Categorical kernels: for a categorical dim d, log probabilities (component-major, then choice).
    var catLogP: [[Double]] = []   // indexed by dim; flat [component * choices + c]
    let isCat: [Bool]
    let choices: [Int]
    let count: Int

    /// Weight of the prior component relative to an observation's (Optuna's: 1).
    static let priorWeight = 1.0

    /// `obs[k * dims + d]`: unit value (numeric) or category index of observation k, NaN where
    /// inactive; `weights` has one entry per observation.
    /// `minBandwidthScale` scales the narrowest kernel allowed (1: Optuna's magic clip).
    init(obs: [Double], weights: [Double], kinds: [Distribution], minBandwidthScale: Double = 1) {
        dims = kinds.count
        isCat = kinds.map(\.isCategorical)
        choices = kinds.map { if case .categorical(let c) = $0 { return c.count } else { return 0 } }
        let nObs = weights.count
        precondition(obs.count == nObs * dims, "ParzenEstimator: \(obs.count) values for \(nObs) observations of \(dims)")
        count = nObs + 1
        let n = Double(nObs)
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
            // Optuna: prior_weight / n_obs spread over all choices, +1 at the observed one.
            let base = ParzenEstimator.priorWeight / max(n, 1)
            let denom = base * Double(m) + 1
            let other = Foundation.log((base + 0) / denom), observed = Foundation.log((base + 1) / denom)
            for k in 0..<nObs {
                let x = obs[k * dims + d]
                guard !x.isNaN else { continue }
                let c = Int(x)
                for j in 0..<m { table[(k + 1) * m + j] = j == c ? observed : other }
                present[(k + 1) * dims + d] = true
            }
            catLogP[d] = table
        }
        // Bandwidths as Optuna's TPE: each kernel is as wide as the larger gap to its neighbours
        // (the box's ends count as neighbours, except for the outermost kernels), clipped to
        // [1 / min(100, kernels + 1), 1] of the range ("magic clip").
        var ks: [Int] = [], keys: [UInt64] = []
        ks.reserveCapacity(nObs); keys.reserveCapacity(nObs)
        for d in 0..<dims where !isCat[d] {
            ks.removeAll(keepingCapacity: true)
            for k in 0..<nObs where !obs[k * dims + d].isNaN { ks.append(k) }
            guard !ks.isEmpty else { continue }
            let m = ks.count
            let order = Self.ascendingOrder(of: ks.map { obs[$0 * dims + d] }, keys: &keys)
            var padded = [Double](repeating: 0, count: m + 2)
            for i in 0..<m { padded[i + 1] = obs[ks[order[i]] * dims + d] }
            padded[m + 1] = 1
            var sig = [Double](repeating: 0, count: m)
            for i in 0..<m {
                let left: Double = padded[i + 1] - padded[i]
                let right: Double = padded[i + 2] - padded[i + 1]
                sig[i] = max(left, right)
            }
            if m >= 2 {
                sig[0] = padded[2] - padded[1]
                sig[m - 1] = padded[m] - padded[m - 1]
            }
            let kernels = Double(m + 1)
            let minSigma: Double = minBandwidthScale / min(100.0, 1.0 + kernels)
            for i in 0..<m {
                let k = ks[order[i]]
                let idx = (k + 1) * dims + d
                mean[idx] = padded[i + 1]
                sigma[idx] = min(max(sig[i], minSigma), 1)
                present[idx] = true
            }
        }
        // Dimension-major for the scoring loop; categorical dimensions are scored from `catLogP`.
        meanT = [Double](repeating: 0, count: count * dims)
        inv2s2T = [Double](repeating: 0, count: count * dims)
        logNormT = [Double](repeating: 0, count: count * dims)
        for d in 0..<dims where !isCat[d] {
            // Kernels of one width away from both ends (most of them, once the widths reach their
            // floor) share one normalizer: its logarithm is taken once per width.
            var lastSigma = Double.nan, lastLog = 0.0
            for k in 0..<count {
                let mu = mean[k * dims + d], sg = sigma[k * dims + d]
                meanT[d * count + k] = mu
                inv2s2T[d * count + k] = 1 / (2 * sg * sg)
                // The truncation mass is 1 to double precision when both ends are > 9σ away.
                if mu > 9 * sg && 1 - mu > 9 * sg {
                    if sg != lastSigma { lastSigma = sg; lastLog = -Foundation.log(sg * (2 * Double.pi).squareRoot() * 1) }
                    logNormT[d * count + k] = lastLog
                } else {
                    let z = Self.phi((1 - mu) / sg) - Self.phi((0 - mu) / sg)
                    logNormT[d * count + k] = -Foundation.log(sg * (2 * Double.pi).squareRoot() * max(z, 1e-300))
                }
            }
        }
    }

    /// The positions of `values` (all in [0, 1]) in ascending order, ties in index order. A
    /// non-negative double's bit pattern orders like its value, so each value becomes one integer
    /// key: its bits with the low bits replaced by the index (dropping at most 2⁻³² of relative
    /// precision, only from the order of values that close, never from the values themselves).
    /// Sorting plain integers is several times faster than sorting indices with a closure.
    static func ascendingOrder(of values: [Double], keys: inout [UInt64]) -> [Int] {
        let m = values.count
        let shift = UInt64(max(Int.bitWidth - (m - 1).leadingZeroBitCount, 1))
        guard shift <= 20 else {
            return (0..<m).sorted { values[$0] != values[$1] ? values[$0] < values[$1] : $0 < $1 }
        }
        let mask: UInt64 = (1 << shift) - 1
        keys.removeAll(keepingCapacity: true)
        for (i, v) in values.enumerated() { keys.append(((max(v, 0) + 0.0).bitPattern & ~mask) | UInt64(i)) }
        radixSort(&keys)
        return keys.map { Int($0 & mask) }
    }

    /// Sorts unsigned keys ascending: least-significant-digit radix sort on bytes, skipping the
    /// bytes in which all keys agree (the exponent bytes of values in a narrow range, and the
    /// constant top byte). About twice as fast as the standard library's sort at a thousand keys.
    static func radixSort(_ keys: inout [UInt64]) {
        let n = keys.count
        guard n > 32 else { keys.sort(); return }
        var counts = [Int](repeating: 0, count: 8 * 256)
        for k in keys { for b in 0..<8 { counts[b * 256 + Int((k >> UInt64(8 * b)) & 0xFF)] += 1 } }
        var other = [UInt64](repeating: 0, count: n)
        for b in 0..<8 {
            let base = b * 256
            // A byte every key shares does not change the order.
            if counts[base + Int((keys[0] >> UInt64(8 * b)) & 0xFF)] == n { continue }
            var sum = 0
            for d in 0..<256 { let c = counts[base + d]; counts[base + d] = sum; sum += c }
            keys.withUnsafeBufferPointer { src in
                other.withUnsafeMutableBufferPointer { dst in
                    for k in src {
                        let d = base + Int((k >> UInt64(8 * b)) & 0xFF)
                        dst[counts[d]] = k; counts[d] += 1
                    }
                }
            }
            swap(&keys, &other)
        }
    }

    @inline(__always) static func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Log density of a point (unit values / category indices; nil = inactive, left out).
    /// s[k] = log w_k + Σ_d log kernel_{k,d}(x_d), then log Σ_k exp(s[k]); the loops run over
    /// components innermost, on contiguous dimension-major arrays, so they vectorize.
    func logDensity(_ x: [Double?], scratch: inout [Double]) -> Double {
        if scratch.count < count { scratch = [Double](repeating: 0, count: count) }
        let n = count
        return scratch.withUnsafeMutableBufferPointer { sb in
            // Pointers with the offsets applied, so the loops below carry no index arithmetic
            // (whose overflow checks keep them from vectorizing).
            let s = sb.baseAddress!
            logWeights.withUnsafeBufferPointer { w in for k in 0..<n { s[k] = w[k] } }
            for d in 0..<dims {
                guard let v = x[d] else { continue }
                if isCat[d] {
                    let m = choices[d], c = Int(v)
                    catLogP[d].withUnsafeBufferPointer { t in
                        let t = t.baseAddress! + c
                        for k in 0..<n { s[k] += t[k * m] }
                    }
                } else {
                    meanT.withUnsafeBufferPointer { mu in
                        inv2s2T.withUnsafeBufferPointer { iv in
                            logNormT.withUnsafeBufferPointer { ln in
                                let mu = mu.baseAddress! + d * n, iv = iv.baseAddress! + d * n, ln = ln.baseAddress! + d * n
                                for k in 0..<n {
                                    let diff = v - mu[k]
                                    s[k] += ln[k] - diff * diff * iv[k]
                                }
                            }
                        }
                    }
                }
            }
            var best = -Double.infinity
            for k in 0..<n { best = max(best, s[k]) }
            var sum = 0.0
            // Terms more than 40 nats below the largest add less than 1e-17 relative: skip their exp.
            for k in 0..<n where s[k] > best - 40 { sum += Foundation.exp(s[k] - best) }
            return best + Foundation.log(sum)
        }
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
