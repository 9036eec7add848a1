import CSweepKernels
import SweepCore

/// Fully connected: out = inp · Wᵀ + b. Parameters: W (U, D) then b (U), PyTorch's layout.
public final class Dense: Layer {
    public let kind = "dense"
    public let D: Int, U: Int
    public var inputShape: [Int] { [D] }
    public var outputShape: [Int] { [U] }
    public var parameterCount: Int { U * D + U }

    /// The precision of its three products.
    public private(set) var precision = Precision.fp32

    public init(inputs D: Int, units U: Int) { self.D = D; self.U = U }

    public func usePrecision(_ precision: Precision) { self.precision = precision }

    public func initialize(_ p: UnsafeMutablePointer<Float>, _ s: UnsafeMutablePointer<Float>, rng: inout SweepRandom, scheme: InitScheme) {
        Init.fill(p, count: U * D, fanIn: D, fanOut: U, scheme: scheme, rng: &rng)
        (p + U * D).update(repeating: 0, count: U)
    }

    // inp is (B,D), W is (U,D), b is (U), out is (B,U)
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        Kernels.broadcastRows(out, p + U * D, rows: B, cols: U)
        gemm(precision, false, true, B, U, D, 1, inp, D, p, D, 1, out, U)
    }

    /// `forward` then a ReLU on its output: bit for bit `forward` followed by `Activation(.relu).forward`.
    /// In bf16 by AVX512-BF16's dot product (`sweep_bf16_uses_dot`) one pass: the GEMM's epilogue adds the bias and applies the
    /// ReLU while each block of the output is in registers (`sweep_gemm_bf16_bias`); elsewhere the
    /// bias broadcast, the product and the ReLU in place. Its backward is `backward` after
    /// `Kernels.reluBackward` with this output as the mask (out > 0 exactly where inp · Wᵀ + b > 0).
    // inp is (B,D), W is (U,D), b is (U), out is (B,U) = relu(inp · Wᵀ + b)
    public func forwardReLU(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        if precision == .bf16 && sweep_bf16_uses_dot() != 0
            && sweep_gemm_bf16_bias(0, 1, Int32(B), Int32(U), Int32(D), inp, Int32(D), p, Int32(D), p + U * D, 1, out, Int32(U)) != 0 {
            return
        }
        Kernels.broadcastRows(out, p + U * D, rows: B, cols: U)
        gemm(precision, false, true, B, U, D, 1, inp, D, p, D, 1, out, U)
        Kernels.reluInPlace(out, count: B * U)
    }

    // dout is (B,U); dW (U,D) = doutᵀ · inp; db (U) = Σ_B dout; dinp (B,D) = dout · W
    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        gemm(precision, true, false, U, D, B, 1, dout, U, inp, D, 0, dp, D)
        Kernels.columnSums(dp + U * D, dout, rows: B, cols: U)
        if let dinp { gemm(precision, false, false, B, D, U, 1, dout, U, p, D, 0, dinp, D) }
    }
}

/// Reshapes (B, H, W, C) to (B, H*W*C). A copy, so every layer keeps its own output buffer.
public final class Flatten: Layer {
    public let kind = "flatten"
    public let inputShape: [Int]
    public var outputShape: [Int] { [inputShape.reduce(1, *)] }
    public var parameterCount: Int { 0 }
    public init(input: [Int]) { inputShape = input }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        out.update(from: inp, count: B * inputSize)
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        dinp?.update(from: dout, count: B * inputSize)
    }
}

/// Inverted dropout: in training, zeroes each value with probability `rate` and scales the rest
/// by 1/(1-rate); the identity at inference.
public final class Dropout: Layer {
    public let kind = "dropout"
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public var parameterCount: Int { 0 }
    public let rate: Float
    let mask = FloatBuffer(count: 0)

    public init(input: [Int], rate: Float) { inputShape = input; self.rate = rate }
    public func prepare(maxBatch: Int) { mask.ensure(maxBatch * inputSize) }

    // inp, out, mask are (B, N)
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        let n = B * inputSize
        let m = mask.pointer
        if !ctx.training || rate == 0 {
            for i in 0..<n { m[i] = 1 }
            out.update(from: inp, count: n)
            return
        }
        let keep = 1 / (1 - rate)
        for i in 0..<n {
            m[i] = ctx.rng.nextFloat() < rate ? 0 : keep
            out[i] = inp[i] * m[i]
        }
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        guard let dinp else { return }
        let m = mask.pointer
        for i in 0..<(B * inputSize) { dinp[i] = dout[i] * m[i] }
    }
}
