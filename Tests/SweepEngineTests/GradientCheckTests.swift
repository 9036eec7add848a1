import XCTest
import SweepCore
@testable import SweepEngine

/// Finite-difference checks of every layer's backward pass: loss = Σ out·R for a fixed random R,
/// so d(loss)/d(out) = R; every input and parameter gradient is compared with central differences.
/// Every check runs once per GEMM kernel this CPU runs (`GemmKernel`).
final class GradientCheckTests: XCTestCase {
    /// The check with every product on each GEMM kernel this CPU runs in turn.
    func check(_ layer: Layer, batch B: Int = 3, training: Bool = true, seed: UInt64 = 1,
               inputScale: Float = 1, distinct: Bool = false, step h: Float = 1e-2, file: StaticString = #filePath,
               line: UInt = #line) {
        defer { GemmKernel.force(nil) }
        for kernel in GemmKernel.allCases where kernel.isSupported {
            GemmKernel.force(kernel)
            checkOnce(layer, batch: B, training: training, seed: seed, inputScale: inputScale, distinct: distinct, step: h,
                      what: "\(kernel) GEMM", file: file, line: line)
        }
    }

    func checkOnce(_ layer: Layer, batch B: Int, training: Bool, seed: UInt64, inputScale: Float, distinct: Bool,
                   step h: Float, what kernel: String, file: StaticString, line: UInt) {
        var rng = SweepRandom(seed: seed)
        layer.prepare(maxBatch: B)
        var x = (0..<(B * layer.inputSize)).map { _ in Float(rng.nextGaussian()) * inputScale }
        if distinct {
            // Well-separated values, so no finite-difference step crosses a tie (max pooling).
            var order = Array(0..<x.count)
            rng.shuffle(&order)
            x = order.map { Float($0) * 0.1 }
        }
        var p = [Float](repeating: 0, count: max(layer.parameterCount, 1))
        var s = [Float](repeating: 0, count: max(layer.stateCount, 1))
        layer.initialize(&p, &s, rng: &rng, scheme: .xavier)
        // Perturb parameters so biases and BatchNorm's gamma/beta are not at special values.
        for i in 0..<layer.parameterCount { p[i] += Float(rng.nextGaussian()) * 0.3 }
        let r = (0..<(B * layer.outputSize)).map { _ in Float(rng.nextGaussian()) }

        func loss() -> Double {
            var out = [Float](repeating: 0, count: B * layer.outputSize)
            var sCopy = s
            var ctx = PassContext(training: training, rng: SweepRandom(seed: 99))
            layer.forward(&out, x, p, &sCopy, batch: B, ctx: &ctx)
            return zip(out, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        var out = [Float](repeating: 0, count: B * layer.outputSize)
        var sCopy = s
        var ctx = PassContext(training: training, rng: SweepRandom(seed: 99))
        layer.forward(&out, x, p, &sCopy, batch: B, ctx: &ctx)
        var dx = [Float](repeating: 0, count: x.count)
        var dp = [Float](repeating: 0, count: p.count)
        layer.backward(&dx, &dp, r, x, out, p, batch: B)

        func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
            let tol = 2e-2 * max(abs(numeric), abs(Double(analytic)), 1)
            XCTAssertEqual(Double(analytic), numeric, accuracy: tol, "\(layer.kind) \(what), \(kernel)", file: file, line: line)
        }
        for i in 0..<x.count {
            let v = x[i]
            x[i] = v + h; let up = loss()
            x[i] = v - h; let down = loss()
            x[i] = v
            compare(dx[i], (up - down) / Double(2 * h), "d input[\(i)]")
        }
        for i in 0..<layer.parameterCount {
            let v = p[i]
            p[i] = v + h; let up = loss()
            p[i] = v - h; let down = loss()
            p[i] = v
            compare(dp[i], (up - down) / Double(2 * h), "d param[\(i)]")
        }
    }

    func testDense() { check(Dense(inputs: 5, units: 4)) }
    func testConvSame() {
        let conv = Conv2D(input: [5, 5, 2], filters: 3, kernel: 3, stride: 1, padding: .same)
        XCTAssertTrue(conv.useDirect)
        check(conv)
    }
    func testConvValidStride2() { check(Conv2D(input: [6, 5, 2], filters: 2, kernel: 3, stride: 2, padding: .valid)) }
    func testConvSameStride2EvenKernel() { check(Conv2D(input: [5, 6, 1], filters: 2, kernel: 2, stride: 2, padding: .same)) }
    /// A Winograd convolution checked with tiles of 2, of 4, of 6 and of 8 only, and with its own mix.
    func checkWinograd(_ input: [Int], filters: Int, padding: Padding, file: StaticString = #filePath, line: UInt = #line) {
        for sizes in [[2], [4], [6], [8], [2, 4, 6, 8]] {
            let conv = Conv2D(input: input, filters: filters, kernel: 3, stride: 1, padding: padding)
            XCTAssertTrue(conv.useWinograd, file: file, line: line)
            conv.winogradSizes = sizes
            // A convolution is linear in its input and in its parameters, so a large step has no
            // truncation error, and shrinks the forward pass's rounding (largest with tiles of 8)
            // in the differences.
            check(conv, batch: 2, step: 0.5, file: file, line: line)
        }
    }
    func testConvWinogradSame() { checkWinograd([5, 4, 4], filters: 3, padding: .same) }
    func testConvWinogradValid() { checkWinograd([5, 6, 5], filters: 2, padding: .valid) }
    func testConvWinogradMixedTiles() {
        let conv = Conv2D(input: [10, 9, 4], filters: 3, kernel: 3, stride: 1, padding: .same)
        conv.prepare(maxBatch: 2)
        XCTAssertEqual(conv.forwardGroups.map { "\($0.ma)x\($0.mb)" }, ["6x6", "6x4", "4x6", "4x4"])  // 10 = 6 + 4, 9 = 6 + 4 (one sticks out)
        check(conv, batch: 2)
    }
    func testConvIm2colStride2() {
        let conv = Conv2D(input: [5, 5, 4], filters: 2, kernel: 3, stride: 2, padding: .same)
        XCTAssertFalse(conv.useWinograd || conv.useDirect)
        check(conv, batch: 2)
    }
    func testConvIm2colSame() {
        let conv = Conv2D(input: [5, 5, 2], filters: 3, kernel: 3, stride: 1, padding: .same)
        conv.useDirect = false
        check(conv)
    }
    func testMaxPool() { check(MaxPool2D(input: [4, 4, 2], size: 2), distinct: true) }
    func testMaxPoolOverlapping() { check(MaxPool2D(input: [5, 5, 1], size: 3, stride: 2), distinct: true) }
    func testAvgPool() { check(AvgPool2D(input: [4, 6, 2], size: 2)) }
    func testGlobalAvgPool() { check(GlobalAvgPool(input: [3, 3, 4])) }
    func testFlatten() { check(Flatten(input: [2, 3, 2])) }
    func testBatchNormDenseTraining() { check(BatchNorm(shape: [4]), batch: 5) }
    func testBatchNormConvTraining() { check(BatchNorm(shape: [3, 3, 2]), batch: 2) }
    func testBatchNormInference() { check(BatchNorm(shape: [4]), batch: 3, training: false) }
    func testDropoutTraining() { check(Dropout(input: [10], rate: 0.3)) }
    func testDropoutInference() { check(Dropout(input: [10], rate: 0.3), training: false) }
    func testActivations() {
        for a in ActivationKind.allCases { check(Activation(a, shape: [7]), batch: 2) }
    }

    func testSoftmaxCrossEntropyGradient() {
        var rng = SweepRandom(seed: 3)
        let B = 4, N = 5
        var z = (0..<(B * N)).map { _ in Float(rng.nextGaussian()) }
        let y: [Int32] = [0, 3, 4, 1]
        var d = [Float](repeating: 0, count: z.count)
        let base = Loss.softmaxCrossEntropy(z, y, &d, batch: B, classes: N)
        XCTAssertGreaterThan(base.loss, 0)
        let h: Float = 1e-2
        for i in 0..<z.count {
            let v = z[i]
            z[i] = v + h; let up = Loss.softmaxCrossEntropy(z, y, nil, batch: B, classes: N).loss / Double(B)
            z[i] = v - h; let down = Loss.softmaxCrossEntropy(z, y, nil, batch: B, classes: N).loss / Double(B)
            z[i] = v
            XCTAssertEqual(Double(d[i]), (up - down) / Double(2 * h), accuracy: 1e-3)
        }
    }

    func testMeanSquaredErrorGradient() {
        var p: [Float] = [0.5, -1.0, 2.0]
        let t: [Float] = [1.0, 1.0, 1.0]
        var d = [Float](repeating: 0, count: 3)
        let total = Loss.meanSquaredError(p, t, &d, batch: 3)
        XCTAssertEqual(total, 0.25 + 4 + 1, accuracy: 1e-6)
        let h: Float = 1e-2
        for i in 0..<3 {
            let v = p[i]
            p[i] = v + h; let up = Loss.meanSquaredError(p, t, nil, batch: 3) / 3
            p[i] = v - h; let down = Loss.meanSquaredError(p, t, nil, batch: 3) / 3
            p[i] = v
            XCTAssertEqual(Double(d[i]), (up - down) / Double(2 * h), accuracy: 1e-3)
        }
    }
}
