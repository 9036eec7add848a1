import Foundation
import XCTest

/// Fault injection: the controller killed with SIGKILL at random moments and started again, a
/// second controller on a running study, and what a restart proposes.
final class CrashSafetyTests: XCTestCase {

    func writeSpace(_ dir: String, trials: Int, sampler: String) throws -> String {
        try CLI.commandSpace(dir, name: "crash", seed: 11, trials: trials, sampler: sampler)
    }

    /// Starts `sweep start` and kills it with SIGKILL after `after` seconds (if still running).
    func startAndKill(_ args: [String], after: Double) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SWEEP_TEST_MODES"] = "sleep"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(after)
        while p.isRunning && Date() < deadline { usleep(5_000) }
        let killed = p.isRunning
        if killed { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return killed
    }

    /// 20 SIGKILLs during a 60-trial search with 2 workers: the study ends with exactly 60
    /// finished trials, numbers 0..<60 once each, every value intact (the command's final value
    /// is its parameter x), and the file passes PRAGMA integrity_check.
    func testKillNineTwentyTimesLosesNothing() throws {
        let dir = CLI.tempDir()
        let db = dir + "/sweep.db"
        let space = try writeSpace(dir, trials: 60, sampler: "tpe")
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        for _ in 0..<20 {
            if try startAndKill(["start", "--foreground", space, "--workers", "2", "--db", db], after: Double.random(in: 0.15...0.9, using: &rng)) { kills += 1 }
        }
        let finish = try CLI.run(["start", "--foreground", space, "--workers", "2", "--db", db], env: ["SWEEP_TEST_MODES": "sleep"], timeout: 300)
        XCTAssertEqual(finish.status, 0, finish.stdout + finish.stderr)
        try CLI.assertIntact(db, count: 60)
        XCTAssertGreaterThan(kills, 10, "most rounds were killed mid-search")
        print("kill -9 rounds: \(kills) killed mid-search of 20; 60 trials checked")
    }

    /// With one worker, a search killed and restarted proposes exactly what an uninterrupted one
    /// proposes: the sampler's state comes from the store.
    func testARestartProposesWhatAnUninterruptedRunWould() throws {
        let dir = CLI.tempDir()
        let space = try writeSpace(dir, trials: 14, sampler: "tpe")
        let clean = try CLI.run(["start", "--foreground", space, "--workers", "1", "--db", dir + "/a.db"], env: ["SWEEP_TEST_MODES": "sleep"], timeout: 300)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        for after in [0.4, 0.9, 0.7] {
            _ = try startAndKill(["start", "--foreground", space, "--workers", "1", "--db", dir + "/b.db"], after: after)
        }
        let resumed = try CLI.run(["start", "--foreground", space, "--workers", "1", "--db", dir + "/b.db"], env: ["SWEEP_TEST_MODES": "sleep"], timeout: 300)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let a = try CLI.paramsByTrial(dir + "/a.db"), b = try CLI.paramsByTrial(dir + "/b.db")
        XCTAssertEqual(a.count, 14)
        XCTAssertEqual(a, b)
    }

    /// A second controller on a study that is running is refused (exit 2) and changes nothing.
    func testASecondControllerIsRefused() throws {
        let dir = CLI.tempDir()
        let db = dir + "/sweep.db"
        let space = try writeSpace(dir, trials: 40, sampler: "random")
        let first = Process()
        first.executableURL = URL(fileURLWithPath: CLI.binary)
        first.arguments = ["start", "--foreground", space, "--workers", "1", "--db", db]
        var env = ProcessInfo.processInfo.environment
        env["SWEEP_TEST_MODES"] = "slow"
        first.environment = env
        first.standardOutput = FileHandle.nullDevice
        try first.run()
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        // Wait until the first one runs a trial.
        for _ in 0..<200 {
            if let r = try? CLI.run(["leaderboard", "--db", db, "--json"]), r.status == 0, r.stdout.contains("RUNNING") { break }
            usleep(20_000)
        }
        let second = try CLI.run(["start", "--foreground", space, "--workers", "1", "--db", db])
        XCTAssertEqual(second.status, 2, second.stderr)
        XCTAssertTrue(second.stderr.contains("is being run by process \(first.processIdentifier)"), second.stderr)
        XCTAssertTrue(first.isRunning)
    }
}

/// Readers never see "database is locked" while a search writes.
final class ReadersWhileWritingTests: XCTestCase {
    /// Four `sweep leaderboard` readers in a loop for a minute (SWEEP_READERS_SECONDS) while a
    /// search with 2 workers writes: zero errors.
    func testFourReadersWhileASearchWrites() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["SWEEP_READERS_SECONDS"] ?? "") ?? 60
        let dir = CLI.tempDir()
        let db = dir + "/sweep.db"
        let space = try CLI.writeSpace(dir, """
        name: readers
        objective: {metric: value, direction: minimize}
        budget: {trials: 1000000}
        sampler: random
        command: [/bin/sh, -c, 'sleep 0.02; echo "{\\"step\\": 1, \\"value\\": {x}}"; echo "{\\"value\\": {x}}"']
        params:
          x: {float: [0.0, 1.0]}
        """)
        // The daemon writes: `sweep serve`, and the search submitted to it.
        let search = Process()
        search.executableURL = URL(fileURLWithPath: CLI.binary)
        search.arguments = ["serve", "--workers", "2", "--db", db]
        search.standardOutput = FileHandle.nullDevice
        search.standardError = FileHandle.nullDevice
        try search.run()
        defer { if search.isRunning { kill(search.processIdentifier, SIGKILL) } }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: dir + "/sweep.sock") { usleep(20_000) }
        let submitted = try CLI.run(["start", space, "--detach", "--db", db])
        XCTAssertEqual(submitted.status, 0, submitted.stderr)
        usleep(300_000)
        let end = Date().addingTimeInterval(seconds)
        let lock = NSLock()
        var reads = 0, errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            while Date() < end {
                let args = i % 2 == 0 ? ["leaderboard", "--db", db, "--top", "5", "--json"] : ["studies", "--db", db]
                let r = try? CLI.run(args, timeout: 60)
                lock.lock()
                reads += 1
                if r?.status != 0 { errors.append(r?.stderr ?? "did not run") }
                lock.unlock()
            }
        }
        XCTAssertTrue(search.isRunning, "the daemon kept running")
        kill(search.processIdentifier, SIGTERM)   // a clean shutdown: running trials go back to the queue
        search.waitUntilExit()
        XCTAssertEqual(search.terminationStatus, 0)
        XCTAssertEqual(errors, [])
        let r = try CLI.run(["studies", "--db", db, "--json"])
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let complete = (list.first?["trials"] as? [String: Any])?["COMPLETE"] as? Int ?? 0
        XCTAssertGreaterThan(complete, Int(seconds * 10), "the search wrote all along")
        print("readers: \(reads) reads in \(Int(seconds)) s while \(complete) trials were written; errors: \(errors.count)")
    }
}
