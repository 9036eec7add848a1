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
        try p.run()
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.terminate(); XCTFail("timed out: \(args)") }
        p.waitUntilExit()
        group.wait()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

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
