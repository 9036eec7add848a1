import XCTest
import SweepCore
import CSweepKernels
@testable import SweepEngine

/// The Winograd and direct paths of `Conv2D` against its im2col path (the reference): forward
/// output, input gradient and filter and bias gradients, on random data, for odd and even sizes
/// and channel counts that are not multiples of the vector width.
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
                           path: Path = .winograd, tile: Int = 2, file: StaticString = #filePath, line: UInt = #line) {
        let fast = Conv2D(input: shape, filters: K, kernel: kernel, stride: stride, padding: padding)
        let slow = Conv2D(input: shape, filters: K, kernel: kernel, stride: stride, padding: padding)
        fast.winogradTile = tile
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
        let what = "\(path) \(path == .winograd ? "F(\(tile)x\(tile)) " : "")\(shape) K\(K) k\(kernel) s\(stride) \(padding) B\(B)"
        // F(4x4)'s transforms have entries up to 8 and 1/24: its rounding errors are larger.
        let tolerance: Float = path == .winograd && tile == 4 ? 5e-4 : 1e-4
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

    /// Each (input, filters, batch) with F(2x2) and F(4x4).
    func compareBothTiles(_ cases: [([Int], Int, Int)], padding: Padding, file: StaticString = #filePath, line: UInt = #line) {
        for tile in [2, 4] {
            for (shape, K, B) in cases {
                compareWithIm2col(shape, filters: K, padding: padding, batch: B, tile: tile, file: file, line: line)
            }
        }
    }

    func testSamePaddingMatchesIm2col() {
        compareBothTiles([([6, 6, 4], 5, 1), ([7, 7, 5], 3, 3), ([5, 6, 9], 17, 3), ([14, 14, 32], 64, 2), ([1, 3, 4], 2, 2),
                          ([9, 10, 4], 6, 2)], padding: .same)
    }

    func testValidPaddingMatchesIm2col() {
        compareBothTiles([([6, 6, 4], 5, 3), ([7, 7, 6], 7, 1), ([13, 11, 33], 10, 3), ([3, 3, 4], 4, 2)], padding: .valid)
    }

    func testBatchesLargerThanOneChunk() {
        // 200 images of 10x10: 5000 (F(2x2)) or 1800 (F(4x4)) tiles, several chunks (the filter
        // gradient sums across them).
        let conv = Conv2D(input: [10, 10, 8], filters: 8, kernel: 3)
        conv.winogradTile = 4
        XCTAssertLessThan(conv.winogradChunk, 200 * 9)
        for tile in [2, 4] { compareWithIm2col([10, 10, 8], filters: 8, padding: .same, batch: 200, tile: tile) }
    }

    /// F(4x4) where it needs fewer multiplications, tiles that stick out counted.
    func testTileSizeChoice() {
        XCTAssertEqual(Conv2D(input: [14, 14, 32], filters: 64, kernel: 3).winogradTile, 4)   // 576 vs 784 multiplications per channel pair
        XCTAssertEqual(Conv2D(input: [28, 28, 32], filters: 64, kernel: 3).winogradTile, 4)
        XCTAssertEqual(Conv2D(input: [7, 7, 64], filters: 64, kernel: 3).winogradTile, 4)     // 144 vs 256
        XCTAssertEqual(Conv2D(input: [2, 2, 8], filters: 8, kernel: 3).winogradTile, 2)       // 36 vs 16
        XCTAssertEqual(Conv2D(input: [5, 5, 8], filters: 8, kernel: 3).winogradTile, 2)       // 144 vs 144
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

    /// The filter transforms themselves, against G g Gᵀ written out with explicit matrices.
    func testFilterTransformMatchesMatrices() {
        checkFilterTransform(G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], sweep_winograd_filter)
        checkFilterTransform(G: [[1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                                 [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]], sweep_winograd4_filter)
    }

    func checkFilterTransform(G: [[Float]], _ transform: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int32, Int32, Int32) -> Void) {
        let C = 3, K = 2, a = G.count, n = a * a
        let w = random(K * 9 * C)
        var U = [Float](repeating: 0, count: n * C * K), Uflip = U
        transform(w, &U, Int32(C), Int32(K), 0)
        transform(w, &Uflip, Int32(C), Int32(K), 1)
        for k in 0..<K {
            for c in 0..<C {
                for flip in [false, true] {
                    var u = [[Float]](repeating: [Float](repeating: 0, count: a), count: a)
                    for r in 0..<a { for q in 0..<a { for i in 0..<3 { for j in 0..<3 {
                        let g = flip ? w[((k * 3 + 2 - i) * 3 + 2 - j) * C + c] : w[((k * 3 + i) * 3 + j) * C + c]
                        u[r][q] += G[r][i] * g * G[q][j]
                    } } } }
                    for xi in 0..<n {
                        let got = flip ? Uflip[xi * C * K + k * C + c] : U[xi * C * K + c * K + k]
                        XCTAssertEqual(got, u[xi / a][xi % a], accuracy: 1e-5, "\(a)x\(a) k\(k) c\(c) ξ\(xi) flip \(flip)")
                    }
                }
            }
        }
    }
}
