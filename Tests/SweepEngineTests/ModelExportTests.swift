import XCTest
import SweepCore
import SweepData
@testable import SweepEngine

/// A model written by `ModelExport.write` reads back into a network that predicts exactly what
/// the trainer predicted, with the preprocessing that prepares raw inputs.
final class ModelExportTests: XCTestCase {
    func testExportReadsBackAndPredictsTheSame() throws {
        let dir = NSTemporaryDirectory() + "sweep-export-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var t = TrainingSpec()
        t.epochs = 1; t.batchSize = 32
        // Conv + max-pool (fused), batch norm, flatten (permuted to PyTorch's order) and dense.
        let layers: [LayerSpec] = [LayerSpec(type: .conv2d, filters: 4, kernel: 3, padding: .same, activation: .relu, batchnorm: true),
                                   .maxpool(2), LayerSpec(type: .flatten), .dense(12)]
        let c = TrialConfig(name: "e", dataset: DatasetSpec(name: "digits", validation: 0.15, scaling: .standardize), layers: layers, training: t, seed: 3)
        let tr = try Trainer(config: c, splits: TrainingTests.digits)
        while !tr.isFinished { _ = tr.runEpoch() }
        try ModelExport.write(trainer: tr, to: dir + "/model")
        let m = try ModelExport.read(dir + "/model")
        XCTAssertEqual(m.config, c)
        XCTAssertEqual(m.preprocessing.inputShape, [8, 8, 1]); XCTAssertEqual(m.preprocessing.classes, (0..<10).map(String.init))
        XCTAssertEqual(m.preprocessing.scaler, tr.splits.scaler)
        let test = tr.splits.test
        let n = 50
        let x = Array(test.features.prefix(n * test.featureCount))
        XCTAssertEqual(m.network.predict(x, count: n), tr.predict(x, count: n))

        // A missing or misshapen tensor is named.
        var tensors = try Safetensors.read(dir + "/model.safetensors")
        let dense = try XCTUnwrap(tensors.keys.sorted().first { tensors[$0]!.0.count == 2 })
        tensors[dense] = ([2, 2], [0, 0, 0, 0])
        try Safetensors.write(tensors.map { ($0.key, $0.value.0, $0.value.1) }, metadata: [:], to: dir + "/model.safetensors")
        XCTAssertThrowsError(try ModelExport.read(dir + "/model")) { e in XCTAssertTrue("\(e)".contains("'\(dense)'") && "\(e)".contains("[2, 2]"), "\(e)") }
    }
}
