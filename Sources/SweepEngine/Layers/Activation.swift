import Foundation
import SweepCore

public enum ActivationKind: String, Codable, Sendable, CaseIterable {
    case relu, leaky_relu, gelu, tanh, sigmoid, linear
}

/// Element-wise activation over any shape. GELU is the exact (erf) form, as PyTorch's default.
public final class Activation: Layer {
    public var kind: String { fn.rawValue }
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public var parameterCount: Int { 0 }
    public let fn: ActivationKind
    static let leak: Float = 0.01

    public init(_ fn: ActivationKind, shape: [Int]) { self.fn = fn; inputShape = shape }

    // inp, out are (B, N)
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        let n = B * inputSize
        switch fn {
        case .relu: Kernels.relu(out, inp, count: n)
        case .leaky_relu: for i in 0..<n { let x = inp[i]; out[i] = x > 0 ? x : Activation.leak * x }
        case .gelu: for i in 0..<n { let x = inp[i]; out[i] = 0.5 * x * (1 + erff(x * 0.70710678)) }
        case .tanh: for i in 0..<n { out[i] = tanhf(inp[i]) }
        case .sigmoid: for i in 0..<n { out[i] = 1 / (1 + expf(-inp[i])) }
        case .linear: out.update(from: inp, count: n)
        }
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        guard let dinp else { return }
        let n = B * inputSize
        switch fn {
        case .relu: Kernels.reluBackward(dinp, dout, inp, count: n)
        case .leaky_relu: for i in 0..<n { dinp[i] = inp[i] > 0 ? dout[i] : Activation.leak * dout[i] }
        case .gelu:
            for i in 0..<n {
                let x = inp[i]
                let cdf = 0.5 * (1 + erff(x * 0.70710678))
                let pdf = expf(-0.5 * x * x) * 0.39894228
                dinp[i] = dout[i] * (cdf + x * pdf)
            }
        case .tanh: for i in 0..<n { let y = out[i]; dinp[i] = dout[i] * (1 - y * y) }
        case .sigmoid: for i in 0..<n { let y = out[i]; dinp[i] = dout[i] * y * (1 - y) }
        case .linear: dinp.update(from: dout, count: n)
        }
    }
}
