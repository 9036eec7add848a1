import CSweepKernels
import SweepCore

/// Max pooling over channels-last images, window `size`, `stride` (default: size), no padding.
public final class MaxPool2D: Layer {
    public let kind = "maxpool2d"
    public let H: Int, W: Int, C: Int, size: Int, stride: Int, OH: Int, OW: Int
    public var inputShape: [Int] { [H, W, C] }
    public var outputShape: [Int] { [OH, OW, C] }
    public var parameterCount: Int { 0 }
    var argmax: UnsafeMutablePointer<Int32> = allocateEngineBuffer(1)
    var argmaxCount = 0

    public init(input: [Int], size: Int, stride: Int? = nil) {
        H = input[0]; W = input[1]; C = input[2]; self.size = size; self.stride = stride ?? size
        OH = (H - size) / self.stride + 1; OW = (W - size) / self.stride + 1
    }
    deinit { sweep_free_buffer(argmax) }

    public func prepare(maxBatch: Int) {
        let n = maxBatch * OH * OW * C
        if n > argmaxCount { sweep_free_buffer(argmax); argmax = allocateEngineBuffer(n); argmaxCount = n }
    }

    // inp is (B,H,W,C), out is (B,OH,OW,C); argmax holds the input offset of each maximum
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        sweep_maxpool(inp, out, argmax, Int32(B), Int32(H), Int32(W), Int32(C), Int32(size), Int32(stride), Int32(OH), Int32(OW))
    }

    /// The naive reference of `forward` (tests).
    func forwardReference(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, batch B: Int) {
        var o = 0
        for b in 0..<B {
            let base = b * H * W * C
            for oh in 0..<OH {
                for ow in 0..<OW {
                    let first = base + ((oh * stride) * W + ow * stride) * C
                    for c in 0..<C { out[o + c] = inp[first + c]; argmax[o + c] = Int32(first + c) }
                    for kh in 0..<size {
                        for kw in 0..<size where kh + kw > 0 {
                            let at = base + ((oh * stride + kh) * W + ow * stride + kw) * C
                            for c in 0..<C where inp[at + c] > out[o + c] {
                                out[o + c] = inp[at + c]; argmax[o + c] = Int32(at + c)
                            }
                        }
                    }
                    o += C
                }
            }
        }
    }

    // dout is (B,OH,OW,C), dinp is (B,H,W,C): each gradient goes to its window's maximum
    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        guard let dinp else { return }
        sweep_maxpool_backward(dout, argmax, dinp, Int32(B), Int32(H), Int32(W), Int32(C), Int32(size), Int32(stride), Int32(OH), Int32(OW))
    }

    /// The naive reference of `backward` (tests).
    func backwardReference(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, batch B: Int) {
        dinp.update(repeating: 0, count: B * H * W * C)
        for i in 0..<(B * OH * OW * C) { dinp[Int(argmax[i])] += dout[i] }
    }
}

/// Average pooling over channels-last images, window `size`, `stride` (default: size), no padding.
public final class AvgPool2D: Layer {
    public let kind = "avgpool2d"
    public let H: Int, W: Int, C: Int, size: Int, stride: Int, OH: Int, OW: Int
    public var inputShape: [Int] { [H, W, C] }
    public var outputShape: [Int] { [OH, OW, C] }
    public var parameterCount: Int { 0 }

    public init(input: [Int], size: Int, stride: Int? = nil) {
        H = input[0]; W = input[1]; C = input[2]; self.size = size; self.stride = stride ?? size
        OH = (H - size) / self.stride + 1; OW = (W - size) / self.stride + 1
    }

    // inp is (B,H,W,C), out is (B,OH,OW,C)
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        let scale = 1 / Float(size * size)
        out.update(repeating: 0, count: B * OH * OW * C)
        var o = 0
        for b in 0..<B {
            for oh in 0..<OH {
                for ow in 0..<OW {
                    for kh in 0..<size {
                        for kw in 0..<size {
                            let at = b * H * W * C + ((oh * stride + kh) * W + ow * stride + kw) * C
                            for c in 0..<C { out[o + c] += inp[at + c] }
                        }
                    }
                    for c in 0..<C { out[o + c] *= scale }
                    o += C
                }
            }
        }
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        guard let dinp else { return }
        let scale = 1 / Float(size * size)
        dinp.update(repeating: 0, count: B * H * W * C)
        var o = 0
        for b in 0..<B {
            for oh in 0..<OH {
                for ow in 0..<OW {
                    for kh in 0..<size {
                        for kw in 0..<size {
                            let at = b * H * W * C + ((oh * stride + kh) * W + ow * stride + kw) * C
                            for c in 0..<C { dinp[at + c] += dout[o + c] * scale }
                        }
                    }
                    o += C
                }
            }
        }
    }
}

/// Mean over all positions: (B, H, W, C) → (B, C).
public final class GlobalAvgPool: Layer {
    public let kind = "global_avgpool"
    public let H: Int, W: Int, C: Int
    public var inputShape: [Int] { [H, W, C] }
    public var outputShape: [Int] { [C] }
    public var parameterCount: Int { 0 }

    public init(input: [Int]) { H = input[0]; W = input[1]; C = input[2] }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        let scale = 1 / Float(H * W)
        for b in 0..<B {
            let o = out + b * C
            o.update(repeating: 0, count: C)
            for i in 0..<(H * W) {
                let x = inp + (b * H * W + i) * C
                for c in 0..<C { o[c] += x[c] }
            }
            for c in 0..<C { o[c] *= scale }
        }
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        guard let dinp else { return }
        let scale = 1 / Float(H * W)
        for b in 0..<B {
            for i in 0..<(H * W) {
                let d = dinp + (b * H * W + i) * C
                for c in 0..<C { d[c] = dout[b * C + c] * scale }
            }
        }
    }
}
