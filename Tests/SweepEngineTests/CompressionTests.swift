import XCTest
import CSweepKernels
import SweepCore
import SweepData
@testable import SweepEngine

/// int8 quantization (the scalar kernel and a quantized network against a dequantized float
/// reference; every vector path against scalar: `Int8PathTests`) and magnitude pruning with fine-tuning.
final class CompressionTests: XCTestCase {
    /// out (M, N) = Σ_k (a·sa)(w·sw[n]) + b in Double: what the int8 product stands for.
    func dequantizedReference(_ a: [Int8], _ w: [Int8], sa: Float, sw: [Float], bias: [Float], M: Int, N: Int, K: Int) -> [Double] {
        var out = [Double](repeating: 0, count: M * N)
        for m in 0..<M { for n in 0..<N {
            var s = Double(bias[n])
            for k in 0..<K { s += Double(Float(a[m * K + k]) * sa) * Double(Float(w[n * K + k]) * sw[n]) }
            out[m * N + n] = s
        } }
        return out
    }

    func testInt8GemmPathsAgreeWithTheDequantizedReference() {
        var rng = SweepRandom(seed: 7)
        // Shapes with tails in M (rows of 4), N (blocks of 16) and K (groups of 4).
        for (M, N, K) in [(1, 10, 784), (5, 17, 3), (9, 64, 288), (4, 16, 4), (3, 33, 27)] {
            let lda = sweep_int8_row_stride(K)
            let x = (0..<(M * K)).map { _ in Float(rng.nextGaussian()) }
            let sa: Float = 3.5 / 127
            var a = [Int8](repeating: 99, count: M * lda)
            sweep_quantize_s8(x, &a, M, K, lda, sa)
            let wf = (0..<(N * K)).map { _ in Float(rng.nextGaussian() * 0.1) }
            let bias = (0..<N).map { _ in Float(rng.nextGaussian()) }
            let q = wf.withUnsafeBufferPointer { w in bias.withUnsafeBufferPointer { QuantizedWeights(w: w.baseAddress!, bias: $0.baseAddress!, N: N, K: K, inputScale: sa) } }
            var packed = [Int8](repeating: 0, count: sweep_int8_packed_bytes(N, K)), wsum = [Int32](repeating: 0, count: N)
            sweep_int8_pack(q.weights, &packed, &wsum, N, K)
            let scale = q.weightScale.map { $0 * sa }
            var compact = [Int8]()
            for m in 0..<M { compact += a[(m * lda)..<(m * lda + K)] }
            XCTAssertTrue(a.enumerated().allSatisfy { $0.offset % lda < K || $0.element == 0 }, "padding zeroed")
            let ref = dequantizedReference(compact, q.weights, sa: sa, sw: q.weightScale, bias: bias, M: M, N: N, K: K)
            var scalar = [Float](repeating: 0, count: M * N)
            XCTAssertEqual(sweep_int8_gemm(a, lda, q.weights, packed, wsum, scale, bias, &scalar, M, N, K, Int8Kernel.scalar.code), 1)
            for i in 0..<(M * N) { XCTAssertEqual(Double(scalar[i]), ref[i], accuracy: 1e-4 * max(1, abs(ref[i])), "\(M)x\(N)x\(K) [\(i)]") }
        }
    }

    func testWeightQuantizationIsPerOutputChannelAndSymmetric() {
        let w: [Float] = [0.5, -1.0, 0.25, 0, 0, 0, 2, 1, -0.5]
        let q = w.withUnsafeBufferPointer { QuantizedWeights(w: $0.baseAddress!, bias: $0.baseAddress!, N: 3, K: 3, inputScale: 1) }
        XCTAssertEqual(q.weightScale, [1.0 / 127, 1, 2.0 / 127])
        XCTAssertEqual(q.weights, [64, -127, 32, 0, 0, 0, 127, 64, -32])   // 63.5 → 64 (half to even), 31.75 → 32
        for (d, x) in zip(q.dequantized, w) { XCTAssertEqual(d, x, accuracy: 0.5 / 127 * 2) }
    }

    /// A quantized CNN (direct conv, Winograd conv, BatchNorm, pooling, dense) against a float
    /// forward pass with the same quantization done in float (the dequantized reference).
    func testQuantizedNetworkMatchesFakeQuantizedFloatOnTheScalarAndDefaultPaths() throws {
        var t = TrainingSpec(); t.epochs = 1; t.batchSize = 32
        let layers: [LayerSpec] = [LayerSpec(type: .conv2d, filters: 8, kernel: 3, padding: .same, activation: .relu), .maxpool(2),
                                   LayerSpec(type: .conv2d, filters: 6, kernel: 3, padding: .valid, activation: .relu, batchnorm: true),
                                   .dense(12)]
        let c = TrialConfig(name: "q", dataset: DatasetSpec(name: "digits", validation: 0.15), layers: layers, training: t, seed: 1)
        let tr = try Trainer(config: c, splits: TrainingTests.digits)
        _ = tr.runEpoch()
        let train = tr.splits.train
        let q = train.features.withUnsafeBufferPointer { QuantizedNetwork.calibrate(tr.network, samples: $0.baseAddress!, count: train.count) }
        XCTAssertEqual(Set(q.quantized.keys), Set(tr.network.layers.indices.filter { tr.network.layers[$0] is Dense || tr.network.layers[$0] is Conv2D }))
        let n = 40, test = tr.splits.test
        let x = Array(test.features.prefix(n * test.featureCount))
        // The reference: float layers, each quantized layer's input rounded to its grid and its
        // weights replaced by the dequantized ones.
        let fake = QuantizedNetwork(network: tr.network, weights: [:])
        let saved = tr.network.params.array
        for (i, w) in q.quantized { (tr.network.params.pointer + tr.network.paramOffsets[i]).update(from: w.dequantized, count: w.N * w.K) }
        fake.prepare(maxBatch: n)
        fake.input.update(from: x, count: x.count)
        fake.forward(batch: n) { i, inp in
            let s = q.quantized[i]!.inputScale
            let p = UnsafeMutablePointer(mutating: inp)
            for j in 0..<(n * tr.network.layers[i].inputSize) { p[j] = max(-127, min(127, (p[j] / s).rounded(.toNearestOrEven))) * s }
        }
        let reference = Array(UnsafeBufferPointer(start: fake.output, count: n * tr.network.outputCount))
        tr.network.params.load(saved)
        q.kernel = .scalar
        let scalar = q.predict(x, count: n)
        for (a, b) in zip(scalar, reference) { XCTAssertEqual(a, b, accuracy: 2e-3 * max(1, abs(b))) }
        q.kernel = .best
        XCTAssertEqual(q.predict(x, count: n), scalar, "the \(Int8Kernel.best.rawValue) path")
        // And it is close to the float model (same class on most samples).
        let float = tr.predict(x, count: n), k = tr.network.outputCount
        let agree = (0..<n).filter { i in
            let f = float[(i * k)..<((i + 1) * k)], s = scalar[(i * k)..<((i + 1) * k)]
            return f.indices.max { f[$0] < f[$1] } == s.indices.max { s[$0] < s[$1] }
        }.count
        XCTAssertGreaterThanOrEqual(agree, n * 9 / 10)
    }

    func testQuantizedModelExportsAsInt8AndReadsBack() throws {
        let dir = NSTemporaryDirectory() + "sweep-int8-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var t = TrainingSpec(); t.epochs = 1; t.batchSize = 32
        let layers: [LayerSpec] = [LayerSpec(type: .conv2d, filters: 4, kernel: 3, padding: .same, activation: .relu, batchnorm: true),
                                   .maxpool(2), LayerSpec(type: .flatten), .dense(12)]
        let c = TrialConfig(name: "e", dataset: DatasetSpec(name: "digits", validation: 0.15), layers: layers, training: t,
                            compression: CompressionSpec(quantize: .int8), seed: 3)
        let tr = try Trainer(config: c, splits: TrainingTests.digits)
        while !tr.isFinished { _ = tr.runEpoch() }
        let final = tr.finish()
        let q = try XCTUnwrap(tr.quantized)
        XCTAssertNotNil(final.int8TestAccuracy); XCTAssertNotNil(final.int8ValAccuracy)
        XCTAssertEqual(final.int8Kernel, q.kernel.rawValue)
        XCTAssertGreaterThan(final.latencyMs!, 0)
        try ModelExport.write(trainer: tr, to: dir + "/model")
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/model.safetensors")[.size] as! Int
        XCTAssertEqual(final.modelBytes, size)
        XCTAssertEqual(final.fp32ModelBytes, ModelExport.safetensorsBytes(tr.network, quantized: nil))
        XCTAssertLessThan(size, final.fp32ModelBytes!)
        XCTAssertGreaterThan(final.fp32LatencyMs!, 0)
        let m = try ModelExport.read(dir + "/model")
        let mq = try XCTUnwrap(m.quantized)
        XCTAssertEqual(mq.quantized, q.quantized)
        let x = Array(tr.splits.test.features.prefix(30 * tr.splits.test.featureCount))
        XCTAssertEqual(m.predict(x, count: 30), q.predict(x, count: 30))
    }

    // MARK: Pruning

    func pruned(sparsity: Double, finetune: Int, seed: UInt64 = 0) throws -> (Trainer, FinalReport) {
        var t = TrainingSpec(); t.epochs = 2; t.batchSize = 32; t.learningRate = 0.003
        let c = TrialConfig(name: "p", dataset: DatasetSpec(name: "digits", validation: 0.15),
                            layers: [LayerSpec(type: .conv2d, filters: 4, kernel: 3, activation: .relu), .maxpool(2), .dense(32)], training: t,
                            compression: CompressionSpec(prune: .init(sparsity: sparsity, finetuneEpochs: finetune)), seed: seed)
        let tr = try Trainer(config: c, splits: TrainingTests.digits)
        var maskSeen: PruningMask?
        while !tr.isFinished {
            _ = tr.runEpoch()
            if let m = tr.pruningMask {
                if let seen = maskSeen { XCTAssertEqual(m, seen) } else { maskSeen = m }
                // Masked weights stay zero through every fine-tuning epoch.
                XCTAssertTrue(m.pruned.allSatisfy { tr.network.params.pointer[$0] == 0 })
            }
        }
        return (tr, tr.finish())
    }

    func testPruningReachesTheSparsityAndKeepsMaskedWeightsZero() throws {
        let (tr, final) = try pruned(sparsity: 0.7, finetune: 2)
        XCTAssertEqual(final.epochs, 4)
        XCTAssertEqual(tr.history.count, 4)
        XCTAssertEqual(tr.prunedAfterEpoch, 2)
        let ranges = PruningMask.weightRanges(tr.network)
        for r in ranges {
            let zeros = r.filter { tr.network.params.pointer[$0] == 0 }.count
            XCTAssertEqual(zeros, Int((0.7 * Double(r.count)).rounded()), "each matrix exactly (to rounding)")
        }
        XCTAssertEqual(final.sparsity!, 0.7, accuracy: 1.0 / Double(ranges.reduce(0) { $0 + $1.count }) * Double(ranges.count))
        XCTAssertGreaterThan(final.testAccuracy!, 0.5)
        // Bit-identical across two runs.
        let (tr2, final2) = try pruned(sparsity: 0.7, finetune: 2)
        XCTAssertEqual(tr2.network.params.array, tr.network.params.array)
        XCTAssertEqual(final2.testLoss, final.testLoss)
        // Without fine-tuning the weights are pruned when the run finishes.
        let (tr0, final0) = try pruned(sparsity: 0.5, finetune: 0)
        XCTAssertEqual(final0.epochs, 2)
        XCTAssertEqual(final0.sparsity!, 0.5, accuracy: 0.01)
        XCTAssertNotNil(tr0.pruningMask)
    }

    func testPruningMaskSurvivesACheckpoint() throws {
        var t = TrainingSpec(); t.epochs = 1; t.batchSize = 32
        let c = TrialConfig(name: "p", dataset: DatasetSpec(name: "digits", validation: 0.15), layers: [.dense(16)], training: t,
                            compression: CompressionSpec(prune: .init(sparsity: 0.6, finetuneEpochs: 2)), seed: 4)
        let a = try Trainer(config: c, splits: TrainingTests.digits)
        while !a.isFinished { _ = a.runEpoch() }
        let b = try Trainer(config: c, splits: TrainingTests.digits)
        _ = b.runEpoch(); _ = b.runEpoch()   // training, then the first fine-tuning epoch
        let resumed = try Trainer(config: c, splits: TrainingTests.digits)
        try resumed.restore(b.checkpoint(), file: "ck")
        XCTAssertEqual(resumed.pruningMask, b.pruningMask)
        while !resumed.isFinished { _ = resumed.runEpoch() }
        XCTAssertEqual(resumed.network.params.array, a.network.params.array)
    }

    func testCompressionInTheModelFile() throws {
        let text = """
            dataset: {name: digits}
            model: {layers: [{type: dense, units: 8}]}
            compression: {quantize: int8, prune: {sparsity: 0.5, finetune_epochs: 2}}
            """
        let c = try ConfigFile.decode(try ConfigTree.parse(text, file: "m.yaml"), file: "m.yaml")
        XCTAssertEqual(c.compression, CompressionSpec(quantize: .int8, prune: .init(sparsity: 0.5, finetuneEpochs: 2)))
        // The YAML form round-trips.
        let back = try ConfigFile.decode(try ConfigTree.parse(ConfigFile.yaml(c), file: "r.yaml"), file: "r.yaml")
        XCTAssertEqual(back.compression, c.compression)
        for (bad, expect) in [("compression: {quantize: int4}", ["m.yaml:3", "compression.quantize", "int4", "int8"]),
                              ("compression: {prune: {sparsity: 1.5}}", ["m.yaml:3", "compression.prune.sparsity", "1.5"]),
                              ("compression: {prune: {finetune_epochs: 2}}", ["m.yaml:3", "sparsity"]),
                              ("compression: {prune: {sparsity: 0.5, epochs: 2}}", ["m.yaml:3", "epochs", "finetune_epochs"])] {
            let t = "dataset: {name: digits}\nmodel: {layers: [{type: dense, units: 8}]}\n" + bad
            XCTAssertThrowsError(try ConfigFile.decode(try ConfigTree.parse(t, file: "m.yaml"), file: "m.yaml")) { e in
                for s in expect { XCTAssertTrue("\(e)".contains(s), "\(bad): \(e) lacks \(s)") }
            }
        }
    }
}
