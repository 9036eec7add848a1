import Foundation
import XCTest

/// Runs the built `sweep` binary the way a user does. `SWEEP_BIN` names a release build for the
/// training-heavy tests (scripts/test sets it); otherwise the debug build beside the tests.
enum CLI {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["SWEEP_BIN"], !b.isEmpty { return b }
        return repo + "/.build/debug/sweep"
    }
    static var isRelease: Bool { binary.contains("/release/") }
    /// The shared data sets (MNIST, Fashion-MNIST), when this checkout has them beside it.
    static var sharedData: String? {
        let d = ProcessInfo.processInfo.environment["SWEEP_TEST_DATA"] ?? (repo + "/../shared/datasets")
        return FileManager.default.fileExists(atPath: d + "/fashion-mnist/train-labels-idx1-ubyte.gz") ? d : nil
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    @discardableResult
    static func run(_ args: [String], executable: String? = nil, env: [String: String] = [:], cwd: String? = nil,
                    timeout: TimeInterval = 600) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable ?? binary)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        // A daemon a test's `sweep start` starts exits soon after its searches end.
        if e["SWEEP_DAEMON_IDLE_TIMEOUT"] == nil { e["SWEEP_DAEMON_IDLE_TIMEOUT"] = "20" }
        for (k, v) in env { e[k] = v }
        p.environment = e
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        p.standardInput = FileHandle.nullDevice   // never the terminal of whoever runs the tests
        try p.run()
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        let outData = PipeData(), errData = PipeData()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { outData.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.terminate(); XCTFail("timed out: \(args)") }
        p.waitUntilExit()
        group.wait()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData.data, as: UTF8.self),
                      stderr: String(decoding: errData.data, as: UTF8.self))
    }

    /// Starts `sweep ARGS` in the background with `env` added (its trials in the `slow` test mode
    /// unless said), its stdout and stderr in pipes; the caller waits for it or kills it.
    static func start(_ args: [String], env: [String: String] = ["SWEEP_TEST_MODES": "slow"], cwd: String? = nil) throws -> (Process, out: Pipe, err: Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    /// Returns when `python3` imports `modules` (e.g. "torch, numpy"); otherwise skips the test,
    /// or under CI (`CI=true`, where scripts/test installs them) fails it: a missing package there
    /// is a broken set-up, not a reason to skip.
    static func requirePython(_ modules: String) throws {
        let probe = try run(["python3", "-c", "import \(modules)"], executable: "/usr/bin/env")
        guard probe.status != 0 else { return }
        let message = "python3 cannot import \(modules) (scripts/test installs it with pip)"
        if ProcessInfo.processInfo.environment["CI"] == "true" { throw MissingPackage(message: message) }
        throw XCTSkip(message)
    }
    struct MissingPackage: Error { var message: String }

    /// What one reader thread read from a pipe: written by that thread only, read after
    /// `group.wait()`, which orders the write before the read.
    final class PipeData: @unchecked Sendable { var data = Data() }

    static func tempDir() -> String {
        let d = NSTemporaryDirectory() + "sweep-cli-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Runs a read command that prints a JSON array (`leaderboard --json`, `status --json`, ...),
    /// checking it exits 0.
    static func jsonArray(_ args: [String], env: [String: String] = [:]) throws -> [[String: Any]] {
        let r = try run(args, env: env)
        XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], r.stdout)
    }

    /// The leaderboard of the database's most recent study, as JSON rows.
    static func leaderboard(_ db: String, _ extra: [String] = []) throws -> [[String: Any]] {
        try jsonArray(["leaderboard", "--db", db, "--json"] + extra)
    }

    /// Writes a search-space file `DIR/NAME` and returns its path.
    static func writeSpace(_ dir: String, _ yaml: String, name: String = "space.yaml") throws -> String {
        let path = dir + "/" + name
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A search space whose trials run `Tests/python/command_trial.py` (its behaviour set by
    /// SWEEP_TEST_MODES): parameters x in [0, 1] (a trial's value) and k in 1...8, 3 epochs.
    static func commandSpace(_ dir: String, name: String, seed: Int, trials: Int, sampler: String,
                             file: String = "space.yaml") throws -> String {
        try writeSpace(dir, """
        name: \(name)
        seed: \(seed)
        objective: {metric: score, direction: maximize}
        budget: {trials: \(trials), max_epochs: 3}
        sampler: {name: \(sampler), startup_trials: 4}
        command: [python3, \(repo)/Tests/python/command_trial.py]
        params:
          x: {float: [0.0, 1.0]}
          k: {int: [1, 8]}
        """, name: file)
    }

    /// Asserts a study of `commandSpace` trials survived whatever was done to it: trials
    /// 0..<count once each, all COMPLETE, each value its x, one report per epoch, and the file
    /// passes `PRAGMA integrity_check`.
    static func assertIntact(_ db: String, study: String? = nil, count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let rows = try leaderboard(db, study.map { [$0] } ?? [])
        XCTAssertEqual(rows.count, count, file: file, line: line)
        XCTAssertEqual(rows.compactMap { $0["trial"] as? Int }.sorted(), Array(0..<count), "no trial lost, none twice", file: file, line: line)
        for r in rows {
            XCTAssertEqual(r["state"] as? String, "COMPLETE", "\(r)", file: file, line: line)
            let x = (r["params"] as? [String: Any])?["x"] as? Double
            XCTAssertEqual(r["value"] as? Double, x, "trial \(r["trial"]!): its value is intact", file: file, line: line)
            XCTAssertEqual((r["curve"] as? [String: Any])?.count, 3, "one report per epoch, none twice", file: file, line: line)
        }
        let check = try run(["python3", "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])", db],
                            executable: "/usr/bin/env")
        XCTAssertEqual(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok", file: file, line: line)
    }

    /// Each trial's parameters in the leaderboard of the database's most recent study.
    static func paramsByTrial(_ db: String) throws -> [Int: NSDictionary] {
        Dictionary(uniqueKeysWithValues: try leaderboard(db).map { ($0["trial"] as! Int, NSDictionary(dictionary: $0["params"] as! [String: Any])) })
    }

    static func jsonLines(_ s: String) -> [[String: Any]] {
        s.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// A loopback HTTP server over a directory (python3 -m http.server), stopped by `stop()`.
final class LoopbackServer {
    let process = Process()
    let port: Int

    init(directory: String) throws {
        port = 20_000 + Int.random(in: 0..<20_000)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until it accepts connections (bounded).
        for _ in 0..<100 {
            if (try? String(contentsOf: URL(string: "http://127.0.0.1:\(port)/")!, encoding: .utf8)) != nil { return }
            usleep(50_000)
        }
    }

    var url: String { "http://127.0.0.1:\(port)/" }
    func stop() { if process.isRunning { process.terminate(); process.waitUntilExit() } }
    deinit { stop() }
}
