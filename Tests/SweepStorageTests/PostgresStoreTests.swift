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
    /// Statements run prepared (`PGPrepared`: `PREPARE` once per connection, then `EXECUTE` with
    /// the arguments as literals) give what the same statement gives unprepared: doubles to the
    /// last bit (shortest forms, extremes, infinities, NaN), text with quotes, backslashes (with
    /// `standard_conforming_strings` off too), `?` and non-ASCII, NULLs, arrays (empty ones too),
    /// and the count of rows a change touched.
    func testPreparedStatementsGiveWhatUnpreparedOnesGive() throws {
        let store = try PostgresStore(PostgresLocation(url: try PrivatePostgres.shared().database()), poolSize: 1)
        let doubles: [Double] = [0.1, 1.0 / 3.0, -2.5e-310, 1.7976931348623157e308, 5e-324, 123456789.123456789, -0.0,
                                 .infinity, -.infinity]
        let texts = ["plain", "it's", "back\\slash \\' mixed", "? and $1", "naïve ✓ 日本", "", "a\nb"]
        try store.pool.statement(idempotent: true) { db in
            try db.execute("CREATE TEMP TABLE IF NOT EXISTS prepared_check (i int8, x float8, t text, b bool)")
            try db.execute("DELETE FROM prepared_check")
        }
        try store.pool.statement(idempotent: true) { db in
            for round in 0..<3 {   // the first round prepares, the others execute what was prepared
                for (i, x) in doubles.enumerated() {
                    let t = texts[i % texts.count]
                    let unprepared = PGSession(connection: db.connection, logger: db.logger)
                    let sql = "SELECT ?::int8 AS i, ?::float8 AS x, ?::text AS t, ?::bool AS b, ?::float8[] AS xs, ?::text[] AS ts, ?::int8 AS n"
                    let args: [any PGArgument] = [Int64(i) - 3, x, t, i % 2 == 0, [x, 2.0], i % 3 == 0 ? [] : [t, "z"], Optional<Int64>.none]
                    let a = try XCTUnwrap(db.query(sql, args).first), b = try XCTUnwrap(unprepared.query(sql, args).first)
                    XCTAssertEqual(try a["i"] as Int64, try b["i"] as Int64)
                    XCTAssertEqual((try a["x"] as Double).bitPattern, x.bitPattern, "round \(round): \(x)")
                    XCTAssertEqual(try a["t"] as String, t)
                    XCTAssertEqual(try a["b"] as Bool, i % 2 == 0)
                    XCTAssertEqual((try a["xs"] as [Double]).map(\.bitPattern), [x, 2.0].map(\.bitPattern))
                    XCTAssertEqual(try a["ts"] as [String], try b["ts"] as [String])
                    XCTAssertNil(try a["n"] as Int64?)
                }
                let nan = try XCTUnwrap(db.query("SELECT ?::float8 AS x", [Double.nan]).first)
                XCTAssertTrue((try nan["x"] as Double).isNaN)
                XCTAssertEqual(try db.execute("INSERT INTO prepared_check (i, x, t, b) SELECT g, ?, ?, ? FROM generate_series(1, ?) g",
                                              [0.5, "it's", true, 3]), 3)
                XCTAssertEqual(try db.execute("UPDATE prepared_check SET t = ? WHERE i <= ?", ["u", 2]), 2)
                XCTAssertEqual(try db.execute("DELETE FROM prepared_check WHERE t = ?", ["it's"]), 1)
                XCTAssertEqual(try db.execute("DELETE FROM prepared_check WHERE t = ?", ["u"]), 2)
            }
            // Backslashes read the same whatever the server's `standard_conforming_strings`.
            try db.execute("SET standard_conforming_strings = off")
            for t in texts {
                XCTAssertEqual(try XCTUnwrap(db.query("SELECT ?::text AS t", [t]).first)["t"] as String, t)
            }
            try db.execute("SET standard_conforming_strings = on")
            XCTAssertNotNil(db.prepared?.statement(for: "SELECT ?::float8 AS x", [1.0]), "prepared")
            XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_prepared_statements", as: Int64.self).map { $0 > 0 }, true)
        }
        // A table changed under a prepared statement (another daemon's migration): it is
        // prepared again and its transaction runs again.
        let select = "SELECT * FROM prepared_check WHERE i > ? ORDER BY i"
        try store.pool.transaction { db in
            try db.execute("INSERT INTO prepared_check (i, x, t, b) VALUES (?, ?, ?, ?)", [7, 1.5, "v", false])
            XCTAssertEqual(try db.query(select, [0]).count, 1)
        }
        try store.pool.statement(idempotent: true) { db in try db.execute("ALTER TABLE prepared_check ADD COLUMN extra int8") }
        var runs = 0
        let rows = try store.pool.transaction { db in
            runs += 1
            return try db.query(select, [0]).count
        }
        XCTAssertEqual(rows, 1)
        XCTAssertEqual(runs, 2, "ran again after the stale plan")
    }

    /// A transaction sent in one go (`BEGIN`, statements, `COMMIT`): committed when every
    /// statement succeeds; a failed statement's error is thrown and nothing of it stays; the
    /// connection serves the next transaction.
    func testAPipelinedTransactionCommitsAllOrNothing() throws {
        let store = try PostgresStore(PostgresLocation(url: try PrivatePostgres.shared().database()))
        try store.pool.statement(idempotent: true) { db in _ = try db.execute("CREATE TABLE pipelined (i int8 PRIMARY KEY)") }
        func count() throws -> Int64 { try store.pool.statement(idempotent: true) { db in try db.scalar("SELECT count(*) FROM pipelined")! } }
        let inserted = try store.pool.pipelinedTransaction(rerunAfterLoss: false) { db in
            let a = db.send("INSERT INTO pipelined (i) VALUES (?)", [1]), b = db.send("INSERT INTO pipelined (i) VALUES (?)", [2])
            return { try db.wait(a).metadata.rows! + db.wait(b).metadata.rows! }
        }
        XCTAssertEqual(inserted, 2)
        XCTAssertThrowsError(try store.pool.pipelinedTransaction(rerunAfterLoss: false) { db in
            let a = db.send("INSERT INTO pipelined (i) VALUES (?)", [3]), b = db.send("INSERT INTO pipelined (i) VALUES (?)", [1])
            return { _ = try db.wait(a); _ = try db.wait(b) }
        }) { XCTAssertEqual(PGPool.sqlState($0), "23505", "\($0)") }
        XCTAssertEqual(try count(), 2, "the failed transaction's first insert was rolled back")
        // The answers read by the closure are committed; an error it throws is the caller's.
        XCTAssertThrowsError(try store.pool.pipelinedTransaction(rerunAfterLoss: false) { db in
            let a = db.send("INSERT INTO pipelined (i) VALUES (?)", [4])
            return { _ = try db.wait(a); throw RuntimeFailure("read") }
        }) { XCTAssertEqual("\($0)", "read") }
        XCTAssertEqual(try count(), 3)
        // Trials for a study without Sweep's row: nothing is written.
        let study = try makeStudy(store)
        try store.pool.statement(idempotent: true) { db in _ = try db.execute("DELETE FROM sweep_studies WHERE study_id = ?", [study.id]) }
        XCTAssertThrowsError(try store.createWaitingTrials(studyID: study.id, [NewWaitingTrial(params: [], seed: 1, configJSON: "{}")], firstNumber: 0))
        XCTAssertThrowsError(try store.createWaitingTrial(studyID: study.id, params: [], seed: 1, configJSON: "{}", expectedNumber: 0))
        XCTAssertEqual(try store.pool.statement(idempotent: true) { db in try db.scalar("SELECT count(*) FROM trials WHERE study_id = ?", [study.id], as: Int64.self) }, 0)
    }

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

    /// A change read's generic plan (the one the server settles on for a prepared statement after
    /// five runs, not knowing how few trials changed) looks the changed trials and their rows up by
    /// id once the statistics know of thousands of trials: no scan of the trials table (it was a
    /// hash join over every trial of every study: 7 ms a read at 3,000 trials, growing with them).
    func testTheChangeReadLooksTrialsUpByIdWhateverTheStatisticsSay() throws {
        let store = try PostgresStore(PostgresLocation(url: try PrivatePostgres.shared().database()))
        let study = try makeStudy(store), other = try makeStudy(store, name: "other")
        for (s, n) in [(study, 1000), (other, 3000)] {
            let new = (0..<n).map { _ in NewWaitingTrial(params: [("x", 0.5, #"{"name": "FloatDistribution", "attributes": {"low": 0, "high": 1, "log": false, "step": null}}"#)],
                                                   seed: 1, configJSON: "{}") }
            _ = try store.createWaitingTrials(studyID: s.id, new, firstNumber: 0)
        }
        try store.pool.statement(idempotent: true) { db in _ = try db.execute("ANALYZE") }
        let (_, cursor) = try store.trials(studyID: study.id, changedSince: nil)
        let sql = PGSession.numbered(PostgresStore.trialsSQL(where: PostgresStore.changedTrials))
        let name = "probe_\(UInt32.random(in: 0...UInt32.max))"
        let plan: [String] = try store.pool.transaction { db in
            try db.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            try db.execute("PREPARE \(name)(int8, int8, int8, text, text) AS \(sql)")
            defer { _ = try? db.execute("DEALLOCATE \(name)") }
            return try db.query("EXPLAIN EXECUTE \(name)(\(study.id), \(cursor.position), \(study.id), 'a', 'b')").map { try $0["QUERY PLAN"] as String }
        }
        XCTAssertFalse(plan.contains { $0.contains("Seq Scan on trials") || $0.contains("Hash") }, plan.joined(separator: "\n"))
        XCTAssertTrue(plan.contains { $0.contains("Index Scan using trials_pkey") }, plan.joined(separator: "\n"))
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
        // An up-to-date database is checked by one read (`PostgresSchema.isCurrent`), which
        // refuses as the migrating transaction does.
        try store.pool.transaction { db in
            try db.execute("DELETE FROM sweep_migrations WHERE identifier = 'sweep-v99'")
            try db.execute("UPDATE alembic_version SET version_num = 'v9.9.9.a'")
        }
        assertInputError(store.location, "holds Optuna's schema at revision 'v9.9.9.a'") { _ = try PostgresStore(PostgresLocation(url: url)) }
        try store.pool.transaction { db in try db.execute("UPDATE alembic_version SET version_num = ?", [Schema.alembicRevision]) }
        XCTAssertTrue(try PostgresSchema.isCurrent(store.pool, location: store.location))
        _ = try PostgresStore(PostgresLocation(url: url))
    }

    /// A store opened for reading on a database without Sweep's tables creates them (its
    /// migrations run in a transaction that may write, on the connection the store keeps), and
    /// nothing else it runs writes.
    func testAStoreOpenedForReadingBringsTheSchemaUpAndWritesNothingElse() throws {
        let url = try PrivatePostgres.shared().database()
        let reader = try PostgresStore(PostgresLocation(url: url), readOnly: true)
        let applied = try reader.pool.transaction { db in try db.query("SELECT identifier FROM sweep_migrations ORDER BY identifier").map { try $0["identifier"] as String } }
        XCTAssertEqual(applied, Schema.migrator.migrations.sorted())
        XCTAssertThrowsError(try reader.pool.transaction { db in try db.execute("INSERT INTO sweep_migrations VALUES ('sweep-v99')") }) { e in
            XCTAssertEqual(PGPool.sqlState(e), "25006", "\(e)")   // read_only_sql_transaction
        }
        XCTAssertEqual(try PostgresStore(PostgresLocation(url: url)).studies().count, 0)
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
