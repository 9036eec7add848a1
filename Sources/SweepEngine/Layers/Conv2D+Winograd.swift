import CSweepKernels

/// Winograd F(2x2, 3x3) and F(4x4, 3x3) convolution (Lavin & Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2015), used by `Conv2D` for every 3x3 stride-1 convolution
/// (same or valid padding) with at least 4 input channels: F(2x2) does 16 multiplications per 2x2
/// output tile instead of 36 (2.25x fewer FLOPs than im2col), F(4x4) 36 per 4x4 tile instead of
/// 144 (4x fewer); `winogradTile` picks the one with fewer multiplications for the output size
/// (tiles that stick out count too). Neither needs im2col's KH*KW-times larger column buffer. (With 1-3 input channels its GEMMs would be too thin to gain: those take the
/// direct path. The im2col path remains the reference the tests compare this one with.)
///
/// Each pass works on chunks of `winogradChunk` tiles small enough that the transformed tiles
/// stay in cache between the transform, the 16 GEMMs and the inverse transform:
/// (below for F(2x2); F(4x4) has 6x6 input tiles, 36 matrices and 4x4 output tiles)
/// - forward: V = Bᵀ d B per 4x4 input tile, (16, T, C); M[ξ] (T, K) = V[ξ] (T, C) · U[ξ] (C, K)
///   with U = G g Gᵀ, (16, C, K); Y = Aᵀ M A + b into (B, OH, OW, K);
/// - input gradient: the input gradient of a 3x3 stride-1 convolution is again a 3x3 stride-1
///   convolution of dY (B, OH, OW, K), with the filter rotated by 180° and its channels swapped
///   and padding 2 - pad, so it runs the forward machinery with U' (16, K, C) (the tile size is
///   the layer's, chosen for OH x OW, which is also H x W when the padding is same);
/// - filter gradient: the adjoint of the forward, dU[ξ] (C, K) = Σ_T V[ξ]ᵀ · dM[ξ] with
///   dM = A dY Aᵀ per 2x2 output tile, then dW = Gᵀ dU G; V is recomputed from the input
///   (cheaper than keeping the whole batch's V from the forward pass).
/// The tiles that stick out of the output (odd OH or OW) read zeros and write nothing there.
extension Conv2D {
    /// Floats per chunk: V and M of one chunk take about 1 MB, so they stay in L2.
    static let winogradChunkFloats = 1 << 18

    /// The output tile size m of F(m x m, 3x3) for an output of OH x OW: 4 when its 36
    /// multiplications per 4x4 tile, counting the tiles that stick out of the output, come to at
    /// most 80% of F(2x2)'s 16 per 2x2 tile (its transforms cost more); else 2.
    static func winogradTile(OH: Int, OW: Int) -> Int {
        let mults4 = 36 * ((OH + 3) / 4) * ((OW + 3) / 4), mults2 = 16 * ((OH + 1) / 2) * ((OW + 1) / 2)
        return 5 * mults4 <= 4 * mults2 ? 4 : 2
    }

    /// Transformed elements per tile: (m + 2)².
    var winogradElements: Int { (winogradTile + 2) * (winogradTile + 2) }
    var tilesHigh: Int { (OH + winogradTile - 1) / winogradTile }
    var tilesWide: Int { (OW + winogradTile - 1) / winogradTile }
    var winogradChunk: Int { max(8, Conv2D.winogradChunkFloats / (winogradElements * (C + K))) }

    func prepareWinograd() {
        let n = winogradElements
        wU.ensure(n * C * K); wUflip.ensure(n * C * K); wdU.ensure(n * C * K)
        wV.ensure(n * winogradChunk * max(C, K)); wM.ensure(n * winogradChunk * max(C, K))
    }

    // The transforms of F(2x2, 3x3) or F(4x4, 3x3), as `winogradTile` says (shapes in sweep_kernels.h).
    func transformFilter(_ w: UnsafePointer<Float>, _ U: UnsafeMutablePointer<Float>, flip: Bool) {
        if winogradTile == 4 { sweep_winograd4_filter(w, U, Int32(C), Int32(K), flip ? 1 : 0) }
        else { sweep_winograd_filter(w, U, Int32(C), Int32(K), flip ? 1 : 0) }
    }

    func transformInput(_ inp: UnsafePointer<Float>, _ V: UnsafeMutablePointer<Float>, ld: Int, Hi: Int, Wi: Int, Ci: Int,
                        padTop: Int, padLeft: Int, Ho: Int, Wo: Int, t0: Int, nt: Int) {
        if winogradTile == 4 {
            sweep_winograd4_input(inp, V, ld, Int32(Hi), Int32(Wi), Int32(Ci), Int32(padTop), Int32(padLeft), Int32(Ho), Int32(Wo), t0, nt)
        } else {
            sweep_winograd_input(inp, V, ld, Int32(Hi), Int32(Wi), Int32(Ci), Int32(padTop), Int32(padLeft), Int32(Ho), Int32(Wo), t0, nt)
        }
    }

    // out (B,Ho,Wo,Co) = the 3x3 stride-1 convolution of inp (B,Hi,Wi,Ci) with the transformed
    // filter U (n,Ci,Co), zero padding (padTop, padLeft), plus bias (Co) when given; overwritten
    // With `pool` (F(4x4) only), the output is max-pooled 2x2 on the way out instead: pooled
    // (B,Ho/2,Wo/2,Co) into `out`, the argmax into the pool's cache.
    func winogradConvolve(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ U: UnsafePointer<Float>,
                          _ bias: UnsafePointer<Float>?, batch B: Int, Hi: Int, Wi: Int, Ci: Int,
                          Ho: Int, Wo: Int, Co: Int, padTop: Int, padLeft: Int, pool: MaxPool2D? = nil) {
        precondition(pool == nil || winogradTile == 4)
        let m = winogradTile, n = winogradElements
        let T = B * ((Ho + m - 1) / m) * ((Wo + m - 1) / m)
        let V = wV.pointer, M = wM.pointer
        for t0 in Swift.stride(from: 0, to: T, by: winogradChunk) {
            let nt = min(winogradChunk, T - t0)
            transformInput(inp, V, ld: nt * Ci, Hi: Hi, Wi: Wi, Ci: Ci, padTop: padTop, padLeft: padLeft, Ho: Ho, Wo: Wo, t0: t0, nt: nt)
            for xi in 0..<n {
                gemm(false, false, nt, Co, Ci, 1, V + xi * nt * Ci, Ci, U + xi * Ci * Co, Co, 0, M + xi * nt * Co, Co)
            }
            if let pool { sweep_winograd4_output(M, nt * Co, nil, bias, Int32(Ho), Int32(Wo), Int32(Co), t0, nt, out, pool.argmax) }
            else if m == 4 { sweep_winograd4_output(M, nt * Co, out, bias, Int32(Ho), Int32(Wo), Int32(Co), t0, nt, nil, nil) }
            else { sweep_winograd_output(M, nt * Co, out, bias, Int32(Ho), Int32(Wo), Int32(Co), t0, nt) }
        }
    }

    // out (B,OH,OW,K) = conv(inp (B,H,W,C), W (K,3,3,C)) + b; with `pool`, out is its 2x2 max-pool (B,OH/2,OW/2,K)
    func winogradForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int,
                         pool: MaxPool2D? = nil) {
        transformFilter(p, wU.pointer, flip: false)
        winogradConvolve(out, inp, wU.pointer, p + K * KK, batch: B, Hi: H, Wi: W, Ci: C, Ho: OH, Wo: OW, Co: K,
                         padTop: padTop, padLeft: padLeft, pool: pool)
    }

    // dW (K,3,3,C) = Gᵀ (Σ_T Vᵀ · dM) G; db (K) = Σ dout; dinp (B,H,W,C) = conv(dout (B,OH,OW,K), rotated W)
    func winogradBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                          _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int) {
        let T = B * tilesHigh * tilesWide, n = winogradElements
        let V = wV.pointer, dM = wM.pointer, dU = wdU.pointer
        for t0 in Swift.stride(from: 0, to: T, by: winogradChunk) {
            let nt = min(winogradChunk, T - t0)
            transformInput(inp, V, ld: nt * C, Hi: H, Wi: W, Ci: C, padTop: padTop, padLeft: padLeft, Ho: OH, Wo: OW, t0: t0, nt: nt)
            if winogradTile == 4 { sweep_winograd4_output_grad(dout, dM, nt * K, Int32(OH), Int32(OW), Int32(K), t0, nt) }
            else { sweep_winograd_output_grad(dout, dM, nt * K, Int32(OH), Int32(OW), Int32(K), t0, nt) }
            for xi in 0..<n {
                gemm(true, false, C, K, nt, 1, V + xi * nt * C, C, dM + xi * nt * K, K, t0 == 0 ? 0 : 1, dU + xi * C * K, K)
            }
        }
        if winogradTile == 4 { sweep_winograd4_filter_grad(dU, dp, Int32(C), Int32(K)) }
        else { sweep_winograd_filter_grad(dU, dp, Int32(C), Int32(K)) }
        Kernels.columnSums(dp + K * KK, dout, rows: B * OH * OW, cols: K)
        if let dinp {
            transformFilter(p, wUflip.pointer, flip: true)
            winogradConvolve(dinp, dout, wUflip.pointer, nil, batch: B, Hi: OH, Wi: OW, Ci: K, Ho: H, Wo: W, Co: C,
                             padTop: 2 - padTop, padLeft: 2 - padLeft)
        }
    }
}
