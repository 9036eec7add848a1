import CSweepKernels

/// Winograd F(m x m', 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
/// Networks", 2015), used by `Conv2D` for every 3x3 stride-1 convolution (same or valid padding)
/// with at least 4 input channels. An ma x mb output tile costs (ma+2)(mb+2) multiplications per
/// channel pair instead of 9·ma·mb: F(2x2) 16 instead of 36, F(4x4) 36 instead of 144, F(6x6) 64
/// instead of 324, F(8x8) 100 instead of 576. Each output axis is covered by runs of tiles of
/// sizes 2, 4, 6 and 8 (`winogradRuns`), chosen for the fewest transformed points, so 14 = 8 + 6
/// needs 18 per axis where 6 + 4 + 4 needs 20 and uniform 4x4 tiles 24 (16 covered); the tiles
/// of one (ma, mb) pair form a group (`sweep_tiles`), with its own transformed filter. No im2col
/// column buffer is needed.
/// (With 1-3 input channels the GEMMs would be too thin to gain: those take the direct path. The
/// im2col path remains the reference the tests compare this one with.)
///
/// Each pass works group by group, on chunks of tiles small enough that the transformed tiles
/// stay in cache between the transform, the n = (ma+2)(mb+2) GEMMs and the inverse transform:
/// - forward: V = Bᵀ d B per input window, (n, T, C); M[ξ] (T, K) = V[ξ] (T, C) · U[ξ] (C, K)
///   with U = G g Gᵀ, (n, C, K); Y = Aᵀ M A + b into (B, OH, OW, K);
/// - backward, the adjoint of the forward, in one pass over the same tiles: dM = A dY Aᵀ per
///   output tile; filter gradient dU[ξ] (C, K) = Σ_T V[ξ]ᵀ · dM[ξ], then dW = Σ_groups Gᵀ dU G,
///   with V recomputed from the input (cheaper than keeping the whole batch's V from the forward
///   pass); input gradient dV[ξ] (T, C) = dM[ξ] · U[ξ]ᵀ, added to each tile's input window as
///   B dV Bᵀ (windows overlap by two rows and columns).
extension Conv2D {
    /// Floats per chunk: V and M of one chunk take about 1 MB, so they stay in L2.
    static let winogradChunkFloats = 1 << 18

    /// `count` tiles of size `m` along one axis, the first covering the outputs from `start`.
    struct TileRun: Equatable, CustomStringConvertible {
        let m: Int, start: Int, count: Int
        var description: String { "\(count)x\(m)@\(start)" }
    }

    /// Tiles along an output axis of length L, of the sizes `sizes` (2, 4, 6, 8): the fewest
    /// transformed points Σ (m + 2) (each tile's share of the GEMMs and of the transforms),
    /// then the fewest 8s, then the fewest 6s (the larger tiles round more), then the fewest
    /// tiles. Runs go largest first, so only the last one can stick out of the output.
    static func winogradRuns(_ L: Int, sizes: [Int]) -> [TileRun] {
        precondition(L >= 1 && !sizes.isEmpty && sizes.allSatisfy { [2, 4, 6, 8].contains($0) })
        func most(_ m: Int) -> Int { sizes.contains(m) ? (L + m - 1) / m : 0 }
        var best: (key: [Int], counts: [Int: Int])?
        for n8 in 0...most(8) {
            for n6 in 0...most(6) {
                for n4 in 0...most(4) {
                    let rest = max(0, L - 8 * n8 - 6 * n6 - 4 * n4)
                    let n2 = (rest + 1) / 2
                    if n2 > 0 && !sizes.contains(2) { continue }
                    let key = [10 * n8 + 8 * n6 + 6 * n4 + 4 * n2, n8, n6, n8 + n6 + n4 + n2]
                    if best == nil || key.lexicographicallyPrecedes(best!.key) { best = (key, [8: n8, 6: n6, 4: n4, 2: n2]) }
                }
            }
        }
        var runs: [TileRun] = [], start = 0
        for m in [8, 6, 4, 2] {
            guard let n = best?.counts[m], n > 0 else { continue }
            runs.append(TileRun(m: m, start: start, count: n)); start += m * n
        }
        return runs
    }

    /// The tile groups covering an Ho x Wo output: one per pair of row and column runs.
    func winogradGroups(Ho: Int, Wo: Int) -> [sweep_tiles] {
        let rows = Conv2D.winogradRuns(Ho, sizes: winogradSizes), cols = Conv2D.winogradRuns(Wo, sizes: winogradSizes)
        return rows.flatMap { r in
            cols.map { c in
                sweep_tiles(ma: Int32(r.m), mb: Int32(c.m), r0: Int32(r.start), nr: Int32(r.count), c0: Int32(c.start), nc: Int32(c.count))
            }
        }
    }

    /// Transformed elements per tile of a group: (ma + 2)(mb + 2).
    static func elements(_ g: sweep_tiles) -> Int { Int(g.ma + 2) * Int(g.mb + 2) }

    /// Tiles per chunk for a group with n transformed elements per tile.
    func winogradChunk(elements n: Int) -> Int { max(8, Conv2D.winogradChunkFloats / (n * (C + K))) }

    func prepareWinograd() {
        forwardGroups = winogradGroups(Ho: OH, Wo: OW)
        wU.ensure(forwardGroups.map(Conv2D.elements).max()! * C * K); wdU.ensure(wU.count)
        // V (and the input gradient's dV) (n, chunk, C); M (and dM) (n, chunk, K)
        let tilesTimesElements = forwardGroups.map { Conv2D.elements($0) * winogradChunk(elements: Conv2D.elements($0)) }.max()!
        wV.ensure(tilesTimesElements * C); wM.ensure(tilesTimesElements * K)
    }

    // U (n, C, K) = the transformed filters of group g into wU; transposed, (n, K, C). One group at
    // a time, just before its tiles: the group's U (up to 800 KB) is still in cache for its GEMMs,
    // where all the groups' U at once (2.6 MB for a 32 -> 64 layer on 14x14) was not: the layer's
    // passes took 6% less time in a C benchmark of them.
    func transformFilters(_ w: UnsafePointer<Float>, group g: sweep_tiles, transpose: Bool = false) -> UnsafePointer<Float> {
        sweep_winograd_filter(w, wU.pointer, Int32(C), Int32(K), g.ma, g.mb, transpose ? 1 : 0)
        return UnsafePointer(wU.pointer)
    }

    // out (B,OH,OW,K) = conv(inp (B,H,W,C), W (K,3,3,C)) + b, overwritten; with `pool`, out is
    // its 2x2 max-pool (B,OH/2,OW/2,K), pooled on the way out, and the argmax goes to the pool's cache;
    // with `relu` too, out is relu(max-pool) (see `forwardPooled`)
    func winogradForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int,
                         pool: MaxPool2D? = nil, relu: Bool = false) {
        let V = wV.pointer, M = wM.pointer, bias = p + K * KK
        for g in forwardGroups {
            let n = Conv2D.elements(g), T = B * Int(g.nr) * Int(g.nc), chunk = winogradChunk(elements: n)
            let U = transformFilters(p, group: g)
            for t0 in Swift.stride(from: 0, to: T, by: chunk) {
                let nt = min(chunk, T - t0)
                sweep_winograd_input(inp, V, nt * C, Int32(H), Int32(W), Int32(C), Int32(padTop), Int32(padLeft), g, t0, nt)
                for xi in 0..<n {
                    gemm(false, false, nt, K, C, 1, V + xi * nt * C, C, U + xi * C * K, K, 0, M + xi * nt * K, K)
                }
                sweep_winograd_output(M, nt * K, pool == nil ? out : nil, bias, Int32(OH), Int32(OW), Int32(K), g, t0, nt,
                                      pool == nil ? nil : out, pool?.argmax, relu ? 1 : 0)
            }
        }
    }

    // dW (K,3,3,C) = Σ_groups Gᵀ (Σ_T Vᵀ · dM) G; db (K) = Σ dout; dinp (B,H,W,C) = Σ_T B (dM · Uᵀ) Bᵀ.
    // With `pool`, dout is the gradient of the 2x2 max-pool of the output, (B,OH/2,OW/2,K), and
    // dY is its backward pass through the pool's argmax, never written out.
    func winogradBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                          _ inp: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int, pool: MaxPool2D? = nil) {
        let V = wV.pointer, dM = wM.pointer, dU = wdU.pointer
        dinp?.update(repeating: 0, count: B * H * W * C)
        for (gi, g) in forwardGroups.enumerated() {
            let n = Conv2D.elements(g), T = B * Int(g.nr) * Int(g.nc), chunk = winogradChunk(elements: n)
            let Ut = dinp == nil ? nil : transformFilters(p, group: g, transpose: true)
            for t0 in Swift.stride(from: 0, to: T, by: chunk) {
                let nt = min(chunk, T - t0)
                sweep_winograd_input(inp, V, nt * C, Int32(H), Int32(W), Int32(C), Int32(padTop), Int32(padLeft), g, t0, nt)
                sweep_winograd_output_grad(pool == nil ? dout : nil, dM, nt * K, Int32(OH), Int32(OW), Int32(K), g, t0, nt,
                                           pool == nil ? nil : dout, pool?.argmax)
                for xi in 0..<n {
                    // dU[ξ] (C, K) += V[ξ]ᵀ · dM[ξ]; then V[ξ] is free for dV[ξ] (nt, C) = dM[ξ] · U[ξ]ᵀ
                    gemm(true, false, C, K, nt, 1, V + xi * nt * C, C, dM + xi * nt * K, K, t0 == 0 ? 0 : 1, dU + xi * C * K, K)
                    if let Ut { gemm(false, false, nt, C, K, 1, dM + xi * nt * K, K, Ut + xi * K * C, C, 0, V + xi * nt * C, C) }
                }
                if let dinp {
                    sweep_winograd_input_grad(V, nt * C, dinp, Int32(H), Int32(W), Int32(C), Int32(padTop), Int32(padLeft), g, t0, nt)
                }
            }
            sweep_winograd_filter_grad(dU, dp, Int32(C), Int32(K), g.ma, g.mb, gi == 0 ? 0 : 1)
        }
        if let pool { sweep_pooled_column_sums(dp + K * KK, dout, pool.argmax, Int32(B), Int32(OH), Int32(OW), Int32(K)) }
        else { Kernels.columnSums(dp + K * KK, dout, rows: B * OH * OW, cols: K) }
    }
}
