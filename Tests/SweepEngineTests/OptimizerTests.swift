import XCTest
@testable import SweepEngine

/// Optimizer steps against values worked out by hand from PyTorch's update rules.
final class OptimizerTests: XCTestCase {
    func run(_ kind: OptimizerKind, steps: Int = 2, wd: Double = 0, configure: (inout TrainingSpec) -> Void = { _ in }) -> Float {
        var t = TrainingSpec()
        t.optimizer = kind; t.learningRate = 0.1; t.weightDecay = wd
        configure(&t)
        let opt = Optimizer(t, parameterCount: 1)
        var p: [Float] = [1.0]
        let g: [Float] = [0.5]
        for _ in 0..<steps { opt.step(&p, g, learningRate: t.learningRate) }
        return p[0]
    }

    func testSGD() { XCTAssertEqual(run(.sgd), 1 - 0.1 * 0.5 * 2, accuracy: 1e-6) }
    func testSGDWeightDecay() {
        // p1 = 1 - 0.1*(0.5 + 0.1*1) = 0.94; p2 = 0.94 - 0.1*(0.5 + 0.094) = 0.8806
        XCTAssertEqual(run(.sgd, wd: 0.1), 0.8806, accuracy: 1e-6)
    }
    func testMomentum() {
        // b1 = 0.5, p = 0.95; b2 = 0.9*0.5+0.5 = 0.95, p = 0.95 - 0.095 = 0.855
        XCTAssertEqual(run(.momentum), 0.855, accuracy: 1e-6)
    }
    func testNesterov() {
        // b1 = 0.5, p = 1 - 0.1*(0.5 + 0.45) = 0.905; b2 = 0.95, p = 0.905 - 0.1*(0.5 + 0.855) = 0.7695
        XCTAssertEqual(run(.nesterov), 0.7695, accuracy: 1e-6)
    }
    func testAdamFirstStepsMoveByLearningRate() {
        // With a constant gradient, bias-corrected Adam moves by ~lr per step.
        XCTAssertEqual(run(.adam), 1 - 0.2, accuracy: 1e-5)
    }
    func testAdamWDecaysWeightsDirectly() {
        // step 1: p = 1*(1 - 0.1*0.5) - 0.1 = 0.85
        XCTAssertEqual(run(.adamw, steps: 1, wd: 0.5), 0.85, accuracy: 1e-5)
    }
    func testRMSprop() {
        // v = 0.01*0.25 = 0.0025; p = 1 - 0.1*0.5/0.05 = 0
        XCTAssertEqual(run(.rmsprop, steps: 1), 0, accuracy: 1e-4)
    }
    func testClip() {
        var g: [Float] = [3, 4]
        let norm = Optimizer.clip(&g, count: 2, maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-9)
        XCTAssertEqual(Double(g[0] * g[0] + g[1] * g[1]).squareRoot(), 1, accuracy: 1e-5)
    }

    func testSchedules() {
        var t = TrainingSpec()
        t.learningRate = 1; t.epochs = 10
        XCTAssertEqual(LearningRateSchedule.rate(t, epoch: 5), 1)
        t.schedule = .step; t.stepSize = 3; t.gamma = 0.5
        XCTAssertEqual(LearningRateSchedule.rate(t, epoch: 2.9), 1)
        XCTAssertEqual(LearningRateSchedule.rate(t, epoch: 6.1), 0.25)
        t.schedule = .cosine
        XCTAssertEqual(LearningRateSchedule.rate(t, epoch: 0), 1, accuracy: 1e-9)
        XCTAssertEqual(LearningRateSchedule.rate(t, epoch: 5), 0.5, accuracy: 1e-9)
        XCTAssertEqual(LearningRateSchedule.rate(t, epoch: 10), 0, accuracy: 1e-9)
        t.warmupEpochs = 2
        XCTAssertEqual(LearningRateSchedule.rate(t, epoch: 1), 0.5, accuracy: 1e-6)
        XCTAssertEqual(LearningRateSchedule.rate(t, epoch: 2), 1, accuracy: 1e-9)
    }
}
