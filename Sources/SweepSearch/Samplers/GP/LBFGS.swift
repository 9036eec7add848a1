extension GP {
    /// Limited-memory BFGS on a box: the two-loop recursion for the direction, components that
    /// would leave the box through an active bound dropped, a backtracking Armijo line search on
    /// the projected step. Enough for the GP's D + 2 smooth hyperparameters; not a general L-BFGS-B.
    struct BoxLBFGS {
        var memory = 6
        var maxIterations = 40
        /// Stop when an iteration improves f by less than this, relative to 1 + |f|.
        var relativeTolerance = 1e-7
        var gradientTolerance = 1e-5

        /// Minimises `f` (value, and gradient written into its second argument) from x0.
        func minimize(_ x0: [Double], lower: [Double], upper: [Double],
                      _ f: ([Double], inout [Double]) -> Double) -> (x: [Double], value: Double) {
            let n = x0.count
            func project(_ v: [Double]) -> [Double] { (0..<n).map { min(max(v[$0], lower[$0]), upper[$0]) } }
            func dot(_ a: [Double], _ b: [Double]) -> Double { var s = 0.0; for i in 0..<n { s += a[i] * b[i] }; return s }

            var x = project(x0)
            var g = [Double](repeating: 0, count: n)
            var fx = f(x, &g)
            guard fx.isFinite else { return (x, fx) }
            var sHistory: [[Double]] = [], yHistory: [[Double]] = []

            for _ in 0..<maxIterations {
                // Projected gradient: zero where a bound blocks descent.
                var pg = g
                for i in 0..<n where (x[i] <= lower[i] && g[i] > 0) || (x[i] >= upper[i] && g[i] < 0) { pg[i] = 0 }
                if dot(pg, pg).squareRoot() < gradientTolerance { break }

                // Two-loop recursion: direction = −H pg.
                var q = pg
                var rhos: [Double] = [], alphas: [Double] = []
                for k in stride(from: sHistory.count - 1, through: 0, by: -1) {
                    let rho = 1 / dot(yHistory[k], sHistory[k])
                    let a = rho * dot(sHistory[k], q)
                    for i in 0..<n { q[i] -= a * yHistory[k][i] }
                    rhos.append(rho); alphas.append(a)
                }
                if let s = sHistory.last, let y = yHistory.last {
                    let gamma = dot(s, y) / dot(y, y)
                    for i in 0..<n { q[i] *= gamma }
                }
                for k in 0..<sHistory.count {
                    let back = sHistory.count - 1 - k   // rhos and alphas were stored newest first
                    let b = rhos[back] * dot(yHistory[k], q)
                    for i in 0..<n { q[i] += sHistory[k][i] * (alphas[back] - b) }
                }
                var dir = q.map { -$0 }
                for i in 0..<n where (x[i] <= lower[i] && dir[i] < 0) || (x[i] >= upper[i] && dir[i] > 0) { dir[i] = 0 }
                if dot(dir, g) >= 0 {
                    dir = pg.map { -$0 }
                    sHistory.removeAll(); yHistory.removeAll()
                }
                // Without curvature information, a first step of unit length.
                var t = sHistory.isEmpty ? min(1, 1 / max(dot(dir, dir).squareRoot(), 1e-12)) : 1

                var accepted: (x: [Double], f: Double, g: [Double])?
                for _ in 0..<20 {
                    var xn = x
                    for i in 0..<n { xn[i] += t * dir[i] }
                    xn = project(xn)
                    var gn = [Double](repeating: 0, count: n)
                    let fn = f(xn, &gn)
                    var decrease = 0.0
                    for i in 0..<n { decrease += g[i] * (xn[i] - x[i]) }
                    if fn.isFinite && fn <= fx + 1e-4 * decrease { accepted = (xn, fn, gn); break }
                    t *= 0.5
                }
                guard let (xn, fn, gn) = accepted else { break }
                var s = xn, yv = gn
                for i in 0..<n { s[i] -= x[i]; yv[i] -= g[i] }
                if dot(s, yv) > 1e-12 {
                    sHistory.append(s); yHistory.append(yv)
                    if sHistory.count > memory { sHistory.removeFirst(); yHistory.removeFirst() }
                }
                let improvement = fx - fn
                x = xn; fx = fn; g = gn
                if improvement < relativeTolerance * (1 + abs(fx)) { break }
            }
            return (x, fx)
        }
    }
}
