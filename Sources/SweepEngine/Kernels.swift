/// Element-wise kernels on raw buffers, written with explicit SIMD so they vectorize whatever
/// the compiler can prove about aliasing. Each has a scalar tail for lengths not a multiple of 16.
typealias V16 = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> V16 { UnsafeRawPointer(p).loadUnaligned(as: V16.self) }
@inline(__always) func store16(_ v: V16, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self) }

enum Kernels {
    /// Adam's moment update and step, with an optional L2 term `l2 * p` added to the gradient.
    /// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p -= stepSize * m / (sqrt(v) * invSqrtBc2 + eps)
    static func adam(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                     _ v: UnsafeMutablePointer<Float>, count n: Int, b1: Float, b2: Float, stepSize: Float,
                     invSqrtBc2: Float, eps: Float, l2: Float) {
        let c1 = 1 - b1, c2 = 1 - b2
        var i = 0
        let vb1 = V16(repeating: b1), vc1 = V16(repeating: c1), vb2 = V16(repeating: b2), vc2 = V16(repeating: c2)
        let vs = V16(repeating: stepSize), vi = V16(repeating: invSqrtBc2), ve = V16(repeating: eps), vl2 = V16(repeating: l2)
        while i + 16 <= n {
            let pi = load16(p + i)
            let gi = load16(g + i) + vl2 * pi
            let mi = vb1 * load16(m + i) + vc1 * gi
            let vv = vb2 * load16(v + i) + vc2 * gi * gi
            store16(mi, m + i); store16(vv, v + i)
            store16(pi - vs * mi / (vv.squareRoot() * vi + ve), p + i)
            i += 16
        }
        while i < n {
            let gi = g[i] + l2 * p[i]
            let mi = b1 * m[i] + c1 * gi
            let vv = b2 * v[i] + c2 * gi * gi
            m[i] = mi; v[i] = vv
            p[i] -= stepSize * mi / (vv.squareRoot() * invSqrtBc2 + eps)
            i += 1
        }
    }

    /// out = max(x, 0)
    static func relu(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        var i = 0
        let z = V16(repeating: 0)
        while i + 16 <= n { store16(pointwiseMax(load16(x + i), z), out + i); i += 16 }
        while i < n { out[i] = max(x[i], 0); i += 1 }
    }

    /// dx = x > 0 ? dy : 0
    static func reluBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        var i = 0
        let z = V16(repeating: 0)
        while i + 16 <= n {
            store16(load16(dy + i).replacing(with: 0, where: load16(x + i) .<= z), dx + i)
            i += 16
        }
        while i < n { dx[i] = x[i] > 0 ? dy[i] : 0; i += 1 }
    }

    /// acc[j] += Σ_rows x[row, j] for an (rows, cols) matrix: bias gradients.
    static func columnSums(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        acc.update(repeating: 0, count: cols)
        for r in 0..<rows {
            let row = x + r * cols
            var j = 0
            while j + 16 <= cols { store16(load16(acc + j) + load16(row + j), acc + j); j += 16 }
            while j < cols { acc[j] += row[j]; j += 1 }
        }
    }
}
