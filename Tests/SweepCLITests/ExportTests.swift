import Foundation
import XCTest

/// `--save-model` writes safetensors + architecture JSON that PyTorch loads and that predicts
/// exactly what Sweep predicts.
final class ExportTests: XCTestCase {
    func testPyTorchLoadsTheModelAndAgrees() throws {
        try CLI.requirePython("torch, numpy")
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = """
        name: export-cnn
        seed: 1
        dataset: {name: digits, scaling: standardize}
        model:
          layers:
            - {type: conv2d, filters: 6, kernel: 3, padding: same, batchnorm: true}
            - {type: maxpool2d, size: 2}
            - {type: conv2d, filters: 8, kernel: 2, stride: 2, padding: same, activation: gelu}
            - {type: flatten}
            - {type: dense, units: 16, activation: tanh, dropout: 0.2}
        training: {epochs: 2, batch_size: 32}
        """
        try yaml.write(toFile: dir + "/m.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", dir + "/m.yaml", "--save-model", dir + "/model", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/model.json"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/model.predictions.json"))
        let py = try CLI.run(["python3", CLI.repo + "/Tests/python/check_export.py", dir + "/model"], executable: "/usr/bin/env")
        XCTAssertEqual(py.status, 0, py.stdout + py.stderr)
        XCTAssertTrue(py.stdout.contains("max abs difference"), py.stdout)
    }
}
