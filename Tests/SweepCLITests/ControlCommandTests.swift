import Foundation
import XCTest

/// A search submitted to the daemon with `--detach`, followed with `status`, stopped with `stop`,
/// inspected with `logs` and finished with `resume`: the path of a user who closes the terminal.
final class ControlCommandTests: XCTestCase {
    func status(_ db: String, _ study: String) throws -> [String: Any] {
        try CLI.jsonArray(["status", study, "--db", db, "--json"]).first ?? [:]
    }

    func testDetachStatusStopLogsResume() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let space = try CLI.writeSpace(dir, """
        name: bg
        objective: {metric: score, direction: maximize}
        budget: {trials: 16, max_epochs: 3}
        sampler: random
        command: [python3, \(CLI.repo)/Tests/python/command_trial.py]
        params:
          x: {float: [0.0, 1.0]}
        """)
        let started = try CLI.run(["start", space, "--detach", "--workers", "1", "--db", db], env: ["SWEEP_TEST_MODES": "slow"], cwd: dir)
        XCTAssertEqual(started.status, 0, started.stderr)
        XCTAssertTrue(started.stdout.contains("study bg runs in the daemon (pid "), started.stdout)
        defer { _ = try? CLI.run(["shutdown", "--db", db]) }

        // It runs without us: wait until two trials finished.
        var s: [String: Any] = [:]
        for _ in 0..<300 {
            if FileManager.default.fileExists(atPath: db) { s = (try? status(db, "bg")) ?? [:] }
            if s["state"] as? String == "running", (s["finished"] as? Int ?? 0) >= 2 { break }
            usleep(50_000)
        }
        XCTAssertEqual(s["state"] as? String, "running", "\(s)")
        XCTAssertEqual(s["workers_busy"] as? Int, 1)
        XCTAssertNotNil(s["controller_pid"] as? Int)
        let text = try CLI.run(["status", "--db", db])
        XCTAssertTrue(text.stdout.contains("bg: running"), text.stdout)

        let stop = try CLI.run(["stop", "bg", "--db", db])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        XCTAssertTrue(stop.stdout.contains("stopped bg"), stop.stdout)
        s = try status(db, "bg")
        XCTAssertEqual(s["state"] as? String, "stopped")
        let trials = s["trials"] as? [String: Int] ?? [:]
        XCTAssertNil(trials["RUNNING"], "running trials were re-queued")
        XCTAssertNil(trials["FAIL"], "stopping fails nothing")
        let finished = s["finished"] as? Int ?? 0
        XCTAssertLessThan(finished, 16)

        let again = try CLI.run(["stop", "bg", "--db", db])
        XCTAssertEqual(again.status, 0, "stopping a stopped study is no error")
        XCTAssertTrue(again.stdout.contains("already stopped"), again.stdout)

        let logs = try CLI.run(["logs", "bg", "--trial", "0", "--db", db])
        XCTAssertEqual(logs.status, 0, logs.stderr)
        XCTAssertTrue(logs.stdout.contains("  x = ") && logs.stdout.contains("reports"), logs.stdout)
        XCTAssertTrue(logs.stdout.contains("mode slow"), "the trial's stderr tail: \(logs.stdout)")
        let studyLog = try CLI.run(["logs", "bg", "--db", db])
        XCTAssertTrue(studyLog.stdout.contains("logs/sweep.daemon.log (study=bg)"), studyLog.stdout)
        XCTAssertTrue(studyLog.stdout.contains("trial finished") && studyLog.stdout.contains("stop requested"), studyLog.stdout)

        let resume = try CLI.run(["resume", "bg", "--workers", "2", "--db", db], env: ["SWEEP_TEST_MODES": "slow"], timeout: 120)
        XCTAssertEqual(resume.status, 0, resume.stderr)
        XCTAssertTrue(resume.stdout.contains("study bg: \(finished) of 16 trials finished so far; following it in the daemon"), resume.stdout)
        XCTAssertTrue(resume.stdout.contains("leaderboard of bg"), resume.stdout)
        s = try status(db, "bg")
        XCTAssertEqual(s["state"] as? String, "finished")
        XCTAssertEqual(s["finished"] as? Int, 16)
        XCTAssertEqual((s["trials"] as? [String: Int])?["COMPLETE"], 16)
        let down = try CLI.run(["shutdown", "--db", db])
        XCTAssertEqual(down.status, 0, down.stderr)
        XCTAssertTrue(down.stdout.contains("stopped"), down.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/results/sweep.sock"), "the socket is removed")
    }

    /// One daemon on SQLite, trials that take a second to exit after SIGTERM: `sweep stop --wait
    /// 0.2` returns before the run has ended (exit 1, saying so), the study reads `stopping`, and
    /// a `sweep resume` at once (followed) waits for that run and runs the study to its end.
    func testAResumeWhileAStopIsUnderWayOnOneHost() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let space = try CLI.commandSpace(dir, name: "linger", seed: 4, trials: 10, sampler: "random")
        let env = ["SWEEP_TEST_MODES": "linger"]
        XCTAssertEqual(try CLI.run(["start", space, "--detach", "--workers", "2", "--db", db], env: env, cwd: dir).status, 0)
        defer { _ = try? CLI.run(["shutdown", "--db", db]) }
        var s: [String: Any] = [:]
        for _ in 0..<300 {
            if FileManager.default.fileExists(atPath: db) { s = (try? status(db, "linger")) ?? [:] }
            // Trials past their start (their SIGTERM handler set), two more running.
            if (s["finished"] as? Int ?? 0) >= 2 && (s["workers_busy"] as? Int ?? 0) == 2 { break }
            usleep(50_000)
        }
        usleep(200_000)
        let stop = try CLI.run(["stop", "linger", "--wait", "0.2", "--db", db])
        XCTAssertEqual(stop.status, 1, stop.stdout)
        XCTAssertTrue(stop.stderr.contains("is still stopping after 0.2 s"), stop.stderr)
        XCTAssertEqual(try status(db, "linger")["state"] as? String, "stopping")
        let resume = try CLI.run(["resume", "linger", "--db", db], env: env, timeout: 120)
        XCTAssertEqual(resume.status, 0, resume.stderr)
        XCTAssertFalse(resume.stdout.contains("already running"), resume.stdout)
        XCTAssertTrue(resume.stdout.contains("leaderboard of linger"), resume.stdout)
        try CLI.assertIntact(db, study: "linger", count: 10)
        XCTAssertEqual(try status(db, "linger")["state"] as? String, "finished")
    }

    /// `sweep stop` of a `--foreground` search signals no process: it marks the study stopped in
    /// the database and the search's controller stops cleanly within seconds (its trials go back
    /// to WAITING, it prints how to continue and exits 0).
    func testStopOfAForegroundSearchGoesThroughTheStore() throws {
        let dir = CLI.tempDir()
        let db = dir + "/fg.db"
        let space = try CLI.commandSpace(dir, name: "fg", seed: 3, trials: 40, sampler: "random")
        let (search, out, err) = try CLI.start(["start", "--foreground", space, "--workers", "2", "--db", db], cwd: dir)
        defer { if search.isRunning { kill(search.processIdentifier, SIGKILL) } }
        var s: [String: Any] = [:]
        for _ in 0..<400 {
            if FileManager.default.fileExists(atPath: db) { s = (try? status(db, "fg")) ?? [:] }
            if (s["finished"] as? Int ?? 0) >= 1 { break }
            usleep(50_000)
        }
        let began = Date()
        let stop = try CLI.run(["stop", "fg", "--db", db])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        XCTAssertTrue(stop.stdout.contains("stopped fg"), stop.stdout)
        XCTAssertLessThan(Date().timeIntervalSince(began), 15)
        search.waitUntilExit()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(search.terminationStatus, 0, printed + said)
        XCTAssertEqual(search.terminationReason, .exit)
        XCTAssertTrue(printed.contains("stopped: run the same command again"), printed)
        XCTAssertFalse(said.contains("stopping: waiting for running trials"), "no signal reached the search: \(said)")
        s = try status(db, "fg")
        XCTAssertEqual(s["state"] as? String, "stopped")
        let trials = s["trials"] as? [String: Int] ?? [:]
        XCTAssertNil(trials["RUNNING"], "running trials were re-queued")
        XCTAssertNil(trials["FAIL"], "stopping fails nothing")
        XCTAssertLessThan(s["finished"] as? Int ?? 40, 40)
    }
}
