import Foundation

extension GP {
    /// The region a front of losses does not dominate, inside a reference point, as disjoint boxes
    /// [l, u] (l may be −∞), and the expected hypervolume improvement of a point whose objectives
    /// are independent Gaussians (one GP per objective), exactly.
    ///
    /// The improvement of a point y is HVI(y) = Σ_b Π_k (u_bk − max(l_bk, y_k))⁺ (BoTorch's box
    /// formula). Each factor depends on one objective only, so with independent objectives the
    /// expectation of a box's product is the product of expectations, and for Y ~ N(μ, σ²), l < u:
    ///   E[(u − max(l, Y))⁺] = E[(u − Y)⁺] − E[(l − Y)⁺] = σ (h((u − μ)/σ) − h((l − μ)/σ)),
    /// h(z) = φ(z) + z Φ(z) as in EI (0 for l = −∞). EHVI is therefore computed exactly, for any
    /// number of objectives, without the Monte Carlo draws of Optuna's LogEHVI and BoTorch's
    /// qLogEHVI (128 quasi-random normal samples of the same quantity), and in logs throughout
    /// (`logH`, `log1mexp`, a log-sum-exp over boxes), so it stays finite and smooth far from the
    /// front, as log EI does.
    ///
    /// Decomposition: slices along the last objective; between two consecutive values of it the
    /// region is the (M−1)-dimensional non-dominated region of the points below the slice,
    /// recursively; in one dimension, everything below the least value. N front points give N+1
    /// boxes for two objectives and at most (N+1)(N+2)/2 for three.
    struct HypervolumeBoxes {
        let objectives: Int
        /// Per objective, the sorted distinct finite bounds of the boxes.
        let grid: [[Double]]
        /// The distinct intervals of the boxes: an objective, the index in its grid of the lower
        /// bound (−1 for −∞) and of the upper bound.
        let intervals: [(objective: Int, lower: Int, upper: Int)]
        /// (B, M) row-major: each box's interval in each objective.
        let boxes: [Int]

        var count: Int { objectives == 0 ? 0 : boxes.count / objectives }

        /// The boxes of `points`' non-dominated region below `reference` (M values); points not
        /// strictly below the reference in every objective, and dominated ones, add nothing.
        init(front points: [[Double]], reference: [Double]) {
            let m = reference.count
            let inside = points.filter { zip($0, reference).allSatisfy { $0 < $1 } }
            let raw: [(lower: [Double], upper: [Double])] = m == 0 ? [] : Self.decompose(Pareto.front(inside).map { inside[$0] }, reference: reference)
            var grid = [[Double]](repeating: [], count: m)
            for k in 0..<m { grid[k] = Array(Set(raw.flatMap { [$0.lower[k], $0.upper[k]] }.filter(\.isFinite))).sorted() }
            var intervals: [(objective: Int, lower: Int, upper: Int)] = []
            var index: [[Int]: Int] = [:]
            var boxes: [Int] = []
            for b in raw {
                for k in 0..<m {
                    let lower = b.lower[k].isFinite ? Self.position(of: b.lower[k], in: grid[k]) : -1
                    let key = [k, lower, Self.position(of: b.upper[k], in: grid[k])]
                    if let i = index[key] { boxes.append(i); continue }
                    index[key] = intervals.count
                    boxes.append(intervals.count)
                    intervals.append((k, key[1], key[2]))
                }
            }
            objectives = m; self.grid = grid; self.intervals = intervals; self.boxes = boxes
        }

        private static func position(of x: Double, in sorted: [Double]) -> Int {
            var lo = 0, hi = sorted.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if sorted[mid] < x { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }

        /// Disjoint boxes covering what the non-dominated `points` (each below `reference`) do
        /// not dominate, below the reference.
        static func decompose(_ points: [[Double]], reference: [Double]) -> [(lower: [Double], upper: [Double])] {
            let m = reference.count
            if m == 1 { return [([-.infinity], [min(points.map { $0[0] }.min() ?? reference[0], reference[0])])] }
            let sorted = points.sorted { $0[m - 1] < $1[m - 1] }
            let base = Array(reference.prefix(m - 1))
            var out: [(lower: [Double], upper: [Double])] = []
            for j in 0...sorted.count {
                let low = j == 0 ? -Double.infinity : sorted[j - 1][m - 1]
                let high = j < sorted.count ? sorted[j][m - 1] : reference[m - 1]
                guard high > low else { continue }
                let below = sorted.prefix(j).map { Array($0.prefix(m - 1)) }
                for b in decompose(Pareto.front(below).map { below[$0] }, reference: base) {
                    out.append((b.lower + [low], b.upper + [high]))
                }
            }
            return out
        }

        /// HVI(y): the hypervolume `y` (M losses) adds to the front.
        func improvement(_ y: [Double]) -> Double {
            var total = 0.0
            for b in 0..<count {
                var volume = 1.0
                for k in 0..<objectives {
                    let iv = intervals[boxes[b * objectives + k]]
                    let lower = iv.lower < 0 ? y[k] : max(grid[k][iv.lower], y[k])
                    volume *= max(grid[k][iv.upper] - lower, 0)
                }
                total += volume
            }
            return total
        }

        /// Buffers of `logEHVI`, reused across the points of one acquisition sweep.
        struct Scratch {
            var logE: [[Double]] = []
            var interval: [Double] = []
            var terms: [Double] = []
        }

        /// log E[HVI(Y)] for independent Y_k ~ N(mean_k, variance_k); −∞ without boxes.
        func logEHVI(mean: [Double], variance: [Double], scratch: inout Scratch) -> Double {
            guard count > 0 else { return -.infinity }
            if scratch.logE.count != objectives { scratch.logE = grid.map { [Double](repeating: 0, count: $0.count) } }
            // log E[(a − Y_k)⁺] at every bound a of every objective.
            for k in 0..<objectives {
                let sigma = max(variance[k], 1e-18).squareRoot(), logSigma = Foundation.log(sigma)
                for (g, a) in grid[k].enumerated() { scratch.logE[k][g] = logSigma + logH((a - mean[k]) / sigma) }
            }
            // log (E[(u − Y)⁺] − E[(l − Y)⁺]) of every interval.
            if scratch.interval.count != intervals.count { scratch.interval = [Double](repeating: 0, count: intervals.count) }
            for (i, iv) in intervals.enumerated() {
                let top = scratch.logE[iv.objective][iv.upper]
                if iv.lower < 0 { scratch.interval[i] = top; continue }
                let d = scratch.logE[iv.objective][iv.lower] - top
                scratch.interval[i] = d < 0 ? top + log1mexp(d) : -.infinity
            }
            // log Σ_b Π_k, as a log-sum-exp over the boxes.
            if scratch.terms.count != count { scratch.terms = [Double](repeating: 0, count: count) }
            var largest = -Double.infinity
            for b in 0..<count {
                var t = 0.0
                for k in 0..<objectives { t += scratch.interval[boxes[b * objectives + k]] }
                scratch.terms[b] = t
                if t > largest { largest = t }
            }
            guard largest > -.infinity else { return -.infinity }
            var sum = 0.0
            for b in 0..<count { sum += Foundation.exp(scratch.terms[b] - largest) }
            return largest + Foundation.log(sum)
        }
    }
}
