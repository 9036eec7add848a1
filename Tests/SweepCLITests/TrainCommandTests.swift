import Foundation
import XCTest

final class TrainCommandTests: XCTestCase {
    let digits = CLI.repo + "/search-spaces/seeds/digits-mlp.yaml"

    func testTrainJSONLines() throws {
        let r = try CLI.run(["train", digits, "--epochs", "3", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = CLI.jsonLines(r.stdout)
        XCTAssertEqual(lines.count, 4, r.stdout)
        for (i, l) in lines.prefix(3).enumerated() {
            XCTAssertEqual(l["epoch"] as? Int, i + 1)
            for k in ["train_loss", "val_loss", "val_accuracy", "seconds"] { XCTAssertNotNil(l[k] as? Double, "missing \(k) in \(l)") }
        }
        let final = lines[3]
        XCTAssertGreaterThan(final["test_accuracy"] as? Double ?? 0, 0.85)
        XCTAssertEqual(final["parameters"] as? Int, 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10)
        XCTAssertNotNil(final["total_seconds"] as? Double)
    }

    /// The final JSON line names the GEMM kernels that ran; `SWEEP_GEMM` forces one kernel (the
    /// same training within rounding); a value that is not a kernel is refused with exit 2.
    func testGemmKernelReportedAndForced() throws {
        func run(_ env: [String: String]) throws -> [String: Any] {
            let r = try CLI.run(["train", digits, "--epochs", "1", "--json"], env: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            return CLI.jsonLines(r.stdout).last ?? [:]
        }
        let auto = try run([:])
        let kernels = (auto["gemm"] as? String ?? "").split(separator: "+").map(String.init)
        XCTAssertFalse(kernels.isEmpty, "\(auto)")
        XCTAssertTrue(kernels.allSatisfy { ["openblas", "portable", "avx2", "avx512"].contains($0) }, "\(auto)")
        for kernel in ["portable", "openblas"] {
            let forced = try run(["SWEEP_GEMM": kernel])
            XCTAssertEqual(forced["gemm"] as? String, kernel)
            XCTAssertEqual(forced["test_accuracy"] as? Double ?? 0, auto["test_accuracy"] as? Double ?? 1, accuracy: 0.02)
        }
        let bad = try CLI.run(["train", digits, "--epochs", "1"], env: ["SWEEP_GEMM": "fastest"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("SWEEP_GEMM") && bad.stderr.contains("accepted: auto, openblas, portable, avx2, avx512"), bad.stderr)
    }

    /// `SWEEP_PHASES=1` prints each epoch's phases on stderr and leaves stdout (the JSON lines) as it was.
    func testPhasesOnStderr() throws {
        let plain = try CLI.run(["train", digits, "--epochs", "2", "--json"])
        let timed = try CLI.run(["train", digits, "--epochs", "2", "--json"], env: ["SWEEP_PHASES": "1"])
        XCTAssertEqual(timed.status, 0, timed.stderr)
        XCTAssertFalse(plain.stderr.contains("sweep phases"), plain.stderr)
        for epoch in 1...2 {
            let line = timed.stderr.split(separator: "\n").first { $0.hasPrefix("sweep phases: epoch \(epoch): gather ") }
            XCTAssertNotNil(line, timed.stderr)
            for phase in ["forward", "loss", "backward", "optimizer", "total"] { XCTAssertTrue(line?.contains(" \(phase) ") ?? false, "\(phase): \(timed.stderr)") }
        }
        let losses = { (r: CLI.Result) in CLI.jsonLines(r.stdout).compactMap { $0["train_loss"] as? Double } }
        XCTAssertEqual(losses(plain), losses(timed))
    }

    func testHumanReadableProgress() throws {
        let r = try CLI.run(["train", digits, "--epochs", "2", "--set", "training.learning_rate=0.01"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("epoch 2/2"), r.stdout)
        XCTAssertTrue(r.stdout.contains("test_accuracy"), r.stdout)
    }

    /// `training.precision: bf16` from the command line: it trains, differs from fp32, repeats exactly;
    /// an unknown precision is refused with the field and the accepted values.
    func testBF16Precision() throws {
        func losses(_ precision: String) throws -> [Double] {
            let r = try CLI.run(["train", digits, "--epochs", "3", "--json", "--set", "training.precision=\(precision)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let lines = CLI.jsonLines(r.stdout)
            XCTAssertGreaterThan(lines.last?["test_accuracy"] as? Double ?? 0, 0.85, r.stdout)
            return lines.compactMap { $0["train_loss"] as? Double }
        }
        let bf16 = try losses("bf16")
        XCTAssertEqual(bf16.count, 3)
        XCTAssertEqual(bf16, try losses("bf16"))
        XCTAssertNotEqual(bf16, try losses("fp32"))
        try expectUsageError(["train", digits, "--set", "training.precision=fp16"], mentions: ["training.precision", "fp16", "fp32, bf16"])
    }

    func testSameSeedSameMetrics() throws {
        func metrics(_ seed: String) throws -> [String] {
            let r = try CLI.run(["train", digits, "--epochs", "3", "--json", "--seed", seed])
            return CLI.jsonLines(r.stdout).map { l in
                l.filter { !$0.key.contains("seconds") && !$0.key.contains("latency") }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            }
        }
        let a = try metrics("4"), b = try metrics("4"), c = try metrics("5")
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testCheckpointAndResumeMatchAnUninterruptedRun() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func strip(_ s: String) -> [String] {
            CLI.jsonLines(s).map { $0.filter { !$0.key.contains("seconds") && !$0.key.contains("latency") }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
        }
        let full = try CLI.run(["train", digits, "--epochs", "4", "--json"])
        let ck = dir + "/ck"
        let first = try CLI.run(["train", digits, "--epochs", "4", "--json", "--checkpoint", ck, "--stop-after", "2"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(CLI.jsonLines(first.stdout).count, 2)
        let second = try CLI.run(["train", digits, "--epochs", "4", "--json", "--resume", ck])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(strip(first.stdout) + strip(second.stdout), strip(full.stdout))
    }

    func testCheckSaysWhyAutoPicksItsSampler() throws {
        let path = write("""
            name: t
            dataset: {name: digits}
            budget: {trials: 12}
            model:
              layers:
                - {type: dense, units: {choice: [16, 32, 64]}, activation: relu}
            training: {epochs: 1, learning_rate: {choice: [0.001, 0.01, 0.1]}}
            """)
        let grid = try CLI.run(["check", path])
        XCTAssertEqual(grid.status, 0, grid.stderr)
        XCTAssertTrue(grid.stdout.contains("sampler    auto (resolves to grid: every parameter is discrete and all 9 configurations fit in the budget of 12 trials)"), grid.stdout)
        let gp = try CLI.run(["check", path, "--set", "budget.trials=5", "--json"])
        let sampler = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(gp.stdout.utf8)) as? [String: Any])?["sampler"] as? [String: Any])
        XCTAssertEqual(sampler["resolved"] as? String, "gp")
        XCTAssertEqual(sampler["reason"] as? String,
                       "a budget of 5 trials (at most 200), all 2 parameters discrete (9 configurations): GP, sample-efficient where each trial is expensive")
    }

    // MARK: Bad input: a clear message naming the file and field, exit status 2.

    func expectUsageError(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 2, "\(args): \(r.stdout) \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "stderr lacks '\(m)': \(r.stderr)", file: file, line: line) }
    }

    func write(_ text: String, _ name: String = "m.yaml") -> String {
        let dir = CLI.tempDir()
        let p = dir + "/" + name
        try! text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func testMissingFile() throws { try expectUsageError(["train", "/nonexistent/x.yaml"], mentions: ["/nonexistent/x.yaml", "no such file"]) }
    func testBadFlag() throws { try expectUsageError(["train", digits, "--epochs", "0"], mentions: ["--epochs"]) }
    func testUnknownFlag() throws { try expectUsageError(["train", digits, "--bogus"], mentions: ["--bogus"]) }
    func testUnknownLayer() throws {
        let p = write("dataset: {name: digits}\nmodel:\n  layers:\n    - {type: lstm, units: 4}\n")
        try expectUsageError(["train", p], mentions: [p + ":4", "model.layers.0.type", "lstm", "conv2d"])
    }
    func testUnknownOptimizer() throws {
        let p = write("dataset: {name: digits}\nmodel: {layers: []}\ntraining: {optimizer: adagrad}\n")
        try expectUsageError(["train", p], mentions: [p, "training.optimizer", "adagrad", "rmsprop"])
    }
    func testMismatchedShapes() throws {
        let p = write("dataset: {name: digits}\nmodel:\n  layers:\n    - {type: dense, units: 8}\n    - {type: maxpool2d}\n")
        try expectUsageError(["train", p], mentions: [p, "model.layers.1.type", "image input"])
    }
    func testMissingDatasetFile() throws {
        let p = write("dataset: {name: mnist}\nmodel: {layers: []}\n")
        try expectUsageError(["train", p, "--data-dir", "/nonexistent-data"], mentions: ["/nonexistent-data/mnist/train-images-idx3-ubyte.gz", "sweep data fetch"])
    }
    func testCorruptDatasetFile() throws {
        let dir = CLI.tempDir()
        try FileManager.default.createDirectory(atPath: dir + "/mnist", withIntermediateDirectories: true)
        for f in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/mnist/" + f, contents: Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])))
        }
        let p = write("dataset: {name: mnist}\nmodel: {layers: []}\n")
        try expectUsageError(["train", p, "--data-dir", dir], mentions: [dir + "/mnist/train-images-idx3-ubyte.gz"])
    }
    func testMissingLabelColumn() throws {
        let dir = CLI.tempDir()
        try "a,b,y\n1,2,0\n3,4,1\n".write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
        let p = write("dataset: {name: csv, path: \(dir)/t.csv, label: target}\nmodel: {layers: []}\n")
        try expectUsageError(["train", p], mentions: [dir + "/t.csv", "label", "'target'", "a, b, y"])
    }
    func testNotFixed() throws {
        let p = write("dataset: {name: digits}\nmodel: {layers: []}\ntraining: {learning_rate: {float: [0.001, 0.1]}}\n")
        try expectUsageError(["train", p], mentions: [p + ":3", "training.learning_rate", "--set"])
    }
}
