import SweepCore

/// Batch normalization over the last axis: per feature for (B, D), per channel for (B, H, W, C).
/// Parameters: gamma (C) then beta (C). State: running mean (C) then running variance (C),
/// updated as PyTorch does (momentum 0.1, unbiased batch variance).
public final class BatchNorm: Layer {
    public let kind = "batchnorm"
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let C: Int
    public var parameterCount: Int { 2 * C }
    public var stateCount: Int { 2 * C }
    public let momentum: Float = 0.1
    public let eps: Float = 1e-5
    var positions: Int { inputShape.count == 3 ? inputShape[0] * inputShape[1] : 1 }
    let xhat = FloatBuffer(count: 0)
    var invStd = [Float]()
    var lastTraining = true

    public init(shape: [Int]) { inputShape = shape; C = shape.last! }

    public func initialize(_ p: UnsafeMutablePointer<Float>, _ s: UnsafeMutablePointer<Float>, rng: inout SweepRandom, scheme: InitScheme) {
        p.update(repeating: 1, count: C); (p + C).update(repeating: 0, count: C)
        s.update(repeating: 0, count: C); (s + C).update(repeating: 1, count: C)
    }

    public func prepare(maxBatch: Int) { xhat.ensure(maxBatch * inputSize); invStd = Array(repeating: 0, count: C) }

    // inp, out are (N, C) with N = B * positions
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        let N = B * positions
        let gamma = p, beta = p + C, runMean = s, runVar = s + C
        let xh = xhat.pointer
        lastTraining = ctx.training
        if ctx.training {
            var mean = [Double](repeating: 0, count: C), sq = [Double](repeating: 0, count: C)
            for n in 0..<N { let x = inp + n * C; for c in 0..<C { mean[c] += Double(x[c]) } }
            for c in 0..<C { mean[c] /= Double(N) }
            for n in 0..<N { let x = inp + n * C; for c in 0..<C { let d = Double(x[c]) - mean[c]; sq[c] += d * d } }
            for c in 0..<C {
                let v = sq[c] / Double(N)
                invStd[c] = Float(1 / (v + Double(eps)).squareRoot())
                let unbiased = N > 1 ? sq[c] / Double(N - 1) : v
                runMean[c] = (1 - momentum) * runMean[c] + momentum * Float(mean[c])
                runVar[c] = (1 - momentum) * runVar[c] + momentum * Float(unbiased)
            }
            let m = mean.map(Float.init)
            for n in 0..<N {
                let x = inp + n * C, y = out + n * C, h = xh + n * C
                for c in 0..<C { h[c] = (x[c] - m[c]) * invStd[c]; y[c] = gamma[c] * h[c] + beta[c] }
            }
        } else {
            for c in 0..<C { invStd[c] = 1 / (runVar[c] + eps).squareRoot() }
            for n in 0..<N {
                let x = inp + n * C, y = out + n * C, h = xh + n * C
                for c in 0..<C { h[c] = (x[c] - runMean[c]) * invStd[c]; y[c] = gamma[c] * h[c] + beta[c] }
            }
        }
    }

    // dgamma = Σ dout·x̂; dbeta = Σ dout; dx = γ·invStd/N · (N·dout − Σdout − x̂·Σ(dout·x̂))
    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        let N = B * positions
        let xh = xhat.pointer
        var sumD = [Float](repeating: 0, count: C), sumDX = [Float](repeating: 0, count: C)
        for n in 0..<N {
            let d = dout + n * C, h = xh + n * C
            for c in 0..<C { sumD[c] += d[c]; sumDX[c] += d[c] * h[c] }
        }
        for c in 0..<C { dp[c] = sumDX[c]; dp[C + c] = sumD[c] }
        guard let dinp else { return }
        if !lastTraining {
            // Inference normalizes with constants: dx = dout * gamma * invStd.
            for n in 0..<N { for c in 0..<C { dinp[n * C + c] = dout[n * C + c] * p[c] * invStd[c] } }
            return
        }
        let invN = 1 / Float(N)
        for n in 0..<N {
            let d = dout + n * C, h = xh + n * C, dx = dinp + n * C
            for c in 0..<C {
                dx[c] = p[c] * invStd[c] * (d[c] - invN * sumD[c] - h[c] * invN * sumDX[c])
            }
        }
    }
}
