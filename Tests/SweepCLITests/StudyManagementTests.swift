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
        XCTAssertFalse(FileManager.default.fileExists(atPath: db + "-shm"), "a clean end leaves no WAL index")
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
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
        XCTAssertTrue(replay.stderr.contains(dir + "/results/frozen/trial-0: cannot write the replay's files in this folder"), replay.stderr)
        XCTAssertTrue(replay.stderr.contains("Permission denied") && replay.stderr.contains("--output"), replay.stderr)
        XCTAssertFalse(replay.stdout.contains("replaying"), "refused before training")

        let out = dir + "/mine"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let elsewhere = try Self.asNobody(["replay", "frozen", "--db", db, "--output", out + "/best"], cwd: dir)
        XCTAssertEqual(elsewhere.status, 0, elsewhere.stderr)
        XCTAssertTrue(elsewhere.stdout.contains("identical to the stored trial"), elsewhere.stdout)
        XCTAssertTrue(elsewhere.stdout.contains("was not recorded in"), elsewhere.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/best/model.safetensors"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: db)), before, "nothing was written to the database")
        XCTAssertFalse(FileManager.default.fileExists(atPath: db + "-wal"))
    }
}
