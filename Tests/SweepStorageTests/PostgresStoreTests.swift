import Foundation
import XCTest
import SweepCore
import SweepTestSupport
@testable import SweepStorage

/// The PostgreSQL backend beyond the contract: URLs and passwords, opening errors, the schema
/// Optuna 5 creates, migrations.
final class PostgresStoreTests: StoreFixtureCase {
    // MARK: Locations (no server)

    func testURLsAndWhereTheirPasswordComesFrom() throws {
        let home = NSTemporaryDirectory() + "sweep-pgpass-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = ["HOME": home, "USER": "me"]
        var u = try PostgresLocation(url: "postgresql://ann:s%40cret@db.example:6543/sweep?sslmode=require", environment: env)
        XCTAssertEqual([u.user, u.password, u.host, u.database, u.sslMode], ["ann", "s@cret", "db.example", "sweep", "require"])
        XCTAssertEqual(u.port, 6543)
        XCTAssertEqual(u.redacted, "postgresql://ann@db.example:6543/sweep?sslmode=require")
        XCTAssertEqual(PostgresLocation.redact("postgres://ann:s3cret@h/db"), "postgres://ann:***@h/db")
        u = try PostgresLocation(url: "postgres://h/db", environment: env.merging(["PGPASSWORD": "fromenv"]) { $1 })
        XCTAssertEqual([u.user, u.password, u.host], ["me", "fromenv", "h"])
        XCTAssertEqual(u.port, 5432)

        // ~/.pgpass: the first matching line, with wildcards and escapes; ignored unless private.
        let pgpass = home + "/.pgpass"
        try "# comment\nother:5432:*:ann:wrong\nh:5432:db:ann:pa\\:ss\n*:*:*:*:any\n".write(toFile: pgpass, atomically: true, encoding: .utf8)
        chmod(pgpass, 0o600)
        XCTAssertEqual(try PostgresLocation(url: "postgresql://ann@h/db", environment: env).password, "pa:ss")
        XCTAssertEqual(try PostgresLocation(url: "postgresql://bob@h:1/x", environment: env).password, "any")
        chmod(pgpass, 0o644)
        let open = try PostgresLocation(url: "postgresql://ann@h/db", environment: env)
        XCTAssertNil(open.password)
        XCTAssertTrue(open.passwordFileNote?.contains("chmod 600") == true, "\(open)")

        for (bad, why) in [("postgresql://ann:pw@/db", "names no host"), ("postgresql://ann:pw@h", "names no database"),
                           ("postgresql://ann:pw@h:99999/db", "port"), ("postgresql://ann:pw@h/db?sslmode=always", "sslmode 'always'"),
                           ("postgresql://ann:pw@h/db?foo=1", "'foo' is not read"), ("postgresql://ann:pw@h:/db", "port is empty")] {
            XCTAssertThrowsError(try PostgresLocation(url: bad, environment: env)) { e in
                XCTAssertTrue("\(e)".contains(why), "\(bad): \(e)")
                XCTAssertFalse("\(e)".contains(":pw@"), "the password is never shown: \(e)")
                XCTAssertTrue(e is InputError)
            }
        }
    }

    func testMigrationsHaveTheNamesTheyHaveOnSQLite() {
        XCTAssertEqual(PostgresSchema.migrations.map(\.name), Schema.migrator.migrations)
    }

    // MARK: With the private server

    /// A study watch whose connection the server ends signals (what came meanwhile is unknown),
    /// listens again on a new connection, and signals the next change.
    func testAStudyWatchListensAgainAfterItsConnectionIsLost() throws {
        let store = try PostgresStore(PostgresLocation(url: try PrivatePostgres.shared().database()))
        let study = try makeStudy(store)
        let watch = try store.watchStudies()
        defer { watch.close() }
        func listeners(_ action: String = "COUNT(*)") throws -> Int64 {
            try store.pool.statement(idempotent: true) { db in
                try db.scalar("SELECT \(action) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'", as: Int64.self)
            } ?? 0
        }
        XCTAssertEqual(try listeners(), 1)
        XCTAssertFalse(watch.wait(timeout: 0.2))
        _ = try listeners("COUNT(pg_terminate_backend(pid))")
        XCTAssertTrue(watch.wait(timeout: 3), "the lost connection is signalled")
        let deadline = Date().addingTimeInterval(10)
        while try listeners() == 0 && Date() < deadline { usleep(50_000) }
        XCTAssertEqual(try listeners(), 1, "listening again")
        _ = watch.wait(timeout: 0.5)   // the signal of listening again
        try store.updateStudy(id: study.id, status: .stopped)
        XCTAssertTrue(watch.wait(timeout: 2), "a change after the new LISTEN")
    }

    func testOpeningErrorsNameTheURLWithoutItsPassword() throws {
        let server = try PrivatePostgres.shared()
        let url = try server.database()
        let name = String(url.split(separator: "/").last!)
        func refusal(_ url: String) -> String {
            do { _ = try openStore(location: url); return "opened" } catch let e as InputError { return e.description } catch { return "not an InputError: \(error)" }
        }
        let wrong = refusal(server.url(name, password: "not-it"))
        XCTAssertTrue(wrong.contains("refused user 'sweep'"), wrong)
        XCTAssertTrue(wrong.hasPrefix("postgresql://sweep@127.0.0.1:\(server.port)/\(name)"), wrong)
        XCTAssertFalse(wrong.contains("not-it"), wrong)
        let missing = refusal(server.url("no_such_db"))
        XCTAssertTrue(missing.contains("has no database 'no_such_db'"), missing)
        let port = try PrivatePostgres.freePort()
        let unreachable = refusal("postgresql://sweep:pw@127.0.0.1:\(port)/x")
        XCTAssertTrue(unreachable.contains("cannot be reached"), unreachable)
        XCTAssertTrue(unreachable.contains("127.0.0.1:\(port)"), unreachable)
        let tls = refusal(server.url(name) + "?sslmode=require")
        XCTAssertTrue(tls.contains("does not offer TLS"), tls)
    }

    /// A restart of the server cuts every connection of the pool: the next calls reconnect, and
    /// writes made before are all there.
    func testTheStoreReconnectsAfterTheServerRestarts() throws {
        let server = try PrivatePostgres.shared()
        let store = try PostgresStore(PostgresLocation(url: try server.database()))
        let study = try makeStudy(store)
        let errors = ErrorList()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in   // every connection of the pool open
            do { _ = try store.createTrial(studyID: study.id, params: [], seed: 1, configJSON: "{}", workerPID: nil) } catch { errors.append(error) }
        }
        try server.restart()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do { _ = try store.createTrial(studyID: study.id, params: [], seed: 1, configJSON: "{}", workerPID: nil) } catch { errors.append(error) }
        }
        XCTAssertEqual(errors.all.map { "\($0)" }, [])
        XCTAssertEqual(try store.trials(studyID: study.id).map(\.record.number), Array(0..<8))
    }

    /// Several processes (here threads with stores of their own) opening a new database at once
    /// apply each migration once; a database a newer Sweep wrote is refused.
    /// A study written in bulk by another writer (an import, Optuna's processes) is read whole
    /// before the server's statistics know of it: the read looks each trial's parts up by id, so
    /// a plan made for a near-empty table does not run an aggregate of the whole study per trial
    /// (which at 5000 trials did not answer within `PGPool.answerTimeout`).
    func testAStudyWrittenInBulkIsReadBeforeTheStatisticsKnowOfIt() throws {
        let store = try PostgresStore(PostgresLocation(url: try PrivatePostgres.shared().database()))
        let study = try makeStudy(store)
        let first = try newTrial(store, study)
        XCTAssertEqual(try finish(store, first.trialID, .complete, 0.5), .complete)
        let n = 5000
        // The server's statistics as autovacuum leaves them for a young study: one trial.
        try store.pool.statement(idempotent: true) { db in _ = try db.execute("ANALYZE") }
        try store.pool.transaction { db in
            try db.execute("""
                INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete)
                SELECT g, ?, 'COMPLETE', LOCALTIMESTAMP, LOCALTIMESTAMP FROM generate_series(1, ?) g
                """, [study.id, n - 1])
            try db.execute("""
                INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
                SELECT t.trial_id, p.param_name, t.number, p.distribution_json FROM trials t
                JOIN trial_params p ON p.trial_id = ? WHERE t.study_id = ? AND t.number > 0
                """, [first.trialID, study.id])
            try db.execute("""
                INSERT INTO trial_values (trial_id, objective, value, value_type)
                SELECT trial_id, 0, number, 'FINITE' FROM trials WHERE study_id = ? AND number > 0
                """, [study.id])
        }
        // Answered at the first try: a statement past `PGPool.answerTimeout` is taken as a lost
        // connection and run again (on the old plan it did not answer; its rerun did, later).
        let asked = Date()
        let trials = try store.trials(studyID: study.id)
        XCTAssertLessThan(Date().timeIntervalSince(asked), PGPool.answerTimeout)
        XCTAssertEqual(trials.map(\.record.number), Array(0..<n))
        XCTAssertEqual(trials.last?.record.value, Double(n - 1))
        XCTAssertEqual(trials.last?.record.params.count, trials.first?.record.params.count)
        let askedFinished = Date()
        XCTAssertEqual(try store.finishedTrials(studyID: study.id, completedSince: nil).count, n)
        XCTAssertLessThan(Date().timeIntervalSince(askedFinished), PGPool.answerTimeout)
    }

    func testMigrationsApplyOnceAndANewerSchemaIsRefused() throws {
        let url = try PrivatePostgres.shared().database()
        let errors = ErrorList()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do { _ = try PostgresStore(PostgresLocation(url: url)) } catch { errors.append(error) }
        }
        XCTAssertEqual(errors.all.map { "\($0)" }, [])
        let store = try PostgresStore(PostgresLocation(url: url))
        let applied = try store.pool.transaction { db in try db.query("SELECT identifier FROM sweep_migrations ORDER BY identifier").map { try $0["identifier"] as String } }
        XCTAssertEqual(applied, Schema.migrator.migrations.sorted())
        try store.pool.transaction { db in try db.execute("INSERT INTO sweep_migrations VALUES ('sweep-v99')") }
        assertInputError(store.location, "newer version of Sweep (schema sweep-v99)") { _ = try PostgresStore(PostgresLocation(url: url)) }
    }

    /// Optuna 5 on PostgreSQL creates exactly Optuna's part of Sweep's schema (`pg_dump
    /// --schema-only` of both, Sweep's own tables aside), with the same version rows; Sweep adds
    /// its tables to a database Optuna created, and Optuna reads the study Sweep writes there.
    func testOptunaCreatesTheSameSchemaAndReadsSweepsStudies() throws {
        try requirePython("optuna, psycopg")
        let server = try PrivatePostgres.shared()
        let theirs = try server.database(), mine = try server.database()
        let made = try python("import optuna, sys; optuna.create_study(study_name='theirs', storage=sys.argv[1])", theirs)
        XCTAssertEqual(made.status, 0, made.stderr)
        _ = try PostgresStore(PostgresLocation(url: mine))
        func dump(_ url: String, sweepTables: Bool) throws -> String {
            var text = try server.schemaDump(String(url.split(separator: "/").last!))
            text = text.split(separator: "\n").filter { !$0.hasPrefix("--") && !$0.hasPrefix("\\") && !$0.isEmpty }.joined(separator: "\n")
            guard !sweepTables else { return text }
            // Statements (separated by ';') that name a sweep_ table are Sweep's own.
            return text.components(separatedBy: ";\n").filter { !$0.contains("sweep_") }.joined(separator: ";\n")
        }
        let optunaSchema = try dump(theirs, sweepTables: true)
        XCTAssertFalse(optunaSchema.contains("sweep_"))
        XCTAssertEqual(try dump(mine, sweepTables: false), optunaSchema)
        let versions = "SELECT version_num FROM alembic_version UNION ALL SELECT schema_version || ' ' || library_version FROM version_info"
        XCTAssertEqual(try server.psql(versions, database: String(mine.split(separator: "/").last!)),
                       try server.psql(versions, database: String(theirs.split(separator: "/").last!)))

        // Sweep in the database Optuna made; Optuna reads it back.
        let store = try PostgresStore(PostgresLocation(url: theirs))
        assertInputError(store.location, "'theirs' already exists") { _ = try makeStudy(store, name: "theirs") }
        let study = try makeStudy(store, name: "mine")
        let t = try store.createTrial(studyID: study.id, params: params(0.02, 3, 2), seed: 5, configJSON: "{}", workerPID: nil)
        try store.reportIntermediate(trialID: t.trialID, step: 0, value: 0.7)
        try finish(store, t.trialID, .complete, 0.25)
        try finish(store, try newTrial(store, study).trialID, .fail, nil, reason: "boom")
        let read = try python("""
            import optuna, sys
            s = optuna.load_study(study_name='mine', storage=sys.argv[1])
            print(s.best_value, s.best_trial.params, [t.state.name for t in s.trials], s.trials[0].intermediate_values,
                  s.trials[1].user_attrs, s.metric_names)
            """, theirs)
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertEqual(read.stdout, "0.25 {'lr': 0.02, 'units': 3, 'activation': 'gelu'} ['COMPLETE', 'FAIL'] {0: 0.7} {'fail_reason': 'boom'} ['val_loss']\n")
    }

    // MARK: Helpers

    func python(_ code: String, _ url: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try OptunaInteropTests.python(["-c", code, url.replacingOccurrences(of: "postgresql://", with: "postgresql+psycopg://")])
    }

    /// Skips when python3 cannot import `modules`, but fails under CI=true.
    func requirePython(_ modules: String) throws {
        guard try OptunaInteropTests.python(["-c", "import \(modules)"]).status != 0 else { return }
        if ProcessInfo.processInfo.environment["CI"] == "true" { throw RuntimeFailure("python3 cannot import \(modules) under CI") }
        throw XCTSkip("python3 cannot import \(modules)")
    }
}
