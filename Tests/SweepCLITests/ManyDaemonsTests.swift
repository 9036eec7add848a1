import Foundation
import XCTest
import SweepTestSupport

/// Several daemons sharing one study on the tests' private PostgreSQL server, along the user's
/// path: `sweep serve --db URL` in three working directories (three "hosts"), `sweep start
/// --detach` from one of them, faults while it runs, and then the exact outcome read by Sweep and
/// by Optuna. Short leases (`SWEEP_LEASE_SECONDS`) keep the test's wall time modest.
final class ManyDaemonsTests: XCTestCase {
    static let lease = "2"

    /// A `sweep serve --db URL --workers 2` in its own working directory.
    final class Host {
        let dir: String
        let url: String
        var process: Process?
        /// More environment for the daemon (and so its trials).
        var environment: [String: String] = [:]
        /// The network namespace the daemon runs in (a host of its own); nil: this machine's.
        var namespace: NetworkNamespace?

        init(url: String) {
            self.url = url
            dir = CLI.tempDir()
        }

        func start() throws {
            let p = Process()
            let argv = [CLI.binary, "serve", "--db", url, "--workers", "2"]
            let command = namespace?.command(argv) ?? argv
            p.executableURL = URL(fileURLWithPath: command[0])
            p.arguments = Array(command.dropFirst())
            p.environment = ProcessInfo.processInfo.environment.merging(
                ["SWEEP_LEASE_SECONDS": ManyDaemonsTests.lease, "SWEEP_TEST_MODES": "slow"].merging(environment) { $1 }) { $1 }
            p.currentDirectoryURL = URL(fileURLWithPath: dir)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            p.standardInput = FileHandle.nullDevice
            try? FileManager.default.removeItem(atPath: dir + "/results/" + (socketName ?? "-"))
            try p.run()
            process = p
            for _ in 0..<400 {
                // The daemon of a URL: results/pg-DATABASE.sock in its working directory.
                let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/results")) ?? []
                if files.contains(where: { $0.hasSuffix(".sock") }) { return }
                usleep(25_000)
            }
            XCTFail("the daemon in \(dir) did not start")
        }

        /// The socket a killed daemon left (the next one replaces it).
        var socketName: String? {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/results")) ?? []).first { $0.hasSuffix(".sock") }
        }

        func killNine() {
            guard let p = process, p.isRunning else { return }
            kill(p.processIdentifier, SIGKILL)
            Self.reap(p)
        }

        /// Waits for a signalled daemon to exit. Foundation's `waitUntilExit` sometimes never
        /// returns for a child it failed to reap (seen here: a zombie, the test stuck), so the
        /// test reaps it itself after a few seconds.
        static func reap(_ p: Process) {
            let deadline = Date().addingTimeInterval(5)
            while p.isRunning && Date() < deadline { usleep(20_000) }
            if p.isRunning { var status: Int32 = 0; _ = waitpid(p.processIdentifier, &status, 0) }
        }

        /// SIGTERM; a daemon that has not exited 30 s later is a failure (and is SIGKILLed).
        func terminate() {
            guard let p = process, p.isRunning else { return }
            kill(p.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(30)
            while p.isRunning && Date() < deadline && kill(p.processIdentifier, 0) == 0 && !Self.isZombie(p.processIdentifier) { usleep(50_000) }
            if Date() >= deadline { XCTFail("the daemon in \(dir) did not shut down"); killNine() } else { Self.reap(p) }
        }

        static func isZombie(_ pid: Int32) -> Bool {
            ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "").contains(") Z ")
        }

        deinit { killNine() }
    }

    /// Trial counts per state of the study, from `sweep studies --json`.
    static func counts(_ url: String) throws -> [String: Int] {
        let studies = try CLI.jsonArray(["studies", "--json", "--db", url])
        return (studies.first?["trials"] as? [String: Int]) ?? [:]
    }

    /// Asserts a shared study of `CLI.commandSpace` trials came through whatever was done to it:
    /// trials 0..<count once each, all COMPLETE, each value its x, one report per epoch, nothing
    /// RUNNING or WAITING, and the study `finished` (the leader writes it at its next tick after
    /// the last result; a leader killed or cut off near the end is replaced only when its lease
    /// expires: waited for). Returns the leaderboard's rows.
    @discardableResult
    static func assertIntact(url: String, study: String, count: Int, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let rows = try CLI.jsonArray(["leaderboard", study, "--db", url, "--json"])
        XCTAssertEqual(rows.compactMap { $0["trial"] as? Int }.sorted(), Array(0..<count), "no trial lost, none twice", file: file, line: line)
        for r in rows {
            XCTAssertEqual(r["state"] as? String, "COMPLETE", "\(r)", file: file, line: line)
            let x = (r["params"] as? [String: Any])?["x"] as? Double
            XCTAssertEqual(r["value"] as? Double, x, "trial \(r["trial"]!): its value is intact", file: file, line: line)
            XCTAssertEqual((r["curve"] as? [String: Any])?.count, 3, "trial \(r["trial"]!): one report per epoch, none twice", file: file, line: line)
        }
        XCTAssertEqual(try counts(url), ["COMPLETE": count], "nothing RUNNING or WAITING", file: file, line: line)
        var status: String?
        for _ in 0..<60 {
            status = try CLI.jsonArray(["studies", "--json", "--db", url]).first?["state"] as? String
            if status == "finished" { break }
            usleep(500_000)
        }
        XCTAssertEqual(status, "finished", file: file, line: line)
        return rows
    }

    /// 3 daemons, a 60-trial study; one daemon SIGKILLed and restarted again and again, the
    /// server restarted once: exactly 60 COMPLETE, numbers 0..59 once each, every value its x,
    /// nothing left RUNNING, trials run by several daemons; Optuna reads the same 60.
    func testThreeDaemonsSurviveKillsAndADatabaseRestart() throws {
        let server = try PrivatePostgres.shared()
        let url = try server.database()
        let hosts = [Host(url: url), Host(url: url), Host(url: url)]
        for h in hosts { try h.start() }
        defer { for h in hosts { h.terminate() } }
        let space = try CLI.commandSpace(hosts[0].dir, name: "many", seed: 11, trials: 60, sampler: "random")
        let started = Date()
        let submit = try CLI.run(["start", space, "--db", url, "--detach"], cwd: hosts[0].dir)
        XCTAssertEqual(submit.status, 0, submit.stderr)

        var kills = 0, restarted = false
        // Trials of about 0.5 s ("slow") and a look every 0.5 s: the faults happen before the
        // study can end, however fast the build.
        while Date().timeIntervalSince(started) < 150 {
            usleep(500_000)
            let c = (try? Self.counts(url)) ?? [:]
            if c["COMPLETE"] == 60 && c.count == 1 { break }
            let done = c["COMPLETE"] ?? 0
            // A daemon killed mid-trial, again and again (the leader among them: host 0 took the study).
            if done >= 3 && kills < 4 {
                let victim = hosts[kills % 2 == 0 ? 0 : 1]
                victim.killNine()
                kills += 1
                try victim.start()
            }
            if done >= 25 && !restarted {
                try server.restart()
                restarted = true
            }
        }
        XCTAssertEqual(kills, 4, "the faults happened")
        XCTAssertTrue(restarted)
        let elapsed = Date().timeIntervalSince(started)

        let rows = try Self.assertIntact(url: url, study: "many", count: 60)
        let workers = Set(rows.compactMap { $0["worker"] as? String })
        XCTAssertGreaterThanOrEqual(workers.count, 3, "trials ran on several daemons: \(workers)")

        try CLI.requirePython("optuna, psycopg")
        let read = try CLI.run(["python3", "-c", """
            import optuna, sys
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            s = optuna.load_study(study_name='many', storage=sys.argv[1])
            ts = s.trials
            print(len(ts), sum(t.state == optuna.trial.TrialState.COMPLETE for t in ts), sorted(t.number for t in ts) == list(range(60)),
                  len({t.system_attrs.get('sweep:worker') for t in ts}))
            """, url.replacingOccurrences(of: "postgresql://", with: "postgresql+psycopg://")], executable: "/usr/bin/env")
        XCTAssertEqual(read.status, 0, read.stderr)
        let seen = read.stdout.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(Array(seen.prefix(3)), ["60", "60", "True"], read.stdout)
        print("ManyDaemonsTests: 60 trials, 3 daemons, \(kills) SIGKILLs, 1 server restart, \(String(format: "%.1f", elapsed)) s")
    }
}
