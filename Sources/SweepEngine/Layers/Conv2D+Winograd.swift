import CSweepKernels

/// Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
/// Networks", 2015), used by `Conv2D` for every 3x3 stride-1 convolution (same or valid
/// padding) with at least 4 input channels: there it does 16 multiplications per 2x2 output
/// tile instead of 36, so 2.25x fewer FLOPs than im2col, and it needs no KH*KW-times larger
/// column buffer. (With 1-3 input channels its GEMMs would be too thin to gain: those take the
/// direct path. The im2col path remains the reference the tests compare this one with.)
///
/// Each pass works on chunks of `winogradChunk` tiles small enough that the transformed tiles
/// stay in cache between the transform, the 16 GEMMs and the inverse transform:
/// - forward: V = Bᵀ d B per 4x4 input tile, (16, T, C); M[ξ] (T, K) = V[ξ] (T, C) · U[ξ] (C, K)
///   with U = G g Gᵀ, (16, C, K); Y = Aᵀ M A + b into (B, OH, OW, K);
/// - input gradient: the input gradient of a 3x3 stride-1 convolution is again a 3x3 stride-1
///   convolution of dY (B, OH, OW, K), with the filter rotated by 180° and its channels swapped
///   and padding 2 - pad, so it runs the forward machinery with U' (16, K, C);
/// - filter gradient: the adjoint of the forward, dU[ξ] (C, K) = Σ_T V[ξ]ᵀ · dM[ξ] with
///   dM = A dY Aᵀ per 2x2 output tile, then dW = Gᵀ dU G; V is recomputed from the input
///   (cheaper than keeping the whole batch's V from the forward pass).
/// The tiles that stick out of the output (odd OH or OW) read zeros and write nothing there.
extension Conv2D {
    /// Tiles per chunk: V and M of one chunk take about 1 MB, so they stay in L2.
    static let winogradChunkFloats = 1 << 18

    var tilesHigh: Int { (OH + 1) / 2 }
    var tilesWide: Int { (OW + 1) / 2 }
    var winogradChunk: Int { max(8, Conv2D.winogradChunkFloats / (16 * (C + K))) }

    func prepareWinograd() {
        wU.ensure(16 * C * K); wUflip.ensure(16 * C * K); wdU.ensure(16 * C * K)
        wV.ensure(16 * winogradChunk * max(C, K)); wM.ensure(16 * winogradChunk * max(C, K))
    }

    // out (B,Ho,Wo,Co) = the 3x3 stride-1 convolution of inp (B,Hi,Wi,Ci) with the transformed
    // filter U (16,Ci,Co), zero padding (padTop, padLeft), plus bias (Co) when given; overwritten
    func winogradConvolve(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ U: UnsafePointer<Float>,
                          _ bias: UnsafePointer<Float>?, batch B: Int, Hi: Int, Wi: Int, Ci: Int,
                          Ho: Int, Wo: Int, Co: Int, padTop: Int, padLeft: Int) {
        let T = B * ((Ho + 1) / 2) * ((Wo + 1) / 2)
        let V = wV.pointer, M = wM.pointer
        for t0 in Swift.stride(from: 0, to: T, by: winogradChunk) {
            let nt = min(winogradChunk, T - t0)
            sweep_winograd_input(inp, V, nt * Ci, Int32(Hi), Int32(Wi), Int32(Ci), Int32(padTop), Int32(padLeft),
                                 Int32(Ho), Int32(Wo), t0, nt)
            for xi in 0..<16 {
                gemm(false, false, nt, Co, Ci, 1, V + xi * nt * Ci, Ci, U + xi * Ci * Co, Co, 0, M + xi * nt * Co, Co)
            }
            sweep_winograd_output(M, nt * Co, out, bias, Int32(Ho), Int32(Wo), Int32(Co), t0, nt)
        }
    }

    // out (B,OH,OW,K) = conv(inp (B,H,W,C), W (K,3,3,C)) + b
    func winogradForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        sweep_winograd_filter(p, wU.pointer, Int32(C), Int32(K), 0)
        winogradConvolve(out, inp, wU.pointer, p + K * KK, batch: B, Hi: H, Wi: W, Ci: C, Ho: OH, Wo: OW, Co: K,
                         padTop: padTop, padLeft: padLeft)
    }

    // dW (K,3,3,C) = Gᵀ (Σ_T Vᵀ · dM) G; db (K) = Σ dout; dinp (B,H,W,C) = conv(dout (B,OH,OW,K), rotated W)
    func winogradBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                          _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        let T = B * tilesHigh * tilesWide
        let V = wV.pointer, dM = wM.pointer, dU = wdU.pointer
        for t0 in Swift.stride(from: 0, to: T, by: winogradChunk) {
            let nt = min(winogradChunk, T - t0)
            sweep_winograd_input(inp, V, nt * C, Int32(H), Int32(W), Int32(C), Int32(padTop), Int32(padLeft),
                                 Int32(OH), Int32(OW), t0, nt)
            sweep_winograd_output_grad(dout, dM, nt * K, Int32(OH), Int32(OW), Int32(K), t0, nt)
            for xi in 0..<16 {
                gemm(true, false, C, K, nt, 1, V + xi * nt * C, C, dM + xi * nt * K, K, t0 == 0 ? 0 : 1, dU + xi * C * K, K)
            }
        }
        sweep_winograd_filter_grad(dU, dp, Int32(C), Int32(K))
        Kernels.columnSums(dp + K * KK, dout, rows: B * OH * OW, cols: K)
        if let dinp {
            sweep_winograd_filter(p, wUflip.pointer, Int32(C), Int32(K), 1)
            winogradConvolve(dinp, dout, wUflip.pointer, nil, batch: B, Hi: OH, Wi: OW, Ci: K, Ho: H, Wo: W, Co: C,
                             padTop: 2 - padTop, padLeft: 2 - padLeft)
        }
    }
}
