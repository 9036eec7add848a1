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
}
