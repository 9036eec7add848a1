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
        let first = try SQLiteStore(path: path)
        _ = try makeStudy(first)
        let second = try SQLiteStore(path: path)
        XCTAssertNotNil(try second.study(named: "study"))
        try second.pool.read { db in
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid"),
                           ["optuna-v3.2.0.a", "sweep-v1", "sweep-v2-controller-lease", "sweep-v3-run-options",
                            "sweep-v4-metric-names", "sweep-v5-controller-lease-owner", "sweep-v6-trial-owner",
                            "sweep-v7-trial-changes", "sweep-v8-waiting-index"])
            let version = try Row.fetchOne(db, sql: "SELECT * FROM version_info")!
            XCTAssertEqual(version[0] as Int, 1); XCTAssertEqual(version[1] as Int, 12); XCTAssertEqual(version[2] as String, "5.0.0")
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT version_num FROM alembic_version"), ["v3.2.0.a"])
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
        }
    }

    func testAFileThatIsNotADatabaseIsAnInputError() throws {
        try String(repeating: "this is not a database\n", count: 100).write(toFile: dbPath, atomically: true, encoding: .utf8)
        assertInputError(dbPath, "not an SQLite database") { _ = try SQLiteStore(path: dbPath) }
    }

    func testAFolderIsAnInputError() {
        assertInputError(folder, "cannot be opened") { _ = try SQLiteStore(path: folder) }
    }

    func testAFileFromANewerSweepIsAnInputError() throws {
        let store = try SQLiteStore(path: dbPath)
        try store.pool.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('sweep-v99')") }
        assertInputError(dbPath, "newer version of Sweep (schema sweep-v99)") { _ = try SQLiteStore(path: dbPath) }
    }

    func testAnotherOptunaSchemaRevisionIsAnInputError() throws {
        let store = try SQLiteStore(path: dbPath)
        try store.pool.write { db in try db.execute(sql: "UPDATE alembic_version SET version_num = 'v9.9.9.a'") }
        assertInputError(dbPath, "revision 'v9.9.9.a'") { _ = try SQLiteStore(path: dbPath) }
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
        let writer = try SQLiteStore(path: dbPath)
        let study = try makeStudy(writer)
        try finish(writer, try newTrial(writer, study).trialID, .complete, 0.5)
        let reader = try SQLiteStore(readingOnly: dbPath)
        XCTAssertTrue(reader.isReadOnly)
        XCTAssertEqual(try reader.trials(studyID: study.id).map(\.record.value), [0.5])
        // It sees what a writer commits later, and cannot write itself.
        try finish(writer, try newTrial(writer, study).trialID, .complete, 0.25)
        XCTAssertEqual(try reader.bestTrial(studyID: study.id, direction: .minimize)?.record.value, 0.25)
        XCTAssertThrowsError(try reader.updateStudy(id: study.id, status: .stopped))
        assertInputError(folder + "/missing.db", "does not exist") { _ = try SQLiteStore(readingOnly: folder + "/missing.db") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/missing.db"))
    }

    func testReadingOnlyAnImmutableFileInAnImmutableFolder() throws {
        do {
            let writer = try SQLiteStore(path: dbPath)
            try finish(writer, try newTrial(writer, try makeStudy(writer)).trialID, .complete, 0.5)
        }   // closed: SQLite removes the -wal and -shm files
        XCTAssertFalse(FileManager.default.fileExists(atPath: dbPath + "-shm"))
        let before = try Data(contentsOf: URL(fileURLWithPath: dbPath))
        try whileImmutable([dbPath, folder]) {
            assertInputError(dbPath, "cannot be opened for writing") { _ = try SQLiteStore(path: dbPath) }
            let reader = try SQLiteStore(readingOnly: dbPath)
            XCTAssertEqual(try reader.studies().map(\.bestValue), [0.5])
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dbPath)), before)
    }

    /// A file as the previous Sweep left it: without the metric names and the last migration.
    func makeOlderFile() throws {
        let store = try SQLiteStore(path: dbPath)
        _ = try makeStudy(store)
        try store.pool.write { db in
            try db.execute(sql: "DELETE FROM study_system_attributes")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'sweep-v4-metric-names'")
        }
    }

    /// A file from before leases (sweep-v4): the claim of a controller that runs carries over to a
    /// lease its host can check (`host:pid:`, expiring 30 s after its last heartbeat).
    func testAControllersPIDClaimBecomesALease() throws {
        let store = try SQLiteStore(path: dbPath)
        let study = try makeStudy(store)
        let host = ProcessInfo.processInfo.hostName
        try store.pool.write { db in
            try db.execute(sql: """
                ALTER TABLE sweep_studies DROP COLUMN controller_owner;
                ALTER TABLE sweep_studies DROP COLUMN controller_expires;
                ALTER TABLE sweep_studies ADD COLUMN controller_pid INTEGER;
                ALTER TABLE sweep_studies ADD COLUMN controller_host TEXT;
                ALTER TABLE sweep_studies ADD COLUMN controller_heartbeat TEXT;
                DELETE FROM grdb_migrations WHERE identifier = 'sweep-v5-controller-lease-owner';
                """)
            try db.execute(sql: "UPDATE sweep_studies SET controller_pid = ?, controller_host = ?, controller_heartbeat = ?",
                           arguments: [getppid(), host, OptunaEncoding.datetime(Date())])
        }
        let upgraded = try XCTUnwrap(try SQLiteStore(path: dbPath).study(id: study.id))
        XCTAssertEqual(upgraded.controllerOwner, "\(host):\(getppid()):")
        XCTAssertTrue(upgraded.controllerLeaseLive)
        XCTAssertTrue(upgraded.isRunning(), "our parent runs")
        XCTAssertEqual(upgraded.controllerPID, getppid())
    }

    func testAnOlderFileIsUpgradedWhenWritableElseRefusedClearly() throws {
        try makeOlderFile()
        try whileImmutable([dbPath]) {
            assertInputError(dbPath, "written by an older version of Sweep (its schema lacks sweep-v4-metric-names) and cannot be upgraded here") {
                _ = try SQLiteStore(readingOnly: dbPath)
            }
        }
        let reader = try SQLiteStore(readingOnly: dbPath)
        XCTAssertNotNil(try reader.study(named: "study"))
        try reader.pool.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT value_json FROM study_system_attributes WHERE key = 'study:metric_names'"),
                           #"["val_loss"]"#)
        }
    }

    // MARK: What optuna-dashboard shows

    func testMetricNamesAreStoredAsOptunaDoesAndKeptWhenAUserSetThem() throws {
        try makeOlderFile()
        let store = try SQLiteStore(path: dbPath)     // upgrades: the study gets its metric name
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
        _ = try SQLiteStore(path: dbPath)
        XCTAssertEqual(try names(), [#"1: ["loss (nats)"]"#, #"\#(other.id): ["val_accuracy"]"#])
    }

    // MARK: Optuna's datetime text

    func testDatetimeText() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.25)
        XCTAssertEqual(OptunaEncoding.datetime(date), "2023-11-14 22:13:20.250000")
        XCTAssertEqual(OptunaEncoding.date("2023-11-14 22:13:20.250000"), date)
        XCTAssertEqual(OptunaEncoding.date("2023-11-14 22:13:20"), Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertNil(OptunaEncoding.date("yesterday"))
    }
}
