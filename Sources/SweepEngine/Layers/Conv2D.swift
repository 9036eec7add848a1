import CSweepKernels
import SweepCore

public enum Padding: String, Codable, Sendable, CaseIterable {
    /// Output size ceil(H / stride); the input is zero-padded, the extra row/column (if any) at
    /// the bottom/right, as TensorFlow does.
    case same
    /// No padding: output size floor((H - KH) / stride) + 1.
    case valid
}

/// 2-D convolution over channels-last images, by im2col and one GEMM per batch; or, for 3x3
/// stride-1 convolutions with at least 4 input channels, by Winograd with output tiles of 2, 4,
/// 6 and 8 (`Conv2D+Winograd.swift`); or, for inputs with 1-3 channels (a first layer over grey or RGB
/// images), directly: there im2col's GEMM would have an inner dimension of only KH*KW*C and its
/// column buffer would be KH*KW times the input, so a loop vectorized over K is faster.
/// Parameters: W (K, KH, KW, C) then b (K). (The exporter converts W to PyTorch's (K, C, KH, KW).)
public final class Conv2D: Layer {
    public let kind = "conv2d"
    public let H: Int, W: Int, C: Int, K: Int, KH: Int, KW: Int, stride: Int
    public let OH: Int, OW: Int, padTop: Int, padLeft: Int
    public let padding: Padding
    public var inputShape: [Int] { [H, W, C] }
    public var outputShape: [Int] { [OH, OW, K] }
    public var parameterCount: Int { K * KH * KW * C + K }
    var KK: Int { KH * KW * C }
    let col = FloatBuffer(count: 0)
    let dcol = FloatBuffer(count: 0)
    /// The direct path's zero-padded copy of the batch, (B, Hp, Wp, C), written by `forward`.
    let padded = FloatBuffer(count: 0)
    var Hp: Int { (OH - 1) * stride + KH }
    var Wp: Int { (OW - 1) * stride + KW }
    /// Whether the passes take the Winograd path: true for every shape it handles; the tests
    /// turn it off (before `prepare`) to get the im2col reference.
    var useWinograd: Bool
    /// The Winograd output tile sizes the layer may use (`Conv2D.winogradRuns`): 2, 4, 6 and 8;
    /// the tests restrict them (before `prepare`) to check each.
    var winogradSizes = [2, 4, 6, 8]
    /// The precision of im2col's GEMMs. The Winograd and direct paths are fp32 in either precision:
    /// Winograd's transforms amplify the rounding of bf16 operands (simulated in
    /// `bench/bf16_winograd_error.py`: an RMS error of 2% of the output with F(4x4, 3x3), 4% with
    /// F(6x6, 3x3), against 0.24% for a bf16 im2col product), and F(2x2), accurate enough, does
    /// 2.4 times the multiplications of the mixed tiles on a 14x14 output (784 against 324), more
    /// than bf16's speed gains back.
    public private(set) var precision = Precision.fp32
    /// The Winograd tile groups covering the output, set by `prepare`.
    var forwardGroups: [sweep_tiles] = []
    /// Whether forward and the parameter gradients take the direct path (the input gradient, when
    /// needed, stays on GEMM + col2im); the tests turn it off too.
    var useDirect: Bool
    // Winograd buffers: one group's transformed filters U (n, C, K) or transposed (n, K, C), its
    // filter gradient dU (n, C, K), and one chunk of transformed tiles and of products.
    let wU = FloatBuffer(count: 0), wdU = FloatBuffer(count: 0)
    let wV = FloatBuffer(count: 0), wM = FloatBuffer(count: 0)

    public init(input: [Int], filters: Int, kernel: Int, stride: Int = 1, padding: Padding = .same) {
        H = input[0]; W = input[1]; C = input[2]; K = filters; KH = kernel; KW = kernel
        self.stride = stride; self.padding = padding
        switch padding {
        case .same:
            OH = (H + stride - 1) / stride; OW = (W + stride - 1) / stride
            padTop = max((OH - 1) * stride + KH - H, 0) / 2
            padLeft = max((OW - 1) * stride + KW - W, 0) / 2
        case .valid:
            OH = (H - KH) / stride + 1; OW = (W - KW) / stride + 1
            padTop = 0; padLeft = 0
        }
        useWinograd = KH == 3 && KW == 3 && stride == 1 && C >= 4
        useDirect = C < 4
    }

    public func initialize(_ p: UnsafeMutablePointer<Float>, _ s: UnsafeMutablePointer<Float>, rng: inout SweepRandom, scheme: InitScheme) {
        Init.fill(p, count: K * KK, fanIn: KK, fanOut: K * KH * KW, scheme: scheme, rng: &rng)
        (p + K * KK).update(repeating: 0, count: K)
    }

    public func usePrecision(_ precision: Precision) {
        self.precision = precision
    }

    public func prepare(maxBatch: Int) {
        if useWinograd { prepareWinograd(); return }
        if useDirect { padded.ensure(maxBatch * Hp * Wp * C) } else { col.ensure(maxBatch * OH * OW * KK) }
        dcol.ensure(maxBatch * OH * OW * KK)
    }

    // inp is (B,H,W,C) → col is (B*OH*OW, KH*KW*C)
    func im2col(_ inp: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, batch B: Int) {
        sweep_im2col(inp, col, Int32(B), Int32(H), Int32(W), Int32(C), Int32(KH), Int32(KW), Int32(stride), Int32(padTop), Int32(padLeft), Int32(OH), Int32(OW))
    }

    // dcol is (B*OH*OW, KH*KW*C) → dinp is (B,H,W,C), accumulated
    func col2im(_ dcol: UnsafePointer<Float>, _ dinp: UnsafeMutablePointer<Float>, batch B: Int) {
        sweep_col2im(dcol, dinp, Int32(B), Int32(H), Int32(W), Int32(C), Int32(KH), Int32(KW), Int32(stride), Int32(padTop), Int32(padLeft), Int32(OH), Int32(OW))
    }

    /// The naive reference of `im2col` (tests).
    func im2colReference(_ inp: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, batch B: Int) {
        var row = col
        for b in 0..<B {
            let img = inp + b * H * W * C
            for oh in 0..<OH {
                for ow in 0..<OW {
                    var dst = row
                    for kh in 0..<KH {
                        let ih = oh * stride - padTop + kh
                        if ih < 0 || ih >= H { dst.update(repeating: 0, count: KW * C); dst += KW * C; continue }
                        let iw0 = ow * stride - padLeft
                        if iw0 >= 0 && iw0 + KW <= W {
                            dst.update(from: img + (ih * W + iw0) * C, count: KW * C); dst += KW * C
                        } else {
                            for kw in 0..<KW {
                                let iw = iw0 + kw
                                if iw < 0 || iw >= W { dst.update(repeating: 0, count: C) }
                                else { dst.update(from: img + (ih * W + iw) * C, count: C) }
                                dst += C
                            }
                        }
                    }
                    row += KK
                }
            }
        }
    }

    /// The naive reference of `col2im` (tests).
    func col2imReference(_ dcol: UnsafePointer<Float>, _ dinp: UnsafeMutablePointer<Float>, batch B: Int) {
        dinp.update(repeating: 0, count: B * H * W * C)
        var row = dcol
        for b in 0..<B {
            let img = dinp + b * H * W * C
            for oh in 0..<OH {
                for ow in 0..<OW {
                    var src = row
                    for kh in 0..<KH {
                        let ih = oh * stride - padTop + kh
                        if ih < 0 || ih >= H { src += KW * C; continue }
                        for kw in 0..<KW {
                            let iw = ow * stride - padLeft + kw
                            if iw >= 0 && iw < W {
                                let d = img + (ih * W + iw) * C
                                for c in 0..<C { d[c] += src[c] }
                            }
                            src += C
                        }
                    }
                    row += KK
                }
            }
        }
    }

    // out (B*OH*OW, K) = col (B*OH*OW, KK) · Wᵀ (KK, K) + b
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext) {
        if useWinograd { winogradForward(out, inp, p, batch: B); return }
        if useDirect {
            // padded (B,Hp,Wp,C) = inp with its zero border; out (B,OH,OW,K) = Σ_{kh,kw,c} padded · W (K,KK) + b
            sweep_conv_direct_pad(inp, padded.pointer, Int32(B), Int32(H), Int32(W), Int32(C), Int32(Hp), Int32(Wp),
                                  Int32(padTop), Int32(padLeft))
            sweep_conv_direct(padded.pointer, p, p + K * KK, out, Int32(B), Int32(Hp), Int32(Wp), Int32(C), Int32(K),
                              Int32(KH), Int32(KW), Int32(stride), Int32(OH), Int32(OW))
            return
        }
        let M = B * OH * OW
        im2col(inp, col.pointer, batch: B)
        Kernels.broadcastRows(out, p + K * KK, rows: M, cols: K)
        gemm(precision, false, true, M, K, KK, 1, col.pointer, KK, p, KK, 1, out, K)
    }

    // dW (K,KK) = doutᵀ · col; db (K) = Σ_M dout; dcol (M,KK) = dout · W; dinp = col2im(dcol)
    public func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        if useWinograd { winogradBackward(dinp, dp, dout, inp, p, batch: B); return }
        let M = B * OH * OW
        if useDirect {
            // dW (K,KK) = Σ dout ⊗ padded (the forward pass's copy of inp), db (K) = Σ dout
            sweep_conv_direct_filter_grad(padded.pointer, dout, dp, dp + K * KK, Int32(B), Int32(Hp), Int32(Wp), Int32(C), Int32(K),
                                          Int32(KH), Int32(KW), Int32(stride), Int32(OH), Int32(OW))
        } else {
            gemm(precision, true, false, K, KK, M, 1, dout, K, col.pointer, KK, 0, dp, KK)
            Kernels.columnSums(dp + K * KK, dout, rows: M, cols: K)
        }
        if let dinp {
            gemm(precision, false, false, M, KK, K, 1, dout, K, p, KK, 0, dcol.pointer, KK)
            col2im(dcol.pointer, dinp, batch: B)
        }
    }
}

/// A convolution fused with the 2x2 stride-2 max-pool after it (`Network` fuses the pair): the
/// full-resolution output and its gradient are never written and read back, only the pooled
/// values, the pool's argmax and the pooled gradient. The direct path (first layers only, whose
/// input gradient nobody needs) pools its output blocks and reads the pooled gradient through the
/// argmax for the filter gradient; the Winograd path pools each output tile's 2x2 windows (tiles
/// start at even positions and have even sizes) and builds each tile's output gradient from the
/// pooled one. Same numbers, bit for bit, as the layers one after the other.
extension Conv2D {
    func fusesPool(_ pool: MaxPool2D, needsInputGradient: Bool) -> Bool {
        guard pool.size == 2 && pool.stride == 2 && pool.inputShape == outputShape else { return false }
        return useDirect && !needsInputGradient || useWinograd
    }

    // pooled (B,OH/2,OW/2,K) = maxpool(conv(inp)), or relu(maxpool(conv(inp))) with `relu`; the
    // argmax goes to the pool's cache, -1 where the relu's output is 0 (no gradient goes back
    // there: `backwardPooled` with the relu's output gradient as dpooled is the relu's backward too)
    func forwardPooled(_ pooled: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>,
                       pool: MaxPool2D, relu: Bool = false, batch B: Int) {
        if useWinograd { winogradForward(pooled, inp, p, batch: B, pool: pool, relu: relu); return }
        sweep_conv_direct_pad(inp, padded.pointer, Int32(B), Int32(H), Int32(W), Int32(C), Int32(Hp), Int32(Wp),
                              Int32(padTop), Int32(padLeft))
        sweep_conv_direct_pool(padded.pointer, p, p + K * KK, pooled, pool.argmax, Int32(B), Int32(Hp), Int32(Wp), Int32(C),
                               Int32(K), Int32(KH), Int32(KW), Int32(stride), Int32(OH), Int32(OW), relu ? 1 : 0)
    }

    // dW (K,KK), db (K) and, on the Winograd path when asked for, dinp (B,H,W,C) from dpooled
    // (B,OH/2,OW/2,K) through the pool's argmax
    func backwardPooled(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dpooled: UnsafePointer<Float>,
                        _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>, pool: MaxPool2D, batch B: Int) {
        if useWinograd { winogradBackward(dinp, dp, dpooled, inp, p, batch: B, pool: pool); return }
        precondition(dinp == nil, "the direct path's fused backward pass has no input gradient")
        sweep_conv_direct_pool_filter_grad(padded.pointer, dpooled, pool.argmax, dp, dp + K * KK, Int32(B), Int32(Hp), Int32(Wp),
                                           Int32(C), Int32(K), Int32(KH), Int32(KW), Int32(stride), Int32(OH), Int32(OW))
    }
}
