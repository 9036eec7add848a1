import XCTest
import SweepCore
@testable import SweepEngine

/// The builder's rewrite of relu → max-pool into max-pool → relu must change nothing a user can
/// see: the same outputs and the same parameter gradients, bit for bit, as the layers in the
/// order the file gives them.
final class NetworkBuilderTests: XCTestCase {
    /// One training pass of `net` on x: the output, then the parameter gradients (their buffer
    /// NaN-filled first, so an unwritten gradient shows) for the output gradient i % n - (n-1)/2.
    func pass(_ net: Network, _ x: [Float], batch B: Int) -> (output: [Float], grads: [Float]) {
        let n = net.outputCount
        net.grads.load([Float](repeating: .nan, count: net.parameterCount))
        net.input.update(from: x, count: x.count)
        var ctx = PassContext(training: true, rng: SweepRandom(seed: 1))
        net.forward(batch: B, ctx: &ctx)
        let output = Array(UnsafeBufferPointer(start: net.output, count: B * n))
        for i in 0..<B * n { net.outputGradient[i] = Float(i % n) - Float(n - 1) / 2 }
        net.backward(batch: B)
        return (output, net.grads.array)
    }

    /// The network of `specs` built twice, fused and with every layer run on its own, with the
    /// same parameters, prepared for `batch`.
    func fusedAndApart(_ specs: [LayerSpec], input: [Int], outputs: Int, batch B: Int, seed: UInt64) throws -> (fused: Network, apart: Network) {
        let fused = Network(layers: try NetworkBuilder.build(specs, input: input, outputs: outputs), inputShape: input)
        let apart = Network(layers: try NetworkBuilder.build(specs, input: input, outputs: outputs), inputShape: input, fuse: false)
        fused.initialize(seed: seed, scheme: .he)
        apart.params.load(fused.params.array)
        fused.prepare(maxBatch: B); apart.prepare(maxBatch: B)
        XCTAssertTrue(apart.fusedPool.allSatisfy { $0 == nil })
        return (fused, apart)
    }

    /// A Dense layer followed by a ReLU runs as one (`Dense.forwardReLU`, in bf16 the GEMM's bias and
    /// ReLU epilogue), with the same outputs and parameter gradients, bit for bit, as the two layers
    /// on their own, in both precisions; batches around the bf16 kernel's row blocks, a ReLU that
    /// follows no Dense layer (after a tanh), a Dense layer followed by another activation, and a fused
    /// layer of 100 units (two column panels of the bf16 kernel, each with its own biases).
    func testDenseReluFusedIsBitIdentical() throws {
        let specs: [LayerSpec] = [.dense(100), LayerSpec(type: .dense, units: 70, activation: .tanh),
                                  LayerSpec(type: .activation, activation: .relu), .dense(16)]
        var rng = SweepRandom(seed: 5)
        for precision in Precision.allCases {
            for B in [1, 6, 13, 32] {
                let make = { (fuse: Bool) in
                    Network(layers: try NetworkBuilder.build(specs, input: [29], outputs: 10), inputShape: [29], precision: precision, fuse: fuse)
                }
                let fused = try make(true), apart = try make(false)
                XCTAssertEqual(fused.fusedReLU.map { $0 != nil }, [true, false, false, false, false, true, false, false])
                XCTAssertTrue(apart.fusedReLU.allSatisfy { $0 == nil })
                fused.initialize(seed: UInt64(B), scheme: .he)
                apart.params.load(fused.params.array)
                fused.prepare(maxBatch: B); apart.prepare(maxBatch: B)
                let x = (0..<(B * 29)).map { _ in Float(rng.nextGaussian()) }
                let f = pass(fused, x, batch: B), a = pass(apart, x, batch: B)
                XCTAssertEqual(f.output.map(\.bitPattern), a.output.map(\.bitPattern), "\(precision) B=\(B)")
                XCTAssertEqual(f.grads.map(\.bitPattern), a.grads.map(\.bitPattern), "\(precision) B=\(B)")
                XCTAssertFalse(f.grads.contains { $0.isNaN }, "\(precision) B=\(B)")
            }
        }
    }

    func testReluBeforeMaxPoolRunsAfterItWithIdenticalResults() throws {
        let shape = [6, 6, 2], B = 3
        let built = try NetworkBuilder.build([.conv(4), .maxpool(), .conv(3), .maxpool(3)], input: shape, outputs: 5)
        XCTAssertEqual(built.map(\.kind), ["conv2d", "maxpool2d", "relu", "conv2d", "maxpool2d", "relu", "flatten", "dense"])
        // A relu not followed by a max-pool, or an average pool, keeps its place.
        let kept = try NetworkBuilder.build([.conv(4), LayerSpec(type: .avgpool2d, size: 2), .dense(3)], input: shape, outputs: 2)
        XCTAssertEqual(kept.map(\.kind), ["conv2d", "relu", "avgpool2d", "flatten", "dense", "relu", "dense"])

        // The same network in file order, by hand.
        let conv1 = Conv2D(input: shape, filters: 4, kernel: 3), conv2 = Conv2D(input: [3, 3, 4], filters: 3, kernel: 3)
        let literal: [Layer] = [conv1, Activation(.relu, shape: [6, 6, 4]), MaxPool2D(input: [6, 6, 4], size: 2),
                                conv2, Activation(.relu, shape: [3, 3, 3]), MaxPool2D(input: [3, 3, 3], size: 3),
                                Flatten(input: [1, 1, 3]), Dense(inputs: 3, units: 5)]
        let a = Network(layers: built, inputShape: shape), b = Network(layers: literal, inputShape: shape)
        XCTAssertEqual(a.parameterCount, b.parameterCount)
        a.initialize(seed: 3, scheme: .he)
        b.params.load(a.params.array)
        a.prepare(maxBatch: B); b.prepare(maxBatch: B)

        // Inputs with exact ties and windows where every pre-activation is negative (a large
        // negative bias on the first conv's third and fourth filters) or exactly zero.
        var rng = SweepRandom(seed: 11)
        let x = (0..<B * 72).map { i in i % 7 == 0 ? Float(0.5) : Float(rng.nextGaussian()).rounded() }
        let bias1 = a.paramOffsets[0] + conv1.K * conv1.KK
        for k in 2..<4 { a.params.pointer[bias1 + k] = -50 + Float(k); b.params.pointer[bias1 + k] = -50 + Float(k) }
        a.params.pointer[bias1] = 0; b.params.pointer[bias1] = 0
        let (ra, rb) = (pass(a, x, batch: B), pass(b, x, batch: B))
        XCTAssertEqual(ra.output, rb.output)
        XCTAssertTrue(ra.grads == rb.grads, "gradients differ")
        // The second conv's pooled windows include ones with no positive value: their gradients are zero.
        XCTAssertTrue(ra.grads.contains { $0 != 0 })
    }

    /// A first-layer direct convolution followed by a 2x2 max-pool runs fused; the results must be
    /// those of the two layers run one after the other, bit for bit: the tap counts with
    /// unrolled kernels (9, 25, 27) and a generic one, output channels past one block, odd sizes
    /// whose last row and column no pooling window covers, strides and valid padding; with the
    /// ReLU after the pool fused too, and without one (a linear convolution).
    func testFusedConvPoolMatchesTheLayersRunApart() throws {
        let cases: [(input: [Int], conv: LayerSpec)] = [
            ([28, 28, 1], .conv(32)),
            ([7, 9, 1], .conv(40)),
            ([8, 7, 1], LayerSpec(type: .conv2d, filters: 20, kernel: 5, activation: .relu)),
            ([9, 9, 3], LayerSpec(type: .conv2d, filters: 17, kernel: 3, stride: 2, activation: .relu)),
            ([8, 8, 2], LayerSpec(type: .conv2d, filters: 6, kernel: 2, padding: .valid, activation: .relu)),
            ([10, 10, 1], LayerSpec(type: .conv2d, filters: 8, kernel: 3, activation: .linear)),
        ]
        for (input, spec) in cases {
            let B = 3
            let (fused, apart) = try fusedAndApart([spec, .maxpool(), .dense(7)], input: input, outputs: 4, batch: B, seed: 5)
            XCTAssertEqual(fused.fusedPool[0]?.relu, spec.activation == .relu, "\(input) \(spec)")
            var rng = SweepRandom(seed: 2)
            let x = (0..<B * input.reduce(1, *)).map { i in i % 5 == 0 ? Float(0) : Float(rng.nextGaussian()) }
            let (a, b) = (pass(fused, x, batch: B), pass(apart, x, batch: B))
            XCTAssertTrue(a.output == b.output, "outputs differ: \(input) \(spec)")
            let first = zip(a.grads, b.grads).enumerated().first { $0.element.0 != $0.element.1 }
            XCTAssertNil(first.map { "gradient \($0.offset): \($0.element.0) fused vs \($0.element.1)" }, "\(input) \(spec)")
            XCTAssertFalse(a.grads.contains { $0.isNaN })
        }
        // Not fused: a direct convolution that needs its input gradient, or a 3x3 pool.
        let later = try NetworkBuilder.build([.conv(2), .conv(3), .maxpool()], input: [4, 4, 1], outputs: 2)
        XCTAssertTrue(Network(layers: later, inputShape: [4, 4, 1]).fusedPool.allSatisfy { $0 == nil })
        let wide = try NetworkBuilder.build([.conv(4), .maxpool(3)], input: [6, 6, 1], outputs: 2)
        XCTAssertTrue(Network(layers: wide, inputShape: [6, 6, 1]).fusedPool.allSatisfy { $0 == nil })
    }

    /// A Winograd convolution followed by a 2x2 max-pool pools its output tiles on the way out and
    /// builds their gradients from the pooled one: bit for bit the layers run apart (both layers'
    /// parameter gradients, and the first convolution's through the input gradient), for output
    /// sizes that take tiles of 2, 4 and 6 (7: 4 + 4, 9: 6 + 4, 12: 6 + 6, 6: 6, 2: 2, 5: 6), some
    /// sticking out, and channel counts with a partial last vector.
    func testWinogradPoolFusionMatchesTheLayersRunApart() throws {
        for (input, filters) in [([7, 9, 1], 20), ([12, 12, 1], 32), ([6, 7, 1], 17), ([2, 5, 1], 16)] {
            let B = 2
            let (fused, apart) = try fusedAndApart([.conv(8), .conv(filters), .maxpool(), .dense(5)], input: input, outputs: 3,
                                                   batch: B, seed: 9)
            let conv = try XCTUnwrap(fused.layers[2] as? Conv2D)
            XCTAssertTrue(conv.useWinograd, "\(input)")
            XCTAssertEqual(fused.fusedPool[2]?.relu, true, "\(input)")
            var rng = SweepRandom(seed: 4)
            let x = (0..<B * input.reduce(1, *)).map { _ in Float(rng.nextGaussian()) }
            let (a, b) = (pass(fused, x, batch: B), pass(apart, x, batch: B))
            XCTAssertTrue(a.output == b.output, "outputs differ: \(input)")
            XCTAssertTrue(a.grads == b.grads, "gradients differ: \(input)")
        }
    }
}
