import Foundation
import XCTest

/// Compression along the user's path: `sweep train` with `compression:`, a search over the
/// sparsity whose trials store their size and latency, and `replay` + `predict` of an int8 trial,
/// with PyTorch predicting the same from the exported int8 model.
final class CompressionCommandTests: XCTestCase {
    func testTrainWithCompressionReportsMetricsAndExportsInt8() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = """
        name: small
        dataset: {name: digits, scaling: standardize}
        model:
          layers:
            - {type: conv2d, filters: 6, kernel: 3, batchnorm: true}
            - {type: maxpool2d, size: 2}
            - {type: dense, units: 24, activation: gelu}
        training: {epochs: 2, batch_size: 32, learning_rate: 0.003}
        compression: {quantize: int8, prune: {sparsity: 0.6, finetune_epochs: 1}}
        """
        try yaml.write(toFile: dir + "/m.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", dir + "/m.yaml", "--json", "--save-model", dir + "/model"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = CLI.jsonLines(r.stdout)
        XCTAssertEqual(lines.count, 4, "2 training epochs, 1 fine-tuning epoch, the final object: \(r.stdout)")
        let final = try XCTUnwrap(lines.last)
        XCTAssertEqual(final["epochs"] as? Int, 3)
        XCTAssertEqual(final["sparsity"] as? Double ?? 0, 0.6, accuracy: 0.01)
        XCTAssertGreaterThan(final["int8_test_accuracy"] as? Double ?? 0, 0.6)
        XCTAssertEqual(final["int8_test_accuracy"] as? Double ?? 0, final["test_accuracy"] as? Double ?? 1, accuracy: 0.05)
        XCTAssertGreaterThan(final["latency_ms"] as? Double ?? 0, 0)
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/model.safetensors")[.size] as? Int
        XCTAssertEqual(final["model_bytes"] as? Int, size)
        let params = try XCTUnwrap(final["parameters"] as? Int)
        XCTAssertLessThan(size ?? .max, params * 4 / 2, "int8 weights: well under half the fp32 bytes")
        let arch = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/model.json"))) as? [String: Any])
        let compression = try XCTUnwrap(arch["compression"] as? [String: Any])
        XCTAssertEqual(compression["quantize"] as? String, "int8")
        XCTAssertEqual(compression["sparsity"] as? Double ?? 0, 0.6, accuracy: 0.01)

        // Every int8 path this CPU has (per /proc/cpuinfo), forced, gives the same int8 model and
        // metrics as the default path, the best one, and the report names the path that ran; a
        // path the CPU lacks, or an unknown name, is refused (exit 2) naming the variable.
        let paths = Self.int8Paths()
        XCTAssertEqual(final["int8_kernel"] as? String, paths.first { $0.1 }?.0, "the default is the best path")
        for (path, here) in paths {
            let forced = try CLI.run(["train", dir + "/m.yaml", "--json"], env: ["SWEEP_INT8_KERNEL": path])
            guard here else {
                XCTAssertEqual(forced.status, 2, path)
                XCTAssertTrue(forced.stderr.contains("SWEEP_INT8_KERNEL") && forced.stderr.contains("this CPU cannot run the \(path) int8 path"), forced.stderr)
                continue
            }
            XCTAssertEqual(forced.status, 0, forced.stderr)
            let f = try XCTUnwrap(CLI.jsonLines(forced.stdout).last)
            XCTAssertEqual(f["int8_kernel"] as? String, path)
            for k in ["int8_test_loss", "int8_test_accuracy", "int8_val_loss", "test_loss", "model_bytes"] {
                XCTAssertEqual(f[k] as? Double, final[k] as? Double, "\(path): \(k)")
            }
        }
        let unknown = try CLI.run(["train", dir + "/m.yaml", "--json"], env: ["SWEEP_INT8_KERNEL": "vnni"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("SWEEP_INT8_KERNEL") && unknown.stderr.contains("accepted: auto, scalar, avx2, avx-vnni, avx512-vnni"),
                      unknown.stderr)

        // The same without compression: fp32 bytes, no int8 metrics, and the text form.
        let plain = try CLI.run(["train", dir + "/m.yaml", "--json", "--set", "compression.quantize=none", "--set", "compression.prune.sparsity=0"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let p = try XCTUnwrap(CLI.jsonLines(plain.stdout).last)
        XCTAssertNil(p["int8_test_accuracy"])
        XCTAssertGreaterThan(p["model_bytes"] as? Int ?? 0, params * 4)
        let text = try CLI.run(["train", dir + "/m.yaml"])
        XCTAssertTrue(text.stdout.contains("epoch 3/3 (fine-tuning)") && text.stdout.contains("int8_test_accuracy")
                      && text.stdout.contains("model_bytes"), text.stdout)

        // A bad value names the file, line and key.
        try (yaml + "\n").replacingOccurrences(of: "quantize: int8", with: "quantize: int4").write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try CLI.run(["train", dir + "/bad.yaml"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("bad.yaml:9") && bad.stderr.contains("compression.quantize") && bad.stderr.contains("int8"), bad.stderr)

        try CLI.requirePython("torch, numpy")
        let py = try CLI.run(["python3", CLI.repo + "/Tests/python/check_export.py", dir + "/model"], executable: "/usr/bin/env")
        XCTAssertEqual(py.status, 0, py.stdout + py.stderr)
    }

    /// The int8 paths, best first, and whether this CPU has each (from /proc/cpuinfo's flags).
    static func int8Paths() -> [(String, Bool)] {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let flags = Set(line.split(separator: " ").map(String.init))
        return [("avx512-vnni", flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512_vnni"])),
                ("avx-vnni", flags.isSuperset(of: ["avx_vnni", "avx2", "fma"])),
                ("avx2", flags.isSuperset(of: ["avx2", "fma"])), ("scalar", true)]
    }

    func testSearchedSparsityStoresMetricsAndAnInt8TrialReplaysAndPredicts() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = dir + "/results/sweep.db"
        let space = try CLI.writeSpace(dir, """
            name: sparse
            dataset: {name: digits}
            model:
              layers:
                - {type: dense, units: 32}
            training: {epochs: 2, batch_size: 32, learning_rate: 0.003}
            compression:
              quantize: {choice: [none, int8]}
              prune: {sparsity: {float: [0.0, 0.9]}, finetune_epochs: 1}
            sampler: random
            budget: {trials: 4}
            """)
        let check = try CLI.run(["check", space])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("compression.prune.sparsity") && check.stdout.contains("compression.quantize"), check.stdout)
        let r = try CLI.run(["start", space, "--foreground", "--workers", "2", "--db", db], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 4)
        var sawInt8 = false, sawFloat = false
        for row in rows {
            XCTAssertEqual(row["state"] as? String, "COMPLETE", "\(row)")
            XCTAssertEqual(row["epochs"] as? Int, 3, "2 epochs and 1 of fine-tuning")
            let params = try XCTUnwrap(row["params"] as? [String: Any]), m = try XCTUnwrap(row["metrics"] as? [String: Double], "\(row)")
            let sparsity = try XCTUnwrap(params["compression.prune.sparsity"] as? Double)
            XCTAssertEqual(m["sparsity"] ?? -1, sparsity, accuracy: 0.001)
            XCTAssertEqual(m["parameters"], Double(64 * 32 + 32 + 32 * 10 + 10))
            XCTAssertGreaterThan(m["latency_ms"] ?? 0, 0)
            XCTAssertGreaterThan(m["test_accuracy"] ?? 0, 0.3)
            if params["compression.quantize"] as? String == "int8" {
                sawInt8 = true
                XCTAssertNotNil(m["int8_test_accuracy"]); XCTAssertNotNil(m["int8_val_accuracy"])
                XCTAssertLessThan(m["model_bytes"] ?? .infinity, 0.45 * 4 * (m["parameters"] ?? 0))
            } else {
                sawFloat = true
                XCTAssertNil(m["int8_test_accuracy"])
                XCTAssertGreaterThan(m["model_bytes"] ?? 0, 4 * (m["parameters"] ?? 0))
            }
        }
        XCTAssertTrue(sawInt8 && sawFloat, "random sampling with seed 0 draws both: \(rows)")

        // Optuna sees the metrics as user attributes.
        let probe = try CLI.run(["python3", "-c", "import optuna"], executable: "/usr/bin/env")
        if probe.status == 0 {
            let py = try CLI.run(["python3", "-c", """
                import optuna
                s = optuna.load_study(study_name="sparse", storage="sqlite:///\(db)")
                print(sorted(k for k in s.trials[0].user_attrs if k.startswith("sweep:metric:")))
                """], executable: "/usr/bin/env")
            XCTAssertEqual(py.status, 0, py.stderr)
            XCTAssertTrue(py.stdout.contains("'sweep:metric:latency_ms'") && py.stdout.contains("'sweep:metric:model_bytes'"), py.stdout)
        }

        // replay + predict of an int8 trial on the user's own images, and PyTorch predicting the same.
        let train = DataCommandTests.writeBands(dir, count: 120, seed: 1), fresh = DataCommandTests.writeBands(dir, count: 30, seed: 2)
        let bands = try CLI.writeSpace(dir, """
            name: bands
            dataset: {name: idx, train: {images: \((train.images as NSString).lastPathComponent), labels: \((train.labels as NSString).lastPathComponent)}}
            model:
              layers:
                - {type: conv2d, filters: 4, kernel: 3}
                - {type: dense, units: 8}
            training: {epochs: 8, batch_size: 16, learning_rate: 0.01}
            compression: {quantize: int8, prune: {sparsity: {float: [0.3, 0.6]}, finetune_epochs: 2}}
            budget: {trials: 2}
            """, name: "bands.yaml")
        let b = try CLI.run(["start", bands, "--foreground", "--workers", "1", "--db", db], cwd: dir)
        XCTAssertEqual(b.status, 0, b.stdout + b.stderr)
        let replay = try CLI.run(["replay", "bands", "--trial", "1", "--db", db], cwd: dir)
        XCTAssertEqual(replay.status, 0, replay.stdout + replay.stderr)
        XCTAssertFalse((replay.stdout + replay.stderr).contains("differs"), replay.stdout + replay.stderr)
        XCTAssertTrue((replay.stdout + replay.stderr).contains("int8_test_accuracy"), replay.stdout + replay.stderr)
        let pred = try CLI.run(["predict", "bands", "--trial", "1", "--input", fresh.images, "--labels", fresh.labels, "--db", db], cwd: dir)
        XCTAssertEqual(pred.status, 0, pred.stderr)
        XCTAssertEqual(pred.stdout.split(separator: "\n").count, 31)
        XCTAssertTrue(pred.stderr.contains("accuracy 1.0000 (30 of 30 rows)"), pred.stderr)
        let stem = dir + "/results/bands/trial-1/model"
        let st = try FileManager.default.contents(atPath: stem + ".safetensors").map { String(decoding: $0.prefix(4096), as: UTF8.self) } ?? ""
        XCTAssertTrue(st.contains("\"I8\"") && st.contains("weight_scale") && st.contains("input_scale"), st)
        try CLI.requirePython("torch, numpy")
        let py = try CLI.run(["python3", CLI.repo + "/scripts/sweep_torch.py", stem, fresh.images], executable: "/usr/bin/env")
        XCTAssertEqual(py.status, 0, py.stderr)
        XCTAssertEqual(py.stdout, pred.stdout)
    }
}
