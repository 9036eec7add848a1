import XCTest
import CSweepKernels
import SweepCore
import SweepData
@testable import SweepEngine

/// `Precision.bf16`: the mixed-precision GEMM against a double-precision product of the rounded
/// operands, its fallback path, and training with it.
final class PrecisionTests: XCTestCase {
    /// The reference: op(A) op(B) over the operands rounded to bfloat16, summed in Double.
    /// Returns the product and, per element, Σ |a·b| (the scale of the fp32 summation error).
    func reference(_ ta: Bool, _ tb: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Float, _ a: [Float], _ lda: Int,
                   _ b: [Float], _ ldb: Int, _ beta: Float, _ c: [Float], _ ldc: Int) -> ([Double], [Double]) {
        var out = [Double](repeating: 0, count: M * ldc), scale = out
        for i in 0..<M {
            for j in 0..<ldc {
                guard j < N else { out[i * ldc + j] = Double(c[i * ldc + j]); continue }
                var s = 0.0, abs = 0.0
                for k in 0..<K {
                    let x = Double(roundedToBF16(ta ? a[k * lda + i] : a[i * lda + k]))
                    let y = Double(roundedToBF16(tb ? b[j * ldb + k] : b[k * ldb + j]))
                    s += x * y; abs += Swift.abs(x * y)
                }
                out[i * ldc + j] = Double(alpha) * s + Double(beta) * Double(c[i * ldc + j])
                scale[i * ldc + j] = Double(Swift.abs(alpha)) * abs + Swift.abs(Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return (out, scale)
    }

    /// Every transpose combination; row counts around the micro-kernel's 6, 8 and 12 rows, column
    /// counts that take panels of 1-4 vectors with partial vectors, odd and even K, alpha and beta.
    /// Both the AVX512-BF16 kernel (where the CPU has it) and the rounding fallback.
    func testBF16GemmMatchesRoundedReference() {
        var rng = SweepRandom(seed: 11)
        let shapes = [(1, 1, 1), (5, 7, 3), (6, 64, 2), (13, 70, 33), (42, 64, 32), (128, 10, 128),
                      (7, 130, 17), (64, 17, 64), (9, 40, 20), (30, 100, 31), (25, 48, 9), (12, 200, 300)]
        var checked = 0
        for (M, N, K) in shapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2  // padded leading dimensions
                let a = (0..<((ta ? K : M) * lda)).map { _ in Float(rng.nextGaussian()) }
                let b = (0..<((tb ? N : K) * ldb)).map { _ in Float(rng.nextGaussian()) }
                let c0 = (0..<(M * ldc)).map { _ in Float(rng.nextGaussian()) }
                let alpha: Float = checked % 2 == 0 ? 1 : 0.5, beta: Float = checked % 3 == 0 ? 0.75 : 0
                let (want, scale) = reference(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c0, ldc)
                var paths: [(String, [Float])] = []
                var fast = c0
                if sweep_gemm_bf16(ta ? 1 : 0, tb ? 1 : 0, Int32(M), Int32(N), Int32(K), alpha, a, Int32(lda), b, Int32(ldb),
                                   beta, &fast, Int32(ldc)) != 0 { paths.append(("avx512-bf16", fast)) }
                var slow = c0
                gemmRoundedBF16(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, &slow, ldc)
                paths.append(("fallback", slow))
                for (path, got) in paths {
                    for i in 0..<(M * ldc) {
                        let tol = 2e-6 * scale[i] + 1e-30  // fp32 summation of K exact products
                        if Swift.abs(Double(got[i]) - want[i]) > tol || (i % ldc >= N && got[i] != c0[i]) {
                            return XCTFail("\(path) ta=\(ta) tb=\(tb) \(M)x\(N)x\(K) at \(i / ldc),\(i % ldc): \(got[i]) vs \(want[i])")
                        }
                    }
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, shapes.count * 4)
    }

    /// The bias/ReLU epilogue (`sweep_gemm_bf16_bias`) against the three passes it replaces (bias
    /// broadcast, `sweep_gemm_bf16` with beta = 1, `sweep_relu`): bit for bit, every transpose case,
    /// tails of rows and columns, K odd, even and 0, with and without the ReLU; padding columns of
    /// C (ldc > N) untouched.
    func testBF16BiasEpilogueIsBitIdentical() throws {
        try XCTSkipIf(sweep_bf16_supported() == 0, "no AVX512-BF16 on this CPU")
        var rng = SweepRandom(seed: 12)
        let shapes = [(1, 1, 1), (5, 7, 3), (13, 70, 33), (128, 256, 784), (128, 10, 128), (7, 130, 17), (25, 48, 0), (12, 200, 300)]
        for (M, N, K) in shapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                for relu in [false, true] {
                    let lda = max(ta ? M : K, 1) + 3, ldb = max(tb ? K : N, 1) + 1, ldc = N + 2
                    let a = (0..<(max(ta ? K : M, 1) * lda)).map { _ in Float(rng.nextGaussian()) }
                    let b = (0..<(max(tb ? N : K, 1) * ldb)).map { _ in Float(rng.nextGaussian()) }
                    let bias = (0..<N).map { _ in Float(rng.nextGaussian()) }
                    let c0 = (0..<(M * ldc)).map { _ in Float(rng.nextGaussian()) }
                    var want = c0
                    for i in 0..<M { for j in 0..<N { want[i * ldc + j] = bias[j] } }
                    XCTAssertEqual(sweep_gemm_bf16(ta ? 1 : 0, tb ? 1 : 0, Int32(M), Int32(N), Int32(K), 1, a, Int32(lda), b, Int32(ldb),
                                                   1, &want, Int32(ldc)), 1)
                    if relu { for i in 0..<M { for j in 0..<N { let y = want[i * ldc + j]; want[i * ldc + j] = y > 0 ? y : 0 } } }  // sweep_relu
                    var got = c0
                    XCTAssertEqual(sweep_gemm_bf16_bias(ta ? 1 : 0, tb ? 1 : 0, Int32(M), Int32(N), Int32(K), a, Int32(lda), b, Int32(ldb),
                                                        bias, relu ? 1 : 0, &got, Int32(ldc)), 1)
                    XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "ta=\(ta) tb=\(tb) \(M)x\(N)x\(K) relu=\(relu)")
                }
            }
        }
    }

    /// The C rounding of the fallback path (`sweep_bf16_round`) is `roundedToBF16` on every value,
    /// ties, NaNs, infinities and denormals included, and reads rows by their leading dimension.
    func testCRoundingMatchesTheReference() {
        var rng = SweepRandom(seed: 13)
        var values: [Float] = [0, -0, 1 + 1.0 / 256, 1 + 3.0 / 256, -2.5, .nan, -.nan, .infinity, -.infinity,
                               .greatestFiniteMagnitude, .leastNonzeroMagnitude, Float(bitPattern: 0x7F7F_FFFF), Float(bitPattern: 0x0000_8000)]
        while values.count < 5 * 40 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        let rows = 5, cols = 37, ld = 40
        var dst = [Float](repeating: 7, count: rows * cols)
        sweep_bf16_round(&dst, values, Int32(rows), Int32(cols), Int32(ld))
        for r in 0..<rows {
            for c in 0..<cols {
                let want = roundedToBF16(values[r * ld + c]), got = dst[r * cols + c]
                XCTAssertTrue(want.isNaN ? got.isNaN : got.bitPattern == want.bitPattern, "\(values[r * ld + c]): \(got) vs \(want)")
            }
        }
    }

    /// Which path bf16 products take: the rule (the dot product kernel on AMD's CPUs with
    /// AVX512-BF16, rounding elsewhere), or `SWEEP_BF16`; `usedSummary` names the path that ran.
    func testBF16PathRuleAndOverride() throws {
        defer { sweep_bf16_force(-1) }
        try GemmKernel.configure(environment: [:])
        let amd = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains("AuthenticAMD") ?? false
        XCTAssertEqual(sweep_bf16_uses_dot() != 0, amd && sweep_bf16_supported() != 0)
        try GemmKernel.configure(environment: ["SWEEP_BF16": "rounded"])
        XCTAssertEqual(sweep_bf16_uses_dot(), 0)
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 1]
        var c: [Float] = [0, 0]
        gemm(.bf16, false, false, 2, 1, 2, 1, a, 2, b, 1, 0, &c, 1)
        XCTAssertEqual(c, [3, 7])
        XCTAssertTrue(GemmKernel.usedSummary.contains("bf16-rounded"), GemmKernel.usedSummary)
        if sweep_bf16_supported() != 0 {
            try GemmKernel.configure(environment: ["SWEEP_BF16": "avx512-bf16"])
            XCTAssertEqual(sweep_bf16_uses_dot(), 1)
        } else {
            XCTAssertThrowsError(try GemmKernel.configure(environment: ["SWEEP_BF16": "avx512-bf16"]))
        }
        XCTAssertThrowsError(try GemmKernel.configure(environment: ["SWEEP_BF16": "amx"])) { error in
            XCTAssertEqual("\(error)", "'SWEEP_BF16': 'amx' is not a bf16 product path (accepted: auto, avx512-bf16, rounded)")
        }
    }

    /// The product really is in bf16: far from the fp32 product where the operands need more
    /// than 8 significant bits, equal where they fit in 8.
    func testBF16RoundsTheOperands() {
        let a: [Float] = [1 + 1.0 / 512, 3], b: [Float] = [1, 1 + 1.0 / 64]  // 1 + 2^-9 rounds to 1 in bf16
        var c: [Float] = [0]
        gemm(.bf16, false, false, 1, 1, 2, 1, a, 2, b, 1, 0, &c, 1)
        XCTAssertEqual(c[0], 1 + 3 * (1 + 1.0 / 64))
        gemm(.fp32, false, false, 1, 1, 2, 1, a, 2, b, 1, 0, &c, 1)
        XCTAssertEqual(c[0], 1 + 1.0 / 512 + 3 * (1 + 1.0 / 64))
        XCTAssertEqual(roundedToBF16(1 + 1.0 / 256), 1)          // a tie: to even
        XCTAssertEqual(roundedToBF16(1 + 3.0 / 256), 1 + 4.0 / 256)  // a tie: to even (up)
        XCTAssertEqual(roundedToBF16(-2.5), -2.5)
        XCTAssertTrue(roundedToBF16(.nan).isNaN)
        XCTAssertEqual(roundedToBF16(.infinity), .infinity)
    }

    func mlp(_ precision: Precision?, epochs: Int = 8) -> TrialConfig {
        var t = TrainingSpec()
        t.epochs = epochs; t.batchSize = 32; t.learningRate = 0.003; t.precision = precision
        return TrialConfig(name: "t", dataset: DatasetSpec(name: "digits", validation: 0.15),
                           layers: [.dense(64), .dense(32)], training: t, seed: 4)
    }

    func train(_ c: TrialConfig) throws -> ([EpochReport], FinalReport) {
        let tr = try Trainer(config: c, splits: TrainingTests.digits)
        var reports: [EpochReport] = []
        while !tr.isFinished { reports.append(tr.runEpoch()) }
        return (reports, tr.finish())
    }

    /// Training in bf16 learns as well as in fp32, repeats bit for bit, and is not the fp32 run.
    func testBF16TrainingLearnsAndRepeats() throws {
        let (a, fa) = try train(mlp(.bf16))
        let (b, fb) = try train(mlp(.bf16))
        let (f, ff) = try train(mlp(nil))
        XCTAssertEqual(a.map(\.trainLoss), b.map(\.trainLoss))
        XCTAssertEqual(fa.testLoss, fb.testLoss)
        XCTAssertNotEqual(a.map(\.trainLoss), f.map(\.trainLoss))
        XCTAssertGreaterThan(fa.testAccuracy!, 0.93)
        XCTAssertGreaterThan(fa.testAccuracy!, ff.testAccuracy! - 0.02)
        XCTAssertLessThan(Swift.abs(a.last!.trainLoss - f.last!.trainLoss), 0.25 * f.last!.trainLoss + 0.01)
    }

    /// A CNN with a thin first layer (direct), a Winograd layer and an im2col (5x5) layer.
    func testBF16CNNLearns() throws {
        var c = mlp(.bf16, epochs: 4)
        c.training.learningRate = 0.01
        c.layers = [.conv(8), .conv(8), LayerSpec(type: .conv2d, filters: 8, kernel: 5, activation: .relu), .maxpool(), .dense(32)]
        let (r, f) = try train(c)
        XCTAssertLessThan(r.last!.trainLoss, r.first!.trainLoss)
        XCTAssertGreaterThan(f.testAccuracy!, 0.8)
    }
}
