import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import SweepCore
import SweepSearch

/// The `TrialStore` in one SQLite file: `optuna.load_study(study_name: ..., storage:
/// "sqlite:///PATH")` reads it. Beside the contract of `TrialStore`:
/// - **Threads and processes.** A GRDB `DatabasePool` in WAL mode: one writer connection,
///   concurrent readers. Several processes may open the same file: a write takes SQLite's write
///   lock when it begins and waits up to `busyTimeout` for another process's.
/// - **Reading only.** `init(readingOnly:)` opens a file the user may not write (no migration, no
///   journal mode change); its write methods fail.
/// - **Errors** name the file; I/O errors are GRDB's `DatabaseError`.
public final class SQLiteStore: TrialStore {
    public let path: String
    public var location: String { path }
    let pool: DatabasePool

    /// How long a write waits for another process's write (and a read for a recovering file).
    public static let busyTimeout: TimeInterval = 10

    /// Whether the store was opened for reading only (`init(readingOnly:)`): its write methods fail.
    public let isReadOnly: Bool

    /// Opens the file, creating it and its folders if needed, and brings its schema up to date.
    public init(path: String) throws {
        self.path = path
        isReadOnly = false
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try Folders.create(folder, field: "--db")
        }
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)   // readers of a pool wait 10 s too (GRDB's default)
        config.label = "SQLiteStore"
        // WAL with synchronous=NORMAL: a commit survives the death of any process (kill -9 of the
        // daemon or a trial); only a power loss may undo the last commits, never corrupt the file.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            pool = try Self.openPool(path: path, configuration: config)
            try Schema.migrate(pool, file: path)
        } catch let e as DatabaseError {
            throw Self.openingError(e, path: path, writing: true)
        }
    }

    /// Opens an existing file for reading only, writing nothing to it (no migration, no journal
    /// mode change): what the read commands use, so they work on a file or folder the user may
    /// not write, while a search writes it. When SQLite cannot share the file's write-ahead-log
    /// index (its folder is read-only and no `-shm` file is there), the file is read as
    /// immutable, which is exact because then no writer can be at work (refused if a `-wal` file
    /// with content is left, whose commits that way would be missed).
    ///
    /// A file an older Sweep wrote is upgraded first when it is writable (`init(path:)`); when it
    /// is not, an `InputError` says so. Also `InputError` for a missing file and the cases of
    /// `init(path:)`.
    public init(readingOnly path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(file: path, "does not exist") }
        self.path = path
        isReadOnly = true
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(Self.busyTimeout)
        config.label = "SQLiteStore.readonly"
        do {
            var pool: DatabasePool
            do {
                pool = try DatabasePool(path: path, configuration: config)
                try pool.read { db in _ = try Row.fetchOne(db, sql: "SELECT 1 FROM sqlite_master") }
            } catch let e as DatabaseError where e.resultCode == .SQLITE_READONLY || e.resultCode == .SQLITE_CANTOPEN {
                let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
                guard wal == 0, !FileManager.default.fileExists(atPath: path + "-shm") else {
                    throw InputError(file: path, "cannot be read: its folder is read-only and its write-ahead log \(path)-wal holds commits not yet in the file; open it once where it is writable (any sweep command does)")
                }
                pool = try DatabasePool(path: Self.immutableURI(path), configuration: config)
            }
            if case .older(let missing) = try Schema.readableState(pool, file: path) {
                // Written by an older Sweep: upgraded where the file may be written, else refused.
                do { _ = try SQLiteStore(path: path) } catch {
                    throw InputError(file: path, "was written by an older version of Sweep (its schema lacks \(missing.joined(separator: ", "))) and cannot be upgraded here (\(error)); open it once where it is writable: any sweep command upgrades it")
                }
                pool = try DatabasePool(path: path, configuration: config)
            }
            self.pool = pool
        } catch let e as DatabaseError {
            throw Self.openingError(e, path: path, writing: false)
        }
    }

    /// `file:` URI of a file opened as immutable (SQLite then takes no lock and reads no WAL).
    private static func immutableURI(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%"))
        return "file:" + (absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute) + "?immutable=1"
    }

    /// An SQLite error on opening, in the user's terms.
    static func openingError(_ e: DatabaseError, path: String, writing: Bool) -> any Error {
        switch e.resultCode {
        case .SQLITE_NOTADB: return InputError(file: path, "is not an SQLite database")
        case .SQLITE_CORRUPT: return InputError(file: path, "is a damaged SQLite database (\(e.message ?? "corrupt"))")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
            return InputError(file: path, "cannot be opened for \(writing ? "writing" : "reading") (\(e.message ?? "\(e.resultCode)"))")
        default: return e
        }
    }

    /// Opens the pool. Switching a new file to WAL takes a lock SQLite does not wait for (no busy
    /// handler), so a process opening the file while another one switches it gets SQLITE_BUSY at
    /// once: it tries again for up to the busy timeout.
    private static func openPool(path: String, configuration: Configuration) throws -> DatabasePool {
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do { return try DatabasePool(path: path, configuration: configuration) } catch let e as DatabaseError
                where (e.resultCode == .SQLITE_BUSY || e.resultCode == .SQLITE_LOCKED) && Date() < deadline {
                usleep(20_000)
            }
        }
    }

    // MARK: Studies

    public func createStudy(name: String, directions: [Direction], metrics: [String], spacePath: String, spaceText: String,
                            samplerJSON: String, schedulerJSON: String, seed: UInt64, trialsTotal: Int,
                            maxEpochs: Int?, runOptionsJSON: String?) throws -> StudyRecord {
        try OptunaEncoding.checkObjectives(directions, metrics)
        let now = OptunaEncoding.datetime(Date())
        return try pool.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM studies WHERE study_name = ?", arguments: [name]) != nil {
                throw InputError(file: path, field: "study", "a study named '\(name)' already exists; choose another name")
            }
            try db.execute(sql: "INSERT INTO studies (study_name) VALUES (?)", arguments: [name])
            let id = db.lastInsertedRowID
            for (i, d) in directions.enumerated() {
                try db.execute(sql: "INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)",
                               arguments: [OptunaEncoding.direction(d), id, i])
            }
            // OR REPLACE: a row left by a study Optuna deleted (it does not enforce foreign keys)
            // whose id SQLite reused.
            try db.execute(sql: """
                INSERT OR REPLACE INTO sweep_studies (study_id, space_path, space_text, metric, sampler_json, scheduler_json,
                    seed, trials_total, max_epochs, created_at, updated_at, status, run_options)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)
                """, arguments: [id, spacePath, spaceText, metrics[0], samplerJSON, schedulerJSON, String(seed), trialsTotal,
                                 maxEpochs, now, now, runOptionsJSON])
            try Schema.setMetricNames(db, studyID: id, metrics: metrics, replace: true)
            return try fetchStudies(db, where: "s.study_id = ?", [id])[0]
        }
    }

    public func study(named name: String) throws -> StudyRecord? {
        try pool.read { db in try fetchStudies(db, where: "s.study_name = ?", [name]).first }
    }

    public func study(id: Int64) throws -> StudyRecord? {
        try pool.read { db in try fetchStudies(db, where: "s.study_id = ?", [id]).first }
    }

    public func latestStudy() throws -> StudyRecord? {
        try pool.read { db in
            try fetchStudies(db, where: "s.study_id = (SELECT study_id FROM sweep_studies ORDER BY created_at DESC, study_id DESC LIMIT 1)", []).first
        }
    }

    public func studies() throws -> [StudySummary] {
        try pool.read { db in
            let records = try fetchStudies(db, where: "1", [])
            var counts: [Int64: [TrialState: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT study_id, state, COUNT(*) AS n FROM trials GROUP BY study_id, state") {
                guard let state = TrialState(rawValue: row["state"]) else { continue }
                counts[row["study_id"], default: [:]][state] = row["n"]
            }
            var values: [Int64: [Double]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT t.study_id, v.value, v.value_type FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id
                WHERE t.state = 'COMPLETE' AND v.objective = 0
                """) {
                values[row["study_id"], default: []].append(OptunaEncoding.float(row["value"], type: row["value_type"]))
            }
            return records.map { s in
                let best = values[s.id]?.min { $0 * s.direction.sign < $1 * s.direction.sign }
                return StudySummary(id: s.id, name: s.name, direction: s.direction, metric: s.metric, status: s.status,
                                    trialsTotal: s.trialsTotal, counts: counts[s.id] ?? [:], bestValue: best, createdAt: s.createdAt)
            }
        }
    }

    public func updateStudy(id: Int64, _ update: StudyUpdate) throws {
        let (trialsTotal, status, runOptionsJSON) = (update.trialsTotal, update.status, update.runOptionsJSON)
        let (stopReason, spacePath, spaceText) = (update.stopReason, update.spacePath, update.spaceText)
        let now = OptunaEncoding.datetime(Date())
        try pool.write { db in
            try db.execute(sql: """
                UPDATE sweep_studies SET trials_total = COALESCE(?, trials_total), status = COALESCE(?, status),
                    run_options = COALESCE(?, run_options),
                    stop_reason = CASE WHEN ? IS NOT NULL THEN ? WHEN ? IS NOT NULL THEN NULL ELSE stop_reason END,
                    space_path = COALESCE(?, space_path), space_text = COALESCE(?, space_text),
                    updated_at = ?
                WHERE study_id = ?
                """, arguments: [trialsTotal, status?.rawValue, runOptionsJSON, stopReason, stopReason, status?.rawValue, spacePath, spaceText, now, id])
            guard db.changesCount == 1 else { throw RuntimeFailure("\(path): no Sweep study with id \(id)") }
        }
    }

    @discardableResult
    public func deleteStudy(id: Int64, holderKnownDead: String?) throws -> Int {
        try pool.write { db in
            try refuseLiveController(db, studyID: id, owner: nil, holderKnownDead: holderKnownDead)
            let trials = "SELECT trial_id FROM trials WHERE study_id = ?"
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM trials WHERE study_id = ?", arguments: [id]) ?? 0
            // Children first: Optuna's foreign keys have no ON DELETE, and GRDB enforces them.
            for table in ["trial_heartbeats", "trial_intermediate_values", "trial_values", "trial_params", "trial_user_attributes",
                          "trial_system_attributes", "sweep_trials"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE trial_id IN (\(trials))", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM trials WHERE study_id = ?", arguments: [id])
            for table in ["study_user_attributes", "study_system_attributes", "study_directions", "sweep_studies", "studies"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE study_id = ?", arguments: [id])
            }
            return count
        }
    }

    // MARK: Which process runs a study

    /// Now on SQLite's clock, in the form of `controller_expires` (which compares as text).
    static let sqliteNow = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

    public func claimStudy(id: Int64, owner: String, leaseSeconds: Double, holderKnownDead: String?) throws {
        try pool.write { db in
            try refuseLiveController(db, studyID: id, owner: owner, holderKnownDead: holderKnownDead)
            try db.execute(sql: """
                UPDATE sweep_studies SET controller_owner = ?, controller_expires = strftime('%Y-%m-%d %H:%M:%f', 'now', ?)
                WHERE study_id = ?
                """, arguments: [owner, "+\(leaseSeconds) seconds", id])
        }
    }

    /// Throws the `InputError` of `claimStudy` when a lease runs whose holder is neither `owner`
    /// nor `holderKnownDead`, a `RuntimeFailure` when there is no such Sweep study.
    func refuseLiveController(_ db: Database, studyID id: Int64, owner: String?, holderKnownDead: String?) throws {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT s.study_name, w.controller_owner, w.controller_expires > \(Self.sqliteNow) AS live FROM sweep_studies w
            JOIN studies s ON s.study_id = w.study_id WHERE w.study_id = ?
            """, arguments: [id]) else { throw RuntimeFailure("\(path): no Sweep study with id \(id)") }
        guard let holder: String = row["controller_owner"], (row["live"] as Bool?) == true, holder != owner, holder != holderKnownDead else { return }
        throw InputError(file: path, field: "study", Lease.refusal(study: row["study_name"], holder: holder))
    }

    public func controllerHeartbeat(studyID: Int64, owner: String, leaseSeconds: Double, runningTrials: [Int64]) throws {
        let now = OptunaEncoding.datetime(Date())
        try pool.write { db in
            try db.execute(sql: """
                UPDATE sweep_studies SET controller_expires = strftime('%Y-%m-%d %H:%M:%f', 'now', ?)
                WHERE study_id = ? AND controller_owner = ?
                """, arguments: ["+\(leaseSeconds) seconds", studyID, owner])
            for id in runningTrials where try state(db, id) == .running {
                let holder = try String.fetchOne(db, sql: "SELECT owner FROM sweep_trials WHERE trial_id = ?", arguments: [id])
                if holder == nil || holder == owner { try beat(db, id, now) }
            }
        }
    }

    public func recordArtifacts(trialID: Int64, dir: String) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE sweep_trials SET artifact_dir = ? WHERE trial_id = ?", arguments: [dir, trialID])
            guard db.changesCount == 1 else { throw RuntimeFailure("\(path): no Sweep trial with id \(trialID)") }
        }
    }

    public func releaseStudy(id: Int64, owner: String) throws {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE sweep_studies SET controller_owner = NULL, controller_expires = NULL WHERE study_id = ? AND controller_owner = ?
                """, arguments: [id, owner])
        }
    }

    // MARK: Trials: writing

    /// A new trial with the next number: RUNNING from now with a heartbeat, or WAITING unstarted.
    public func createTrial(studyID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                            configJSON: String, workerPID: Int32?, expectedNumber: Int?, waiting: Bool) throws -> (trialID: Int64, number: Int) {
        try QueuedTrials.checkFinite(params)
        let now = OptunaEncoding.datetime(Date())
        return try pool.write { db in
            guard try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM sweep_studies WHERE study_id = ?"), arguments: [studyID]) != nil else {
                throw RuntimeFailure("\(path): no Sweep study with id \(studyID)")
            }
            let number = try nextNumber(db, studyID)
            if let expectedNumber, expectedNumber != number { throw TrialNumberTaken(number: expectedNumber) }
            let trialID = try insertTrial(db, studyID: studyID, number: number, params: params, seed: seed, configJSON: configJSON,
                                          workerPID: workerPID, startedAt: waiting ? nil : now)
            if !waiting { try beat(db, trialID, now) }
            return (trialID, number)
        }
    }

    /// A trial's rows (Optuna's, its parameters, Sweep's): RUNNING since `startedAt`, or WAITING
    /// unstarted without it. Returns its id.
    private func insertTrial(_ db: Database, studyID: Int64, number: Int, params: [(name: String, value: Double, distributionJSON: String)],
                             seed: UInt64, configJSON: String, workerPID: Int32?, startedAt: String?) throws -> Int64 {
        try db.cachedStatement(sql: "INSERT INTO trials (number, study_id, state, datetime_start) VALUES (?, ?, ?, ?)")
            .execute(arguments: [number, studyID, startedAt == nil ? "WAITING" : "RUNNING", startedAt])
        let trialID = db.lastInsertedRowID
        let insertParam = try db.cachedStatement(sql: "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)")
        for p in params { try insertParam.execute(arguments: [trialID, p.name, p.value, p.distributionJSON]) }
        // OR REPLACE: see createStudy.
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO sweep_trials (trial_id, seed, config_json, worker_pid, unstarted) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [trialID, String(seed), configJSON, workerPID, startedAt == nil ? 1 : 0])
        return trialID
    }

    public func createWaitingTrials(studyID: Int64, _ trials: [NewWaitingTrial], firstNumber: Int) throws -> [Int64] {
        for t in trials { try QueuedTrials.checkFinite(t.params) }
        return try pool.write { db in
            guard try Row.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM sweep_studies WHERE study_id = ?"), arguments: [studyID]) != nil else {
                throw RuntimeFailure("\(path): no Sweep study with id \(studyID)")
            }
            guard try nextNumber(db, studyID) == firstNumber else { throw TrialNumberTaken(number: firstNumber) }
            return try trials.enumerated().map { i, t in
                try insertTrial(db, studyID: studyID, number: firstNumber + i, params: t.params, seed: t.seed, configJSON: t.configJSON,
                                workerPID: nil, startedAt: nil)
            }
        }
    }

    public func claimWaitingTrial(studyID: Int64, owner: String, worker: String) throws -> StoredTrial? {
        let now = OptunaEncoding.datetime(Date())
        // SQLite's writer transaction makes the pick and the start one step for every process.
        return try pool.write { db in
            guard let id = try Int64.fetchOne(db, sql: """
                SELECT t.trial_id FROM trials t JOIN sweep_trials w ON w.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'WAITING' AND NOT EXISTS (
                    SELECT 1 FROM trial_system_attributes a WHERE a.trial_id = t.trial_id AND a."key" = ?)
                ORDER BY t.number LIMIT 1
                """, arguments: [studyID, TrialAttribute.pausedAtEpoch]) else { return nil }
            try clearRun(db, id)
            try db.execute(sql: "UPDATE trials SET state = 'RUNNING', datetime_start = ?, datetime_complete = NULL WHERE trial_id = ?",
                           arguments: [now, id])
            try db.execute(sql: """
                UPDATE sweep_trials SET attempts = attempts + 1 - unstarted, unstarted = 0, owner = ? WHERE trial_id = ?
                """, arguments: [owner, id])
            try setSystemAttribute(db, id, TrialAttribute.worker, OptunaEncoding.json(worker))
            return try fetchTrials(db, where: "t.trial_id = ?", [id]).first
        }
    }

    public func requeueStaleTrials(studyID: Int64, staleSeconds: Double) throws -> [Int] {
        let cutoff = OptunaEncoding.datetime(Date().addingTimeInterval(-staleSeconds))
        return try pool.write { db in
            let stale = try Row.fetchAll(db, sql: """
                SELECT t.trial_id, t.number FROM trials t JOIN sweep_trials w ON w.trial_id = t.trial_id
                LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'RUNNING'
                    AND MAX(COALESCE(h.heartbeat, ''), COALESCE(t.datetime_start, '')) < ? ORDER BY t.number
                """, arguments: [studyID, cutoff])
            for row in stale { try requeue(db, row["trial_id"]) }
            return stale.map { $0["number"] }
        }
    }

    public func reportIntermediate(trialID: Int64, step: Int, value: Double, owner: String?) throws {
        guard step >= 0 else { throw RuntimeFailure("trial \(trialID): step \(step) is negative; steps count from 0") }
        let (stored, type) = OptunaEncoding.float(value)
        let now = OptunaEncoding.datetime(Date())
        try pool.write { db in
            try requireOwner(db, trialID, owner)
            try requireRunning(db, trialID)
            try db.cachedStatement(sql: """
                INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?)
                ON CONFLICT (trial_id, step) DO UPDATE
                SET intermediate_value = excluded.intermediate_value, intermediate_value_type = excluded.intermediate_value_type
                """).execute(arguments: [trialID, step, stored, type])
            try beat(db, trialID, now)
        }
    }

    @discardableResult
    public func finishTrial(trialID: Int64, state: TrialState, values: [Double]?, constraints: [Double]?, exitStatus: Int32?, reason: String?,
                            stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?,
                            owner: String?) throws -> TrialState {
        guard state.isFinished else { throw RuntimeFailure("trial \(trialID): \(state.rawValue) is not a finished state") }
        let now = OptunaEncoding.datetime(Date())
        return try pool.write { db in
            try requireOwner(db, trialID, owner)
            try requireRunning(db, trialID)
            let objectives = try Int.fetchOne(db.cachedStatement(sql: """
                SELECT COUNT(*) FROM study_directions d JOIN trials t ON t.study_id = d.study_id WHERE t.trial_id = ?
                """), arguments: [trialID]) ?? 1
            let (final, stored, reason) = try OptunaEncoding.finishing(state, values: values, objectives: max(objectives, 1), reason: reason) {
                try Row.fetchOne(db.cachedStatement(sql: """
                    SELECT intermediate_value, intermediate_value_type FROM trial_intermediate_values
                    WHERE trial_id = ? ORDER BY step DESC LIMIT 1
                    """), arguments: [trialID]).map { OptunaEncoding.float($0["intermediate_value"], type: $0["intermediate_value_type"]) }
            }
            for (i, v) in (stored ?? []).enumerated() {
                let (x, type) = OptunaEncoding.float(v)
                try db.cachedStatement(sql: "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [trialID, i, x, type])
            }
            if let constraints {
                try db.cachedStatement(sql: """
                    INSERT INTO trial_system_attributes (trial_id, "key", value_json) VALUES (?, ?, ?)
                    ON CONFLICT (trial_id, "key") DO UPDATE SET value_json = excluded.value_json
                    """).execute(arguments: [trialID, OptunaEncoding.constraintsKey, OptunaEncoding.jsonNumbers(constraints)])
            }
            try db.cachedStatement(sql: "UPDATE trials SET state = ?, datetime_complete = ? WHERE trial_id = ?")
                .execute(arguments: [final.rawValue, now, trialID])
            try db.cachedStatement(sql: """
                UPDATE sweep_trials SET exit_status = ?, reason = ?, stderr_tail = ?, epochs_run = ?, duration_seconds = ?,
                    artifact_dir = ? WHERE trial_id = ?
                """).execute(arguments: [exitStatus, reason, stderrTail, epochsRun, durationSeconds, artifactDir, trialID])
            if final == .fail, let reason { try setFailReason(db, trialID, reason) }
            return final
        }
    }

    public func requeueTrial(trialID: Int64, owner: String?) throws {
        try pool.write { db in
            let s = try state(db, trialID)
            if s == .waiting { return }
            try requireOwner(db, trialID, owner)
            guard s == .running else { throw try notRunning(db, trialID, s) }
            try requeue(db, trialID)
        }
    }

    /// Puts a RUNNING trial back to WAITING (see `requeueTrial`).
    func requeue(_ db: Database, _ trialID: Int64) throws {
        try clearRun(db, trialID)
        try db.execute(sql: "UPDATE sweep_trials SET owner = NULL WHERE trial_id = ?", arguments: [trialID])
        try db.execute(sql: "DELETE FROM trial_heartbeats WHERE trial_id = ?", arguments: [trialID])
        try db.execute(sql: "UPDATE trials SET state = 'WAITING', datetime_start = NULL, datetime_complete = NULL WHERE trial_id = ?",
                       arguments: [trialID])
    }

    /// Throws `TrialNotOwned` when `owner` is given and is not the trial's (see `reportIntermediate`).
    func requireOwner(_ db: Database, _ trialID: Int64, _ owner: String?) throws {
        guard let owner else { return }
        let holder = try String.fetchOne(db, sql: "SELECT owner FROM sweep_trials WHERE trial_id = ?", arguments: [trialID])
        if holder != owner { throw TrialNotOwned(trialID: trialID, owner: owner) }
    }

    public func setWorkerPID(trialID: Int64, pid: Int32) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE sweep_trials SET worker_pid = ? WHERE trial_id = ?", arguments: [pid, trialID])
        }
    }

    public func restartTrial(trialID: Int64, workerPID: Int32?) throws {
        let now = OptunaEncoding.datetime(Date())
        try pool.write { db in
            let s = try state(db, trialID)
            guard s == .waiting || s == .running else { throw try notRunning(db, trialID, s) }
            try clearRun(db, trialID)
            try db.execute(sql: "UPDATE trials SET state = 'RUNNING', datetime_start = ?, datetime_complete = NULL WHERE trial_id = ?",
                           arguments: [now, trialID])
            try db.execute(sql: "UPDATE sweep_trials SET attempts = attempts + 1 - unstarted, unstarted = 0, owner = NULL, worker_pid = ? WHERE trial_id = ?",
                           arguments: [workerPID, trialID])
            try beat(db, trialID, now)
        }
    }

    // MARK: Trials: reading

    public func trials(studyID: Int64) throws -> [StoredTrial] {
        try pool.read { db in try fetchTrials(db, where: "t.study_id = ?", [studyID]) }
    }

    public func finishedTrials(studyID: Int64, completedSince since: Date?) throws -> [StoredTrial] {
        let cutoff = since.map(OptunaEncoding.datetime) ?? ""
        return try pool.read { db in
            try fetchTrials(db, where: "t.study_id = ? AND t.state IN ('COMPLETE', 'PRUNED', 'FAIL') AND t.datetime_complete >= ?",
                            [studyID, cutoff])
        }
    }

    public func trials(studyID: Int64, fromNumber number: Int) throws -> [StoredTrial] {
        try pool.read { db in try fetchTrials(db, where: "t.study_id = ? AND t.number >= ?", [studyID, number]) }
    }

    public func trial(studyID: Int64, number: Int) throws -> StoredTrial? {
        try pool.read { db in try fetchTrials(db, where: "t.study_id = ? AND t.number = ?", [studyID, number]).first }
    }

    public func bestTrial(studyID: Int64, direction: Direction) throws -> StoredTrial? {
        try pool.read { db in
            var best: (id: Int64, loss: Double)? = nil
            for row in try Row.fetchAll(db, sql: """
                SELECT t.trial_id, v.value, v.value_type FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'COMPLETE' AND v.objective = 0 ORDER BY t.number
                """, arguments: [studyID]) {
                let loss = OptunaEncoding.float(row["value"], type: row["value_type"]) * direction.sign
                if best == nil || loss < best!.loss { best = (row["trial_id"], loss) }
            }
            guard let best else { return nil }
            return try fetchTrials(db, where: "t.trial_id = ?", [best.id]).first
        }
    }

    // MARK: Helpers

    func fetchStudies(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [StudyRecord] {
        try Row.fetchAll(db, sql: """
            SELECT s.study_id, s.study_name, d.direction, w.metric, w.space_path, w.space_text, w.sampler_json,
                w.scheduler_json, w.seed, w.trials_total, w.max_epochs, w.created_at, w.updated_at, w.status,
                w.controller_owner, w.controller_expires > \(Self.sqliteNow) AS lease_live, w.run_options, w.stop_reason,
                (SELECT group_concat(direction, ',') FROM (SELECT direction FROM study_directions
                    WHERE study_id = s.study_id ORDER BY objective)) AS directions,
                (SELECT value_json FROM study_system_attributes WHERE study_id = s.study_id AND "key" = ?) AS metric_names
            FROM studies s
            JOIN sweep_studies w ON w.study_id = s.study_id
            LEFT JOIN study_directions d ON d.study_id = s.study_id AND d.objective = 0
            WHERE \(condition) ORDER BY w.created_at, s.study_id
            """, arguments: [OptunaEncoding.metricNamesKey] + arguments).map { row in
            OptunaEncoding.withObjectives(StudyRecord(id: row["study_id"], name: row["study_name"], direction: OptunaEncoding.direction(row["direction"] as String?),
                        metric: row["metric"], spacePath: row["space_path"], spaceText: row["space_text"],
                        samplerJSON: row["sampler_json"], schedulerJSON: row["scheduler_json"],
                        seed: UInt64(row["seed"] as String) ?? 0, trialsTotal: row["trials_total"], maxEpochs: row["max_epochs"],
                        createdAt: OptunaEncoding.date(row["created_at"]) ?? .distantPast,
                        updatedAt: OptunaEncoding.date(row["updated_at"]) ?? .distantPast,
                        status: StudyStatus(rawValue: row["status"]) ?? .stopped, controllerOwner: row["controller_owner"],
                        controllerLeaseLive: (row["lease_live"] as Bool?) ?? false,
                        runOptionsJSON: row["run_options"], stopReason: row["stop_reason"]),
                                          directions: row["directions"], metricNames: row["metric_names"])
        }
    }

    /// Trials matching a condition on `trials t`, by number, with their parameters and reports.
    func fetchTrials(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [StoredTrial] {
        let matching = "SELECT t.trial_id FROM trials t WHERE \(condition)"
        var params: [Int64: [String: Double]] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT trial_id, param_name, param_value FROM trial_params WHERE trial_id IN (\(matching))
            """), arguments: arguments) {
            guard let name: String = row["param_name"], let value: Double = row["param_value"] else { continue }
            params[row["trial_id"], default: [:]][name] = value
        }
        var reports: [Int64: [Int: Double]] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT trial_id, step, intermediate_value, intermediate_value_type FROM trial_intermediate_values
            WHERE trial_id IN (\(matching))
            """), arguments: arguments) {
            reports[row["trial_id"], default: [:]][row["step"]] =
                OptunaEncoding.float(row["intermediate_value"], type: row["intermediate_value_type"])
        }
        // Every objective's value (studies of several objectives) and Optuna's constraints.
        var values: [Int64: [Int: Double]] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT trial_id, objective, value, value_type FROM trial_values WHERE trial_id IN (\(matching))
            """), arguments: arguments) {
            values[row["trial_id"], default: [:]][row["objective"]] = OptunaEncoding.float(row["value"], type: row["value_type"])
        }
        var constraints: [Int64: [Double]] = [:]
        var vectors: [Int64: [Int: [Double]]] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT trial_id, "key", value_json FROM trial_system_attributes
            WHERE ("key" IN (?, ?) OR "key" LIKE 'constraints:%') AND trial_id IN (\(matching)) ORDER BY "key"
            """), arguments: [OptunaEncoding.constraintsKey, TrialAttribute.intermediateValues] + arguments) {
            let key: String = row["key"]
            if key == TrialAttribute.intermediateValues { vectors[row["trial_id"]] = TrialAttribute.intermediateValues(json: row["value_json"]) }
            else { OptunaEncoding.addConstraint(key: key, json: row["value_json"], to: &constraints[row["trial_id"]]) }
        }
        return try Row.fetchAll(db.cachedStatement(sql: """
            SELECT t.trial_id, t.number, t.state, t.datetime_start, t.datetime_complete, v.value, v.value_type,
                w.seed, w.config_json, w.attempts, w.worker_pid, w.exit_status, w.reason, w.stderr_tail, w.epochs_run,
                w.duration_seconds, w.artifact_dir, w.trial_id IS NOT NULL AS owned, w.owner
            FROM trials t
            LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0
            LEFT JOIN sweep_trials w ON w.trial_id = t.trial_id
            WHERE \(condition) ORDER BY t.number
            """), arguments: arguments).map { row in
            let id: Int64 = row["trial_id"]
            let valueType: String? = row["value_type"]
            let record = TrialRecord(number: row["number"], state: TrialState(rawValue: row["state"]) ?? .fail,
                                     params: params[id] ?? [:],
                                     value: valueType.map { OptunaEncoding.float(row["value"], type: $0) },
                                     intermediate: reports[id] ?? [:], values: OptunaEncoding.objectiveValues(values[id]),
                                     constraints: constraints[id], intermediateValues: vectors[id] ?? [:])
            return StoredTrial(trialID: id, record: record,
                               datetimeStart: (row["datetime_start"] as String?).flatMap(OptunaEncoding.date),
                               datetimeComplete: (row["datetime_complete"] as String?).flatMap(OptunaEncoding.date),
                               seed: (row["seed"] as String?).flatMap { UInt64($0) } ?? 0,
                               configJSON: row["config_json"] ?? "", attempts: row["attempts"] ?? 1,
                               workerPID: row["worker_pid"], exitStatus: row["exit_status"], reason: row["reason"],
                               stderrTail: row["stderr_tail"], epochsRun: row["epochs_run"],
                               durationSeconds: row["duration_seconds"], artifactDir: row["artifact_dir"], ownedBySweep: row["owned"],
                               owner: row["owner"])
        }
    }

    func setFailReason(_ db: Database, _ trialID: Int64, _ reason: String) throws {
        try db.cachedStatement(sql: """
            INSERT INTO trial_user_attributes (trial_id, "key", value_json) VALUES (?, ?, ?)
            ON CONFLICT (trial_id, "key") DO UPDATE SET value_json = excluded.value_json
            """).execute(arguments: [trialID, OptunaEncoding.failReasonKey, OptunaEncoding.json(reason)])
    }

    func beat(_ db: Database, _ trialID: Int64, _ now: String) throws {
        try db.cachedStatement(sql: """
            INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, ?)
            ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat
            """).execute(arguments: [trialID, now])
    }

    /// Forgets a run of the trial (before it runs again): reports, exit, timings.
    func clearRun(_ db: Database, _ trialID: Int64) throws {
        try db.execute(sql: "DELETE FROM trial_intermediate_values WHERE trial_id = ?", arguments: [trialID])
        try db.execute(sql: """
            UPDATE sweep_trials SET worker_pid = NULL, exit_status = NULL, reason = NULL, stderr_tail = NULL, epochs_run = NULL,
                duration_seconds = NULL, artifact_dir = NULL WHERE trial_id = ?
            """, arguments: [trialID])
    }

    func state(_ db: Database, _ trialID: Int64) throws -> TrialState {
        guard let s = try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM trials WHERE trial_id = ?"), arguments: [trialID]) else {
            throw RuntimeFailure("\(path): no trial with id \(trialID)")
        }
        return TrialState(rawValue: s) ?? .fail
    }

    func requireRunning(_ db: Database, _ trialID: Int64) throws {
        let s = try state(db, trialID)
        guard s == .running else { throw try notRunning(db, trialID, s) }
    }

    func notRunning(_ db: Database, _ trialID: Int64, _ s: TrialState) throws -> RuntimeFailure {
        let row = try Row.fetchOne(db, sql: """
            SELECT t.number, s.study_name FROM trials t JOIN studies s ON s.study_id = t.study_id WHERE t.trial_id = ?
            """, arguments: [trialID])
        let which = row.map { "trial \($0["number"] as Int) of study '\($0["study_name"] as String)'" } ?? "trial id \(trialID)"
        return RuntimeFailure("\(path): \(which) is \(s.rawValue); only a running trial can change")
    }
}
