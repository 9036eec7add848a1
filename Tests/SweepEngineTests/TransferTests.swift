import XCTest
import SweepCore
import SweepData
@testable import SweepEngine

/// Fine-tuning from a trained model (`WeightTransfer`): matching layers start from its weights,
/// frozen ones end bit-for-bit as loaded, and what cannot be loaded is refused by name.
final class TransferTests: XCTestCase {
    static func config(_ layers: [LayerSpec], epochs: Int, seed: UInt64, transfer: TransferSpec? = nil) -> TrialConfig {
        var t = TrainingSpec()
        t.epochs = epochs; t.batchSize = 32; t.learningRate = 3e-3
        return TrialConfig(name: "t", dataset: DatasetSpec(name: "digits", validation: 0.15, scaling: .standardize), layers: layers,
                           training: t, seed: seed, transfer: transfer)
    }

    func testFineTuningStartsLowAndFrozenLayersDoNotMove() throws {
        let dir = NSTemporaryDirectory() + "sweep-transfer-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let layers: [LayerSpec] = [LayerSpec(type: .conv2d, filters: 4, kernel: 3, padding: .same, activation: .relu, batchnorm: true),
                                   .maxpool(2), LayerSpec(type: .flatten), .dense(24)]
        let trained = try Trainer(config: Self.config(layers, epochs: 6, seed: 1), splits: TrainingTests.digits)
        while !trained.isFinished { _ = trained.runEpoch() }
        try ModelExport.write(trainer: trained, to: dir + "/model")

        // From scratch vs from the trained weights, another seed: the first epoch's loss is far lower.
        let scratch = try Trainer(config: Self.config(layers, epochs: 1, seed: 2), splits: TrainingTests.digits)
        let tuned = try Trainer(config: Self.config(layers, epochs: 2, seed: 2, transfer: TransferSpec(from: dir + "/model", freeze: [0])),
                                splits: TrainingTests.digits)
        let before = tuned.evaluate(tuned.splits.validation).loss
        XCTAssertEqual(before, trained.evaluate(trained.splits.validation).loss, accuracy: 1e-9, "every layer matches: the trained model itself")
        let s1 = scratch.runEpoch(), t1 = tuned.runEpoch()
        XCTAssertLessThan(t1.trainLoss, s1.trainLoss / 3, "fine-tuning \(t1.trainLoss) vs scratch \(s1.trainLoss)")
        _ = tuned.runEpoch()
        // Layer 0 (the conv and its batchnorm) frozen: bit-for-bit the trained parameters; the dense one moved.
        func params(_ t: Trainer, _ i: Int) -> [Float] {
            Array(UnsafeBufferPointer(start: t.network.params.pointer + t.network.paramOffsets[i], count: t.network.layers[i].parameterCount))
        }
        let groups = WeightTransfer.groups(layers, tuned.network)
        XCTAssertEqual(groups.map(\.count), [2, 0, 0, 1, 1])
        for i in groups[0] { XCTAssertEqual(params(tuned, i), params(trained, i), "frozen layer \(i)") }
        XCTAssertNotEqual(params(tuned, groups[3][0]), params(trained, groups[3][0]), "the unfrozen dense layer trains")

        // A wider dense layer is not loaded (it keeps its initialization); freezing it is refused.
        let wider = [layers[0], layers[1], layers[2], .dense(32)]
        let partial = try Trainer(config: Self.config(wider, epochs: 1, seed: 2, transfer: TransferSpec(from: dir + "/model")), splits: TrainingTests.digits)
        let fresh = try Trainer(config: Self.config(wider, epochs: 1, seed: 2), splits: TrainingTests.digits)
        let g = WeightTransfer.groups(wider, partial.network)
        XCTAssertEqual(params(partial, g[0][0]), params(trained, groups[0][0]))
        XCTAssertEqual(params(partial, g[3][0]), params(fresh, g[3][0]))
        XCTAssertThrowsError(try Trainer(config: Self.config(wider, epochs: 1, seed: 2, transfer: TransferSpec(from: dir + "/model", freeze: [3])),
                                         splits: TrainingTests.digits)) { e in
            XCTAssertTrue("\(e)".contains("model.init.freeze") && "\(e)".contains("dense 64->32 here and dense 64->24"), "\(e)")
        }
        XCTAssertThrowsError(try Trainer(config: Self.config([.dense(8)], epochs: 1, seed: 2, transfer: TransferSpec(from: dir + "/model")),
                                         splits: TrainingTests.digits)) { e in
            XCTAssertTrue("\(e)".contains("no layer of") && "\(e)".contains("matches this model"), "\(e)")
        }
        XCTAssertThrowsError(try Trainer(config: Self.config(layers, epochs: 1, seed: 2, transfer: TransferSpec(from: dir + "/nothing")),
                                         splits: TrainingTests.digits)) { e in
            XCTAssertTrue("\(e)".contains("model.init.from") && "\(e)".contains("nothing.json"), "\(e)")
        }
    }

    func testModelFilesSayWhereToStartAndWhatToFreeze() throws {
        func parse(_ initValue: String) throws -> TrialConfig {
            try ConfigFile.decode(try ConfigTree.parse("""
            dataset: {name: digits}
            model:
              init: \(initValue)
              layers:
                - {type: dense, units: 8}
                - {type: dense, units: 8}
            """, file: "m.yaml"), file: "m.yaml")
        }
        XCTAssertNil(try parse("xavier").transfer)
        let c = try parse("{from: old/trial-3, freeze: [0, model.layers.1, output], scheme: xavier}")
        XCTAssertEqual(c.transfer, TransferSpec(from: "old/trial-3", freeze: [0, 1, 2]))
        XCTAssertEqual(c.initialization, .xavier)
        XCTAssertThrowsError(try parse("{from: x, freeze: [2x]}")) { e in XCTAssertTrue("\(e)".contains("model.init.freeze.0") && "\(e)".contains("'2x'"), "\(e)") }
        XCTAssertThrowsError(try parse("{freeze: [0]}")) { e in XCTAssertTrue("\(e)".contains("from"), "\(e)") }
        XCTAssertThrowsError(try parse("{from: x, frozen: [0]}")) { e in XCTAssertTrue("\(e)".contains("frozen"), "\(e)") }
    }
}
