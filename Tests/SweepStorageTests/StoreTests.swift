import Foundation
import GRDB
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

final class StoreTests: StoreTestCase {
    // MARK: Opening

    func testOpeningAgainAppliesNoMigrationTwice() throws {
        let path = folder + "/nested/dir/sweep.db"
        let first = try SweepStore(path: path)
        _ = try makeStudy(first)
        let second = try SweepStore(path: path)
        XCTAssertNotNil(try second.study(named: "study"))
        try second.pool.read { db in
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid"),
                           ["optuna-v3.2.0.a", "sweep-v1", "sweep-v2-controller-lease", "sweep-v3-run-options",
                            "sweep-v4-metric-names"])
            let version = try Row.fetchOne(db, sql: "SELECT * FROM version_info")!
            XCTAssertEqual(version[0] as Int, 1); XCTAssertEqual(version[1] as Int, 12); XCTAssertEqual(version[2] as String, "5.0.0")
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT version_num FROM alembic_version"), ["v3.2.0.a"])
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
        }
    }

    func testAFileThatIsNotADatabaseIsAnInputError() throws {
        try String(repeating: "this is not a database\n", count: 100).write(toFile: dbPath, atomically: true, encoding: .utf8)
        assertInputError(dbPath, "not an SQLite database") { _ = try SweepStore(path: dbPath) }
    }

    func testAFolderIsAnInputError() {
        assertInputError(folder, "cannot be opened") { _ = try SweepStore(path: folder) }
    }

    func testAFileFromANewerSweepIsAnInputError() throws {
        let store = try SweepStore(path: dbPath)
        try store.pool.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('sweep-v99')") }
        assertInputError(dbPath, "newer version of Sweep (schema sweep-v99)") { _ = try SweepStore(path: dbPath) }
    }

    func testAnotherOptunaSchemaRevisionIsAnInputError() throws {
        let store = try SweepStore(path: dbPath)
        try store.pool.write { db in try db.execute(sql: "UPDATE alembic_version SET version_num = 'v9.9.9.a'") }
        assertInputError(dbPath, "revision 'v9.9.9.a'") { _ = try SweepStore(path: dbPath) }
    }

    // MARK: Opening for reading only

    /// Runs a command (chattr), returning whether it exited 0.
    @discardableResult
    static func shell(_ args: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// Makes `paths` immutable (`chattr +i`: even root cannot write them) for the body; skips the
    /// test where the file system or the user cannot.
    func whileImmutable(_ paths: [String], _ body: () throws -> Void) throws {
        guard Self.shell(["chattr", "+i"] + paths) else { throw XCTSkip("chattr +i is not available here") }
        defer { Self.shell(["chattr", "-i"] + paths) }
        try body()
    }

    func testReadingOnlyWritesNothing() throws {
        let writer = try SweepStore(path: dbPath)
        let study = try makeStudy(writer)
        try finish(writer, try newTrial(writer, study).trialID, .complete, 0.5)
        let reader = try SweepStore(readingOnly: dbPath)
        XCTAssertTrue(reader.isReadOnly)
        XCTAssertEqual(try reader.trials(studyID: study.id).map(\.record.value), [0.5])
        // It sees what a writer commits later, and cannot write itself.
        try finish(writer, try newTrial(writer, study).trialID, .complete, 0.25)
        XCTAssertEqual(try reader.bestTrial(studyID: study.id, direction: .minimize)?.record.value, 0.25)
        XCTAssertThrowsError(try reader.updateStudy(id: study.id, status: .stopped))
        assertInputError(folder + "/missing.db", "does not exist") { _ = try SweepStore(readingOnly: folder + "/missing.db") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/missing.db"))
    }

    func testReadingOnlyAnImmutableFileInAnImmutableFolder() throws {
        do {
            let writer = try SweepStore(path: dbPath)
            try finish(writer, try newTrial(writer, try makeStudy(writer)).trialID, .complete, 0.5)
        }   // closed: SQLite removes the -wal and -shm files
        XCTAssertFalse(FileManager.default.fileExists(atPath: dbPath + "-shm"))
        let before = try Data(contentsOf: URL(fileURLWithPath: dbPath))
        try whileImmutable([dbPath, folder]) {
            assertInputError(dbPath, "cannot be opened for writing") { _ = try SweepStore(path: dbPath) }
            let reader = try SweepStore(readingOnly: dbPath)
            XCTAssertEqual(try reader.studies().map(\.bestValue), [0.5])
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dbPath)), before)
    }

    /// A file as the previous Sweep left it: without the metric names and the last migration.
    func makeOlderFile() throws {
        let store = try SweepStore(path: dbPath)
        _ = try makeStudy(store)
        try store.pool.write { db in
            try db.execute(sql: "DELETE FROM study_system_attributes")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'sweep-v4-metric-names'")
        }
    }

    func testAnOlderFileIsUpgradedWhenWritableElseRefusedClearly() throws {
        try makeOlderFile()
        try whileImmutable([dbPath]) {
            assertInputError(dbPath, "written by an older version of Sweep (its schema lacks sweep-v4-metric-names) and cannot be upgraded here") {
                _ = try SweepStore(readingOnly: dbPath)
            }
        }
        let reader = try SweepStore(readingOnly: dbPath)
        XCTAssertNotNil(try reader.study(named: "study"))
        try reader.pool.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT value_json FROM study_system_attributes WHERE key = 'study:metric_names'"),
                           #"["val_loss"]"#)
        }
    }

    // MARK: What optuna-dashboard shows

    func testMetricNamesAreStoredAsOptunaDoesAndKeptWhenAUserSetThem() throws {
        try makeOlderFile()
        let store = try SweepStore(path: dbPath)     // upgrades: the study gets its metric name
        let other = try store.createStudy(name: "other", direction: .maximize, metric: "val_accuracy", spacePath: "s.yaml",
                                          spaceText: "", samplerJSON: "{}", schedulerJSON: "{}", seed: 0, trialsTotal: 1, maxEpochs: nil)
        let names = { try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT study_id, value_json FROM study_system_attributes WHERE key = 'study:metric_names' ORDER BY study_id")
                .map { "\($0["study_id"] as Int64): \($0["value_json"] as String)" }
        } }
        XCTAssertEqual(try names(), [#"1: ["val_loss"]"#, #"\#(other.id): ["val_accuracy"]"#])
        // A name set with Optuna (`study.set_metric_names`) survives the upgrade of an older file.
        try store.pool.write { db in
            try db.execute(sql: #"UPDATE study_system_attributes SET value_json = '["loss (nats)"]' WHERE study_id = 1"#)
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'sweep-v4-metric-names'")
        }
        _ = try SweepStore(path: dbPath)
        XCTAssertEqual(try names(), [#"1: ["loss (nats)"]"#, #"\#(other.id): ["val_accuracy"]"#])
    }

    func testAFailedTrialsReasonIsAUserAttribute() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let failed = try newTrial(store, study).trialID
        try finish(store, failed, .fail, nil, reason: "exited with status 1: no module named \"torch\" in /opt/x")
        let nan = try newTrial(store, study).trialID
        XCTAssertEqual(try finish(store, nan, .complete, .nan), .fail)
        try finish(store, try newTrial(store, study).trialID, .complete, 0.5)
        try store.pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT trial_id, key, value_json FROM trial_user_attributes ORDER BY trial_id")
            XCTAssertEqual(rows.map { $0["trial_id"] as Int64 }, [failed, nan])
            XCTAssertEqual(rows.map { $0["key"] as String }, ["fail_reason", "fail_reason"])
            XCTAssertEqual(rows.map { $0["value_json"] as String },
                           [#""exited with status 1: no module named \"torch\" in /opt/x""#, #""the objective value is NaN""#])
        }
    }

    // MARK: Studies

    func testStudyRoundTripAndNamesAreUnique() throws {
        let store = try SweepStore(path: dbPath)
        let created = try makeStudy(store, direction: .maximize)
        XCTAssertEqual(try store.study(named: "study"), created)
        XCTAssertEqual(created.direction, .maximize)
        XCTAssertEqual(created.seed, 7)
        XCTAssertEqual(created.maxEpochs, 10)
        XCTAssertEqual(created.status, .running)
        XCTAssertEqual(created.spaceText, "training:\n  learning_rate: {float: [1.0e-4, 1.0e-1], log: true}\n")
        XCTAssertLessThan(abs(created.createdAt.timeIntervalSinceNow), 60)
        try store.pool.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT direction FROM study_directions"), "MAXIMIZE")
        }
        assertInputError(dbPath, "'study' already exists") { _ = try makeStudy(store) }
        XCTAssertNil(try store.study(named: "other"))

        let later = try makeStudy(store, name: "later")
        XCTAssertEqual(try store.latestStudy()?.id, later.id)
        try store.updateStudy(id: created.id, trialsTotal: 30, status: .finished)
        let updated = try store.study(named: "study")!
        XCTAssertEqual(updated.trialsTotal, 30)
        XCTAssertEqual(updated.status, .finished)
        XCTAssertThrowsError(try store.updateStudy(id: 999, status: .stopped))
    }

    func testStudySummariesCountStatesAndKeepTheBest() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        for value in [3.0, 1.0, 2.0] { try finish(store, try newTrial(store, study).trialID, .complete, value) }
        try finish(store, try newTrial(store, study).trialID, .fail, nil)
        _ = try newTrial(store, study)
        let other = try makeStudy(store, name: "empty")
        let summaries = try store.studies()
        XCTAssertEqual(summaries.map(\.name), ["study", "empty"])
        XCTAssertEqual(summaries[0].counts, [.complete: 3, .fail: 1, .running: 1])
        XCTAssertEqual(summaries[0].bestValue, 1.0)
        XCTAssertEqual(summaries[1].id, other.id)
        XCTAssertEqual(summaries[1].count(.complete), 0)
        XCTAssertNil(summaries[1].bestValue)
    }

    // MARK: Trials

    func testCreateReportFinishRoundTrip() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let seed = UInt64.max - 12   // above Int64.max: stored as text
        let (id, number) = try store.createTrial(studyID: study.id, params: params(0.003, 5, 2), seed: seed,
                                                 configJSON: #"{"layers":[64]}"#, workerPID: 4242)
        XCTAssertEqual(number, 0)
        let running = try store.trial(studyID: study.id, number: 0)!
        XCTAssertEqual(running.record.state, .running)
        XCTAssertNotNil(running.datetimeStart)
        XCTAssertNil(running.datetimeComplete)
        XCTAssertEqual(running.workerPID, 4242)

        try store.reportIntermediate(trialID: id, step: 0, value: 0.9)
        try store.reportIntermediate(trialID: id, step: 1, value: 0.8)
        try store.reportIntermediate(trialID: id, step: 1, value: 0.6)   // a step again: replaced
        try store.reportIntermediate(trialID: id, step: 2, value: 0.5)
        try store.heartbeat(trialID: id)
        let state = try store.finishTrial(trialID: id, state: .complete, value: 0.45, exitStatus: 0, reason: nil,
                                          stderrTail: "done\n", epochsRun: 3, durationSeconds: 1.5, artifactDir: "/tmp/a")
        XCTAssertEqual(state, .complete)

        let t = try store.trials(studyID: study.id)
        XCTAssertEqual(t.count, 1)
        XCTAssertEqual(t[0].trialID, id)
        XCTAssertEqual(t[0].record, TrialRecord(number: 0, state: .complete, params: ["lr": 0.003, "units": 5, "activation": 2],
                                                value: 0.45, intermediate: [0: 0.9, 1: 0.6, 2: 0.5]))
        XCTAssertEqual(t[0].seed, seed)
        XCTAssertEqual(t[0].configJSON, #"{"layers":[64]}"#)
        XCTAssertEqual(t[0].exitStatus, 0)
        XCTAssertEqual(t[0].stderrTail, "done\n")
        XCTAssertEqual(t[0].epochsRun, 3)
        XCTAssertEqual(t[0].durationSeconds, 1.5)
        XCTAssertEqual(t[0].artifactDir, "/tmp/a")
        XCTAssertEqual(t[0].attempts, 1)
        let start = try XCTUnwrap(t[0].datetimeStart), end = try XCTUnwrap(t[0].datetimeComplete)
        XCTAssertLessThanOrEqual(start, end)
        XCTAssertLessThan(abs(end.timeIntervalSinceNow), 60)

        // Optuna's form of the rows.
        try store.pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT number, state, datetime_start FROM trials")!
            XCTAssertEqual(row["state"] as String, "COMPLETE")
            let datetime: String = row["datetime_start"]
            XCTAssertNotNil(datetime.range(of: #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$"#, options: .regularExpression), datetime)
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT distribution_json FROM trial_params WHERE param_name = 'activation'"),
                           Self.activation.optunaJSON)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM trial_heartbeats"), 1)
        }
        XCTAssertEqual(try store.bestTrial(studyID: study.id, direction: .minimize)?.trialID, id)
    }

    /// A follower asks only for trials finished since its last look; running ones never show.
    func testFinishedTrialsSinceACutoff() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let a = try newTrial(store, study)
        _ = try newTrial(store, study)   // stays RUNNING
        let c = try newTrial(store, study)
        _ = try finish(store, a.trialID, .complete, 1.0)
        XCTAssertEqual(try store.finishedTrials(studyID: study.id, completedSince: nil).map(\.record.number), [0])
        usleep(20_000)
        let cutoff = Date()
        usleep(20_000)
        _ = try finish(store, c.trialID, .fail, nil, reason: "boom")
        XCTAssertEqual(try store.finishedTrials(studyID: study.id, completedSince: cutoff).map(\.record.number), [2])
        XCTAssertEqual(try store.finishedTrials(studyID: study.id, completedSince: nil).map(\.record.number), [0, 2])
    }

    func testNumbersCountTrialsPerStudy() throws {
        let store = try SweepStore(path: dbPath)
        let a = try makeStudy(store, name: "a"), b = try makeStudy(store, name: "b")
        XCTAssertEqual(try newTrial(store, a).number, 0)
        XCTAssertEqual(try newTrial(store, b).number, 0)
        XCTAssertEqual(try newTrial(store, a).number, 1)
        XCTAssertEqual(try store.trials(studyID: a.id).map(\.record.number), [0, 1])
        XCTAssertThrowsError(try store.createTrial(studyID: 999, params: [], seed: 0, configJSON: "{}", workerPID: nil))
    }

    func testBestTrialFollowsTheDirection() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        for value in [2.0, -.infinity, 5.0, 1.0] { try finish(store, try newTrial(store, study).trialID, .complete, value) }
        try finish(store, try newTrial(store, study).trialID, .pruned, nil)
        XCTAssertEqual(try store.bestTrial(studyID: study.id, direction: .minimize)?.record.number, 1)
        XCTAssertEqual(try store.bestTrial(studyID: study.id, direction: .maximize)?.record.number, 2)
        XCTAssertNil(try store.bestTrial(studyID: try makeStudy(store, name: "empty").id, direction: .minimize))
    }

    func testNaNAndInfinitiesFollowOptuna() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let a = try newTrial(store, study).trialID
        try store.reportIntermediate(trialID: a, step: 0, value: .nan)
        try store.reportIntermediate(trialID: a, step: 1, value: .infinity)
        try store.reportIntermediate(trialID: a, step: 2, value: -.infinity)
        XCTAssertEqual(try finish(store, a, .complete, .infinity), .complete)
        let b = try newTrial(store, study).trialID
        XCTAssertEqual(try finish(store, b, .complete, .nan, reason: "diverged"), .fail)
        let c = try newTrial(store, study).trialID
        XCTAssertEqual(try finish(store, c, .complete, nil), .fail)
        let d = try newTrial(store, study).trialID          // pruned, last report NaN: no value
        try store.reportIntermediate(trialID: d, step: 0, value: 0.5)
        try store.reportIntermediate(trialID: d, step: 1, value: .nan)
        XCTAssertEqual(try finish(store, d, .pruned, 123), .pruned)
        let e = try newTrial(store, study).trialID          // pruned: the last report is its value
        try store.reportIntermediate(trialID: e, step: 3, value: 0.7)
        try store.reportIntermediate(trialID: e, step: 1, value: 0.2)
        XCTAssertEqual(try finish(store, e, .pruned, 123), .pruned)

        let t = try store.trials(studyID: study.id)
        XCTAssertTrue(t[0].record.intermediate[0]!.isNaN)
        XCTAssertEqual(t[0].record.intermediate[1], .infinity)
        XCTAssertEqual(t[0].record.intermediate[2], -.infinity)
        XCTAssertEqual(t[0].record.value, .infinity)
        XCTAssertEqual(t[1].record.state, .fail)
        XCTAssertNil(t[1].record.value)
        XCTAssertEqual(t[1].reason, "diverged; the objective value is NaN")
        XCTAssertEqual(t[2].reason, "no objective value was reported")
        XCTAssertNil(t[3].record.value)
        XCTAssertEqual(t[4].record.value, 0.7)
        try store.pool.read { db in
            let values = try Row.fetchAll(db, sql: "SELECT value, value_type FROM trial_values ORDER BY trial_id")
            XCTAssertEqual(values.count, 2)
            XCTAssertTrue(values[0]["value"] == nil); XCTAssertEqual(values[0]["value_type"] as String, "INF_POS")
            XCTAssertEqual(values[1]["value"] as Double, 0.7); XCTAssertEqual(values[1]["value_type"] as String, "FINITE")
            let reports = try Row.fetchAll(db, sql: """
                SELECT intermediate_value, intermediate_value_type FROM trial_intermediate_values WHERE trial_id = ? ORDER BY step
                """, arguments: [a])
            XCTAssertEqual(reports.map { $0["intermediate_value_type"] as String }, ["NAN", "INF_POS", "INF_NEG"])
            XCTAssertTrue(reports.allSatisfy { $0["intermediate_value"] == nil })
        }
    }

    func testAFinishedTrialNeverChanges() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let id = try newTrial(store, study).trialID
        try store.reportIntermediate(trialID: id, step: 0, value: 1)
        try finish(store, id, .complete, 1)
        let before = try store.trials(studyID: study.id)
        XCTAssertThrowsError(try store.reportIntermediate(trialID: id, step: 1, value: 2)) { e in
            XCTAssertTrue("\(e)".contains("trial 0 of study 'study' is COMPLETE"), "\(e)")
        }
        XCTAssertThrowsError(try finish(store, id, .fail, nil))
        XCTAssertThrowsError(try store.requeueTrial(trialID: id))
        XCTAssertThrowsError(try store.restartTrial(trialID: id))
        XCTAssertThrowsError(try store.reportIntermediate(trialID: 999, step: 0, value: 1))
        try store.heartbeat(trialID: id)   // a late heartbeat is not an error
        XCTAssertEqual(try store.trials(studyID: study.id), before)
    }

    func testRequeueKeepsTheTrialAndRestartRunsItAgain() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let first = try newTrial(store, study, seed: 11)
        try store.reportIntermediate(trialID: first.trialID, step: 0, value: 0.5)
        try store.requeueTrial(trialID: first.trialID)
        try store.requeueTrial(trialID: first.trialID)       // already waiting: nothing happens
        var t = try store.trial(studyID: study.id, number: 0)!
        XCTAssertEqual(t.record.state, .waiting)
        XCTAssertEqual(t.record.intermediate, [:])
        XCTAssertEqual(t.record.params["units"], 4)
        XCTAssertEqual(t.seed, 11)
        XCTAssertNil(t.datetimeStart)
        XCTAssertEqual(try newTrial(store, study).number, 1)   // numbers stay dense

        try store.restartTrial(trialID: first.trialID, workerPID: 77)
        t = try store.trial(studyID: study.id, number: 0)!
        XCTAssertEqual(t.record.state, .running)
        XCTAssertEqual(t.attempts, 2)
        XCTAssertEqual(t.workerPID, 77)
        XCTAssertNotNil(t.datetimeStart)
        try store.reportIntermediate(trialID: first.trialID, step: 0, value: 0.4)
        try finish(store, first.trialID, .complete, 0.3)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.record.value, 0.3)
    }

    func testStaleRunningTrialsAreThoseWithoutARecentHeartbeat() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let quiet = try newTrial(store, study), alive = try newTrial(store, study), done = try newTrial(store, study)
        try finish(store, done.trialID, .complete, 1)
        Thread.sleep(forTimeInterval: 0.2)
        try store.heartbeat(trialID: alive.trialID)
        XCTAssertEqual(try store.staleRunningTrials(studyID: study.id, olderThan: 0.1).map(\.trialID), [quiet.trialID])
        XCTAssertEqual(try store.staleRunningTrials(studyID: study.id, olderThan: 60), [])
    }

    func testDatetimeText() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.25)
        XCTAssertEqual(OptunaEncoding.datetime(date), "2023-11-14 22:13:20.250000")
        XCTAssertEqual(OptunaEncoding.date("2023-11-14 22:13:20.250000"), date)
        XCTAssertEqual(OptunaEncoding.date("2023-11-14 22:13:20"), Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertNil(OptunaEncoding.date("yesterday"))
    }
}

final class StudyLeaseTests: XCTestCase {
    func testOneControllerPerStudy() throws {
        let folder = NSTemporaryDirectory() + "sweep-lease-\(UUID().uuidString)"
        let store = try SweepStore(path: folder + "/sweep.db")
        let study = try store.createStudy(name: "s", direction: .minimize, metric: "loss", spacePath: "s.yaml", spaceText: "",
                                          samplerJSON: "{}", schedulerJSON: "{}", seed: 0, trialsTotal: 3, maxEpochs: nil)
        // This process holds it; claiming again is fine.
        try store.claimStudy(id: study.id, pid: getpid())
        try store.claimStudy(id: study.id, pid: getpid())
        // A live process (our parent) holding it: refused, naming the holder.
        try store.releaseStudy(id: study.id, pid: getpid())
        try store.claimStudy(id: study.id, pid: getppid())
        XCTAssertThrowsError(try store.claimStudy(id: study.id, pid: getpid())) { e in
            XCTAssertTrue("\(e)".contains("is being run by process \(getppid())"), "\(e)")
        }
        // A holder that is gone (a pid that exits before we claim): taken over at once.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run(); gone.waitUntilExit()
        try store.releaseStudy(id: study.id, pid: getppid())
        try store.claimStudy(id: study.id, pid: gone.processIdentifier)
        try store.claimStudy(id: study.id, pid: getpid())
        // Heartbeats refresh running trials' rows in trial_heartbeats.
        let t = try store.createTrial(studyID: study.id, params: [], seed: 1, configJSON: "{}", workerPID: nil)
        try store.controllerHeartbeat(studyID: study.id, pid: getpid(), runningTrials: [t.trialID])
        XCTAssertEqual(try store.staleRunningTrials(studyID: study.id, olderThan: 60).count, 0)
    }
}
