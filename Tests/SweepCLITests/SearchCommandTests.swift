import Foundation
import XCTest

/// `sweep start`, `leaderboard`, `studies` and `replay` driven through the built binary, the way a
/// user runs them (scripts/test points SWEEP_BIN at the release build).
final class SearchCommandTests: XCTestCase {
    static let digitsSpace = CLI.repo + "/search-spaces/digits-mlp.yaml"
    static let commandScript = CLI.repo + "/Tests/python/command_trial.py"

    /// A digits search: the right number of trials, a sensible best, the leaderboard in three
    /// formats, continuing to a larger total, replaying the best exactly, and Optuna reading it.
    func testDigitsSearchLeaderboardContinueReplayAndOptuna() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let start = try CLI.run(["start", Self.digitsSpace, "--trials", "8", "--workers", "2", "--db", db], cwd: dir)
        XCTAssertEqual(start.status, 0, start.stderr)
        XCTAssertTrue(start.stdout.contains("leaderboard of digits-mlp"), start.stdout)

        var rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 8)
        XCTAssertEqual(Set(rows.compactMap { $0["trial"] as? Int }), Set(0..<8))
        XCTAssertTrue(rows.allSatisfy { ["COMPLETE", "PRUNED"].contains($0["state"] as? String ?? "") }, "\(rows)")
        let best = try XCTUnwrap(rows.first)
        XCTAssertEqual(best["rank"] as? Int, 1)
        XCTAssertEqual(best["state"] as? String, "COMPLETE")
        XCTAssertGreaterThan(best["value"] as? Double ?? 0, 0.85, "a digits MLP reaches well over 85% validation accuracy")

        // --trials is the study's total: the same command with 12 runs 4 more, not 12.
        let more = try CLI.run(["start", Self.digitsSpace, "--trials", "12", "--workers", "2", "--db", db], cwd: dir)
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertTrue(more.stdout.contains("8 of 12 trials finished so far"), more.stdout)
        rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 12)
        XCTAssertEqual(Set(rows.compactMap { $0["trial"] as? Int }), Set(0..<12))
        let again = try CLI.run(["start", Self.digitsSpace, "--trials", "12", "--db", db], cwd: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try CLI.leaderboard(db).count, 12, "a study at its total runs nothing more")

        // The three formats agree.
        let top3 = try CLI.leaderboard(db, ["--top", "3"])
        XCTAssertEqual(top3.count, 3)
        let csv = try CLI.run(["leaderboard", "--db", db, "--csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let csvLines = csv.stdout.split(separator: "\n")
        XCTAssertEqual(csvLines.count, 13)
        XCTAssertTrue(csvLines[0].hasPrefix("rank,trial,value,epochs,duration_seconds,state,"), String(csvLines[0]))
        let firstCells = csvLines[1].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(Int(firstCells[1]), rows[0]["trial"] as? Int)
        XCTAssertEqual(Double(firstCells[2]), rows[0]["value"] as? Double)
        let table = try CLI.run(["leaderboard", "digits-mlp", "--db", db, "--top", "5"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("rank"), table.stdout)
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 2 + 5, table.stdout)

        let studies = try CLI.run(["studies", "--db", db, "--json"])
        XCTAssertEqual(studies.status, 0, studies.stderr)
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(studies.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(list.first?["study"] as? String, "digits-mlp")
        XCTAssertEqual(list.first?["best_value"] as? Double, rows[0]["value"] as? Double)
        XCTAssertEqual(list.first?["state"] as? String, "finished")

        // Replay the best trial: identical metric, and the model, YAML and curve written.
        let replay = try CLI.run(["replay", "--db", db], cwd: dir)
        XCTAssertEqual(replay.status, 0, replay.stdout + replay.stderr)
        XCTAssertTrue(replay.stdout.contains("identical to the stored trial"), replay.stdout)
        let out = dir + "/results/digits-mlp/trial-\(rows[0]["trial"] as! Int)"
        for f in ["model.safetensors", "model.json", "config.yaml", "curve.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
        }
        // The YAML it wrote trains the same model with `sweep train`.
        let retrain = try CLI.run(["train", out + "/config.yaml", "--json"])
        XCTAssertEqual(retrain.status, 0, retrain.stderr)

        // Optuna reads the same study: best trial, parameters and per-epoch values.
        try checkWithOptuna(db: db, study: "digits-mlp", leaderboard: rows)
    }

    func checkWithOptuna(db: String, study: String, leaderboard rows: [[String: Any]]) throws {
        try CLI.requirePython("optuna")
        let r = try CLI.run(["python3", CLI.repo + "/Tests/python/check_optuna_store.py", db, study], executable: "/usr/bin/env")
        XCTAssertEqual(r.status, 0, r.stderr)
        let optuna = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(optuna["direction"] as? String, "MAXIMIZE")
        let best = try XCTUnwrap(optuna["best"] as? [String: Any])
        XCTAssertEqual(best["number"] as? Int, rows[0]["trial"] as? Int)
        XCTAssertEqual(best["value"] as? Double, rows[0]["value"] as? Double)
        XCTAssertEqual(NSDictionary(dictionary: best["params"] as? [String: Any] ?? [:]),
                       NSDictionary(dictionary: rows[0]["params"] as? [String: Any] ?? [:]))
        let trials = try XCTUnwrap(optuna["trials"] as? [[String: Any]])
        XCTAssertEqual(trials.count, rows.count)
        for row in rows {
            let t = try XCTUnwrap(trials.first { $0["number"] as? Int == row["trial"] as? Int })
            XCTAssertEqual(t["state"] as? String, row["state"] as? String)
            XCTAssertEqual(NSDictionary(dictionary: t["intermediate"] as? [String: Any] ?? [:]),
                           NSDictionary(dictionary: row["curve"] as? [String: Any] ?? [:]), "trial \(row["trial"]!)")
            XCTAssertEqual(NSDictionary(dictionary: t["params"] as? [String: Any] ?? [:]),
                           NSDictionary(dictionary: row["params"] as? [String: Any] ?? [:]))
        }
        XCTAssertEqual(optuna["schema_differences"] as? [String], [])
    }

    /// A user command that crashes, segfaults, hangs, prints garbage, returns NaN or exceeds its
    /// memory limit fails with its reason; the search finishes its other trials.
    func testUserCommandFailuresAreRecordedAndTheSearchGoesOn() throws {
        let dir = CLI.tempDir()
        let space = try CLI.writeSpace(dir, """
        name: faults
        seed: 3
        objective: {metric: score, direction: maximize}
        budget: {trials: 9, max_epochs: 3, trial_timeout: 3}
        sampler: random
        command: [python3, \(Self.commandScript), --x, "{x}", --trial, "{trial}"]
        params:
          x: {float: [0.1, 1.0]}
        """)
        let modes = "ok,crash,segv,hang,garbage,nan,memory,ok,ok"
        let db = dir + "/sweep.db"
        let r = try CLI.run(["start", space, "--workers", "3", "--db", db, "--memory-mb", "400"],
                            env: ["SWEEP_TEST_MODES": modes], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 9)
        func row(_ n: Int) -> [String: Any] { rows.first { $0["trial"] as? Int == n } ?? [:] }
        let expected: [Int: String] = [1: "status 3", 2: "signal 11", 3: "timed out", 4: "without printing a final",
                                       5: "NaN", 6: "status 1"]
        for (n, why) in expected {
            XCTAssertEqual(row(n)["state"] as? String, "FAIL", "trial \(n): \(row(n))")
            XCTAssertTrue((row(n)["reason"] as? String ?? "").contains(why), "trial \(n): \(row(n)["reason"] ?? "nil") should say \(why)")
        }
        XCTAssertTrue((row(1)["reason"] as? String ?? "").contains("boom"), "the stderr tail explains a crash")
        for n in [0, 7, 8] {
            XCTAssertEqual(row(n)["state"] as? String, "COMPLETE", "trial \(n): \(row(n))")
            XCTAssertEqual((row(n)["curve"] as? [String: Any])?.count, 3)
        }
        // Failures are shown with their reason in the table, too.
        let table = try CLI.run(["leaderboard", "--db", db])
        XCTAssertTrue(table.stdout.contains("timed out"), table.stdout)
        // The search ran in the daemon, which outlived every fault.
        let status = try CLI.run(["status", "--db", db])
        XCTAssertTrue(status.stdout.contains("daemon pid "), status.stdout)
        XCTAssertEqual(try CLI.run(["shutdown", "--db", db]).status, 0)
    }

    /// The README's user-command example runs as documented.
    func testTheReadmeCommandExampleRuns() throws {
        let dir = CLI.tempDir()
        let r = try CLI.run(["start", CLI.repo + "/search-spaces/command-example.yaml", "--trials", "6", "--workers", "2",
                             "--db", dir + "/s.db"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let rows = try CLI.leaderboard(dir + "/s.db")
        XCTAssertEqual(rows.count, 6)
        XCTAssertTrue(rows.allSatisfy { ["COMPLETE", "PRUNED"].contains($0["state"] as? String ?? "") }, "\(rows)")
        XCTAssertEqual(Set((rows[0]["params"] as? [String: Any] ?? [:]).keys), ["lr", "layers", "act"])
    }

    /// max_failures ends the search early; it still exits 0 and says why.
    func testMaxFailuresStopsTheSearch() throws {
        let dir = CLI.tempDir()
        let space = try CLI.writeSpace(dir, """
        name: fails
        objective: {metric: score, direction: minimize}
        budget: {trials: 20, max_failures: 3}
        command: [python3, \(Self.commandScript)]
        params:
          x: {float: [0.1, 1.0]}
        """)
        let r = try CLI.run(["start", space, "--workers", "1", "--db", dir + "/s.db"], env: ["SWEEP_TEST_MODES": "crash"], timeout: 60)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("3 trials failed"), r.stderr)
        XCTAssertEqual(try CLI.leaderboard(dir + "/s.db").count, 3)
    }

    /// Early stopping works for a user command as for the engine: stopped trials are PRUNED with
    /// their reports kept, after SIGTERM.
    func testUserCommandIsPrunedByTheScheduler() throws {
        let dir = CLI.tempDir()
        let space = try CLI.writeSpace(dir, """
        name: pruning
        seed: 1
        objective: {metric: score, direction: maximize}
        budget: {trials: 12, max_epochs: 9}
        sampler: random
        scheduler: {name: asha, reduction_factor: 3, min_epochs: 1}
        command: [python3, \(Self.commandScript)]
        params:
          x: {float: [0.0, 1.0]}
        """)
        let r = try CLI.run(["start", space, "--workers", "2", "--db", dir + "/s.db"], env: ["SWEEP_TEST_MODES": "slow"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let rows = try CLI.leaderboard(dir + "/s.db")
        XCTAssertEqual(rows.count, 12)
        let pruned = rows.filter { $0["state"] as? String == "PRUNED" }
        XCTAssertGreaterThan(pruned.count, 2, "\(rows)")
        for p in pruned {
            XCTAssertLessThan(p["epochs"] as? Int ?? 99, 9)
            XCTAssertNotNil(p["value"] as? Double, "a pruned trial keeps its last reported value")
        }
        XCTAssertTrue(rows.contains { $0["state"] as? String == "COMPLETE" && $0["epochs"] as? Int == 9 })
    }

    /// Every row of every table, as SQL (Python's sqlite3 iterdump).
    static func dump(_ db: String) throws -> String {
        let r = try CLI.run(["python3", "-c", "import sqlite3, sys; print('\\n'.join(sqlite3.connect(sys.argv[1]).iterdump()))", db],
                            executable: "/usr/bin/env")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertGreaterThan(r.stdout.count, 1000)
        return r.stdout
    }

    /// Bad input exits 2 with a message naming the file and key, and writes nothing.
    func testBadInputExitsTwoAndWritesNothing() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let bad = try CLI.writeSpace(dir, """
        name: bad
        budget: {trials: 3}
        training:
          learning_rate: {float: [0.1, 0.01], log: true}
        """, name: "bad.yaml")
        var r = try CLI.run(["start", bad, "--db", db])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("bad.yaml") && r.stderr.contains("learning_rate"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: db), "nothing is written for a bad file")

        for flags in [["--workers", "0"], ["--trials", "-1"], ["--sampler", "annealing"], ["--scheduler", "pbt"], ["--bogus"]] {
            r = try CLI.run(["start", Self.digitsSpace, "--db", db] + flags)
            XCTAssertEqual(r.status, 2, "\(flags): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty)
            XCTAssertFalse(FileManager.default.fileExists(atPath: db), "\(flags) wrote a database")
        }
        r = try CLI.run(["start", dir + "/missing.yaml", "--db", db])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("missing.yaml"), r.stderr)

        // With a database in place, a bad request leaves it byte for byte unchanged.
        let ok = try CLI.writeSpace(dir, """
        name: ok
        budget: {trials: 2}
        command: [python3, \(Self.commandScript)]
        params:
          x: {float: [0.1, 1.0]}
        """, name: "ok.yaml")
        r = try CLI.run(["start", ok, "--db", db, "--workers", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let before = try Self.dump(db)
        r = try CLI.run(["start", bad, "--db", db])
        XCTAssertEqual(r.status, 2)
        // Same study name, different file: refused.
        try (try String(contentsOfFile: ok, encoding: .utf8) + "\nseed: 5\n").write(toFile: ok, atomically: true, encoding: .utf8)
        r = try CLI.run(["start", ok, "--db", db])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("already exists"), r.stderr)
        r = try CLI.run(["leaderboard", "nosuch", "--db", db])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("no study named 'nosuch'"), r.stderr)
        r = try CLI.run(["replay", "ok", "--trial", "7", "--db", db])
        XCTAssertEqual(r.status, 2)
        r = try CLI.run(["leaderboard", "--json", "--csv", "--db", db])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(try Self.dump(db), before)
        r = try CLI.run(["leaderboard", "--db", dir + "/none.db"])
        XCTAssertEqual(r.status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/none.db"))
    }
}
