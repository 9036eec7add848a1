import Foundation

/// An optimizer updates the flat parameter buffer from the flat gradient buffer in one loop.
///
/// Contract: `step` is deterministic; all state that affects later steps is in `state` (and
/// `steps`), so saving and restoring them resumes training bit-for-bit. Semantics match PyTorch's
/// torch.optim classes of the same name (L2 weight decay added to the gradient, except AdamW,
/// which decays the weights directly).
public final class Optimizer {
    public let kind: OptimizerKind
    public let spec: TrainingSpec
    public let count: Int
    /// First and second moment buffers (or the momentum buffer), concatenated.
    public var state: [Float]
    public var steps: Int = 0

    public init(_ spec: TrainingSpec, parameterCount: Int) {
        kind = spec.optimizer; self.spec = spec; count = parameterCount
        let buffers: Int
        switch kind {
        case .sgd: buffers = 0
        case .momentum, .nesterov, .rmsprop: buffers = 1
        case .adam, .adamw: buffers = 2
        }
        state = [Float](repeating: 0, count: buffers * parameterCount)
    }

    /// Scales the gradient so its global L2 norm is at most `maxNorm`; returns the norm before.
    @discardableResult
    public static func clip(_ g: UnsafeMutablePointer<Float>, count n: Int, maxNorm: Double) -> Double {
        var s = 0.0
        for i in 0..<n { s += Double(g[i]) * Double(g[i]) }
        let norm = s.squareRoot()
        if norm > maxNorm {
            let f = Float(maxNorm / (norm + 1e-6))
            for i in 0..<n { g[i] *= f }
        }
        return norm
    }

    public func step(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, learningRate: Double) {
        steps += 1
        let n = count
        let lr = Float(learningRate), wd = Float(spec.weightDecay)
        state.withUnsafeMutableBufferPointer { sb in
            let s = sb.baseAddress
            switch kind {
            case .sgd:
                if wd == 0 { for i in 0..<n { p[i] -= lr * g[i] } }
                else { for i in 0..<n { p[i] -= lr * (g[i] + wd * p[i]) } }
            case .momentum, .nesterov:
                let mu = Float(spec.momentum), buf = s!
                let nesterov = kind == .nesterov
                let first = steps == 1
                for i in 0..<n {
                    let gi = g[i] + wd * p[i]
                    let b = first ? gi : mu * buf[i] + gi
                    buf[i] = b
                    p[i] -= lr * (nesterov ? gi + mu * b : b)
                }
            case .adam, .adamw:
                let b1 = Float(spec.beta1), b2 = Float(spec.beta2), eps = Float(spec.eps)
                let bc1 = 1 - Foundation.pow(spec.beta1, Double(steps))
                let bc2 = 1 - Foundation.pow(spec.beta2, Double(steps))
                let stepSize = Float(learningRate / bc1)
                let invSqrtBc2 = Float(1 / bc2.squareRoot())
                let m = s!, v = s! + n
                if kind == .adamw && wd != 0 {
                    let decay = 1 - lr * wd
                    for i in 0..<n { p[i] *= decay }
                }
                Kernels.adam(p, g, m, v, count: n, b1: b1, b2: b2, stepSize: stepSize, invSqrtBc2: invSqrtBc2,
                             eps: eps, l2: kind == .adam ? wd : 0)
            case .rmsprop:
                let a = Float(spec.alpha), eps = Float(spec.eps), v = s!
                for i in 0..<n {
                    let gi = g[i] + wd * p[i]
                    let vi = a * v[i] + (1 - a) * gi * gi
                    v[i] = vi
                    p[i] -= lr * gi / (vi.squareRoot() + eps)
                }
            }
        }
    }
}

/// The learning rate at a point of training, `epoch` fractional (epoch 1.5 = halfway through the
/// second epoch): a linear warm-up from 0 over `warmupEpochs`, then constant, step or cosine.
public enum LearningRateSchedule {
    public static func rate(_ t: TrainingSpec, epoch: Double) -> Double {
        let base = t.learningRate
        if t.warmupEpochs > 0 && epoch < t.warmupEpochs {
            return base * (epoch + 1e-9) / t.warmupEpochs
        }
        switch t.schedule {
        case .constant: return base
        case .step: return base * Foundation.pow(t.gamma, Double(Int(epoch) / max(t.stepSize, 1)))
        case .cosine:
            let span = max(Double(t.epochs) - t.warmupEpochs, 1e-9)
            let progress = min(max((epoch - t.warmupEpochs) / span, 0), 1)
            return t.minLearningRate + (base - t.minLearningRate) * 0.5 * (1 + Foundation.cos(Double.pi * progress))
        }
    }
}
