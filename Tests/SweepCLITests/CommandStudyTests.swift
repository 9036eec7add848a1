import Foundation
import XCTest

/// A user's own training script, driven through the built binary: ordinary prints on stdout,
/// a misspelled program or script, editing the study's file, and the names Optuna sees.
final class CommandStudyTests: XCTestCase {
    /// Writes `text` to `dir/name` (executable when `executable`).
    func write(_ dir: String, _ name: String, _ text: String, executable: Bool = false) throws {
        try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/" + name) }
    }

    /// A training script a user writes: chatty on stdout, one protocol line per epoch.
    static let chattyScript = """
    import json, os, sys
    params = json.load(sys.stdin)
    print("Loading...")
    print({"note": "a Python dict, not JSON"})
    print(json.dumps({"epoch": 0, "msg": "JSON without value"}))
    for step in (1, 2):
        print(f"epoch {step}", flush=True)
        print(json.dumps({"step": step, "value": params["lr"] * step}), flush=True)
    print(json.dumps({"value": params["lr"] * 2, "seed32": int(os.environ["SWEEP_SEED32"]), "argv_seed32": int(sys.argv[1])}))
    assert int(os.environ["SWEEP_SEED"]) >= 0 and 0 <= int(os.environ["SWEEP_SEED32"]) < 2**32
    assert sys.argv[1] == os.environ["SWEEP_SEED32"], (sys.argv, os.environ["SWEEP_SEED32"])
    assert sys.argv[2] == repr(params["lr"]) or float(sys.argv[2]) == params["lr"], (sys.argv, params)
    """

    func chattySpace(_ extra: String = "") -> String {
        """
        name: chatty
        seed: 4
        objective: {metric: loss, direction: minimize}
        budget: {trials: 3, max_epochs: 2}
        sampler: random
        command: [python3, train.py, "{seed32}", "{lr}"]
        params:
          lr: {float: [0.001, 0.1], log: true}
        \(extra)
        """
    }

    /// `sampler: nsga2` from the study file, through the binary: its generations (population 4)
    /// run to the budget, every trial valid and different.
    func testNSGAIISamplerRunsAStudy() throws {
        let dir = CLI.tempDir()
        try write(dir, "f.py", """
        import json, sys
        p = json.load(sys.stdin)
        print(json.dumps({"value": (p["x"] - 0.3) ** 2 + (p["k"] - 2) ** 2}))
        """)
        let space = try CLI.writeSpace(dir, """
        name: genetic
        seed: 2
        objective: {metric: loss, direction: minimize}
        budget: {trials: 12}
        sampler: {name: nsga2, population_size: 4}
        command: [python3, f.py]
        params:
          x: {float: [0.0, 1.0]}
          k: {int: [0, 5]}
        """)
        let db = dir + "/g.db"
        let r = try CLI.run(["start", space, "--foreground", "--workers", "2", "--db", db], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 12)
        XCTAssertTrue(rows.allSatisfy { $0["state"] as? String == "COMPLETE" }, "\(rows)")
        let params = Set(rows.compactMap { ($0["params"] as? [String: Any]).map { "\($0["x"] ?? "")/\($0["k"] ?? "")" } })
        XCTAssertEqual(params.count, 12, "\(params)")
    }

    /// `print("Loading...")` is a log line, kept with the trial's stderr; `protocol: strict`
    /// makes it fail the trial; a `value` that is not a number fails in both modes.
    func testOrdinaryStdoutIsALogLineUnlessStrict() throws {
        let dir = CLI.tempDir()
        try write(dir, "train.py", Self.chattyScript)
        let space = try CLI.writeSpace(dir, chattySpace())
        let db = dir + "/s.db"
        let r = try CLI.run(["start", space, "--foreground", "--workers", "2", "--db", db], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 3)
        for row in rows {
            XCTAssertEqual(row["state"] as? String, "COMPLETE", "\(row)")
            XCTAssertEqual((row["curve"] as? [String: Any])?.count, 2, "\(row)")
        }
        let logs = try CLI.run(["logs", "chatty", "--trial", "0", "--db", db])
        XCTAssertEqual(logs.status, 0, logs.stderr)
        for line in ["Loading...", "{'note': 'a Python dict, not JSON'}", "epoch 2"] {
            XCTAssertTrue(logs.stdout.contains(line), "the log keeps '\(line)': \(logs.stdout)")
        }

        let strictDir = CLI.tempDir()
        try write(strictDir, "train.py", Self.chattyScript)
        let strict = try CLI.writeSpace(strictDir, chattySpace("protocol: strict"))
        let check = try CLI.run(["check", strict])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.contains("(strict protocol)"), check.stdout)
        _ = try CLI.run(["start", strict, "--foreground", "--workers", "2", "--db", strictDir + "/s.db"], timeout: 120)
        for row in try CLI.leaderboard(strictDir + "/s.db") {
            XCTAssertEqual(row["state"] as? String, "FAIL", "\(row)")
            XCTAssertTrue((row["reason"] as? String ?? "").contains("not a protocol line: Loading..."), "\(row)")
        }

        let badDir = CLI.tempDir()
        try write(badDir, "train.py", "print('Loading...')\nprint('{\"value\": \"high\"}')\n")
        let bad = try CLI.writeSpace(badDir, chattySpace())
        _ = try CLI.run(["start", bad, "--foreground", "--workers", "1", "--db", badDir + "/s.db"], timeout: 120)
        for row in try CLI.leaderboard(badDir + "/s.db") {
            XCTAssertEqual(row["state"] as? String, "FAIL", "\(row)")
            XCTAssertTrue((row["reason"] as? String ?? "").contains("value is not a number"), "\(row)")
        }
    }

    /// A script that prints its metric by name, as other tools' users do (`{"loss": ...}` for a
    /// study whose metric is `loss`, per epoch with a `step`): its trials complete with those
    /// values and curves; one that prints another name fails saying which lines it accepts.
    func testAScriptMayPrintItsMetricByName() throws {
        let dir = CLI.tempDir()
        try write(dir, "train.py", """
            import json, sys
            lr = json.load(sys.stdin)["lr"]
            print("Loading...")
            for step in (1, 2):
                print(json.dumps({"step": step, "loss": lr / step, "acc": 0.5}), flush=True)
            print(json.dumps({"loss": lr / 2, "acc": 0.75}))
            """)
        let db = dir + "/s.db"
        let r = try CLI.run(["start", try CLI.writeSpace(dir, chattySpace()), "--foreground", "--db", db], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 3)
        for row in rows {
            XCTAssertEqual(row["state"] as? String, "COMPLETE", "\(row)")
            let lr = try XCTUnwrap((row["params"] as? [String: Any])?["lr"] as? Double)
            XCTAssertEqual(try XCTUnwrap(row["value"] as? Double), lr / 2, accuracy: 1e-12, "\(row)")
            XCTAssertEqual((row["curve"] as? [String: Any])?.count, 2, "\(row)")
        }

        let otherDir = CLI.tempDir()
        try write(otherDir, "train.py", "import json\nprint(json.dumps({\"val_loss\": 0.5}))\n")
        _ = try CLI.run(["start", try CLI.writeSpace(otherDir, chattySpace()), "--foreground", "--db", otherDir + "/s.db"], timeout: 120)
        for row in try CLI.leaderboard(otherDir + "/s.db") {
            XCTAssertEqual(row["state"] as? String, "FAIL", "\(row)")
            XCTAssertTrue((row["reason"] as? String ?? "").contains(#"final {"value": ...} line (or {"loss": ...})"#), "\(row)")
        }
    }

    /// A misspelled program or a missing script: `check` and `start` (daemon or foreground) exit
    /// 2 naming the file and `command`, and create no database and no daemon.
    func testMissingProgramOrScriptIsRefusedBeforeAnythingIsWritten() throws {
        let dir = CLI.tempDir()
        try write(dir, "train.py", Self.chattyScript)
        try write(dir, "run.sh", "#!/bin/sh\necho '{\"value\": 1}'\n")   // not executable
        let cases: [(command: String, says: String)] = [
            (#"[pyhton3, train.py, "{seed32}", "{lr}"]"#, "the program 'pyhton3' is not on PATH"),
            (#"[python3, trian.py, "{seed32}", "{lr}"]"#, "the script 'trian.py' does not exist (looked for \(dir)/trian.py)"),
            (#"[./run.sh]"#, "the program './run.sh' is not an executable file"),
            (#"[scripts/train.sh]"#, "the program 'scripts/train.sh' does not exist"),
        ]
        for c in cases {
            let text = chattySpace().replacingOccurrences(of: #"[python3, train.py, "{seed32}", "{lr}"]"#, with: c.command)
            let space = try CLI.writeSpace(dir, text)
            let results = dir + "/results"
            for args in [["check", space], ["start", space, "--db", results + "/sweep.db"],
                         ["start", space, "--foreground", "--db", results + "/sweep.db"], ["start", space, "--detach", "--db", results + "/sweep.db"]] {
                let r = try CLI.run(args, cwd: "/")
                XCTAssertEqual(r.status, 2, "\(c.command) \(args): \(r.stdout) \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("\(space):6: 'command': \(c.says)"), "\(args): \(r.stderr)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: results), "\(args) wrote \(results)")
            }
        }
        // The same file with the names right runs (relative to its folder, from any directory).
        let space = try CLI.writeSpace(dir, chattySpace())
        XCTAssertEqual(try CLI.run(["check", space], cwd: "/").status, 0)
    }

    /// A step larger than its range is refused for a new study (check and start exit 2 naming
    /// the line, nothing written); a study stored with one by an older version still reads.
    func testAStepLargerThanItsRange() throws {
        let dir = CLI.tempDir()
        try write(dir, "train.py", Self.chattyScript)
        let bad = chattySpace().replacingOccurrences(of: "lr: {float: [0.001, 0.1], log: true}", with: "lr: {float: [0.001, 0.1], step: 0.5}")
        let space = try CLI.writeSpace(dir, bad)
        for args in [["check", space], ["start", space, "--foreground", "--db", dir + "/s.db"], ["start", space, "--db", dir + "/s.db"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("\(space):8: 'lr': step 0.5 is larger than the range [0.001, 0.1]"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/s.db"))
        }
        try write(dir, "space.yaml", chattySpace())
        XCTAssertEqual(try CLI.run(["start", space, "--foreground", "--db", dir + "/s.db"], timeout: 120).status, 0)
        let sql = "UPDATE sweep_studies SET space_text = ?"
        XCTAssertEqual(try CLI.run(["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2], (sys.argv[3],)); c.commit()",
                                    dir + "/s.db", sql, bad], executable: "/usr/bin/env").status, 0)
        XCTAssertEqual(try CLI.leaderboard(dir + "/s.db").count, 3, "the stored study still reads")
        XCTAssertEqual(try CLI.run(["logs", "chatty", "--trial", "0", "--db", dir + "/s.db"]).status, 0)
    }

    /// Editing the file of a finished study (a comment, budget.trials) continues it and stores
    /// the new text; editing a range is refused, saying what differs, and changes nothing.
    func testEditingAStudysFile() throws {
        let dir = CLI.tempDir()
        try write(dir, "train.py", Self.chattyScript)
        let db = dir + "/s.db"
        let space = try CLI.writeSpace(dir, chattySpace())
        XCTAssertEqual(try CLI.run(["start", space, "--foreground", "--workers", "2", "--db", db], timeout: 120).status, 0)
        XCTAssertEqual(try CLI.leaderboard(db).count, 3)

        let edited = "# tried on Tuesday: lr matters most\n" + chattySpace().replacingOccurrences(of: "trials: 3", with: "trials: 5")
        try write(dir, "space.yaml", edited)
        let more = try CLI.run(["start", space, "--foreground", "--workers", "2", "--db", db], timeout: 120)
        XCTAssertEqual(more.status, 0, more.stdout + more.stderr)
        XCTAssertTrue(more.stdout.contains("3 of 5 trials finished so far"), more.stdout)
        XCTAssertEqual(try CLI.leaderboard(db).count, 5)
        let stored = try CLI.run(["python3", "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT space_text FROM sweep_studies').fetchone()[0], end='')", db],
                                 executable: "/usr/bin/env")
        XCTAssertEqual(stored.stdout, edited, "the accepted edit is stored")

        let before = try SearchCommandTests.dump(db)
        try write(dir, "space.yaml", edited.replacingOccurrences(of: "[0.001, 0.1]", with: "[0.0001, 0.1]").replacingOccurrences(of: "seed: 4", with: "seed: 5"))
        let refused = try CLI.run(["start", space, "--foreground", "--db", db])
        XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("parameter lr: float [0.001, 0.1] log → float [0.0001, 0.1] log; seed: 4 → 5"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--study"), refused.stderr)
        XCTAssertEqual(try SearchCommandTests.dump(db), before, "a refused edit writes nothing")
    }

    /// Submitting the file of a study the daemon is running again, with only a comment changed,
    /// follows the running study instead of refusing it.
    func testResubmittingARunningStudyWithACommentFollowsIt() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let space = try CLI.commandSpace(dir, name: "live", seed: 1, trials: 10, sampler: "random")
        let started = try CLI.run(["start", space, "--detach", "--workers", "1", "--db", db], env: ["SWEEP_TEST_MODES": "slow"])
        XCTAssertEqual(started.status, 0, started.stderr)
        defer { _ = try? CLI.run(["shutdown", "--db", db]) }
        try ("# a note\n" + String(contentsOfFile: space, encoding: .utf8)).write(toFile: space, atomically: true, encoding: .utf8)
        let follow = try CLI.run(["start", space, "--db", db], env: ["SWEEP_TEST_MODES": "slow"], timeout: 120)
        XCTAssertEqual(follow.status, 0, follow.stdout + follow.stderr)
        XCTAssertTrue(follow.stdout.contains("leaderboard of live"), follow.stdout)
        XCTAssertTrue(follow.stdout.contains("trials finished so far; following it in the daemon"), follow.stdout)
        XCTAssertFalse(follow.stdout.contains("10 of 10 trials finished so far"), "it was still running: \(follow.stdout)")
        try CLI.assertIntact(db, study: "live", count: 10)
    }

    /// Optuna reads a command's parameters under the names the user wrote.
    func testOptunaReadsTheParametersByTheirOwnNames() throws {
        guard try CLI.run(["python3", "-c", "import optuna"], executable: "/usr/bin/env").status == 0 else {
            throw XCTSkip("python3 cannot import optuna")
        }
        let dir = CLI.tempDir()
        try write(dir, "train.py", Self.chattyScript)
        let db = dir + "/s.db"
        let space = try CLI.writeSpace(dir, chattySpace())
        XCTAssertEqual(try CLI.run(["start", space, "--foreground", "--workers", "2", "--db", db], timeout: 120).status, 0)
        let best = try XCTUnwrap(try CLI.leaderboard(db).first)
        let r = try CLI.run(["python3", "-c", """
            import optuna, sys
            study = optuna.load_study(study_name="chatty", storage="sqlite:///" + sys.argv[1])
            print(repr(study.best_trial.params["lr"]), study.best_trial.number)
            """, db], executable: "/usr/bin/env")
        XCTAssertEqual(r.status, 0, r.stderr)
        let parts = r.stdout.split(separator: " ")
        // (The leaderboard's JSON goes through JSONSerialization, which may round the last digit on Linux.)
        let lr = try XCTUnwrap((best["params"] as? [String: Any])?["lr"] as? Double)
        XCTAssertEqual(try XCTUnwrap(Double(parts.first ?? "")), lr, accuracy: 1e-15 * lr, r.stdout)
        XCTAssertEqual(Int(parts.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""), best["trial"] as? Int)
        let check = try CLI.run(["check", space])
        XCTAssertTrue(check.stdout.contains("  lr  float [0.001, 0.1] log"), check.stdout)
    }

    /// A study stored before command parameters kept their own names (`params.x` in
    /// trial_params) reads and continues under its stored names; the command still gets `x`.
    func testAStudyStoredWithPrefixedNamesContinuesUnderThem() throws {
        let dir = CLI.tempDir()
        let db = dir + "/s.db"
        let space = try CLI.commandSpace(dir, name: "old", seed: 2, trials: 3, sampler: "random")
        XCTAssertEqual(try CLI.run(["start", space, "--foreground", "--workers", "1", "--db", db], timeout: 120).status, 0)
        // As an older Sweep wrote it.
        let sql = "UPDATE trial_params SET param_name = 'params.' || param_name"
        XCTAssertEqual(try CLI.run(["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", db, sql],
                                   executable: "/usr/bin/env").status, 0)
        XCTAssertEqual(Set(try CLI.leaderboard(db).flatMap { ($0["params"] as? [String: Any] ?? [:]).keys }), ["params.x", "params.k"])
        let more = try CLI.run(["start", space, "--foreground", "--workers", "1", "--trials", "5", "--db", db], timeout: 120)
        XCTAssertEqual(more.status, 0, more.stdout + more.stderr)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 5)
        for row in rows {
            let params = row["params"] as? [String: Any] ?? [:]
            XCTAssertEqual(Set(params.keys), ["params.x", "params.k"], "\(row)")
            XCTAssertEqual(row["value"] as? Double, params["params.x"] as? Double, "the command got x: \(row)")
        }
        let logs = try CLI.run(["logs", "old", "--trial", "4", "--db", db])
        XCTAssertTrue(logs.stdout.contains("  params.x = "), logs.stdout)
    }
}
