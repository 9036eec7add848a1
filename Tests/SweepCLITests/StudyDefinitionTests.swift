import Foundation
import XCTest

/// A study's definition is resolved once (`StudyDefinition`): an override given at `sweep start`
/// holds on every path that reads the study later.
final class StudyDefinitionTests: XCTestCase {
    /// `--set` replaces a parameter's choices at `start`; the leaderboard, `logs --trial`,
    /// `enqueue`, `status` and a `resume` through the daemon (its run, and the leaderboard it prints)
    /// all see the overridden choices, never the file's.
    func testOverrideGivenAtStartHoldsOnEveryReadPath() throws {
        let dir = CLI.tempDir()
        try """
        import json, sys
        p = json.load(sys.stdin)
        assert p["act"] in ("gelu", "elu"), p
        print(json.dumps({"value": p["lr"] + (0.5 if p["act"] == "elu" else 0.0)}))
        """.write(toFile: dir + "/train.py", atomically: true, encoding: .utf8)
        let space = try CLI.writeSpace(dir, """
        name: defined
        objective: {metric: loss, direction: minimize}
        budget: {trials: 2}
        sampler: random
        command: [python3, train.py]
        params:
          lr: {float: [0.1, 0.2]}
          act: {choice: [relu, tanh]}
        """)
        let db = dir + "/d.db"
        let start = try CLI.run(["start", space, "--set", "params.act={choice: [gelu, elu]}", "--foreground", "--workers", "1", "--db", db])
        XCTAssertEqual(start.status, 0, start.stdout + start.stderr)
        func acts() throws -> [String] { try CLI.leaderboard(db).map { ($0["params"] as? [String: Any])?["act"] as? String ?? "?" } }
        let first = try acts()
        XCTAssertEqual(first.count, 2)
        XCTAssertTrue(first.allSatisfy { ["gelu", "elu"].contains($0) }, "\(first)")

        let logs = try CLI.run(["logs", "defined", "--trial", "0", "--db", db])
        XCTAssertEqual(logs.status, 0, logs.stderr)
        XCTAssertTrue(logs.stdout.contains("act = gelu") || logs.stdout.contains("act = elu"), logs.stdout)

        let enqueue = try CLI.run(["enqueue", "defined", "--set", "act=elu", "--set", "lr=0.15", "--db", db])
        XCTAssertEqual(enqueue.status, 0, enqueue.stderr)
        let resume = try CLI.run(["resume", "defined", "--db", db], timeout: 120)
        defer { _ = try? CLI.run(["shutdown", "--db", db]) }
        XCTAssertEqual(resume.status, 0, resume.stdout + resume.stderr)
        XCTAssertFalse(resume.stdout.contains("relu") || resume.stdout.contains("tanh"), resume.stdout)
        XCTAssertTrue(resume.stdout.contains("elu"), resume.stdout)
        let rows = try CLI.leaderboard(db)
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows.allSatisfy { $0["state"] as? String == "COMPLETE" }, "\(rows)")
        let queued = try XCTUnwrap(rows.first { $0["trial"] as? Int == 2 })
        XCTAssertEqual((queued["params"] as? [String: Any])?["act"] as? String, "elu")
        XCTAssertEqual(queued["value"] as? Double ?? 0, 0.65, accuracy: 1e-12)
        let status = try CLI.jsonArray(["status", "defined", "--json", "--db", db])
        XCTAssertEqual(status.first?["state"] as? String, "finished", "\(status)")
    }
}
