import Foundation
import XCTest
import SweepTestSupport

/// Checkpoints on a folder every host shares (`SWEEP_ARTIFACTS`): a built-in trial whose daemon
/// dies continues on another daemon from its last checkpoint instead of epoch 1.
final class SharedCheckpointTests: XCTestCase {
    /// Two daemons on one PostgreSQL, both given one shared folder. The daemon running a 30-epoch
    /// trial is SIGKILLed after the trial's third epoch; the other one takes the trial back after
    /// the lease, continues it from the checkpoint in the shared folder (`sweep:resumed_from_epoch`
    /// at least 3, shown by `sweep logs`), and its curve is whole: epochs 1-30, each once.
    func testATrialContinuesOnAnotherHostFromTheSharedCheckpoint() throws {
        guard let data = CLI.sharedData else { throw XCTSkip("../shared/datasets is not beside this checkout") }
        let server = try PrivatePostgres.shared()
        let url = try server.database()
        let shared = CLI.tempDir() + "/shared artifacts"
        let hosts = [ManyDaemonsTests.Host(url: url), ManyDaemonsTests.Host(url: url)]
        for h in hosts { h.environment = ["SWEEP_ARTIFACTS": shared] }
        defer { for h in hosts { h.terminate() } }
        try hosts[0].start()
        let space = hosts[0].dir + "/space.yaml"
        try """
            name: shared-checkpoint
            dataset: {name: mnist, scaling: unit, validation: 0.1, limit: 10000}
            objective: {metric: val_accuracy, direction: maximize}
            budget: {trials: 1, max_epochs: 30}
            sampler: random
            model:
              layers:
                - {type: dense, units: {int: [500, 512]}}
            training:
              batch_size: 64
              learning_rate: {float: [0.0005, 0.001], log: true}
            """.write(toFile: space, atomically: true, encoding: .utf8)
        let submit = try CLI.run(["start", space, "--db", url, "--detach", "--data-dir", data], cwd: hosts[0].dir)
        XCTAssertEqual(submit.status, 0, submit.stderr)
        func row() throws -> [String: Any]? { try CLI.jsonArray(["leaderboard", "shared-checkpoint", "--db", url, "--json"]).first }

        let checkpoint = shared + "/shared-checkpoint/trial-0/checkpoint"
        var reported = 0
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && reported < 3 {
            usleep(100_000)
            reported = ((try row())?["curve"] as? [String: Any])?.count ?? 0
        }
        XCTAssertGreaterThanOrEqual(reported, 3, "the trial ran three epochs on the first daemon")
        XCTAssertLessThan(reported, 30, "and was still running")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "its checkpoint is in the shared folder")
        try hosts[1].start()
        hosts[0].killNine()

        var final: [String: Any]?
        while Date() < deadline.addingTimeInterval(60) {
            usleep(250_000)
            if let r = try row(), r["state"] as? String == "COMPLETE" { final = r; break }
        }
        let r = try XCTUnwrap(final, "the trial completed on the second daemon")
        XCTAssertEqual((r["curve"] as? [String: Any]).map { Set($0.keys) }, Set((1...30).map(String.init)), "epochs 1-30, each once")
        let logs = try CLI.run(["logs", "shared-checkpoint", "--trial", "0", "--db", url], cwd: hosts[1].dir)
        XCTAssertEqual(logs.status, 0, logs.stderr)
        let resumed = logs.stdout.range(of: #"resumed from the checkpoint of epoch (\d+)"#, options: .regularExpression)
            .map { Int(logs.stdout[$0].split(separator: " ").last!)! }
        XCTAssertNotNil(resumed, logs.stdout)
        XCTAssertGreaterThanOrEqual(resumed ?? 0, 3, "it continued from the shared checkpoint, not from epoch 1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoint), "a finished trial's checkpoint goes")
    }

    /// A relative `SWEEP_ARTIFACTS` (hosts would each read it in their own folder) stops the
    /// daemon before it serves or writes anything, exit 2, naming the variable.
    func testARelativeSharedFolderIsRefused() throws {
        let server = try PrivatePostgres.shared()
        let url = try server.database()
        let dir = CLI.tempDir()
        let r = try CLI.run(["serve", "--db", url, "--idle-timeout", "1"], env: ["SWEEP_ARTIFACTS": "shared/sweep"], cwd: dir)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("SWEEP_ARTIFACTS") && r.stderr.contains("absolute"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/results"), "nothing written")
    }
}
