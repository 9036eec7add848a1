import XCTest
import SweepCore
import SweepData
@testable import SweepEngine

final class TrainingTests: XCTestCase {
    static let digits: DataSplits = try! DatasetCatalog.load(DatasetSpec(name: "digits", validation: 0.15), dataDir: "/nonexistent")

    func mlp(epochs: Int = 5, seed: UInt64 = 0, configure: (inout TrialConfig) -> Void = { _ in }) -> TrialConfig {
        var t = TrainingSpec()
        t.epochs = epochs; t.batchSize = 32; t.learningRate = 0.003
        var c = TrialConfig(name: "t", dataset: DatasetSpec(name: "digits", validation: 0.15),
                            layers: [.dense(32)], training: t, seed: seed)
        configure(&c)
        return c
    }

    func train(_ c: TrialConfig) throws -> (Trainer, [EpochReport], FinalReport) {
        let tr = try Trainer(config: c, splits: Self.digits)
        var reports: [EpochReport] = []
        while !tr.isFinished { reports.append(tr.runEpoch()) }
        return (tr, reports, tr.finish())
    }

    func testMLPConvergesOnDigits() throws {
        let (_, reports, final) = try train(mlp(epochs: 15))
        XCTAssertLessThan(reports.last!.trainLoss, reports.first!.trainLoss / 4)
        XCTAssertGreaterThan(final.testAccuracy!, 0.93)
    }

    func testSmallCNNConvergesOnDigits() throws {
        let c = mlp(epochs: 6) { c in
            c.training.learningRate = 0.01
            c.layers = [.conv(8), .maxpool(), LayerSpec(type: .conv2d, filters: 8, kernel: 3, activation: .relu, batchnorm: true),
                        LayerSpec(type: .avgpool2d, size: 2), LayerSpec(type: .dense, units: 32, activation: .gelu, dropout: 0.1)]
        }
        let (_, _, final) = try train(c)
        XCTAssertGreaterThan(final.testAccuracy!, 0.8)
    }

    func testEveryOptimizerLearns() throws {
        for kind in OptimizerKind.allCases {
            let (_, r, _) = try train(mlp(epochs: 3) { c in
                c.training.optimizer = kind
                c.training.learningRate = kind == .sgd ? 0.2 : [.momentum, .nesterov].contains(kind) ? 0.05 : 0.003
                c.training.weightDecay = 1e-4
            })
            XCTAssertLessThan(r.last!.valLoss, 0.5 * r.first!.valLoss.squareRoot() + 0.5, "\(kind)")
            XCTAssertLessThan(r.last!.valLoss, 1.5, "\(kind)")
        }
    }

    func testSameSeedGivesIdenticalMetrics() throws {
        let c = mlp(epochs: 3) { $0.layers = [LayerSpec(type: .dense, units: 32, activation: .relu, dropout: 0.2)]
                                 $0.training.augmentation = Augmentation(shift: 1, rotation: 5) }
        let (_, a, fa) = try train(c)
        let (_, b, fb) = try train(c)
        XCTAssertEqual(a.map(\.valLoss), b.map(\.valLoss))
        XCTAssertEqual(a.map(\.trainLoss), b.map(\.trainLoss))
        XCTAssertEqual(fa.testLoss, fb.testLoss)
        let (_, other, _) = try train(mlp(epochs: 3, seed: 1))
        XCTAssertNotEqual(a.map(\.valLoss), other.map(\.valLoss))
    }

    /// `SWEEP_PHASES` only reads the clock: the same weights with the phases timed or not, and the
    /// phases (each at least 0) add up to their total.
    func testTimingThePhasesChangesNothing() throws {
        let c = mlp(epochs: 2)
        let plain = try Trainer(config: c, splits: Self.digits), timed = try Trainer(config: c, splits: Self.digits)
        plain.timesPhases = false; timed.timesPhases = true
        for _ in 0..<2 {
            XCTAssertEqual(plain.runEpoch().trainLoss, timed.runEpoch().trainLoss)
            XCTAssertNil(plain.phases)
            let p = try XCTUnwrap(timed.phases)
            XCTAssertEqual(p.seconds.count, PhaseTimes.Phase.allCases.count)
            XCTAssertTrue(p.seconds.allSatisfy { $0 >= 0 })
            XCTAssertGreaterThan(p.seconds[PhaseTimes.Phase.forward.rawValue], 0)
            XCTAssertTrue(p.summary.hasPrefix("gather "), p.summary)
            XCTAssertTrue(p.summary.hasSuffix(String(format: " total %.3f (thread CPU seconds)", p.seconds.reduce(0, +))), p.summary)
        }
        XCTAssertEqual(plain.network.params.array, timed.network.params.array)
    }

    func testCheckpointResumeIsIdenticalToUninterrupted() throws {
        let c = mlp(epochs: 4) { $0.layers = [LayerSpec(type: .dense, units: 16, activation: .relu, batchnorm: true, dropout: 0.1)]
                                 $0.training.schedule = .cosine }
        let (_, full, fullFinal) = try train(c)

        let first = try Trainer(config: c, splits: Self.digits)
        _ = first.runEpoch(); _ = first.runEpoch()
        let path = NSTemporaryDirectory() + "sweep-ck-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try CheckpointFile.write(first.checkpoint(), to: path)

        let second = try Trainer(config: c, splits: Self.digits)
        let loaded = try CheckpointFile.read(path)
        XCTAssertEqual(loaded, first.checkpoint())
        try second.restore(loaded, file: path)
        var rest: [EpochReport] = []
        while !second.isFinished { rest.append(second.runEpoch()) }
        XCTAssertEqual((first.history + rest).map(\.valLoss), full.map(\.valLoss))
        XCTAssertEqual(second.finish().testLoss, fullFinal.testLoss)
    }

    func testEarlyStoppingStops() throws {
        let (tr, r, final) = try train(mlp(epochs: 200) {
            $0.training.earlyStopping = EarlyStopping(metric: "val_loss", patience: 2, minDelta: 0)
        })
        XCTAssertTrue(final.stoppedEarly)
        XCTAssertLessThan(r.count, 200)
        XCTAssertEqual(tr.epoch, r.count)
    }

    func testRegressionOnCSV() throws {
        // y = 2a - b + noise; a linear problem an MLP fits easily.
        var rng = SweepRandom(seed: 5)
        var csv = "a,b,color,y\n"
        for _ in 0..<400 {
            let a = rng.nextDouble() * 2 - 1, b = rng.nextDouble() * 2 - 1
            let color = ["red", "blue"][rng.nextInt(below: 2)]
            csv += "\(a),\(b),\(color),\(2 * a - b + (color == "red" ? 0.5 : 0) + rng.nextGaussian() * 0.01)\n"
        }
        let path = NSTemporaryDirectory() + "sweep-reg-\(UUID().uuidString).csv"
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let spec = DatasetSpec(name: "csv", path: path, label: "y", scaling: .standardize)
        let splits = try DatasetCatalog.load(spec, dataDir: "/nonexistent")
        XCTAssertEqual(splits.train.task, .regression)
        XCTAssertEqual(splits.train.featureCount, 4) // a, b, one-hot color (2)
        var t = TrainingSpec(); t.epochs = 40; t.batchSize = 16; t.learningRate = 0.01
        let tr = try Trainer(config: TrialConfig(name: "reg", dataset: spec, layers: [.dense(16)], training: t), splits: splits)
        while !tr.isFinished { _ = tr.runEpoch() }
        XCTAssertLessThan(tr.finish().testRMSE!, 0.1)
    }
}
