import CSweepKernels

/// The engine's element-wise kernels: the fast path is C (`CSweepKernels`, vectorized with
/// run-time AVX2/AVX-512 dispatch); the plain Swift loops here are the naive reference the tests
/// compare it against.
enum Kernels {
    static func adam(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                     _ v: UnsafeMutablePointer<Float>, count n: Int, b1: Float, b2: Float, stepSize: Float,
                     invSqrtBc2: Float, eps: Float, l2: Float) {
        sweep_adam(p, g, m, v, n, b1, b2, stepSize, invSqrtBc2, eps, l2)
    }

    /// Reference: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p -= stepSize · m / (√v · invSqrtBc2 + eps)
    static func adamReference(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                              _ v: UnsafeMutablePointer<Float>, count n: Int, b1: Float, b2: Float, stepSize: Float,
                              invSqrtBc2: Float, eps: Float, l2: Float) {
        for i in 0..<n {
            let gi = g[i] + l2 * p[i]
            let mi = b1 * m[i] + (1 - b1) * gi
            let vi = b2 * v[i] + (1 - b2) * gi * gi
            m[i] = mi; v[i] = vi
            p[i] -= stepSize * mi / (vi.squareRoot() * invSqrtBc2 + eps)
        }
    }

    static func relu(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) { sweep_relu(out, x, n) }
    static func reluInPlace(_ x: UnsafeMutablePointer<Float>, count n: Int) { sweep_relu_inplace(x, n) }
    static func reluBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        sweep_relu_backward(dx, dy, x, n)
    }

    /// acc (cols) = Σ_rows x (rows, cols): bias gradients.
    static func columnSums(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        sweep_column_sums(acc, x, rows, cols)
    }

    /// dst (n, f) row r = src row rows[r]: a mini-batch gathered from a data set (·, f).
    static func gatherRows(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: UnsafePointer<Int>, count n: Int, features f: Int) {
        sweep_gather_rows(dst, src, rows, n, f)
    }

    /// Reference: one row at a time.
    static func gatherRowsReference(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: UnsafePointer<Int>,
                                    count n: Int, features f: Int) {
        for r in 0..<n { (dst + r * f).update(from: src + rows[r] * f, count: f) }
    }

    /// out (rows, cols) = b (cols) repeated: bias initialisation before a GEMM with beta = 1.
    static func broadcastRows(_ out: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, cols: Int) {
        sweep_broadcast_rows(out, b, rows, cols)
    }
}
