import Foundation
import XCTest

/// Managing stored studies through the built binary: reading a database the user may not write,
/// queueing known configurations (`sweep enqueue`, Optuna's `enqueue_trial`), deleting a study
/// and retrying its failed trials.
final class StudyManagementTests: XCTestCase {
    /// A built-in digits study small enough for a debug build: one learning rate, one epoch.
    static func digitsSpace(_ dir: String, name: String, trials: Int) throws -> String {
        try CLI.writeSpace(dir, """
        name: \(name)
        seed: 5
        dataset: {name: digits, scaling: unit, validation: 0.15}
        objective: {metric: val_accuracy, direction: maximize}
        budget: {trials: \(trials), max_epochs: 1}
        sampler: random
        model:
          layers:
            - {type: dense, units: 16, activation: relu}
        training:
          optimizer: adam
          learning_rate: {float: [1.0e-3, 1.0e-1], log: true}
        """)
    }

    /// Runs the binary as the unprivileged user `nobody` (tests run as root, for whom file modes
    /// do not apply), or skips the test where that is not possible.
    static func asNobody(_ args: [String], cwd: String? = nil) throws -> CLI.Result {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to run the binary as another user")
        }
        return try CLI.run(["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary] + args,
                           executable: "/usr/bin/setpriv", env: ["HOME": "/tmp"], cwd: cwd)
    }

    /// Bug 14: a database file with mode 0444 in a folder with mode 0555, read by a user who may
    /// not write either: every read command works and writes nothing; replay says where it cannot
    /// write and works with --output.
    func testReadCommandsWorkOnAReadOnlyDatabaseInAReadOnlyFolder() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let space = try Self.digitsSpace(dir, name: "frozen", trials: 1)
        let run = try CLI.run(["start", space, "--foreground", "--db", db], cwd: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        // The database and what its writer left beside it (a -wal and -shm, or none), unchanged at the end.
        let files = [db, db + "-wal", db + "-shm"]
        let before = files.map { FileManager.default.contents(atPath: $0) }
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir + "/results")
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/results") }

        for args in [["studies"], ["studies", "--json"], ["leaderboard", "frozen"], ["status", "frozen"], ["logs", "frozen"],
                     ["logs", "frozen", "--trial", "0"]] {
            let r = try Self.asNobody(args + ["--db", db], cwd: dir)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("readonly"), r.stderr)
            XCTAssertTrue(r.stdout.contains("frozen") || args == ["logs", "frozen"], "\(args): \(r.stdout)")
        }
        let replay = try Self.asNobody(["replay", "frozen", "--db", db], cwd: dir)
        XCTAssertEqual(replay.status, 2, replay.stdout + replay.stderr)
        // The trial's folder exists (the run made it for its checkpoint), but not for this user.
        XCTAssertTrue(replay.stderr.contains(dir + "/results/frozen/trial-0: cannot write in this folder"), replay.stderr)
        XCTAssertTrue(replay.stderr.contains("Permission denied") && replay.stderr.contains("--output"), replay.stderr)
        XCTAssertFalse(replay.stdout.contains("replaying"), "refused before training")

        let out = dir + "/mine"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let elsewhere = try Self.asNobody(["replay", "frozen", "--db", db, "--output", out + "/best"], cwd: dir)
        XCTAssertEqual(elsewhere.status, 0, elsewhere.stderr)
        XCTAssertTrue(elsewhere.stdout.contains("identical to the stored trial"), elsewhere.stdout)
        XCTAssertTrue(elsewhere.stdout.contains("was not recorded in"), elsewhere.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/best/model.safetensors"))
        XCTAssertEqual(files.map { FileManager.default.contents(atPath: $0) }, before, "nothing was written to the database")
    }

    // MARK: Enqueued trials (bug 5)

    static let optunaImports = (try? CLI.run(["python3", "-c", "import optuna"], executable: "/usr/bin/env"))?.status == 0

    /// Each trial's row of `logs --trial N`: "seed S, attempts A...".
    static func seed(_ db: String, _ study: String, _ number: Int) throws -> String {
        let r = try CLI.run(["logs", study, "--trial", "\(number)", "--db", db])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.split(separator: "\n").first { $0.hasPrefix("seed ") }.map { String($0.split(separator: ",")[0]) } ?? "none"
    }

    func row(_ db: String, _ study: String, trial: Int) throws -> [String: Any] {
        try XCTUnwrap(try CLI.leaderboard(db, [study]).first { $0["trial"] as? Int == trial }, "trial \(trial)")
    }

    /// `sweep enqueue`: bad names and values exit 2 and write nothing; a good one is queued in
    /// Optuna's form, runs first with its parameters and the seed of its number, the others sampled.
    func testSweepEnqueueValidatesQueuesInOptunasFormAndTheNextRunRunsItFirst() throws {
        let dir = CLI.tempDir()
        let db = dir + "/r.db"
        let space = try CLI.commandSpace(dir, name: "q", seed: 3, trials: 2, sampler: "random")
        XCTAssertEqual(try CLI.run(["start", space, "--foreground", "--workers", "1", "--db", db], cwd: dir).status, 0)

        for (args, says) in [(["--set", "y=1"], ["'y' is not a parameter of this study", "its parameters: x, k"]),
                             (["--set", "x=1.5"], ["'x' = 1.5 is not a number in [0.0, 1.0]"]),
                             (["--set", "k=0.5"], ["'k' = 0.5 is not an integer in [1, 8]"]),
                             (["--set", "x"], ["'x' is not name=value"])] {
            let r = try CLI.run(["enqueue", "q", "--db", db] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stdout)")
            for text in says { XCTAssertTrue(r.stderr.contains(text), "\(args): \(r.stderr)") }
        }
        XCTAssertEqual(try CLI.leaderboard(db).count, 2, "a refused enqueue writes nothing")

        let queued = try CLI.run(["enqueue", "q", "--set", "x=0.777", "--db", db])
        XCTAssertEqual(queued.status, 0, queued.stderr)
        XCTAssertTrue(queued.stdout.contains("queued trial 2 of q: x=0.777 (the sampler chooses the others)"), queued.stdout)
        XCTAssertTrue(queued.stdout.contains("sweep resume q --db \(db)"), queued.stdout)
        if Self.optunaImports {
            let seen = try CLI.run(["python3", "-c", """
                import optuna, sys
                t = optuna.load_study(study_name="q", storage="sqlite:///" + sys.argv[1]).trials[2]
                print(t.state.name, t.system_attrs["fixed_params"])
                """, db], executable: "/usr/bin/env")
            XCTAssertEqual(seen.stdout, "WAITING {'x': 0.777}\n", seen.stderr)
        }

        let resumed = try CLI.run(["resume", "q", "--foreground", "--db", db], cwd: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let t2 = try row(db, "q", trial: 2)
        XCTAssertEqual(t2["state"] as? String, "COMPLETE")
        XCTAssertEqual(t2["value"] as? Double, 0.777, "the trial ran with its parameter (its value is x)")
        XCTAssertNotNil((t2["params"] as? [String: Any])?["k"] as? Int, "the sampler chose k")
        XCTAssertEqual(try CLI.leaderboard(db).count, 3, "the study's total grew to hold it")

        // Its seed is the one trial 2 gets in the same study without an enqueue.
        let plain = dir + "/plain.db"
        XCTAssertEqual(try CLI.run(["start", space, "--foreground", "--trials", "3", "--db", plain], cwd: dir).status, 0)
        XCTAssertEqual(try Self.seed(db, "q", 2), try Self.seed(plain, "q", 2))
        XCTAssertNotEqual(try Self.seed(db, "q", 2), "seed 0")
    }

    /// Optuna's `enqueue_trial`: a valid one runs with its parameters (also under the old `params.` spelling), an
    /// out-of-range or unknown one FAILs with the reason and never runs; a trial Optuna's `ask()`
    /// holds is left to it.
    func testOptunaEnqueuedTrialsRunWithTheirParametersOrFailWithTheReason() throws {
        guard Self.optunaImports else { throw XCTSkip("python3 cannot import optuna") }
        let dir = CLI.tempDir()
        let db = dir + "/r.db"
        let space = try CLI.commandSpace(dir, name: "o", seed: 4, trials: 2, sampler: "tpe")
        XCTAssertEqual(try CLI.run(["start", space, "--foreground", "--workers", "1", "--db", db], cwd: dir).status, 0)
        let py = try CLI.run(["python3", "-c", """
            import optuna, sys
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            study = optuna.load_study(study_name="o", storage="sqlite:///" + sys.argv[1])
            asked = study.ask()                                   # trial 2: the asker's
            study.enqueue_trial({"params.x": 0.125, "k": 7})      # 3: the old spelling too
            study.enqueue_trial({"x": 2.5})                       # 4: out of range
            study.enqueue_trial({"depth": 3})                     # 5: not a parameter
            study.enqueue_trial({"x": 0.375})                     # 6
            print(asked.number)
            """, db], executable: "/usr/bin/env")
        XCTAssertEqual(py.stdout, "2\n", py.stderr)

        let resumed = try CLI.run(["resume", "o", "--foreground", "--db", db], cwd: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let t3 = try row(db, "o", trial: 3)
        XCTAssertEqual(t3["state"] as? String, "COMPLETE")
        XCTAssertEqual(t3["value"] as? Double, 0.125)
        XCTAssertEqual((t3["params"] as? [String: Any])?["k"] as? Int, 7)
        XCTAssertEqual(try row(db, "o", trial: 6)["value"] as? Double, 0.375)
        let t4 = try row(db, "o", trial: 4), t5 = try row(db, "o", trial: 5)
        XCTAssertEqual(t4["state"] as? String, "FAIL")
        XCTAssertTrue((t4["reason"] as? String ?? "").contains("'x' = 2.5 is not a number in [0.0, 1.0]"), "\(t4)")
        XCTAssertEqual(t5["state"] as? String, "FAIL")
        XCTAssertTrue((t5["reason"] as? String ?? "").contains("'depth' is not a parameter of this study"), "\(t5)")
        XCTAssertFalse(resumed.stderr.contains("trial 4 mode") || resumed.stderr.contains("trial 5 mode"))
        XCTAssertEqual(try row(db, "o", trial: 2)["state"] as? String, "RUNNING", "the asker's trial is not run by Sweep")
        XCTAssertEqual(try CLI.leaderboard(db, ["o"]).count, 7, "no trial sampled beyond the queued ones")
        XCTAssertNotEqual(try Self.seed(db, "o", 3), "seed 0")
        // Optuna sees the reasons and the parameters.
        let seen = try CLI.run(["python3", "-c", """
            import optuna, sys
            study = optuna.load_study(study_name="o", storage="sqlite:///" + sys.argv[1])
            print(study.trials[3].params["k"], study.trials[4].user_attrs["fail_reason"])
            """, db], executable: "/usr/bin/env")
        XCTAssertTrue(seen.stdout.hasPrefix("7 its enqueued parameters were refused: 'x' = 2.5"), seen.stdout + seen.stderr)
    }

    /// A study running in the daemon takes in a trial enqueued while it runs.
    func testADaemonStudyRunsATrialEnqueuedWhileItRuns() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let space = try CLI.commandSpace(dir, name: "live", seed: 2, trials: 4, sampler: "random")
        let started = try CLI.run(["start", space, "--detach", "--workers", "1", "--db", db], env: ["SWEEP_TEST_MODES": "slow"], cwd: dir)
        XCTAssertEqual(started.status, 0, started.stderr)
        defer { _ = try? CLI.run(["shutdown", "--db", db]) }
        let queued = try CLI.run(["enqueue", "live", "--set", "x=0.901", "--set", "k=2", "--db", db])
        XCTAssertEqual(queued.status, 0, queued.stderr)
        XCTAssertTrue(queued.stdout.contains("is running: it runs this trial next"), queued.stdout)
        var state = ""
        for _ in 0..<600 where state != "finished" {
            usleep(100_000)
            state = (try? CLI.jsonArray(["status", "live", "--db", db, "--json"]).first?["state"] as? String) ?? ""
        }
        XCTAssertEqual(state, "finished")
        let rows = try CLI.leaderboard(db, ["live"])
        XCTAssertEqual(rows.count, 4, "the enqueued trial counts toward the total")
        XCTAssertEqual(rows.first?["value"] as? Double, 0.901)
        XCTAssertEqual((rows.first?["params"] as? [String: Any])?["k"] as? Int, 2)
    }

    // MARK: Delete and retry

    /// `sweep delete`: refuses a running study and a non-terminal input without --yes; with --yes
    /// removes the study's rows (Optuna no longer finds it), its replay folder, and nothing else.
    func testDeleteRefusesARunningStudyThenRemovesTheStudyAndItsFolder() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let keep = try CLI.commandSpace(dir, name: "keep", seed: 1, trials: 2, sampler: "random", file: "keep.yaml")
        XCTAssertEqual(try CLI.run(["start", keep, "--foreground", "--db", db], cwd: dir).status, 0)
        let space = try CLI.commandSpace(dir, name: "old", seed: 1, trials: 6, sampler: "random")
        let started = try CLI.run(["start", space, "--detach", "--workers", "1", "--db", db], env: ["SWEEP_TEST_MODES": "slow"], cwd: dir)
        XCTAssertEqual(started.status, 0, started.stderr)
        defer { _ = try? CLI.run(["shutdown", "--db", db]) }
        let busy = try CLI.run(["delete", "old", "--yes", "--db", db])
        XCTAssertEqual(busy.status, 2, busy.stdout)
        XCTAssertTrue(busy.stderr.contains("study 'old' is running (pid ") && busy.stderr.contains("sweep stop old"), busy.stderr)
        XCTAssertEqual(try CLI.run(["stop", "old", "--db", db]).status, 0)

        try FileManager.default.createDirectory(atPath: dir + "/results/old/trial-0", withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/results/old/trial-0/model.json"))
        let asked = try CLI.run(["delete", "old", "--db", db])
        XCTAssertEqual(asked.status, 2, asked.stdout)
        XCTAssertTrue(asked.stderr.contains("pass --yes"), asked.stderr)
        XCTAssertNotNil(try CLI.jsonArray(["studies", "--db", db, "--json"]).first { $0["study"] as? String == "old" })

        // On a terminal it asks; anything but y/yes keeps the study.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/script") {
            let no = try CLI.run(["-c", "echo n | /usr/bin/script -qec '\(CLI.binary) delete old --db \(db)' /dev/null"], executable: "/bin/bash")
            XCTAssertEqual(no.status, 1, no.stdout + no.stderr)
            XCTAssertTrue(no.stdout.contains("delete study old with ") && no.stdout.contains("trials? [y/N] not deleted"), no.stdout)
            XCTAssertNotNil(try CLI.jsonArray(["studies", "--db", db, "--json"]).first { $0["study"] as? String == "old" })
        }
        let deleted = try CLI.run(["delete", "old", "--yes", "--db", db])
        XCTAssertEqual(deleted.status, 0, deleted.stderr)
        XCTAssertTrue(deleted.stdout.hasPrefix("deleted study old: "), deleted.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/results/old"))
        XCTAssertEqual(try CLI.jsonArray(["studies", "--db", db, "--json"]).compactMap { $0["study"] as? String }, ["keep"])
        try CLI.assertIntact(db, study: "keep", count: 2)
        let gone = try CLI.run(["leaderboard", "old", "--db", db])
        XCTAssertEqual(gone.status, 2)
        XCTAssertTrue(gone.stderr.contains("no study named 'old'; studies: keep"), gone.stderr)
        if Self.optunaImports {
            let seen = try CLI.run(["python3", "-c", """
                import optuna, sys
                print(sorted(s.study_name for s in optuna.get_all_study_summaries("sqlite:///" + sys.argv[1])))
                """, db], executable: "/usr/bin/env")
            XCTAssertEqual(seen.stdout, "['keep']\n", seen.stderr)
        }
    }

    /// `sweep retry`: a command whose script fails on a trial's first attempt only (keyed by its
    /// seed): the retries run in the daemon with the same parameters and seeds and complete;
    /// Optuna sees them as RetryFailedTrialCallback's; a second retry has nothing to do.
    func testRetryRunsTheFailedTrialsAgainWithTheirParametersAndSeeds() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        try """
        import json, os, sys
        params = json.load(sys.stdin)
        marker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attempted-" + os.environ["SWEEP_SEED"])
        if not os.path.exists(marker):
            open(marker, "w").close()
            print("flaky: the first attempt fails", file=sys.stderr)
            sys.exit(1)
        print(json.dumps({"step": 1, "value": params["x"]}))
        print(json.dumps({"value": params["x"]}))
        """.write(toFile: dir + "/flaky.py", atomically: true, encoding: .utf8)
        let space = try CLI.writeSpace(dir, """
        name: flaky
        seed: 9
        objective: {metric: score, direction: maximize}
        budget: {trials: 3, max_epochs: 1}
        sampler: random
        command: [python3, flaky.py]
        params:
          x: {float: [0.0, 1.0]}
        """)
        _ = try CLI.run(["start", space, "--foreground", "--db", db], cwd: dir)
        let failed = try CLI.leaderboard(db)
        XCTAssertEqual(failed.map { $0["state"] as? String }, ["FAIL", "FAIL", "FAIL"])

        let retried = try CLI.run(["retry", "flaky", "--db", db], cwd: dir)
        defer { _ = try? CLI.run(["shutdown", "--db", db]) }
        XCTAssertEqual(retried.status, 0, retried.stderr)
        XCTAssertTrue(retried.stdout.contains("queued 3 trials of flaky: 3 (retry of 0), 4 (retry of 1), 5 (retry of 2)"), retried.stdout)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 6)
        for (old, new) in [(0, 3), (1, 4), (2, 5)] {
            let was = try row(db, "flaky", trial: old), now = try row(db, "flaky", trial: new)
            XCTAssertEqual(was["state"] as? String, "FAIL")
            XCTAssertEqual(now["state"] as? String, "COMPLETE", "\(now)")
            XCTAssertEqual(now["params"] as? NSDictionary, was["params"] as? NSDictionary)
            XCTAssertEqual(now["value"] as? Double, (was["params"] as? [String: Any])?["x"] as? Double)
            XCTAssertEqual(try Self.seed(db, "flaky", new), try Self.seed(db, "flaky", old))
            let logs = try CLI.run(["logs", "flaky", "--trial", "\(new)", "--db", db])
            XCTAssertTrue(logs.stdout.contains("attempts 2"), logs.stdout)
        }
        if Self.optunaImports {
            let seen = try CLI.run(["python3", "-c", """
                import optuna, sys
                from optuna.storages import RetryFailedTrialCallback as R
                study = optuna.load_study(study_name="flaky", storage="sqlite:///" + sys.argv[1])
                print([R.retried_trial_number(t) for t in study.trials])
                """, db], executable: "/usr/bin/env")
            XCTAssertEqual(seen.stdout, "[None, None, None, 0, 1, 2]\n", seen.stderr)
        }
        let again = try CLI.run(["retry", "flaky", "--db", db], cwd: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("has no failed trial left to retry"), again.stdout)
        XCTAssertEqual(try CLI.leaderboard(db).count, 6)
    }
}
