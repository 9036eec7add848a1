import Foundation
import XCTest
import SweepTestSupport

/// A study in PostgreSQL along the user's path: `sweep start --db postgresql://...`, the read
/// commands with the same URL (and through SWEEP_DB), Optuna 5 reading the study from the same
/// URL, and clear refusals (exit 2) for a bad URL, a wrong password and an unreachable server.
/// Runs on the tests' private server (`PrivatePostgres`).
final class PostgresCLITests: XCTestCase {
    static let space = """
        name: pg-digits
        seed: 3
        dataset: {name: digits, scaling: unit, validation: 0.2}
        objective: {metric: val_accuracy, direction: maximize}
        budget: {trials: 4, max_epochs: 2}
        sampler: random
        model:
          layers:
            - {type: dense, units: {int: [8, 32]}, activation: relu}
        training:
          batch_size: 32
          optimizer: adam
          learning_rate: {float: [1.0e-3, 1.0e-1], log: true}
        """

    func testAStudyInPostgreSQLFromStartToOptuna() throws {
        let server = try PrivatePostgres.shared()
        let url = try server.database()
        let dir = CLI.tempDir()
        let space = try CLI.writeSpace(dir, Self.space)
        let start = try CLI.run(["start", space, "--db", url, "--foreground", "--workers", "2"], cwd: dir)
        XCTAssertEqual(start.status, 0, start.stderr + start.stdout)
        XCTAssertTrue(start.stdout.contains("leaderboard of pg-digits"), start.stdout)
        XCTAssertFalse((start.stdout + start.stderr).contains(server.password), "the password is never printed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/results/sweep.db"), "no SQLite file")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/results/pg-digits/trial-0"), "trial folders in the local results folder")

        let rows = try CLI.jsonArray(["leaderboard", "--db", url, "--json"])
        XCTAssertEqual(Set(rows.compactMap { $0["trial"] as? Int }), Set(0..<4))
        XCTAssertEqual(try CLI.jsonArray(["leaderboard", "--json"], env: ["SWEEP_DB": url]).count, 4, "SWEEP_DB takes a URL too")
        let studies = try CLI.jsonArray(["studies", "--json"], env: ["SWEEP_DB": url])
        XCTAssertEqual(studies.map { $0["study"] as? String }, ["pg-digits"])
        let status = try CLI.run(["status", "pg-digits", "--db", url], cwd: dir)
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("finished"), status.stdout)

        // Optuna 5 reads the same study from the same URL: the same trials and values.
        try CLI.requirePython("optuna, psycopg")
        let read = try CLI.run(["python3", "-c", """
            import json, optuna, sys
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            s = optuna.load_study(study_name='pg-digits', storage=sys.argv[1])
            print(json.dumps({"direction": s.direction.name, "metric": s.metric_names,
                              "trials": {str(t.number): [t.state.name, t.value] for t in s.trials}}))
            """, url.replacingOccurrences(of: "postgresql://", with: "postgresql+psycopg://")], executable: "/usr/bin/env")
        XCTAssertEqual(read.status, 0, read.stderr)
        let optuna = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as? [String: Any], read.stdout)
        XCTAssertEqual(optuna["direction"] as? String, "MAXIMIZE")
        XCTAssertEqual(optuna["metric"] as? [String], ["val_accuracy"])
        let trials = try XCTUnwrap(optuna["trials"] as? [String: [Any]])
        XCTAssertEqual(trials.count, 4)
        for row in rows {
            let n = try XCTUnwrap(row["trial"] as? Int)
            let seen = try XCTUnwrap(trials[String(n)])
            XCTAssertEqual(seen[0] as? String, row["state"] as? String, "trial \(n)")
            if let v = row["value"] as? Double { XCTAssertEqual(seen[1] as? Double ?? .nan, v, accuracy: 1e-12, "trial \(n)") }
        }
    }

    func testABadURLAWrongPasswordAndAnUnreachableServerExit2() throws {
        let server = try PrivatePostgres.shared()
        let url = try server.database()
        let name = String(url.split(separator: "/").last!)
        let dir = CLI.tempDir()
        let space = try CLI.writeSpace(dir, Self.space)
        let port = try PrivatePostgres.freePort()
        let cases: [(args: [String], says: String)] = [
            (["status", "--db", server.url(name, password: "wrong-secret")], "refused user 'sweep'"),
            (["start", space, "--foreground", "--db", server.url(name, password: "wrong-secret")], "refused user 'sweep'"),
            (["leaderboard", "--db", "postgresql://sweep:wrong-secret@127.0.0.1:\(port)/\(name)"], "cannot be reached"),
            (["studies", "--db", "postgresql://sweep:wrong-secret@127.0.0.1:\(server.port)"], "names no database"),
            (["status", "--db", "postgresql://sweep:wrong-secret@127.0.0.1:\(server.port)/\(name)?sslmode=sometimes"], "sslmode 'sometimes'"),
        ]
        for c in cases {
            let r = try CLI.run(c.args, cwd: dir)
            XCTAssertEqual(r.status, 2, "\(c.args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(c.says), "\(c.args): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("wrong-secret"), "the password is never printed: \(r.stderr)")
        }
        XCTAssertEqual(try server.psql("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'", database: name).trimmingCharacters(in: .whitespacesAndNewlines), "0",
                       "nothing was written")
    }
}
