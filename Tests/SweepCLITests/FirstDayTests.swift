import Foundation
import SweepDaemon
import XCTest

/// A user's first day along the paths that used to surprise (issue 17): two databases in one
/// folder, trials that all fail, variables a command needs across a daemon crash, `SWEEP_DB`, a
/// time budget, following the log, and the small things of the command line.
final class FirstDayTests: XCTestCase {
    /// A command study whose trial runs `script` (Python, given as text) in `dir`.
    func commandStudy(_ dir: String, name: String, trials: Int, script: String, extra: String = "") throws -> String {
        try script.write(toFile: dir + "/\(name).py", atomically: true, encoding: .utf8)
        return try CLI.writeSpace(dir, """
        name: \(name)
        objective: {metric: loss, direction: minimize}
        budget: {trials: \(trials)}
        sampler: random
        command: [python3, \(name).py]
        params:
          x: {float: [0.0, 1.0]}
        \(extra)
        """, name: name + ".yaml")
    }

    func state(_ db: String, _ study: String, env: [String: String] = [:]) throws -> [String: Any] {
        try CLI.jsonArray(["status", study, "--db", db, "--json"], env: env).first ?? [:]
    }

    func waitUntil(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if try condition() { return }; usleep(50_000) }
        XCTFail("timed out waiting for \(what)")
    }

    static let quick = """
    import json, sys
    p = json.load(sys.stdin)
    print(json.dumps({"step": 1, "value": p["x"]}))
    print(json.dumps({"value": p["x"]}))
    """

    /// Two databases in one folder: each gets its own daemon, a study lands in the database it
    /// was started with, and shutting one daemon down leaves the other.
    func testTwoDatabasesInOneFolderHaveTwoDaemons() throws {
        let dir = CLI.tempDir()
        let a = try commandStudy(dir, name: "a", trials: 2, script: Self.quick)
        let b = try commandStudy(dir, name: "b", trials: 2, script: Self.quick)
        let startA = try CLI.run(["start", a, "--detach", "--db", "r.db"], cwd: dir)
        XCTAssertEqual(startA.status, 0, startA.stderr)
        XCTAssertTrue(startA.stdout.contains("`sweep status a --db r.db`"), "hints name the database: \(startA.stdout)")
        let startB = try CLI.run(["start", b, "--detach", "--db", "tty.db"], cwd: dir)
        XCTAssertEqual(startB.status, 0, startB.stderr)
        let ra = DaemonClient(db: dir + "/r.db"), rb = DaemonClient(db: dir + "/tty.db")
        let pidA = try XCTUnwrap(ra.daemonPID()), pidB = try XCTUnwrap(rb.daemonPID())
        XCTAssertNotEqual(pidA, pidB, "one daemon per database")
        waitUntil(60, "both studies to finish") {
            (try? state(dir + "/r.db", "a")["state"] as? String) == "finished" && (try? state(dir + "/tty.db", "b")["state"] as? String) == "finished"
        }
        XCTAssertEqual(try CLI.jsonArray(["studies", "--db", dir + "/r.db", "--json"]).map { $0["study"] as? String }, ["a"])
        XCTAssertEqual(try CLI.jsonArray(["studies", "--db", dir + "/tty.db", "--json"]).map { $0["study"] as? String }, ["b"])

        // A client never talks to another database's daemon: r.sqlite's socket would be r.db's.
        let clash = DaemonClient(db: dir + "/r.sqlite")
        XCTAssertEqual(clash.paths.socket, ra.paths.socket)
        XCTAssertEqual(try clash.request("GET", "/v1/health").status, 421)
        XCTAssertNil(clash.health())
        let refused = try CLI.run(["start", a, "--detach", "--db", "r.sqlite"], cwd: dir)
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("another database's daemon"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r.sqlite"))

        let down = try CLI.run(["shutdown", "--db", "tty.db"], cwd: dir)
        XCTAssertEqual(down.status, 0, down.stderr)
        XCTAssertTrue(down.stdout.contains("\(pidB)"), down.stdout)
        XCTAssertNil(rb.daemonPID())
        XCTAssertEqual(ra.daemonPID(), pidA, "the other database's daemon still runs")
        XCTAssertEqual(try CLI.run(["shutdown", "--db", "r.db"], cwd: dir).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/logs/r.daemon.log"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/logs/tty.daemon.log"))
    }

    /// Every trial fails the same way: the early failure rule stops the study after 5 trials,
    /// `sweep start` exits 1 with the reason, cut at a word boundary when long, and nothing is
    /// left RUNNING.
    func testStudyWhoseTrialsAllFailStopsEarlyAndExits1() throws {
        let dir = CLI.tempDir()
        let long = String(repeating: "word ", count: 80)
        let space = try commandStudy(dir, name: "broken", trials: 40, script: """
        import sys
        print("Traceback (most recent call last):", file=sys.stderr)
        print("FileNotFoundError: \(long) /data/missing/train.csv", file=sys.stderr)
        sys.exit(1)
        """)
        let r = try CLI.run(["start", space, "--db", "r.db", "--workers", "1"], cwd: dir)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("the first 5 trials of this run all failed the same way"), r.stderr)
        XCTAssertTrue(r.stderr.contains("/data/missing/train.csv"), "the end of the error is kept: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("FileNotFoundError"), "the beginning too: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("--db r.db"), "hints name the database: \(r.stderr)")
        let st = try state(dir + "/r.db", "broken")
        XCTAssertEqual(st["state"] as? String, "stopped", "\(st)")
        XCTAssertEqual(st["trials"] as? [String: Int], ["FAIL": 5])
        for row in try CLI.leaderboard(dir + "/r.db") {
            let reason = try XCTUnwrap(row["reason"] as? String)
            XCTAssertLessThanOrEqual(reason.count, 270, reason)
            XCTAssertTrue(reason.contains(" … "), reason)
            XCTAssertFalse(reason.contains("wor … ") || reason.contains(" … ord"), "cut between words: \(reason)")
        }

        // Trials failing in different ways run on, and a study with no success still exits 1.
        let mixed = try commandStudy(dir, name: "mixed", trials: 4, script: """
        import json, os, sys
        n = int(os.environ["SWEEP_TRIAL_NUMBER"])
        print("error number %d" % n if n % 2 else "another kind of error", file=sys.stderr)
        sys.exit(2)
        """)
        let m = try CLI.run(["start", mixed, "--db", "r.db", "--foreground", "--workers", "1"], cwd: dir)
        XCTAssertEqual(m.status, 1, m.stdout + m.stderr)
        XCTAssertTrue(m.stderr.contains("every trial of study 'mixed' failed (4)"), m.stderr)
        XCTAssertTrue(m.stderr.contains("sweep logs mixed --trial"), m.stderr)
    }

    /// `env_keep` values travel with the study: after the daemon is killed, a daemon started
    /// without the variable runs the remaining trials with the stored value; `env:` is set too.
    func testEnvKeepSurvivesADaemonCrash() throws {
        let dir = CLI.tempDir()
        let space = try commandStudy(dir, name: "envy", trials: 8, script: """
        import json, os, sys, time
        p = json.load(sys.stdin)
        if os.environ.get("FIRSTDAY_KEEP") != "kept value" or os.environ.get("FIXED_ONE") != "1":
            print("environment lost: %r %r" % (os.environ.get("FIRSTDAY_KEEP"), os.environ.get("FIXED_ONE")), file=sys.stderr)
            sys.exit(1)
        time.sleep(0.4)
        print(json.dumps({"value": p["x"]}))
        """, extra: "env: {FIXED_ONE: 1}\nenv_keep: [FIRSTDAY_KEEP]")
        let db = dir + "/sweep.db"
        let missing = try CLI.run(["start", space, "--detach", "--db", db], cwd: dir)
        XCTAssertEqual(missing.status, 2, "a kept variable that is not set is refused: \(missing.stderr)")
        XCTAssertTrue(missing.stderr.contains("env_keep") && missing.stderr.contains("FIRSTDAY_KEEP"), missing.stderr)
        XCTAssertTrue(try CLI.jsonArray(["studies", "--db", db, "--json"]).isEmpty, "nothing written")

        let start = try CLI.run(["start", space, "--detach", "--db", db, "--workers", "1"], env: ["FIRSTDAY_KEEP": "kept value"], cwd: dir)
        XCTAssertEqual(start.status, 0, start.stderr)
        let client = DaemonClient(db: db)
        let pid = try XCTUnwrap(client.daemonPID())
        waitUntil(60, "two trials") { ((try? state(db, "envy")["finished"] as? Int) ?? 0) >= 2 }
        kill(pid, SIGKILL)
        waitUntil(10, "the daemon to die") { client.daemonPID() == nil }
        XCTAssertEqual(try state(db, "envy")["state"] as? String, "interrupted")
        XCTAssertEqual(try CLI.jsonArray(["studies", "--db", db, "--json"]).first?["state"] as? String, "interrupted",
                       "studies and status say the same")
        let daemon = try ServedDaemon(db: db, args: ["--idle-timeout", "3"])
        waitUntil(90, "the study to finish") { (try? state(db, "envy")["state"] as? String) == "finished" }
        _ = daemon.terminate()
        let st = try state(db, "envy")
        XCTAssertEqual(st["trials"] as? [String: Int], ["COMPLETE": 8], "\(st)")
    }

    /// SWEEP_DB is every command's database; `budget.timeout` ends a search as finished;
    /// `logs --follow` prints until the study's run ends; `resume` of a running study follows it.
    func testSweepDBTimeBudgetAndFollowingTheLog() throws {
        let dir = CLI.tempDir()
        let slow = """
        import json, sys, time
        p = json.load(sys.stdin)
        time.sleep(0.5)
        print(json.dumps({"step": 1, "value": p["x"]}))
        print(json.dumps({"value": p["x"]}))
        """
        let space = try commandStudy(dir, name: "timed", trials: 200, script: slow, extra: "budget: {trials: 200, timeout: 3}")
        // `budget:` is given twice above; keep the second one only.
        var text = try String(contentsOfFile: space, encoding: .utf8)
        text = text.replacingOccurrences(of: "budget: {trials: 200}\n", with: "")
        try text.write(toFile: space, atomically: true, encoding: .utf8)
        let env = ["SWEEP_DB": dir + "/env.db"]
        let r = try CLI.run(["start", space, "--foreground", "--workers", "2"], env: env, cwd: dir)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("finished: the time budget (budget.timeout: 3 s) ran out"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/env.db"), "SWEEP_DB chose the database")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/results/sweep.db"))
        let st = try state(dir + "/env.db", "timed", env: env)
        let done = st["finished"] as? Int ?? 0
        XCTAssertGreaterThan(done, 2)
        XCTAssertLessThan(done, 40, "the time budget stopped it")
        XCTAssertTrue(r.stdout.contains("\(done) trials finished in"), "the count is of finished trials: \(r.stdout)")
        XCTAssertEqual(st["state"] as? String, "finished")

        let follow = try commandStudy(dir, name: "followed", trials: 6, script: slow)
        XCTAssertEqual(try CLI.run(["start", follow, "--detach", "--workers", "1"], env: env, cwd: dir).status, 0)
        let again = try CLI.run(["resume", "followed"], env: env, cwd: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("already running") && again.stdout.contains("leaderboard of followed"), again.stdout)
        let logs = try CLI.run(["logs", "followed", "--follow"], env: env, cwd: dir, timeout: 60)
        XCTAssertEqual(logs.status, 0, logs.stderr)
        XCTAssertTrue(logs.stdout.contains("trial 5 complete"), logs.stdout)
        _ = try CLI.run(["shutdown"], env: env, cwd: dir)
    }

    /// A relative data path means what it meant where `sweep start` ran, also to a daemon
    /// started elsewhere (built-in trials run in the submitter's directory).
    func testRelativeDataPathInADaemonStartedElsewhere() throws {
        let dir = CLI.tempDir()
        var csv = "a,b,colour,label\n"
        for i in 0..<90 {
            let c = ["red", "green", "blue"][i % 3]
            csv += "\(Double(i % 7) / 7),\(Double(i % 5) / 5),\(c),\(i % 3 == 0 ? "yes" : "no")\n"
        }
        try csv.write(toFile: dir + "/mydata.csv", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/spaces", withIntermediateDirectories: true)
        _ = try CLI.writeSpace(dir + "/spaces", """
        name: rel
        dataset: {name: csv, path: mydata.csv, label: label}
        budget: {trials: 2, max_epochs: 1}
        model: {layers: [{type: dense, units: {int: [4, 8]}}]}
        """, name: "rel.yaml")
        let db = dir + "/out/sweep.db"
        let daemon = try ServedDaemon(db: db)   // its working directory is the test's, not `dir`
        let r = try CLI.run(["start", "spaces/rel.yaml", "--db", db], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(try state(db, "rel")["trials"] as? [String: Int], ["COMPLETE": 2])
        _ = daemon.terminate()
    }

    /// `logs --follow` of a search another process runs (a foreground one, no daemon log): each
    /// trial's line once as it finishes, and it returns when the run ends.
    func testFollowingTheLogOfAForegroundSearch() throws {
        let dir = CLI.tempDir()
        let space = try commandStudy(dir, name: "fg", trials: 5, script: """
        import json, sys, time
        p = json.load(sys.stdin)
        time.sleep(0.4)
        print(json.dumps({"value": p["x"]}))
        """)
        let search = Process()
        search.executableURL = URL(fileURLWithPath: CLI.binary)
        search.arguments = ["start", space, "--foreground", "--workers", "1", "--db", dir + "/r.db"]
        search.currentDirectoryURL = URL(fileURLWithPath: dir)
        search.standardOutput = FileHandle.nullDevice
        search.standardError = FileHandle.nullDevice
        try search.run()
        // Polled without asserting: the database does not exist at first.
        waitUntil(30, "the study to run") {
            (try? CLI.run(["status", "fg", "--db", dir + "/r.db", "--json"]))?.stdout.contains(#""state" : "running""#) ?? false
        }
        let logs = try CLI.run(["logs", "fg", "--follow", "--db", dir + "/r.db"], timeout: 60)
        search.waitUntilExit()
        XCTAssertEqual(logs.status, 0, logs.stderr)
        for n in 0..<5 {
            XCTAssertEqual(logs.stdout.components(separatedBy: "trial \(n) complete").count - 1, 1, "trial \(n) once: \(logs.stdout)")
        }
    }

    /// Small things of the command line: negative numbers reach validation, --version, and a
    /// results folder that cannot be made is named without a Foundation error code.
    func testCommandLineDetails() throws {
        let dir = CLI.tempDir()
        let space = try commandStudy(dir, name: "cli", trials: 1, script: Self.quick)
        let neg = try CLI.run(["start", space, "--workers", "-1"], cwd: dir)
        XCTAssertEqual(neg.status, 2)
        XCTAssertTrue(neg.stderr.contains("workers must be 1...256, got -1"), neg.stderr)
        let version = try CLI.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression) != nil, version.stdout)

        FileManager.default.createFile(atPath: dir + "/plainfile", contents: Data())
        for args in [["start", space, "--db", dir + "/plainfile/r.db"], ["start", space, "--db", dir + "/plainfile/r.db", "--foreground"]] {
            let r = try CLI.run(args, cwd: dir)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("is a file, not a folder"), r.stderr)
            XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.stderr)
        }
    }
}
