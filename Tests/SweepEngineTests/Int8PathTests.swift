import Foundation
import XCTest
import CSweepKernels
import SweepCore
import SweepData
@testable import SweepEngine

/// Every int8 GEMM path (`Int8Kernel`) against the scalar reference: the same int32 sums, hence
/// bit-identical floats, on shapes with tails in every dimension, on extreme values, and through
/// a quantized network. A path this CPU lacks is skipped, naming the features it needs.
final class Int8PathTests: XCTestCase {
    /// Output buffers start as NaN (an unwritten element shows) and carry this many sentinels past
    /// M·N (a write past the end shows).
    static let guardCount = 19

    /// The path's outputs for a (M, K) and w (N, K), as the engine calls it (rows padded to
    /// `sweep_int8_row_stride`, weights packed), plus the sentinels after them.
    func run(_ kernel: Int8Kernel, a: [Int8], w: [Int8], scale: [Float], bias: [Float], M: Int, N: Int, K: Int) -> [Float] {
        let lda = sweep_int8_row_stride(K)
        var padded = [Int8](repeating: 0, count: max(M * lda, 1))
        for m in 0..<M { for k in 0..<K { padded[m * lda + k] = a[m * K + k] } }
        var packed = [Int8](repeating: 0, count: max(sweep_int8_packed_bytes(N, K), 1)), wsum = [Int32](repeating: 0, count: max(N, 1))
        sweep_int8_pack(w, &packed, &wsum, N, K)
        var out = [Float](repeating: .nan, count: M * N + Self.guardCount)
        for i in (M * N)..<out.count { out[i] = -12345 }
        let ran = sweep_int8_gemm(padded, lda, w, packed, wsum, scale, bias, &out, M, N, K, kernel.code)
        XCTAssertEqual(ran, 1, "\(kernel.rawValue) refused to run")
        return out
    }

    /// Σ_k a[m, k] · w[n, k] in Int (the int32 sums every path must give).
    func exactSums(_ a: [Int8], _ w: [Int8], M: Int, N: Int, K: Int) -> [Int] {
        var s = [Int](repeating: 0, count: M * N)
        for m in 0..<M { for n in 0..<N { for k in 0..<K { s[m * N + n] += Int(a[m * K + k]) * Int(w[n * K + k]) } } }
        return s
    }

    func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    func checkAgainstScalar(_ kernel: Int8Kernel, file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTSkipUnless(kernel.isSupported, "this CPU lacks \(kernel.requirement): the \(kernel.rawValue) int8 path is not tested here")
        var rng = SweepRandom(seed: 19)
        func int8s(_ count: Int) -> [Int8] { (0..<count).map { _ in Int8(rng.nextInt(below: 255) - 127) } }
        // Tails: M not a multiple of 4 (VNNI rows) or 2 (AVX2 rows), N of 16 or 8 (blocks and
        // halves) or 4 (AVX2 quarters), K of 4 (groups), K odd.
        var shapes = 0
        for M in [1, 2, 3, 4, 5, 7, 9] {
            for N in [1, 3, 4, 7, 8, 9, 15, 16, 17, 24, 33] {
                for K in [1, 2, 3, 4, 5, 7, 8, 31, 33, 67] {
                    let a = int8s(M * K), w = int8s(N * K)
                    let unit = [Float](repeating: 1, count: N), zero = [Float](repeating: 0, count: N)
                    // scale 1, bias 0: the outputs are the int32 sums themselves (|sum| < 2^24, exact).
                    let sums = run(kernel, a: a, w: w, scale: unit, bias: zero, M: M, N: N, K: K)
                    XCTAssertEqual(Array(sums.prefix(M * N)), exactSums(a, w, M: M, N: N, K: K).map(Float.init),
                                   "\(kernel.rawValue) \(M)x\(N)x\(K): int32 sums", file: file, line: line)
                    // Scales and biases: bit-identical to the scalar path, nothing written past M·N.
                    let scale = (0..<N).map { _ in Float(rng.nextGaussian()) * 1e-3 }, bias = (0..<N).map { _ in Float(rng.nextGaussian()) }
                    let fast = run(kernel, a: a, w: w, scale: scale, bias: bias, M: M, N: N, K: K)
                    let ref = run(.scalar, a: a, w: w, scale: scale, bias: bias, M: M, N: N, K: K)
                    XCTAssertEqual(bits(fast), bits(ref), "\(kernel.rawValue) \(M)x\(N)x\(K) against scalar", file: file, line: line)
                    shapes += 1
                }
            }
        }
        XCTAssertEqual(shapes, 7 * 11 * 10)
        // Extremes: activations -128 / 127 (0 and 255 once flipped to unsigned for vpdpbusd) and
        // weights ±127, all of one sign (the largest sums) and alternating, K long and odd.
        for (M, N, K) in [(5, 17, 4099), (4, 16, 1024), (1, 9, 3)] {
            let cases: [(String, (Int) -> Int8, (Int) -> Int8)] = [
                ("a 127, w 127", { _ in 127 }, { _ in 127 }),
                ("a -128, w 127", { _ in -128 }, { _ in 127 }),
                ("a -128, w -127", { _ in -128 }, { _ in -127 }),
                ("a 127, w -127", { _ in 127 }, { _ in -127 }),
                ("alternating", { $0 % 3 == 0 ? -128 : 127 }, { $0 % 2 == 0 ? -127 : 127 }),
            ]
            for (name, av, wv) in cases {
                let a = (0..<(M * K)).map(av), w = (0..<(N * K)).map(wv)
                let unit = [Float](repeating: 1, count: N), zero = [Float](repeating: 0, count: N)
                let fast = run(kernel, a: a, w: w, scale: unit, bias: zero, M: M, N: N, K: K)
                let ref = run(.scalar, a: a, w: w, scale: unit, bias: zero, M: M, N: N, K: K)
                XCTAssertEqual(bits(fast), bits(ref), "\(kernel.rawValue) \(M)x\(N)x\(K) \(name)", file: file, line: line)
                XCTAssertEqual(Array(ref.prefix(M * N)), exactSums(a, w, M: M, N: N, K: K).map(Float.init), "scalar \(name)", file: file, line: line)
            }
        }
        // A quantized CNN and MLP (conv rows B·OH·OW, dense rows B): the same predictions, whole
        // batches and one sample at a time.
        for (q, x, n) in [Self.cnn, Self.mlp] {
            for batch in [n, 3, 1] {
                q.kernel = .scalar
                let ref = q.predict(x, count: n, batch: batch)
                q.kernel = kernel
                XCTAssertEqual(bits(q.predict(x, count: n, batch: batch)), bits(ref), "\(kernel.rawValue) network, batch \(batch)", file: file, line: line)
            }
            q.kernel = .current
        }
    }

    /// Quantized networks trained for one epoch on the built-in digits, with 23 test samples.
    static func quantized(_ layers: [LayerSpec]) -> (QuantizedNetwork, [Float], Int) {
        var t = TrainingSpec(); t.epochs = 1; t.batchSize = 32
        let c = TrialConfig(name: "q", dataset: DatasetSpec(name: "digits", validation: 0.15), layers: layers, training: t, seed: 2)
        let tr = try! Trainer(config: c, splits: TrainingTests.digits)
        _ = tr.runEpoch()
        let train = tr.splits.train, test = tr.splits.test, n = 23
        let q = train.features.withUnsafeBufferPointer { QuantizedNetwork.calibrate(tr.network, samples: $0.baseAddress!, count: train.count) }
        return (q, Array(test.features.prefix(n * test.featureCount)), n)
    }
    static let cnn = quantized([LayerSpec(type: .conv2d, filters: 7, kernel: 3, padding: .same, activation: .relu), .maxpool(2),
                                LayerSpec(type: .conv2d, filters: 5, kernel: 3, padding: .valid, activation: .relu), .dense(13)])
    static let mlp = quantized([.dense(37), .dense(19)])

    func testAVX512VNNIPathIsBitIdenticalToScalar() throws { try checkAgainstScalar(.avx512Vnni) }
    func testAVXVNNIPathIsBitIdenticalToScalar() throws { try checkAgainstScalar(.avxVnni) }
    func testAVX2PathIsBitIdenticalToScalar() throws { try checkAgainstScalar(.avx2) }

    /// The paths this CPU runs are those /proc/cpuinfo's flags allow, and the default is the best of them.
    func testPathsFollowTheCPUFlags() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo flags to compare the CPU detection with")
        }
        let flags = Set(line.split(separator: " ").map(String.init))
        let expected: [Int8Kernel: Bool] = [
            .scalar: true,
            .avx2: flags.isSuperset(of: ["avx2", "fma"]),
            .avxVnni: flags.isSuperset(of: ["avx_vnni", "avx2", "fma"]),
            .avx512Vnni: flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512_vnni"]),
        ]
        for k in Int8Kernel.allCases { XCTAssertEqual(k.isSupported, expected[k], k.rawValue) }
        let order: [Int8Kernel] = [.avx512Vnni, .avxVnni, .avx2, .scalar]
        XCTAssertEqual(Int8Kernel.best, order.first { expected[$0]! })
        XCTAssertEqual(sweep_int8_kernel_available(99), 0)
    }

    /// `SWEEP_INT8_KERNEL`: auto or unset gives the best path, a name forces it, anything else (or a
    /// path this CPU lacks) is refused naming the variable and what is accepted.
    func testEnvironmentForcesAPathOrIsRefused() throws {
        defer { Int8Kernel.force(nil) }
        for k in Int8Kernel.allCases where k.isSupported {
            try Int8Kernel.configure(environment: ["SWEEP_INT8_KERNEL": k.rawValue])
            XCTAssertEqual(Int8Kernel.current, k)
            XCTAssertEqual(QuantizedNetwork(network: Self.mlp.0.network, weights: [:]).kernel, k, "a new network takes the forced path")
        }
        try Int8Kernel.configure(environment: ["SWEEP_INT8_KERNEL": "auto"])
        XCTAssertEqual(Int8Kernel.current, Int8Kernel.best)
        try Int8Kernel.configure(environment: ["SWEEP_INT8_KERNEL": "scalar"])
        try Int8Kernel.configure(environment: [:])
        XCTAssertEqual(Int8Kernel.current, Int8Kernel.best)
        XCTAssertThrowsError(try Int8Kernel.configure(environment: ["SWEEP_INT8_KERNEL": "vnni"])) { error in
            XCTAssertEqual("\(error)", "'SWEEP_INT8_KERNEL': 'vnni' is not an int8 path (accepted: auto, scalar, avx2, avx-vnni, avx512-vnni)")
        }
        XCTAssertEqual(Int8Kernel.current, Int8Kernel.best, "a refused value changes nothing")
        for k in Int8Kernel.allCases where !k.isSupported {
            XCTAssertThrowsError(try Int8Kernel.configure(environment: ["SWEEP_INT8_KERNEL": k.rawValue])) { error in
                XCTAssertTrue("\(error)".contains("this CPU cannot run the \(k.rawValue) int8 path (it needs \(k.requirement)"), "\(error)")
            }
        }
    }
}
