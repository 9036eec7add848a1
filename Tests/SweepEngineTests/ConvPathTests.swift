import XCTest
import SweepCore
import CSweepKernels
@testable import SweepEngine

/// The Winograd and direct paths of `Conv2D` against its im2col path (the reference): forward
/// output, input gradient and filter and bias gradients, on random data, for odd and even sizes
/// and channel counts that are not multiples of the vector width; every comparison once per GEMM
/// kernel this CPU runs (`GemmKernel`).
final class ConvPathTests: XCTestCase {
    enum Path { case winograd, direct }
    var rng = SweepRandom(seed: 5)
    func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian()) } }

    /// The largest |a - b| over the largest |b|.
    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        let scale = b.reduce(Float(0)) { max($0, abs($1)) }
        return zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) } / max(scale, 1e-30)
    }

    func compareWithIm2col(_ shape: [Int], filters K: Int, kernel: Int = 3, stride: Int = 1, padding: Padding, batch B: Int,
                           path: Path = .winograd, sizes: [Int] = [2, 4, 6, 8], file: StaticString = #filePath, line: UInt = #line) {
        defer { GemmKernel.force(nil) }
        for gemmKernel in GemmKernel.allCases where gemmKernel.isSupported {
            GemmKernel.force(gemmKernel)
            compareOnce(shape, filters: K, kernel: kernel, stride: stride, padding: padding, batch: B, path: path, sizes: sizes,
                        gemm: gemmKernel, file: file, line: line)
        }
    }

    func compareOnce(_ shape: [Int], filters K: Int, kernel: Int, stride: Int, padding: Padding, batch B: Int,
                     path: Path, sizes: [Int], gemm: GemmKernel, file: StaticString, line: UInt) {
        let fast = Conv2D(input: shape, filters: K, kernel: kernel, stride: stride, padding: padding)
        let slow = Conv2D(input: shape, filters: K, kernel: kernel, stride: stride, padding: padding)
        fast.winogradSizes = sizes
        XCTAssertEqual(fast.useWinograd, path == .winograd, "\(shape) \(padding): Winograd path", file: file, line: line)
        XCTAssertEqual(fast.useDirect, path == .direct, "\(shape) \(padding): direct path", file: file, line: line)
        slow.useWinograd = false; slow.useDirect = false
        fast.prepare(maxBatch: B); slow.prepare(maxBatch: B)
        let x = random(B * fast.inputSize), p = random(fast.parameterCount), dout = random(B * fast.outputSize)
        var s: [Float] = [0]
        var out1 = [Float](repeating: .nan, count: dout.count), out2 = out1
        var ctx = PassContext(training: true, rng: rng)
        fast.forward(&out1, x, p, &s, batch: B, ctx: &ctx)
        slow.forward(&out2, x, p, &s, batch: B, ctx: &ctx)
        let what = "\(path) \(path == .winograd ? "tiles \(sizes) " : "")\(shape) K\(K) k\(kernel) s\(stride) \(padding) B\(B), \(gemm) GEMM"
        // The larger tiles' transforms have larger entries (up to 8 and 1/24 for 4, 32 and 1/90
        // for 6, 128 and 1/2475 for 8): their rounding errors are larger.
        let tolerance: Float = path == .direct ? 1e-4 : [2: 2e-5, 4: 5e-5, 6: 1e-4, 8: 1e-3][sizes.max()!]!  // about 10x the largest errors seen
        XCTAssertLessThan(relativeError(out1, out2), tolerance, "forward \(what)", file: file, line: line)

        // Garbage in the outputs: backward must overwrite every element.
        var dx1 = [Float](repeating: .nan, count: x.count), dx2 = dx1
        var dp1 = [Float](repeating: .nan, count: p.count), dp2 = dp1
        fast.backward(&dx1, &dp1, dout, x, out1, p, batch: B)
        slow.backward(&dx2, &dp2, dout, x, out2, p, batch: B)
        XCTAssertLessThan(relativeError(dx1, dx2), tolerance, "input gradient \(what)", file: file, line: line)
        let nW = fast.K * fast.KK
        XCTAssertLessThan(relativeError(Array(dp1[..<nW]), Array(dp2[..<nW])), tolerance, "filter gradient \(what)", file: file, line: line)
        XCTAssertLessThan(relativeError(Array(dp1[nW...]), Array(dp2[nW...])), tolerance, "bias gradient \(what)", file: file, line: line)
        // Without an input gradient (first layer) the parameter gradients are the same.
        var dp3 = [Float](repeating: .nan, count: p.count)
        fast.backward(nil, &dp3, dout, x, out1, p, batch: B)
        XCTAssertEqual(dp3, dp1, what, file: file, line: line)
    }

    /// Each (input, filters, batch) with tiles of 2, of 4, of 6 and of 8 only, and with the mix the layer picks.
    func compareTileSizes(_ cases: [([Int], Int, Int)], padding: Padding, file: StaticString = #filePath, line: UInt = #line) {
        for sizes in [[2], [4], [6], [8], [2, 4, 6, 8]] {
            for (shape, K, B) in cases {
                compareWithIm2col(shape, filters: K, padding: padding, batch: B, sizes: sizes, file: file, line: line)
            }
        }
    }

    func testSamePaddingMatchesIm2col() {
        compareTileSizes([([6, 6, 4], 5, 1), ([7, 7, 5], 3, 3), ([5, 6, 9], 17, 3), ([14, 14, 32], 64, 2), ([1, 3, 4], 2, 2),
                          ([9, 10, 4], 6, 2)], padding: .same)
    }

    func testValidPaddingMatchesIm2col() {
        compareTileSizes([([6, 6, 4], 5, 3), ([7, 7, 6], 7, 1), ([13, 11, 33], 10, 3), ([3, 3, 4], 4, 2)], padding: .valid)
    }

    func testBatchesLargerThanOneChunk() {
        // 200 images of 10x10: 5000, 1800, 800 or 800 tiles of 2, 4, 6 or 8 alone, several chunks
        // each (the filter gradient sums across them); the mix (10 = 6 + 4) has 200 tiles per group.
        let conv = Conv2D(input: [10, 10, 8], filters: 8, kernel: 3)
        XCTAssertLessThan(conv.winogradChunk(elements: 36), 200 * 9)
        XCTAssertLessThan(conv.winogradChunk(elements: 64), 200 * 4)
        XCTAssertLessThan(conv.winogradChunk(elements: 100), 200 * 4)
        for sizes in [[2], [4], [6], [8], [2, 4, 6, 8]] { compareWithIm2col([10, 10, 8], filters: 8, padding: .same, batch: 200, sizes: sizes) }
    }

    /// The fewest transformed points per axis, then the fewest 8s, then the fewest 6s, then the fewest tiles.
    func testTileSizeChoice() {
        func runs(_ L: Int, _ sizes: [Int] = [2, 4, 6, 8]) -> String {
            Conv2D.winogradRuns(L, sizes: sizes).map(\.description).joined(separator: " ")
        }
        XCTAssertEqual(runs(14), "1x8@0 1x6@8")   // 10 + 8 = 18 points
        XCTAssertEqual(runs(28), "2x8@0 2x6@16")  // 36, as 3 x 8 + 4: fewer 8s
        XCTAssertEqual(runs(12), "2x6@0")         // 16, as 8 + 4: fewer 8s
        XCTAssertEqual(runs(7), "1x8@0")          // 10, against 12 for 4 + 4
        XCTAssertEqual(runs(5), "1x6@0")          // 8, against 10 for 4 + 2 or 8
        XCTAssertEqual(runs(3), "1x4@0")          // 6, against 8 for 2 + 2
        XCTAssertEqual(runs(2), "1x2@0")
        XCTAssertEqual(runs(1), "1x2@0")
        let upTo6 = [2, 4, 6]
        XCTAssertEqual(runs(14, upTo6), "1x6@0 2x4@6")   // 8 + 6 + 6 = 20 points, where 4x4 alone needs 24 (16 covered)
        XCTAssertEqual(runs(28, upTo6), "4x6@0 1x4@24")  // 38, against 42 with 4 alone
        XCTAssertEqual(runs(7, upTo6), "2x4@0")          // 12, as 6 + 2: fewer 6s
        XCTAssertEqual(runs(14, [4]), "4x4@0")    // the last tile sticks out
        XCTAssertEqual(runs(14, [2]), "7x2@0")
        XCTAssertEqual(runs(9, [2, 4]), "2x4@0 1x2@8")
        XCTAssertEqual(runs(9, [8]), "2x8@0")
        let conv = Conv2D(input: [14, 14, 32], filters: 64, kernel: 3)
        conv.prepare(maxBatch: 1)
        XCTAssertEqual(conv.forwardGroups.map { "\($0.ma)x\($0.mb)" }, ["8x8", "8x6", "6x8", "6x6"])
        XCTAssertEqual(conv.forwardGroups.map { Conv2D.elements($0) * Int($0.nr * $0.nc) }.reduce(0, +), 324)  // 18 x 18
    }

    func testDirectMatchesIm2col() {
        compareWithIm2col([28, 28, 1], filters: 32, padding: .same, batch: 2, path: .direct)
        compareWithIm2col([7, 6, 3], filters: 5, padding: .valid, batch: 3, path: .direct)
        compareWithIm2col([9, 8, 2], filters: 7, kernel: 5, stride: 2, padding: .same, batch: 1, path: .direct)
        compareWithIm2col([6, 5, 1], filters: 3, kernel: 2, stride: 2, padding: .valid, batch: 3, path: .direct)
        // The unrolled tap counts (9, 25, 27) with output channels past one block and a partial last vector.
        compareWithIm2col([8, 8, 1], filters: 40, padding: .same, batch: 2, path: .direct)
        compareWithIm2col([6, 7, 1], filters: 20, kernel: 5, padding: .same, batch: 2, path: .direct)
        compareWithIm2col([5, 5, 3], filters: 33, stride: 2, padding: .same, batch: 3, path: .direct)
        compareWithIm2col([9, 7, 3], filters: 16, stride: 2, padding: .valid, batch: 2, path: .direct)
    }

    func testOnlyThreeByThreeStrideOneWithFourChannelsTakesWinograd() {
        XCTAssertTrue(Conv2D(input: [8, 8, 4], filters: 2, kernel: 3).useWinograd)
        XCTAssertTrue(Conv2D(input: [8, 8, 4], filters: 2, kernel: 3, padding: .valid).useWinograd)
        XCTAssertFalse(Conv2D(input: [8, 8, 3], filters: 2, kernel: 3).useWinograd)
        XCTAssertFalse(Conv2D(input: [8, 8, 4], filters: 2, kernel: 3, stride: 2).useWinograd)
        XCTAssertFalse(Conv2D(input: [8, 8, 4], filters: 2, kernel: 5).useWinograd)
        XCTAssertFalse(Conv2D(input: [8, 8, 4], filters: 2, kernel: 2).useWinograd)
        XCTAssertTrue(Conv2D(input: [8, 8, 3], filters: 2, kernel: 3).useDirect)
        XCTAssertFalse(Conv2D(input: [8, 8, 4], filters: 2, kernel: 3, stride: 2).useDirect)
    }

    /// The filter transforms themselves, U = G_a g G_bᵀ for every pair of tile sizes, plain and
    /// transposed, against explicit matrices (the G of F(2,3), F(4,3), F(6,3) and F(8,3)).
    func testFilterTransformMatchesMatrices() {
        // F(8,3)'s G: [1 p p²] / Π_{q≠p} (p - q) for p = 0, ±1, ±2, ±½, ±¾, then [0 0 1] for ∞
        let points8 = [0, 1, -1, 2, -2, 0.5, -0.5, 0.75, -0.75]
        let g8 = points8.map { p -> [Double] in
            let f = points8.filter { $0 != p }.reduce(1.0) { $0 * (p - $1) }
            return [1 / f, p / f, p * p / f]
        } + [[0, 0, 1]]
        let G: [Int: [[Double]]] = [
            2: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
            4: [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]],
            6: [[1, 0, 0], [-2.0 / 9, -2.0 / 9, -2.0 / 9], [-2.0 / 9, 2.0 / 9, -2.0 / 9], [1.0 / 90, 1.0 / 45, 2.0 / 45],
                [1.0 / 90, -1.0 / 45, 2.0 / 45], [32.0 / 45, 16.0 / 45, 8.0 / 45], [32.0 / 45, -16.0 / 45, 8.0 / 45], [0, 0, 1]],
            8: g8,
        ]
        // C·K = 21: one whole vector of 16 (c, k) pairs and a partial one; 153: a block of 8
        // vectors, then one whole vector and a partial one.
        for (C, K) in [(3, 7), (9, 17)] {
            let w = random(K * 9 * C)
            for ma in [2, 4, 6, 8] {
                for mb in [2, 4, 6, 8] {
                    let (Ga, Gb) = (G[ma]!, G[mb]!), (na, nb) = (ma + 2, mb + 2)
                    var U = [Float](repeating: .nan, count: na * nb * C * K), Ut = U
                    sweep_winograd_filter(w, &U, Int32(C), Int32(K), Int32(ma), Int32(mb), 0)
                    sweep_winograd_filter(w, &Ut, Int32(C), Int32(K), Int32(ma), Int32(mb), 1)
                    for k in 0..<K {
                        for c in 0..<C {
                            for r in 0..<na {
                                for q in 0..<nb {
                                    var u = 0.0
                                    for i in 0..<3 { for j in 0..<3 { u += Ga[r][i] * Double(w[((k * 3 + i) * 3 + j) * C + c]) * Gb[q][j] } }
                                    let xi = r * nb + q, what = "C\(C) K\(K) \(ma)x\(mb) k\(k) c\(c) ξ\(xi)"
                                    XCTAssertEqual(Double(U[xi * C * K + c * K + k]), u, accuracy: 1e-5, what)
                                    XCTAssertEqual(Double(Ut[xi * C * K + k * C + c]), u, accuracy: 1e-5, what + " transposed")
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
