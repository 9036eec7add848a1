import Foundation
import XCTest

/// Studies of several objectives along the user's path: a command printing two objectives and a
/// constrained metric (check, start, leaderboard as table, JSON and CSV, status, Optuna reading
/// the front), and a built-in search of accuracy against model size with replay and predict of
/// a trial of its front.
final class MultiObjectiveCommandTests: XCTestCase {
    /// A trade-off: the loss is smallest at x = 0.2, the latency at x = 0; memory grows with y.
    static let script = """
    import json, sys
    p = json.load(sys.stdin)
    x, y = p["x"], p["y"]
    loss = 1.0
    for epoch in range(1, 3):
        loss = (x - 0.2) ** 2 + 0.1 * y + 0.5 / epoch
        print(json.dumps({"step": epoch, "values": {"val_loss": loss, "latency_ms": 1 + 3 * x}}), flush=True)
    print(json.dumps({"values": {"val_loss": loss, "latency_ms": 1 + 3 * x}, "mem_mb": 100 * y}))
    """

    static let space = """
    name: tradeoff
    objective:
      - {metric: val_loss, direction: minimize}
      - {metric: latency_ms, direction: minimize}
    constraints:
      - {metric: mem_mb, max: 50}
    command: [python3, trial.py]
    params:
      x: {float: [0, 1]}
      y: {float: [0, 1]}
    budget: {trials: 14, max_epochs: 2}
    seed: 3
    """

    func runTradeoff() throws -> (dir: String, db: String) {
        let dir = CLI.tempDir()
        try Self.script.write(toFile: dir + "/trial.py", atomically: true, encoding: .utf8)
        let space = try CLI.writeSpace(dir, Self.space)
        let check = try CLI.run(["check", space])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.contains("objectives minimize val_loss, minimize latency_ms (a Pareto front)"), check.stdout)
        XCTAssertTrue(check.stdout.contains("constraints mem_mb <= 50.0 (feasible when all hold)"), check.stdout)
        XCTAssertTrue(check.stdout.contains("resolves to tpe: several objectives"), check.stdout)
        let db = dir + "/r.db"
        let run = try CLI.run(["start", space, "--foreground", "--workers", "2", "--db", db], timeout: 300)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("front 1* is the Pareto front"), run.stdout)
        return (dir, db)
    }

    /// Non-dominated rows among `rows` (each a list of losses).
    static func nonDominated(_ rows: [[Double]]) -> [Int] {
        rows.indices.filter { i in
            !rows.indices.contains { j in j != i && zip(rows[j], rows[i]).allSatisfy { $0 <= $1 } && zip(rows[j], rows[i]).contains { $0 < $1 } }
        }
    }

    func testACommandWithTwoObjectivesAndAConstraint() throws {
        let (dir, db) = try runTradeoff()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 14)
        XCTAssertTrue(rows.allSatisfy { $0["state"] as? String == "COMPLETE" }, "\(rows)")
        // Every row: its values by metric, its constraint (mem_mb - 50) and feasibility.
        var losses: [Int: [Double]] = [:]
        var feasible: Set<Int> = []
        for row in rows {
            let n = try XCTUnwrap(row["trial"] as? Int)
            let v = try XCTUnwrap(row["values"] as? [String: Double], "\(row)")
            let params = try XCTUnwrap(row["params"] as? [String: Double])
            XCTAssertEqual(v["latency_ms"] ?? 0, 1 + 3 * params["x"]!, accuracy: 1e-9)
            XCTAssertEqual(row["value"] as? Double, v["val_loss"])
            let c = try XCTUnwrap(row["constraints"] as? [Double])
            XCTAssertEqual(c[0], 100 * params["y"]! - 50, accuracy: 1e-9)
            XCTAssertEqual(row["feasible"] as? Bool, c[0] <= 0)
            XCTAssertEqual((row["metrics"] as? [String: Double])?["mem_mb"] ?? -1, 100 * params["y"]!, accuracy: 1e-9)
            XCTAssertEqual((row["curve"] as? [String: Double])?.count, 2)
            losses[n] = [v["val_loss"]!, v["latency_ms"]!]
            if c[0] <= 0 { feasible.insert(n) }
        }
        // The Pareto front of the feasible trials, computed here, is the leaderboard's first rows.
        let candidates = feasible.sorted()
        let front = Set(Self.nonDominated(candidates.map { losses[$0]! }).map { candidates[$0] })
        XCTAssertFalse(front.isEmpty)
        let pareto = rows.prefix { $0["pareto"] as? Bool == true }.map { $0["trial"] as! Int }
        XCTAssertEqual(Set(pareto), front)
        XCTAssertEqual(rows.filter { $0["pareto"] as? Bool == true }.count, front.count, "the front comes first")
        let fronts = rows.map { $0["front"] as? Int ?? 0 }
        XCTAssertEqual(fronts, fronts.sorted(), "then the rest by front rank")

        let csv = try CLI.run(["leaderboard", "--db", db, "--csv"]).stdout.split(separator: "\n")
        XCTAssertEqual(csv.first, "rank,trial,pareto,front,val_loss,latency_ms,epochs,duration_seconds,state,x,y,reason")
        XCTAssertEqual(csv.count, 15)
        let table = try CLI.run(["leaderboard", "--db", db, "--top", "3"]).stdout
        XCTAssertTrue(table.contains("leaderboard of tradeoff (val_loss, latency_ms), 14 trials"), table)
        XCTAssertTrue(table.contains("front") && table.contains("1*"), table)

        let status = try CLI.jsonArray(["status", "--db", db, "--json"])
        XCTAssertEqual(status.first?["metrics"] as? [String], ["val_loss", "latency_ms"])
        XCTAssertEqual(status.first?["directions"] as? [String], ["minimize", "minimize"])
        XCTAssertTrue(status.first?["best_value"] is NSNull)
        let text = try CLI.run(["status", "--db", db]).stdout
        XCTAssertTrue(text.contains("objectives val_loss, latency_ms (the Pareto front: sweep leaderboard)"), text)
        // With several objectives, replay and predict need a trial of the front.
        let replay = try CLI.run(["replay", "--db", db])
        XCTAssertEqual(replay.status, 2)
        XCTAssertTrue(replay.stderr.contains("has 2 objectives (val_loss, latency_ms): choose a trial of its Pareto front with --trial N: "), replay.stderr)
        XCTAssertTrue(replay.stderr.contains(front.sorted().map(String.init).joined(separator: ", ")), replay.stderr)
    }

    /// Optuna loads the study as one of two objectives whose `best_trials` are Sweep's front.
    func testOptunaReadsTheFront() throws {
        try CLI.requirePython("optuna")
        let (dir, db) = try runTradeoff()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pareto = try CLI.leaderboard(db).filter { $0["pareto"] as? Bool == true }.map { $0["trial"] as! Int }.sorted()
        let py = try CLI.run(["python3", "-c", """
            import json, sys, optuna
            s = optuna.load_study(study_name="tradeoff", storage="sqlite:///" + sys.argv[1])
            t = s.trials[0]
            print(json.dumps({"directions": [d.name for d in s.directions], "metric_names": s.metric_names,
                              "best": sorted(t.number for t in s.best_trials), "values": len(t.values),
                              "constraints": t.system_attrs.get("constraints"), "feasible": sum(1 for t in s.trials if t.constraints["0"] <= 0)}))
            """, db], executable: "/usr/bin/env")
        XCTAssertEqual(py.status, 0, py.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [String: Any], py.stdout)
        XCTAssertEqual(o["directions"] as? [String], ["MINIMIZE", "MINIMIZE"])
        XCTAssertEqual(o["metric_names"] as? [String], ["val_loss", "latency_ms"])
        XCTAssertEqual(o["best"] as? [Int], pareto)
        XCTAssertEqual(o["values"] as? Int, 2)
        XCTAssertEqual((o["constraints"] as? [Double])?.count, 1)
        let feasible = try CLI.leaderboard(db).filter { $0["feasible"] as? Bool == true }.count
        XCTAssertEqual(o["feasible"] as? Int, feasible)
    }

    /// The built-in engine: accuracy against model size on digits, a short debug-friendly search;
    /// replay and predict of a trial of the front.
    func testABuiltInSearchOfAccuracyAgainstModelBytes() throws {
        let dir = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let space = try CLI.writeSpace(dir, """
            name: small-and-good
            seed: 1
            dataset: {name: digits, scaling: unit}
            objective:
              - {metric: val_accuracy, direction: maximize}
              - {metric: model_bytes, direction: minimize}
            budget: {trials: 4, max_epochs: 2}
            sampler: {name: nsga2, population_size: 2}
            model:
              layers:
                - {type: dense, units: {int: [2, 48], log: true}, activation: relu}
            training: {batch_size: 32, learning_rate: 0.01, optimizer: adam}
            """)
        let db = dir + "/r.db"
        let run = try CLI.run(["start", space, "--foreground", "--workers", "2", "--db", db], cwd: dir, timeout: 600)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 4)
        for row in rows {
            let v = try XCTUnwrap(row["values"] as? [String: Double], "\(row)")
            let m = try XCTUnwrap(row["metrics"] as? [String: Double], "\(row)")
            XCTAssertEqual(v["model_bytes"], m["model_bytes"])
            let units = try XCTUnwrap((row["params"] as? [String: Double])?["model.layers.0.units"])
            XCTAssertEqual(m["parameters"], 64 * units + units + units * 10 + 10)
            XCTAssertEqual(v["val_accuracy"], (row["curve"] as? [String: Double])?["2"], "the last epoch's accuracy")
        }
        let front = rows.filter { $0["pareto"] as? Bool == true }.map { $0["trial"] as! Int }
        XCTAssertFalse(front.isEmpty)
        // The smallest model is on the front (nothing is smaller).
        let smallest = rows.min { ($0["values"] as! [String: Double])["model_bytes"]! < ($1["values"] as! [String: Double])["model_bytes"]! }!
        XCTAssertTrue(front.contains(smallest["trial"] as! Int), "\(rows)")
        let n = String(front.last!)
        let replay = try CLI.run(["replay", "small-and-good", "--trial", n, "--db", db], cwd: dir)
        XCTAssertEqual(replay.status, 0, replay.stdout + replay.stderr)
        XCTAssertFalse((replay.stdout + replay.stderr).contains("differs"), replay.stdout + replay.stderr)
        // Five 8x8 images (IDX) to predict.
        var idx = Data([0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 8])
        idx.append(contentsOf: (0..<(5 * 64)).map { UInt8(($0 * 37) % 17) })
        _ = FileManager.default.createFile(atPath: dir + "/new.idx", contents: idx)
        let predict = try CLI.run(["predict", "small-and-good", "--trial", n, "--input", dir + "/new.idx", "--db", db], cwd: dir)
        XCTAssertEqual(predict.status, 0, predict.stderr)
        XCTAssertEqual(predict.stdout.split(separator: "\n").count, 6, predict.stdout)
    }
}
