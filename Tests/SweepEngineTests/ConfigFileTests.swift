import XCTest
import SweepCore
import SweepData
@testable import SweepEngine

final class ConfigFileTests: XCTestCase {
    func load(_ yaml: String, overrides: [String] = []) throws -> TrialConfig {
        let path = NSTemporaryDirectory() + "sweep-cfg-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConfigFile.load(path: path, overrides: overrides)
    }

    func expectError(_ yaml: String, contains parts: [String], line: Int? = nil, file: StaticString = #filePath, l: UInt = #line) {
        XCTAssertThrowsError(try load(yaml), file: file, line: l) { e in
            guard let e = e as? InputError else { return XCTFail("not an InputError: \(e)", file: file, line: l) }
            for p in parts { XCTAssertTrue(e.description.contains(p), "'\(e)' lacks '\(p)'", file: file, line: l) }
            XCTAssertTrue(e.description.contains(".yaml"), "'\(e)' does not name the file", file: file, line: l)
            if let line { XCTAssertEqual(e.line, line, "\(e)", file: file, line: l) }
        }
    }

    let good = """
    name: m
    seed: 3
    dataset: {name: digits}
    model:
      layers:
        - {type: dense, units: 8, activation: tanh, dropout: 0.1}
    training: {epochs: 2, optimizer: sgd, learning_rate: 0.1}
    """

    func testParsesAndRoundTripsThroughYAML() throws {
        let c = try load(good)
        XCTAssertEqual(c.seed, 3)
        XCTAssertEqual(c.layers, [LayerSpec(type: .dense, units: 8, activation: .tanh, dropout: 0.1)])
        XCTAssertEqual(c.training.optimizer, .sgd)
        XCTAssertEqual(try load(ConfigFile.yaml(c)), c)
    }

    func testPrecision() throws {
        XCTAssertNil(try load(good).training.precision)
        let c = try load(good.replacingOccurrences(of: "learning_rate: 0.1}", with: "learning_rate: 0.1, precision: bf16}"))
        XCTAssertEqual(c.training.precision, .bf16)
        XCTAssertEqual(try load(ConfigFile.yaml(c)), c)
        XCTAssertEqual(try load(good, overrides: ["training.precision=fp32"]).training.precision, .fp32)
        expectError(good.replacingOccurrences(of: "learning_rate: 0.1}", with: "learning_rate: 0.1, precision: fp16}"),
                    contains: ["training.precision", "fp16", "fp32, bf16"])
    }

    func testSetOverrides() throws {
        let c = try load(good, overrides: ["training.learning_rate=0.5", "model.layers.0.units=12", "seed=9"])
        XCTAssertEqual(c.training.learningRate, 0.5)
        XCTAssertEqual(c.layers[0].units, 12)
        XCTAssertEqual(c.seed, 9)
        XCTAssertThrowsError(try load(good, overrides: ["model.layers.5.units=3"]))
        XCTAssertThrowsError(try load(good, overrides: ["novalue"]))
    }

    func testUnknownLayer() {
        expectError(good.replacingOccurrences(of: "type: dense", with: "type: densee"), contains: ["model.layers.0.type", "densee", "accepted"], line: 6)
    }
    func testUnknownOptimizer() {
        expectError(good.replacingOccurrences(of: "optimizer: sgd", with: "optimizer: adamx"), contains: ["training.optimizer", "adamx", "adamw"])
    }
    func testUnknownKey() { expectError(good + "\nextra: 1", contains: ["extra", "unknown key"], line: 8) }
    func testUnknownLayerKey() {
        expectError(good.replacingOccurrences(of: "units: 8", with: "units: 8, filters: 3"), contains: ["model.layers.0.filters", "unknown key"])
    }
    func testBadNumber() { expectError(good.replacingOccurrences(of: "epochs: 2", with: "epochs: two"), contains: ["training.epochs", "whole number"]) }
    func testOutOfRange() { expectError(good.replacingOccurrences(of: "dropout: 0.1", with: "dropout: 1.5"), contains: ["model.layers.0.dropout", "out of range"]) }
    func testUnknownDataset() { expectError(good.replacingOccurrences(of: "name: digits", with: "name: imagenet"), contains: ["dataset.name", "imagenet", "mnist"]) }
    func testMissingDataset() { expectError("model: {layers: []}", contains: ["dataset"]) }
    func testInvalidYAML() { expectError("a: [1, 2\nb: 3", contains: ["not valid YAML"]) }
    func testDistributionIsNotFixed() {
        expectError(good.replacingOccurrences(of: "learning_rate: 0.1", with: "learning_rate: {float: [0.001, 0.1], log: true}"),
                    contains: ["training.learning_rate", "search parameter", "--set"])
    }
    func testCSVNeedsLabel() { expectError(good.replacingOccurrences(of: "{name: digits}", with: "{name: csv, path: x.csv}"), contains: ["dataset.label"]) }

    func testOwnDataFormatsParseAndRoundTrip() throws {
        let dir = NSTemporaryDirectory() + "sweep-cfg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["tr.csv", "te.csv", "i.gz"] { FileManager.default.createFile(atPath: dir + "/" + f, contents: Data()) }
        let path = dir + "/m.yaml"
        func decode(_ dataset: String) throws -> TrialConfig {
            try good.replacingOccurrences(of: "{name: digits}", with: dataset).write(toFile: path, atomically: true, encoding: .utf8)
            return try ConfigFile.load(path: path)
        }
        let csv = try decode("{name: csv, path: tr.csv, test_path: te.csv, label: 4, header: false, missing: mean}")
        XCTAssertEqual(csv.dataset.path, dir + "/tr.csv"); XCTAssertEqual(csv.dataset.testPath, dir + "/te.csv")
        XCTAssertEqual(csv.dataset.header, false); XCTAssertEqual(csv.dataset.missing, .mean); XCTAssertEqual(csv.dataset.label, "4")
        XCTAssertEqual(try load(ConfigFile.yaml(csv)), csv)
        let idx = try decode("{name: idx, train: {images: i.gz, labels: elsewhere/l.gz}, test: {images: i.gz, labels: i.gz}}")
        // Paths found beside the file are made absolute; others stay as written (the data directory is tried later).
        XCTAssertEqual(idx.dataset.train, IDXFiles(images: dir + "/i.gz", labels: "elsewhere/l.gz"))
        XCTAssertEqual(idx.dataset.test, IDXFiles(images: dir + "/i.gz", labels: dir + "/i.gz"))
        XCTAssertEqual(try load(ConfigFile.yaml(idx)), idx)
        XCTAssertThrowsError(try decode("{name: idx}")) { e in XCTAssertTrue("\(e)".contains("dataset.train"), "\(e)") }
        XCTAssertThrowsError(try decode("{name: csv, path: tr.csv, label: y, header: false}")) { e in
            XCTAssertTrue("\(e)".contains("0-based"), "\(e)")
        }
        XCTAssertThrowsError(try decode("{name: csv, path: tr.csv, label: y, missing: zero}")) { e in
            XCTAssertTrue("\(e)".contains("error, drop, mean"), "\(e)")
        }
        XCTAssertThrowsError(try decode("{name: digits, missing: drop}")) { e in
            XCTAssertTrue("\(e)".contains("dataset.missing") && "\(e)".contains("csv"), "\(e)")
        }
    }

    func testShapeMismatchNamesTheLayer() throws {
        let c = try load(good.replacingOccurrences(of: "- {type: dense, units: 8, activation: tanh, dropout: 0.1}",
                                                   with: "- {type: dense, units: 8}\n    - {type: conv2d, filters: 4}"))
        XCTAssertThrowsError(try NetworkBuilder.build(c.layers, input: [8, 8, 1], outputs: 10, file: "f.yaml")) { e in
            XCTAssertTrue("\(e)".contains("model.layers.1.type"), "\(e)")
            XCTAssertTrue("\(e)".contains("image input"), "\(e)")
        }
        XCTAssertThrowsError(try NetworkBuilder.build([.maxpool(16)], input: [8, 8, 1], outputs: 10, file: "f.yaml")) { e in
            XCTAssertTrue("\(e)".contains("model.layers.0.size"), "\(e)")
        }
    }
}
