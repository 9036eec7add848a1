import Foundation
import SweepDaemon
import XCTest

/// A `sweep serve` process for one test; SIGKILLed if the test leaves it running.
final class ServedDaemon {
    let process = Process()
    let db: String
    var results: String { (db as NSString).deletingLastPathComponent }
    var socket: String { results + "/sweep.sock" }

    init(db: String, args: [String] = [], env: [String: String] = [:]) throws {
        self.db = db
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--db", db] + args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        process.environment = e
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<400 {
            if DaemonClient(db: db).health() != nil { return }
            if !process.isRunning { break }
            usleep(25_000)
        }
        XCTFail("the daemon did not answer")
    }

    var pid: Int32 { process.processIdentifier }

    /// SIGTERM, then the exit status.
    func terminate() -> Int32 {
        kill(pid, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    func killNine() { kill(pid, SIGKILL); process.waitUntilExit() }

    deinit { if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() } }
}

/// The daemon along the user's path: `sweep start` submitting and following, searches sharing the
/// pool, clean shutdown, SIGKILL at random moments, API fuzzing and the security rules.
final class DaemonTests: XCTestCase {
    func writeSpace(_ dir: String, name: String, trials: Int, sampler: String = "random") throws -> String {
        try CLI.commandSpace(dir, name: name, seed: 5, trials: trials, sampler: sampler, file: name + ".yaml")
    }

    func status(_ db: String, _ study: String) throws -> [String: Any] {
        try CLI.jsonArray(["status", study, "--db", db, "--json"]).first ?? [:]
    }

    /// A study's status from the daemon's API (nil while it does not exist).
    func apiStatus(_ db: String, _ study: String) -> [String: Any]? {
        guard let r = try? DaemonClient(db: db).request("GET", "/v1/studies/" + study), r.status == 200 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any]
    }

    func waitUntil(_ seconds: Double = 60, _ what: String, _ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if try condition() { return }; usleep(50_000) }
        XCTFail("timed out waiting for \(what)")
    }

    /// `sweep start` with no daemon running starts one detached, submits the search, follows it
    /// to the end and prints the leaderboard; the daemon outlives the command; a second search
    /// with --detach returns at once and runs in the same daemon.
    func testStartSubmitsToADaemonItStartsAndFollows() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let space = try writeSpace(dir, name: "first", trials: 6)
        let r = try CLI.run(["start", space, "--db", db, "--workers", "2"], env: ["SWEEP_TEST_MODES": "sleep"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("started the sweep daemon (pid "), r.stderr)
        XCTAssertTrue(r.stdout.contains("following it in the daemon"), r.stdout)
        XCTAssertEqual(r.stdout.split(separator: "\n").filter { $0.hasPrefix("trial ") }.count, 6, r.stdout)
        XCTAssertTrue(r.stdout.contains("leaderboard of first (score), 6 trials"), r.stdout)
        let client = DaemonClient(db: db)
        let pid = try XCTUnwrap(client.daemonPID(), "the daemon outlives `sweep start`")
        defer { _ = try? CLI.run(["shutdown", "--db", db]) }

        let second = try writeSpace(dir, name: "second", trials: 4)
        let began = Date()
        let d = try CLI.run(["start", second, "--db", db, "--detach"], env: ["SWEEP_TEST_MODES": "slow"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(began), 5, "--detach returns at once")
        XCTAssertTrue(d.stdout.contains("study second runs in the daemon (pid \(pid))"), d.stdout)
        try waitUntil(60, "the detached search") { try status(db, "second")["state"] as? String == "finished" }
        XCTAssertEqual(try status(db, "second")["finished"] as? Int, 4)
        XCTAssertEqual(client.daemonPID(), pid, "one daemon ran both")

        // Ctrl-C while following stops following, not the search.
        let third = try writeSpace(dir, name: "third", trials: 8)
        let (follower, out, err) = try CLI.start(["start", third, "--db", db, "--workers", "1"])
        // Ctrl-C once it follows (it says so), not while it is still submitting.
        let printed = Printed()
        out.fileHandleForReading.readabilityHandler = { h in printed.append(h.availableData) }
        waitUntil(30, "the follower to follow") { printed.text.contains("following it in the daemon") }
        XCTAssertEqual(apiStatus(db, "third")?["state"] as? String, "running")
        kill(follower.processIdentifier, SIGINT)
        follower.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        XCTAssertEqual(follower.terminationStatus, 0)
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(said.contains("stopped following; study third goes on in the daemon"), said)
        XCTAssertFalse(said.contains("waiting for running trials"), "nothing stops, so it does not say so: \(said)")
        XCTAssertEqual(try status(db, "third")["state"] as? String, "running", "the search goes on without its follower")
        try waitUntil(60, "the third search to finish") { try status(db, "third")["state"] as? String == "finished" }
        XCTAssertEqual(try status(db, "third")["finished"] as? Int, 8)
    }

    /// Two searches submitted to one daemon with 2 workers: while both have work, each runs one
    /// trial (fair share), and both end with exactly their trial counts.
    func testTwoSearchesShareTheWorkersFairly() throws {
        let dir = CLI.tempDir()
        let db = dir + "/sweep.db"
        let daemon = try ServedDaemon(db: db, args: ["--workers", "2"], env: ["SWEEP_TEST_MODES": "slow"])
        let a = try writeSpace(dir, name: "alpha", trials: 10), b = try writeSpace(dir, name: "beta", trials: 10)
        XCTAssertEqual(try CLI.run(["start", a, "--db", db, "--detach"], env: ["SWEEP_TEST_MODES": "slow"]).status, 0)
        XCTAssertEqual(try CLI.run(["start", b, "--db", db, "--detach"], env: ["SWEEP_TEST_MODES": "slow"]).status, 0)
        // While both have trials left, their progress stays together (one submitted first does
        // not take every worker), and both run at once.
        var samples = 0, bothRunning = 0, widest = 0
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            guard let a = apiStatus(db, "alpha"), let b = apiStatus(db, "beta") else { usleep(20_000); continue }
            let fa = a["finished"] as? Int ?? 0, fb = b["finished"] as? Int ?? 0
            if a["state"] as? String != "running" && b["state"] as? String != "running" { break }
            if fa < 8 && fb < 8 {
                samples += 1
                widest = max(widest, abs(fa - fb))
                if (a["workers_busy"] as? Int ?? 0) >= 1 && (b["workers_busy"] as? Int ?? 0) >= 1 { bothRunning += 1 }
            }
            usleep(20_000)
        }
        XCTAssertGreaterThan(samples, 20)
        // First come, first served would let alpha run all 10 before beta starts (8 apart here).
        XCTAssertLessThanOrEqual(widest, 4, "finished counts stayed close")
        XCTAssertGreaterThanOrEqual(Double(bothRunning) / Double(max(samples, 1)), 0.8, "both ran at once in \(bothRunning) of \(samples) samples")
        for s in ["alpha", "beta"] {
            let st = try status(db, s)
            XCTAssertEqual(st["state"] as? String, "finished", "\(st)")
            XCTAssertEqual((st["trials"] as? [String: Int])?["COMPLETE"], 10)
        }
        print("fair share: \(samples) samples, finished counts at most \(widest) apart, both running in \(bothRunning)")
        XCTAssertEqual(daemon.terminate(), 0)
    }

    /// SIGTERM: the daemon stops its running trials, re-queues them (WAITING, not FAIL), leaves
    /// the study to the next daemon and exits 0; the next daemon finishes it with exactly its
    /// trial count. `sweep stop` stops one study only, marked stopped.
    func testSIGTERMRequeuesAndTheNextDaemonFinishes() throws {
        let dir = CLI.tempDir()
        let db = dir + "/sweep.db"
        var daemon = try ServedDaemon(db: db, args: ["--workers", "2"])
        let space = try writeSpace(dir, name: "term", trials: 12)
        let other = try writeSpace(dir, name: "other", trials: 40)
        XCTAssertEqual(try CLI.run(["start", space, "--db", db, "--detach"], env: ["SWEEP_TEST_MODES": "slow"]).status, 0)
        XCTAssertEqual(try CLI.run(["start", other, "--db", db, "--detach"], env: ["SWEEP_TEST_MODES": "slow"]).status, 0)
        try waitUntil(60, "two finished trials") { (try status(db, "term")["finished"] as? Int ?? 0) >= 2 }

        let stop = try CLI.run(["stop", "other", "--db", db])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        XCTAssertEqual(try status(db, "other")["state"] as? String, "stopped")
        XCTAssertEqual(try status(db, "term")["state"] as? String, "running", "stopping one study leaves the others")

        XCTAssertEqual(daemon.terminate(), 0)
        let st = try status(db, "term")
        XCTAssertEqual(st["state"] as? String, "interrupted", "\(st)")
        let trials = st["trials"] as? [String: Int] ?? [:]
        XCTAssertNil(trials["RUNNING"]); XCTAssertNil(trials["FAIL"])
        XCTAssertLessThan(st["finished"] as? Int ?? 12, 12)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/sweep.sock"))

        daemon = try ServedDaemon(db: db, args: ["--workers", "2"], env: ["SWEEP_TEST_MODES": "slow"])
        try waitUntil(120, "the next daemon to finish the study") { try status(db, "term")["state"] as? String == "finished" }
        let done = try CLI.leaderboard(db, ["term"])
        XCTAssertEqual(done.compactMap { $0["trial"] as? Int }.sorted(), Array(0..<12))
        XCTAssertTrue(done.allSatisfy { $0["state"] as? String == "COMPLETE" })
        XCTAssertEqual(try status(db, "other")["state"] as? String, "stopped", "a stopped study stays stopped")
        XCTAssertEqual(daemon.terminate(), 0)
    }

    /// The daemon killed with SIGKILL at random moments 20 times during a 60-trial search with 2
    /// workers, restarted each time: exactly 60 finished trials, numbers 0..<60 once each, every
    /// value intact (a trial's value is its x), one report per epoch, integrity_check ok.
    func testKillNineTheDaemonTwentyTimes() throws {
        let dir = CLI.tempDir()
        let db = dir + "/sweep.db"
        let space = try writeSpace(dir, name: "nine", trials: 60, sampler: "tpe")
        var rng = SystemRandomNumberGenerator()
        var killed = 0
        for round in 0..<20 {
            let daemon = try ServedDaemon(db: db, args: ["--workers", "2"], env: ["SWEEP_TEST_MODES": "sleep"])
            if round == 0 { XCTAssertEqual(try CLI.run(["start", space, "--db", db, "--detach"]).status, 0) }
            // Kill it at a random moment once it runs the study again.
            waitUntil(30, "the daemon to take the study up") { ["running", "finished"].contains(apiStatus(db, "nine")?["state"] as? String ?? "") }
            usleep(UInt32(Double.random(in: 0.05...0.6, using: &rng) * 1e6))
            if (apiStatus(db, "nine")?["finished"] as? Int ?? 60) < 60 { killed += 1 }
            daemon.killNine()
        }
        let last = try ServedDaemon(db: db, args: ["--workers", "2"], env: ["SWEEP_TEST_MODES": "sleep"])
        try waitUntil(300, "the study to finish") { try status(db, "nine")["state"] as? String == "finished" }
        try CLI.assertIntact(db, study: "nine", count: 60)
        XCTAssertGreaterThanOrEqual(killed, 18, "the kills hit a running search")
        print("daemon kill -9: \(killed) of 20 rounds killed it mid-search; 60 trials checked")
        XCTAssertEqual(last.terminate(), 0)
    }

    /// With one worker, a study whose daemon is killed three times and restarted proposes exactly
    /// what an uninterrupted foreground run proposes: the sampler's state comes from the store.
    func testARestartedDaemonProposesWhatAnUninterruptedRunWould() throws {
        let dir = CLI.tempDir()
        let space = try writeSpace(dir, name: "same", trials: 14, sampler: "tpe")
        let clean = try CLI.run(["start", space, "--foreground", "--workers", "1", "--db", dir + "/a/sweep.db"],
                                env: ["SWEEP_TEST_MODES": "sleep"], timeout: 300)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        let db = dir + "/b/sweep.db"
        for (round, after) in [0.5, 0.9, 0.7].enumerated() {
            let daemon = try ServedDaemon(db: db, args: ["--workers", "1"], env: ["SWEEP_TEST_MODES": "sleep"])
            if round == 0 { XCTAssertEqual(try CLI.run(["start", space, "--db", db, "--detach"]).status, 0) }
            usleep(UInt32(after * 1e6))
            daemon.killNine()
        }
        let last = try ServedDaemon(db: db, args: ["--workers", "1"], env: ["SWEEP_TEST_MODES": "sleep"])
        waitUntil(300, "the study to finish") { apiStatus(db, "same")?["state"] as? String == "finished" }
        let a = try CLI.paramsByTrial(dir + "/a/sweep.db"), b = try CLI.paramsByTrial(db)
        XCTAssertEqual(a.count, 14)
        XCTAssertEqual(a, b)
        XCTAssertEqual(last.terminate(), 0)
    }

    /// At least 1,000 mutated API requests (bad JSON, wrong types, unknown fields, bad values,
    /// bad paths and methods, raw garbage on the socket): every one answered 4xx (none 5xx), the
    /// daemon alive, the database unchanged.
    func testAPIRequestFuzz() throws {
        let dir = CLI.tempDir()
        let db = dir + "/sweep.db"
        let daemon = try ServedDaemon(db: db, args: ["--workers", "1"])
        let space = try writeSpace(dir, name: "fuzz", trials: 1)
        XCTAssertEqual(try CLI.run(["start", space, "--db", db]).status, 0)
        let before = try SearchCommandTests.dump(db)
        let client = DaemonClient(db: db)
        let text = try String(contentsOfFile: space, encoding: .utf8)
        let valid: [String: Any] = ["space_text": text, "space_path": space, "trials": 2]
        var rng = SystemRandomNumberGenerator()
        // Each of these is wrong for each of these keys (study names are fuzzed below).
        let junkValues: [Any] = [-1, 1e308, "", "x", [1, 2], ["a": 1], true, "../../etc/passwd", String(repeating: "z", count: 5000), -9.5]
        let keys = ["space_text", "space_path", "trials", "workers", "sampler", "scheduler", "seed", "data_dir", "memory_mb",
                    "overrides", "env", "bogus"]
        let paths = ["/v1/studies", "/v1/studies/fuzz/resume", "/v1/studies/nope/stop", "/v1/studies/fuzz/leaderboard?top=-3",
                     "/v1/studies/%2e%2e%2f%2e%2e/leaderboard", "/v2/x", "/", "/v1/studies/fuzz/nothing", "/v1/health/x"]
        var statuses: [Int: Int] = [:]
        var tried = 0
        func check(_ r: APIResponse, _ what: String) {
            tried += 1
            statuses[r.status, default: 0] += 1
            XCTAssertTrue((400..<500).contains(r.status), "\(what) -> \(r.status) \(r.body.prefix(200))")
        }
        for i in 0..<1000 {
            var body = valid
            switch i % 5 {
            case 0: body[keys.randomElement(using: &rng)!] = junkValues.randomElement(using: &rng)!   // a wrong value
            case 1: body.removeValue(forKey: ["space_text", "space_path"].randomElement(using: &rng)!)
                    body["trials"] = Int.random(in: -5...0, using: &rng)
            case 2:   // a mutated search-space text
                var chars = Array(text)
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    let at = Int.random(in: 0..<chars.count, using: &rng)
                    chars[at] = ["{", ":", "-", "\n", "[", "x", "9", " "].randomElement(using: &rng)!
                }
                body["space_text"] = String(chars)
                body["study"] = "bad/\(i)"   // refused even if the mutation left the file valid
            case 3: body["study"] = ["../escape", ".hidden", "a/b", "", String(repeating: "n", count: 300), "x\u{1}y"].randomElement(using: &rng)!
            default: body["sampler"] = "nope"; body["workers"] = 0
            }
            let data = try JSONSerialization.data(withJSONObject: body)
            if i % 10 == 9 {
                var bytes = [UInt8](data)   // broken JSON
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                bytes.removeLast(Int.random(in: 1...min(20, bytes.count), using: &rng))
                check(try client.request("POST", "/v1/studies", json: Data(bytes)), "broken JSON")
            } else {
                check(try client.request("POST", "/v1/studies", json: data), "\(body.filter { $0.key != "space_text" })")
            }
        }
        for p in paths {
            for m in ["GET", "POST", "PUT", "DELETE"] {
                let r = try client.request(m, p, json: Data("{\"workers\": \"many\"}".utf8))
                if r.status < 400 { continue }   // a valid read (GET /v1/studies ...)
                check(r, "\(m) \(p)")
            }
        }
        // Raw garbage on the socket: no answer needed, no crash.
        for _ in 0..<20 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in Array(daemon.socket.utf8).enumerated() { raw[i] = b } }
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            let junk = (0..<Int.random(in: 1...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = junk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(fd)
            tried += 1
        }
        XCTAssertNotNil(client.health(), "the daemon is alive")
        XCTAssertEqual(try SearchCommandTests.dump(db), before, "no rejected request changed the database")
        XCTAssertGreaterThanOrEqual(tried, 1000)
        print("API fuzz: \(tried) requests, statuses \(statuses.sorted { $0.key < $1.key }), 0 accepted, database unchanged")
        XCTAssertEqual(daemon.terminate(), 0)
    }

    /// The socket is 0600 and other users cannot connect; HTTP refuses a non-loopback bind
    /// without a token and requests without the token; study names cannot leave results/.
    func testSecurity() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let exposed = try CLI.run(["serve", "--db", db, "--http", "0.0.0.0:0"])
        XCTAssertEqual(exposed.status, 2)
        XCTAssertTrue(exposed.stderr.contains("not a loopback address") && exposed.stderr.contains("--token"), exposed.stderr)
        let weak = try CLI.run(["serve", "--db", db, "--http", "0.0.0.0:0", "--token", "short"])
        XCTAssertEqual(weak.status, 2, weak.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/results/sweep.sock"), "a refused daemon wrote no socket")

        let port = 21_000 + Int.random(in: 0..<20_000)
        let daemon = try ServedDaemon(db: db, args: ["--workers", "1", "--http", "127.0.0.1:\(port)"])
        var st = stat()
        XCTAssertEqual(stat(daemon.socket, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "the socket is 0600")
        XCTAssertEqual(stat(dir + "/results/sweep.daemon.token", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "the token file is 0600")
        if getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            let other = try CLI.run(["--reuid=65534", "--regid=65534", "--clear-groups", "python3", "-c",
                                     "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])", daemon.socket],
                                    executable: "/usr/bin/setpriv")
            XCTAssertNotEqual(other.status, 0, "another user cannot connect")
            XCTAssertTrue(other.stderr.contains("Permission denied"), other.stderr)
        }
        let token = try String(contentsOfFile: dir + "/results/sweep.daemon.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        func http(_ headers: [String]) throws -> String {
            try CLI.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"] + headers.flatMap { ["-H", $0] } + ["http://127.0.0.1:\(port)/v1/health"],
                        executable: "/usr/bin/env").stdout
        }
        XCTAssertEqual(try http([]), "401")
        XCTAssertEqual(try http(["Authorization: Bearer wrong-token-wrong-token"]), "401")
        XCTAssertEqual(try http(["Authorization: Bearer \(token)x"]), "401")
        XCTAssertEqual(try http(["Authorization: Bearer \(token)"]), "200")

        // Study names that would leave results/ are refused, through the CLI and the API.
        let space = try writeSpace(dir, name: "safe", trials: 1)
        let cli = try CLI.run(["start", space, "--db", db, "--study", "../../escape"])
        XCTAssertEqual(cli.status, 2)
        XCTAssertTrue(cli.stderr.contains("is not accepted"), cli.stderr)
        let api = try DaemonClient(db: db).request("POST", "/v1/studies", json: JSONSerialization.data(withJSONObject: [
            "space_text": try String(contentsOfFile: space, encoding: .utf8), "space_path": space, "study": "../x"]))
        XCTAssertEqual(api.status, 400, api.body)
        XCTAssertEqual(try CLI.run(["studies", "--db", db]).stdout.contains("escape"), false)
        XCTAssertEqual(daemon.terminate(), 0)
    }
}

/// Output collected from a pipe's handler thread.
final class Printed: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ d: Data) { lock.withLock { data.append(d) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
