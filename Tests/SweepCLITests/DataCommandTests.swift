import Foundation
import XCTest

/// A user's own data through the built binary: `sweep check` and `sweep start` read the data set
/// before anything is written, CSV missing values and integer labels, own formats, replay's data
/// directory, and `sweep predict` on raw files.
final class DataCommandTests: XCTestCase {
    /// A small three-class CSV with string labels, a categorical column and a `?` on line 6.
    static func flowersCSV(rows: Int = 90, hole: Bool = true) -> String {
        var lines = ["sepal,petal,color,species"]
        for i in 0..<rows {
            let k = i % 3, jitter = Double((i * 37) % 10) / 10
            lines.append("\(4 + Double(k) + jitter),\(1 + 2 * Double(k) + jitter),\(["red", "blue", "green"][(i / 3 + k) % 3]),\(["setosa", "versicolor", "virginica"][k])")
        }
        if hole { lines[5] = "?" + lines[5].drop { $0 != "," } }
        return lines.joined(separator: "\n") + "\n"
    }

    static func space(_ dataset: String, extra: String = "", trials: Int = 2) -> String {
        """
        name: own
        dataset: \(dataset)
        model:
          layers:
            - {type: dense, units: {int: [4, 8]}}
        training: {epochs: 2, batch_size: 16, learning_rate: 0.05}
        budget: {trials: \(trials)}
        \(extra)
        """
    }

    /// Each mistake: `check`, `start --foreground` and `start` (daemon) exit 2 naming the file and
    /// key, and no database (nor daemon) appears.
    func testDataMistakesAreRefusedBeforeAnythingIsWritten() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.flowersCSV(hole: false).write(toFile: dir + "/flowers.csv", atomically: true, encoding: .utf8)
        try Self.flowersCSV(hole: false).split(separator: "\n").dropFirst().joined(separator: "\n")
            .write(toFile: dir + "/nohead.csv", atomically: true, encoding: .utf8)
        try ("x,y\n" + (0..<40).map { "\($0),\(Double($0) * 0.5 + 0.25)" }.joined(separator: "\n")).write(toFile: dir + "/reg.csv", atomically: true, encoding: .utf8)
        let empty = dir + "/empty-data"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let cases: [(String, String, [String])] = [
            (Self.space("{name: csv, path: flowrs.csv, label: species}"), "typo", [":2", "dataset.path", "flowrs.csv", "no such file"]),
            (Self.space("{name: csv, path: flowers.csv, label: kind}"), "label", ["dataset.label", "'kind'", "sepal, petal, color, species"]),
            // Every value a searched dataset key can take is checked.
            (Self.space("{name: csv, path: {choice: [flowers.csv, flowers-v2.csv]}, label: species}"), "searched", ["dataset.path", "flowers-v2.csv", "no such file"]),
            (Self.space("{name: csv, path: flowers.csv, label: species}", extra: "objective: {metric: val_rmse}"), "rmse",
             ["objective.metric", "val_rmse", "classification", "val_accuracy"]),
            (Self.space("{name: csv, path: reg.csv, label: y}"), "accuracy", ["objective.metric", "val_accuracy", "regression", "val_rmse"]),
            (Self.space("{name: csv, path: nohead.csv, label: species}"), "headerless", ["dataset.label", "header: false"]),
            (Self.space("{name: mnist}"), "mnist", ["dataset.name", empty + "/mnist", "sweep data fetch mnist", "--data-dir"]),
        ]
        for (yaml, name, mentions) in cases {
            let space = try CLI.writeSpace(dir, yaml, name: name + ".yaml")
            let db = dir + "/results-\(name)/sweep.db"
            for args in [["check", space], ["start", space, "--foreground", "--db", db], ["start", space, "--db", db]] {
                let r = try CLI.run(args + ["--data-dir", empty], cwd: dir)
                XCTAssertEqual(r.status, 2, "\(name) \(args): \(r.stdout) \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(name + ".yaml"), "\(name): \(r.stderr)")
                for m in mentions { XCTAssertTrue(r.stderr.contains(m), "\(name) \(args): '\(m)' missing from \(r.stderr)") }
                XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/results-\(name)"), "\(name) \(args) wrote something")
            }
        }
    }

    /// A CSV with string labels and `?` values: refused with the line and column, then run with
    /// `missing: drop`; `check` prints what the trials will train on.
    func testStringLabelsAndMissingMarks() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.flowersCSV().write(toFile: dir + "/flowers.csv", atomically: true, encoding: .utf8)
        let space = try CLI.writeSpace(dir, Self.space("{name: csv, path: flowers.csv, label: species}"))
        var r = try CLI.run(["check", space])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("flowers.csv:6: 'sepal': missing value '?'") && r.stderr.contains("1 of 90 rows"), r.stderr)
        r = try CLI.run(["check", space, "--set", "dataset.missing=drop"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("classification, 89 rows") && r.stdout.contains("5 features")
                      && r.stdout.contains("3 classes (setosa, versicolor, virginica)"), r.stdout)
        let db = dir + "/results/sweep.db"
        r = try CLI.run(["start", space, "--set", "dataset.missing=mean", "--foreground", "--workers", "1", "--db", db])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 2)
        XCTAssertTrue(rows.allSatisfy { $0["state"] as? String == "COMPLETE" }, "\(rows)")
    }

    /// Integer class ids are classes (and `task:` still decides); `check --json` reports the data.
    func testIntegerLabelsAreClasses() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ("a,b,y\n" + (0..<60).map { "\($0 % 7),\($0 % 5),\($0 % 3)" }.joined(separator: "\n")).write(toFile: dir + "/ints.csv", atomically: true, encoding: .utf8)
        let space = try CLI.writeSpace(dir, Self.space("{name: csv, path: ints.csv, label: y}"))
        var r = try CLI.run(["check", space, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let data = try XCTUnwrap((obj["data"] as? [[String: Any]])?.first)
        XCTAssertEqual(data["task"] as? String, "classification")
        XCTAssertEqual(data["classes"] as? [String], ["0", "1", "2"])
        XCTAssertEqual(data["rows"] as? Int, 60); XCTAssertEqual(data["features"] as? Int, 2)
        r = try CLI.run(["check", space, "--set", "dataset.task=regression", "--set", "objective.metric=val_rmse"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("regression, 60 rows"), r.stdout)
    }

    /// `sweep replay` reads the data set from the data directory the study was started with.
    func testReplayUsesTheStudysDataDirectory() throws {
        let dir = CLI.tempDir(), data = CLI.tempDir(), elsewhere = CLI.tempDir()
        defer { for d in [dir, data, elsewhere] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.flowersCSV(hole: false).write(toFile: data + "/flowers.csv", atomically: true, encoding: .utf8)
        let space = try CLI.writeSpace(dir, Self.space("{name: csv, path: flowers.csv, label: species}", trials: 1))
        let db = dir + "/results/sweep.db"
        var r = try CLI.run(["start", space, "--foreground", "--workers", "1", "--db", db, "--data-dir", data], cwd: elsewhere)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        r = try CLI.run(["replay", "--db", db], cwd: elsewhere)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("identical to the stored trial"), r.stdout)
    }

    /// A regression CSV: predictions are values, and the RMSE is reported when the label is there.
    func testPredictValuesOfARegression() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ("x,z,y\n" + (0..<60).map { "\(Double($0) / 10),\($0 % 4),\(Double($0) / 20 + 0.25)" }.joined(separator: "\n") + "\n")
            .write(toFile: dir + "/reg.csv", atomically: true, encoding: .utf8)
        let space = try CLI.writeSpace(dir, Self.space("{name: csv, path: reg.csv, label: y}", extra: "objective: {metric: val_rmse}", trials: 1))
        let db = dir + "/results/sweep.db"
        var r = try CLI.run(["start", space, "--foreground", "--workers", "1", "--db", db])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        r = try CLI.run(["predict", "--input", dir + "/reg.csv", "--db", db])
        XCTAssertEqual(r.status, 0, r.stderr)
        let values = r.stdout.split(separator: "\n").dropFirst().map { Double($0) }
        XCTAssertEqual(values.count, 60); XCTAssertTrue(values.allSatisfy { $0 != nil }, r.stdout)
        XCTAssertTrue(r.stderr.contains("rmse "), r.stderr)
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    /// 6x6 images of three classes: class k has a bright band on rows 2k and 2k+1, plus noise.
    static func writeBands(_ dir: String, count: Int, seed: Int) -> (images: String, labels: String) {
        var px: [UInt8] = [], lb: [UInt8] = []
        var x = UInt64(seed + 1)
        for i in 0..<count {
            let k = i % 3
            lb.append(UInt8(k))
            for r in 0..<6 { for _ in 0..<6 {
                x = x &* 6364136223846793005 &+ 1442695040888963407
                px.append(UInt8((r / 2 == k ? 180 : 20) + Int(x >> 59)))
            } }
        }
        let images = dir + "/bands-\(seed)-images.idx", labels = dir + "/bands-\(seed)-labels.idx"
        FileManager.default.createFile(atPath: images, contents: Data(be32(0x803) + be32(count) + be32(6) + be32(6) + px))
        FileManager.default.createFile(atPath: labels, contents: Data(be32(0x801) + be32(count) + lb))
        return (images, labels)
    }

    /// The user's first hour: a raw CSV with string labels and `?`, a search, then `sweep predict`
    /// on the raw file (retraining the best trial once, then reusing its export), without the label
    /// column, and the PyTorch script giving the same predictions; the same for an IDX image set.
    func testPredictOnRawCSVAndIDXFiles() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let raw = dir + "/flowers.csv"
        try Self.flowersCSV().write(toFile: raw, atomically: true, encoding: .utf8)
        let space = try CLI.writeSpace(dir, Self.space("{name: csv, path: flowers.csv, label: species, missing: mean, scaling: standardize}", trials: 1)
            .replacingOccurrences(of: "epochs: 2, batch_size: 16, learning_rate: 0.05", with: "epochs: 20, batch_size: 16, learning_rate: 0.01"))
        let db = dir + "/results/sweep.db"
        var r = try CLI.run(["start", space, "--foreground", "--workers", "1", "--db", db])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)

        let first = try CLI.run(["predict", "--input", raw, "--db", db])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("retraining it"), first.stderr)
        let predictions = first.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(predictions.first, "prediction"); XCTAssertEqual(predictions.count, 91)
        XCTAssertTrue(Set(predictions.dropFirst()).isSubset(of: ["setosa", "versicolor", "virginica"]), "\(Set(predictions))")
        let accuracy = try XCTUnwrap(first.stderr.split(separator: "\n").first { $0.hasPrefix("accuracy ") }, first.stderr)
        XCTAssertGreaterThanOrEqual(Double(accuracy.split(separator: " ")[1]) ?? 0, 0.8, first.stderr)
        // Again: the exported model is used (no training), to a file, with the same predictions.
        let again = try CLI.run(["predict", "own", "--trial", "0", "--input", raw, "--output", dir + "/p.csv", "--db", db])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("using the model") && !again.stderr.contains("replaying"), again.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/p.csv", encoding: .utf8), first.stdout)
        // Without the label column, columns in another order: the same predictions, no accuracy.
        let unlabelled = Self.flowersCSV().split(separator: "\n").map { l -> String in
            let f = l.split(separator: ",", omittingEmptySubsequences: false); return "\(f[2]),\(f[1]),\(f[0])" }
        try (unlabelled.joined(separator: "\n") + "\n").write(toFile: dir + "/new.csv", atomically: true, encoding: .utf8)
        r = try CLI.run(["predict", "--input", dir + "/new.csv", "--db", db])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, first.stdout); XCTAssertFalse(r.stderr.contains("accuracy"), r.stderr)
        // A file without a training column: exit 2 naming it.
        try "sepal,species\n5,setosa\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        r = try CLI.run(["predict", "--input", dir + "/bad.csv", "--db", db])
        XCTAssertEqual(r.status, 2); XCTAssertTrue(r.stderr.contains("bad.csv") && r.stderr.contains("'petal'"), r.stderr)

        // An IDX image set by path.
        let train = Self.writeBands(dir, count: 90, seed: 1), fresh = Self.writeBands(dir, count: 30, seed: 2)
        let idxSpace = try CLI.writeSpace(dir, Self.space("{name: idx, train: {images: \((train.images as NSString).lastPathComponent), labels: \((train.labels as NSString).lastPathComponent)}}", trials: 1)
            .replacingOccurrences(of: "name: own", with: "name: bands").replacingOccurrences(of: "epochs: 2,", with: "epochs: 10,"), name: "bands.yaml")
        r = try CLI.run(["check", idxSpace])
        XCTAssertTrue(r.stdout.contains("classification") && r.stdout.contains("36 features (6x6x1), 3 classes (0, 1, 2)"), r.stdout + r.stderr)
        r = try CLI.run(["start", idxSpace, "--foreground", "--workers", "1", "--db", db])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let idx = try CLI.run(["predict", "bands", "--input", fresh.images, "--labels", fresh.labels, "--db", db])
        XCTAssertEqual(idx.status, 0, idx.stderr)
        XCTAssertEqual(idx.stdout.split(separator: "\n").count, 31)
        XCTAssertTrue(idx.stderr.contains("accuracy 1.0000 (30 of 30 rows)"), idx.stderr)
        r = try CLI.run(["predict", "bands", "--input", raw, "--db", db])
        XCTAssertEqual(r.status, 2); XCTAssertTrue(r.stderr.contains("not an IDX image file"), r.stderr)

        // The PyTorch script in scripts/ prepares the raw files and predicts the same.
        let probe = try CLI.run(["python3", "-c", "import torch, numpy"], executable: "/usr/bin/env")
        guard probe.status == 0 else { throw XCTSkip("PyTorch is not installed (scripts/test installs it with pip)") }
        for (study, input, expected) in [("own", raw, first.stdout), ("bands", fresh.images, idx.stdout)] {
            let stem = dir + "/results/\(study)/trial-0/model"
            let py = try CLI.run(["python3", CLI.repo + "/scripts/sweep_torch.py", stem, input], executable: "/usr/bin/env")
            XCTAssertEqual(py.status, 0, py.stderr)
            XCTAssertEqual(py.stdout, expected, study)
        }
    }
}
