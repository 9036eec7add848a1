import XCTest
import SweepCore
import CSweepKernels
@testable import SweepEngine

/// Every GEMM kernel this CPU runs against the naive reference, for every transpose case.
final class GemmTests: XCTestCase {
    override func tearDown() { GemmKernel.force(nil) }

    var kernels: [GemmKernel] { GemmKernel.allCases.filter(\.isSupported) }

    /// One product by `kernel` against `gemmNaive`: operands with leading dimensions wider than
    /// their rows, C filled with NaN where beta is 0 (an element not written, or read, stays NaN)
    /// and a sentinel in the columns between N and ldc (which must not change).
    func check(_ kernel: GemmKernel, _ ta: Bool, _ tb: Bool, _ M: Int, _ N: Int, _ K: Int,
               alpha: Float, beta: Float, rng: inout SweepRandom, file: StaticString = #filePath, line: UInt = #line) {
        let lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2
        let a = (0..<(lda * (ta ? K : M))).map { _ in Float(rng.nextGaussian()) }
        let b = (0..<(ldb * (tb ? N : K))).map { _ in Float(rng.nextGaussian()) }
        var c0 = (0..<(ldc * M)).map { _ in beta == 0 ? Float.nan : Float(rng.nextGaussian()) }
        for i in 0..<M { for j in N..<ldc { c0[i * ldc + j] = 12345 } }
        var fast = c0, slow = c0
        GemmKernel.force(kernel)
        gemm(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, &fast, ldc)
        GemmKernel.force(nil)
        gemmNaive(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, &slow, ldc)
        let what = "\(kernel) ta=\(ta) tb=\(tb) \(M)x\(N)x\(K) alpha=\(alpha) beta=\(beta)"
        var worst: Float = 0
        for i in 0..<M {
            for j in 0..<ldc {
                let x = fast[i * ldc + j], y = slow[i * ldc + j]
                if j >= N { XCTAssertEqual(x, 12345, "\(what): column \(j) past N written", file: file, line: line); continue }
                guard x.isFinite else { XCTFail("\(what): C[\(i), \(j)] = \(x)", file: file, line: line); return }
                worst = max(worst, abs(x - y) / max(1, abs(y)) / Float(max(K, 1)).squareRoot())
            }
        }
        XCTAssertLessThan(worst, 1e-5, what, file: file, line: line)
    }

    func testEveryKernelAndTransposeMatchesNaive() {
        var rng = SweepRandom(seed: 7)
        XCTAssertTrue(kernels.contains(.portable) && kernels.contains(.openblas))
        // odd sizes around every kernel's block sizes and panel widths (4-64 columns, 6-12 rows)
        let shapes = [(1, 1, 1), (3, 5, 7), (17, 9, 33), (13, 70, 600), (64, 10, 128), (7, 65, 1100), (25, 129, 3),
                      (12, 64, 16), (6, 48, 5), (50, 17, 2), (11, 33, 513), (2, 200, 1)]
        for kernel in kernels {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                for (M, N, K) in shapes {
                    check(kernel, ta, tb, M, N, K, alpha: 1, beta: 0, rng: &rng)
                }
                check(kernel, ta, tb, 19, 37, 45, alpha: 0.5, beta: 1, rng: &rng)
                check(kernel, ta, tb, 19, 37, 45, alpha: -1.5, beta: 0.25, rng: &rng)
                check(kernel, ta, tb, 9, 100, 1030, alpha: 2, beta: -1, rng: &rng)  // K in blocks: beta once
            }
        }
    }

    /// The few-row path (M <= SWEEP_GEMV_ROWS: op(B) read in place) of every kernel and transpose
    /// case, and one row past it: C's columns in whole register blocks, part blocks and part
    /// vectors (N around 8, 16, 64 and 128), K around the vector widths (a zero-padded last piece
    /// of the dot products), beta 0 (C not read) and not; each product twice gives the same bits.
    func testFewRowsEveryKernelAndTransposeMatchesNaive() {
        var rng = SweepRandom(seed: 11)
        XCTAssertEqual(SWEEP_GEMV_ROWS, 4)
        for kernel in kernels where kernel != .openblas {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                for M in 1...5 {
                    for N in [1, 3, 9, 15, 16, 17, 33, 65, 129] {
                        for K in [1, 5, 8, 16, 17, 100, 515] {
                            check(kernel, ta, tb, M, N, K, alpha: 1, beta: 0, rng: &rng)
                        }
                        check(kernel, ta, tb, M, N, 37, alpha: -1.5, beta: 0.25, rng: &rng)
                    }
                }
                let M = 1, N = 70, K = 300, lda = ta ? M : K, ldb = tb ? K : N
                let a = (0..<(M * K)).map { _ in Float(rng.nextGaussian()) }, b = (0..<(K * N)).map { _ in Float(rng.nextGaussian()) }
                var c1 = [Float](repeating: 0, count: M * N), c2 = c1
                GemmKernel.force(kernel)
                gemm(ta, tb, M, N, K, 1, a, lda, b, ldb, 0, &c1, N)
                gemm(ta, tb, M, N, K, 1, a, lda, b, ldb, 0, &c2, N)
                GemmKernel.force(nil)
                XCTAssertEqual(c1.map(\.bitPattern), c2.map(\.bitPattern), "\(kernel) ta=\(ta) tb=\(tb)")
            }
        }
    }

    /// Shapes of the engine's layers (dense at batch 16 and 128, im2col, Winograd) on every kernel.
    func testEngineShapesMatchNaive() {
        var rng = SweepRandom(seed: 9)
        for kernel in kernels {
            check(kernel, false, true, 16, 256, 784, alpha: 1, beta: 1, rng: &rng)   // Dense forward
            check(kernel, true, false, 128, 130, 128, alpha: 1, beta: 0, rng: &rng)  // Dense weight gradient
            check(kernel, false, false, 128, 784, 10, alpha: 1, beta: 0, rng: &rng)  // Dense input gradient
            check(kernel, true, false, 32, 64, 150, alpha: 1, beta: 1, rng: &rng)    // Winograd dU
            check(kernel, true, false, 32, 288, 2000, alpha: 1, beta: 0, rng: &rng)  // im2col filter gradient
        }
    }

    /// No products (K = 0): C = beta·C; nothing at all when M or N is 0.
    func testEmptyProducts() {
        for kernel in kernels {
            var c: [Float] = [2, 4, 6]
            GemmKernel.force(kernel)
            gemm(false, false, 1, 3, 0, 1, [Float](repeating: 0, count: 1), 1, [Float](repeating: 0, count: 3), 3, 0.5, &c, 3)
            XCTAssertEqual(c, [1, 2, 3], "\(kernel)")
            c = [.nan, .nan, .nan]
            gemm(false, false, 1, 3, 0, 1, [Float](repeating: 0, count: 1), 1, [Float](repeating: 0, count: 3), 3, 0, &c, 3)
            XCTAssertEqual(c, [0, 0, 0], "\(kernel)")
            gemm(false, false, 0, 3, 4, 1, [Float](repeating: 0, count: 4), 4, [Float](repeating: 0, count: 12), 3, 0, &c, 3)
            XCTAssertEqual(c, [0, 0, 0], "\(kernel)")
        }
    }

    /// The same product twice gives the same bits, and the kernel that ran is recorded.
    func testDeterministicAndRecorded() {
        var rng = SweepRandom(seed: 3)
        let M = 70, N = 90, K = 600
        let a = (0..<(M * K)).map { _ in Float(rng.nextGaussian()) }, b = (0..<(K * N)).map { _ in Float(rng.nextGaussian()) }
        for kernel in kernels {
            var c1 = [Float](repeating: 0, count: M * N), c2 = c1
            GemmKernel.force(kernel)
            XCTAssertEqual(GemmKernel.choice(false, true, M, N, K), kernel)
            gemm(false, true, M, N, K, 1, a, K, b, K, 0, &c1, N)
            gemm(false, true, M, N, K, 1, a, K, b, K, 0, &c2, N)
            XCTAssertEqual(c1.map(\.bitPattern), c2.map(\.bitPattern), "\(kernel)")
            XCTAssertTrue(GemmKernel.used.contains(kernel), "\(kernel) not recorded: \(GemmKernel.usedSummary)")
        }
    }

    /// The rule picks a kernel this CPU runs: Sweep's widest for a dense layer's forward pass and
    /// for products of SWEEP_GEMV_ROWS rows or fewer, and OpenBLAS for the products it measured
    /// faster (bench/README.md), only when OpenBLAS runs AVX2 kernels or wider; an OpenBLAS on an
    /// SSE core never runs a product.
    func testRuleChoosesAKernelThisCPURuns() {
        GemmKernel.force(nil)
        let own: GemmKernel = GemmKernel.avx512.isSupported ? .avx512 : GemmKernel.avx2.isSupported ? .avx2 : .openblas
        let shapes: [(Bool, Bool, Int, Int, Int, GemmKernel)] = [
            (false, true, 128, 256, 784, own),
            (true, false, 256, 784, 128, own),
            (false, false, 27, 64, 32, .openblas),      // Winograd point product
            (true, false, 128, 3136, 128, .openblas),   // wide
            (true, false, 256, 784, 16, .openblas),     // short: batch 16
            (false, false, 25088, 288, 64, .openblas),  // tall, A stored (M,K)
            (false, true, 27, 64, 32, own),             // B stored (N,K): always own
            (false, false, 1, 784, 256, own),           // few rows (GEMV path): a Dense input gradient at batch 1,
            (true, false, 2, 784, 128, own),            //   a 2-unit layer's weight gradient,
            (false, false, 4, 3136, 128, own),          //   wide
            (false, false, 5, 64, 32, .openblas),       // 5 rows: small again
            (false, true, 1, 256, 784, own),            // one-sample Dense forward
        ]
        for (ta, tb, m, n, k, wide) in shapes {
            XCTAssertEqual(GemmKernel.rule(openBLASWide: true, ta, tb, m, n, k), wide, "\(ta) \(tb) \(m)x\(n)x\(k)")
            XCTAssertEqual(GemmKernel.rule(openBLASWide: false, ta, tb, m, n, k), own, "\(ta) \(tb) \(m)x\(n)x\(k), OpenBLAS on an SSE core")
            XCTAssertEqual(GemmKernel.choice(ta, tb, m, n, k), GemmKernel.rule(openBLASWide: GemmKernel.openBLASIsWide, ta, tb, m, n, k),
                           "this machine's OpenBLAS runs \(GemmKernel.openBLASCore)")
        }
    }

    func testWhichOpenBLASCoresAreWide() {
        for core in ["Haswell", "ZEN", "SkylakeX", "Cooperlake", "SapphireRapids"] { XCTAssertNotEqual(sweep_openblas_core_is_wide(core), 0, core) }
        for core in ["Prescott", "Core2", "Nehalem", "Sandybridge", "Barcelona", "", "unknown"] { XCTAssertEqual(sweep_openblas_core_is_wide(core), 0, core) }
        XCTAssertEqual(sweep_openblas_core_is_wide(nil), 0)
    }

    func testEnvironmentOverride() throws {
        try GemmKernel.configure(environment: ["SWEEP_GEMM": "portable"])
        XCTAssertEqual(GemmKernel.choice(true, false, 8, 8, 8), .portable)
        try GemmKernel.configure(environment: ["SWEEP_GEMM": "openblas"])
        XCTAssertEqual(GemmKernel.choice(true, false, 8, 8, 8), .openblas)
        try GemmKernel.configure(environment: [:])
        XCTAssertEqual(GemmKernel.choice(true, false, 8, 8, 8), GemmKernel.choice(true, false, 8, 8, 8))
        XCTAssertThrowsError(try GemmKernel.configure(environment: ["SWEEP_GEMM": "avx1024"])) { error in
            XCTAssertEqual("\(error)", "'SWEEP_GEMM': 'avx1024' is not a GEMM kernel (accepted: auto, openblas, portable, avx2, avx512)")
        }
        for k in GemmKernel.allCases where !k.isSupported {
            XCTAssertThrowsError(try GemmKernel.configure(environment: ["SWEEP_GEMM": k.rawValue]))
        }
    }

    /// A whole Dense forward through `gemm` equals the naive triple loop.
    func testDenseForwardMatchesNaive() {
        var rng = SweepRandom(seed: 8)
        let B = 4, D = 6, U = 3
        let layer = Dense(inputs: D, units: U)
        var p = [Float](repeating: 0, count: layer.parameterCount), s: [Float] = [0]
        layer.initialize(&p, &s, rng: &rng, scheme: .he)
        let x = (0..<(B * D)).map { _ in Float(rng.nextGaussian()) }
        var out = [Float](repeating: 0, count: B * U)
        var ctx = PassContext(training: false, rng: rng)
        layer.forward(&out, x, p, &s, batch: B, ctx: &ctx)
        for b in 0..<B { for u in 0..<U {
            var acc = p[U * D + u]
            for d in 0..<D { acc += x[b * D + d] * p[u * D + d] }
            XCTAssertEqual(out[b * U + u], acc, accuracy: 1e-5)
        } }
    }
}
