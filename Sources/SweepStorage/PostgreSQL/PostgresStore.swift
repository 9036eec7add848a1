import Foundation
import PostgresNIO
import SweepCore
import SweepSearch

/// The `TrialStore` in a PostgreSQL database: `optuna.load_study(study_name: ..., storage:
/// "postgresql+psycopg://...")` reads it. Beside the contract of `TrialStore`:
/// - **Connections.** A small pool (`PGPool`: a few connections per process, whatever the
///   number of threads using the store); a lost connection is opened again and a transaction
///   that had not committed runs again, for up to `PGPool.reconnectFor`.
/// - **Clock.** Times (trial start and end, heartbeats, leases) are the database server's, in UTC.
/// - **Trial numbers.** A transaction that numbers a trial locks its study's `sweep_studies` row
///   first (`FOR NO KEY UPDATE`), so Sweep's writers number one at a time per study and never
///   deadlock (every such transaction takes that lock before any other).
/// - **Reading only.** `readOnly` opens sessions whose transactions cannot write; the schema
///   is brought up to date first as for a writer (as SQLite upgrades a writable file).
/// - **Errors** name the URL without its password; I/O errors are postgres-nio's `PSQLError`.
public final class PostgresStore: TrialStore {
    public let url: PostgresLocation
    public var location: String { url.redacted }
    let pool: PGPool
    public let isReadOnly: Bool

    /// How many connections one store opens at most.
    public static let defaultPoolSize = 4

    /// Opens the database and brings its schema up to date. `InputError` naming the URL (without
    /// its password) for a server that cannot be reached, a refused password or user, a missing
    /// database, and the schema refusals of `TrialStore`.
    public init(_ url: PostgresLocation, readOnly: Bool = false, poolSize: Int = PostgresStore.defaultPoolSize) throws {
        self.url = url
        isReadOnly = readOnly
        var config = try url.configuration()
        do {
            let migrating = PGPool(configuration: config, size: 1, reconnectFor: 0)
            try migrating.check()
            try PostgresSchema.migrate(migrating, location: url.redacted)
        } catch {
            throw Self.openingError(error, url)
        }
        if readOnly { config.options.additionalStartupParameters.append(("default_transaction_read_only", "on")) }
        pool = PGPool(configuration: config, size: poolSize)
    }

    /// An error on opening, in the user's terms.
    static func openingError(_ error: any Error, _ url: PostgresLocation) -> any Error {
        if error is InputError { return error }
        let at = url.redacted
        switch PGPool.sqlState(error) {
        case "28P01", "28000":
            var message = "refused user '\(url.user)' (\(Self.serverMessage(error)))"
            if url.password == nil { message += "; no password was given (in the URL, PGPASSWORD or ~/.pgpass)" }
            if let note = url.passwordFileNote { message += "; \(note)" }
            return InputError(file: at, message)
        case "3D000":
            return InputError(file: at, "has no database '\(url.database)'; create it first (createdb -h \(url.host) -p \(url.port) -U \(url.user) \(url.database))")
        case "42501":
            return InputError(file: at, "user '\(url.user)' may not create Sweep's tables (\(Self.serverMessage(error)))")
        default: break
        }
        if let e = error as? PSQLError {
            switch e.code {
            case .sslUnsupported:
                return InputError(file: at, field: "sslmode", "the server does not offer TLS, which sslmode=\(url.sslMode) requires")
            case .authMechanismRequiresPassword:
                return InputError(file: at, "asks a password for user '\(url.user)' and none was given (in the URL, PGPASSWORD or ~/.pgpass)"
                                  + (url.passwordFileNote.map { "; \($0)" } ?? ""))
            default: break
            }
        }
        if let e = error as? PSQLError, let tls = e.underlying as? NIOSSLError, case .handshakeFailed(let why) = tls {
            let verifying = url.sslMode.hasPrefix("verify")
            return InputError(file: at, field: "sslmode", "the TLS handshake with \(url.host):\(url.port) failed (\(why))"
                + (verifying ? "; the server's certificate was not accepted: name the authority that signed it with sslrootcert=FILE, "
                    + "or use sslmode=require to encrypt without verifying" : ""))
        }
        if PGPool.isConnectionLoss(error) {
            var why = "\(error)"
            if let e = error as? PSQLError, let underlying = e.underlying { why = "\(underlying)" }
            return InputError(file: at, "cannot be reached (\(why)); is a PostgreSQL server listening on \(url.host):\(url.port)?")
        }
        return error
    }

    static func serverMessage(_ error: any Error) -> String {
        (error as? PSQLError)?.serverInfo?[.message] ?? "\(error)"
    }

    // MARK: Studies

    public func createStudy(name: String, directions: [Direction], metrics: [String], spacePath: String, spaceText: String,
                            samplerJSON: String, schedulerJSON: String, seed: UInt64, trialsTotal: Int,
                            maxEpochs: Int?) throws -> StudyRecord {
        try OptunaEncoding.checkObjectives(directions, metrics)
        return try pool.transaction { db in
            // One creator of a name at a time (the unique index would refuse the second anyway).
            try db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", ["sweep-study:" + name])
            if try !db.query("SELECT 1 FROM studies WHERE study_name = ?", [name]).isEmpty {
                throw InputError(file: location, field: "study", "a study named '\(name)' already exists; choose another name")
            }
            let id: Int64 = try db.scalar("INSERT INTO studies (study_name) VALUES (?) RETURNING study_id", [name])!
            for (i, d) in directions.enumerated() {
                try db.execute("INSERT INTO study_directions (direction, study_id, objective) VALUES (?::studydirection, ?, ?)",
                               [OptunaEncoding.direction(d), id, i])
            }
            try db.execute("""
                INSERT INTO sweep_studies (study_id, space_path, space_text, metric, sampler_json, scheduler_json,
                    seed, trials_total, max_epochs, created_at, updated_at, status)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, LOCALTIMESTAMP, LOCALTIMESTAMP, 'running')
                """, [id, spacePath, spaceText, metrics[0], samplerJSON, schedulerJSON, String(seed), trialsTotal, maxEpochs])
            try PostgresSchema.setMetricNames(db, studyID: id, metrics: metrics, replace: true)
            return try fetchStudies(db, where: "s.study_id = ?", [id])[0]
        }
    }

    public func study(named name: String) throws -> StudyRecord? {
        try pool.transaction(readOnly: true) { db in try fetchStudies(db, where: "s.study_name = ?", [name]).first }
    }

    public func study(id: Int64) throws -> StudyRecord? {
        try pool.transaction(readOnly: true) { db in try fetchStudies(db, where: "s.study_id = ?", [id]).first }
    }

    public func latestStudy() throws -> StudyRecord? {
        try pool.transaction(readOnly: true) { db in
            try fetchStudies(db, where: "s.study_id = (SELECT study_id FROM sweep_studies ORDER BY created_at DESC, study_id DESC LIMIT 1)", []).first
        }
    }

    public func studies() throws -> [StudySummary] {
        try pool.transaction(readOnly: true) { db in
            let records = try fetchStudies(db, where: "TRUE", [])
            var counts: [Int64: [TrialState: Int]] = [:]
            for row in try db.query("SELECT study_id, state::text AS state, COUNT(*) AS n FROM trials GROUP BY study_id, state") {
                guard let state = TrialState(rawValue: try row["state"]) else { continue }
                counts[try row["study_id"] as Int64, default: [:]][state] = Int(try row["n"] as Int64)
            }
            var values: [Int64: [Double]] = [:]
            for row in try db.query("""
                SELECT t.study_id, v.value, v.value_type::text AS value_type FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id
                WHERE t.state = 'COMPLETE' AND v.objective = 0
                """) {
                values[try row["study_id"] as Int64, default: []].append(OptunaEncoding.float(try row["value"], type: try row["value_type"]))
            }
            return records.map { s in
                let best = values[s.id]?.min { $0 * s.direction.sign < $1 * s.direction.sign }
                return StudySummary(id: s.id, name: s.name, direction: s.direction, metric: s.metric, status: s.status,
                                    trialsTotal: s.trialsTotal, counts: counts[s.id] ?? [:], bestValue: best, createdAt: s.createdAt)
            }
        }
    }

    public func updateStudy(id: Int64, _ update: StudyUpdate) throws {
        try pool.transaction { db in
            let changed = try db.execute("""
                UPDATE sweep_studies SET trials_total = COALESCE(?, trials_total), status = COALESCE(?, status),
                    run_options = COALESCE(?, run_options),
                    stop_reason = CASE WHEN ?::text IS NOT NULL THEN ? WHEN ?::text IS NOT NULL THEN NULL ELSE stop_reason END,
                    space_path = COALESCE(?, space_path), space_text = COALESCE(?, space_text),
                    updated_at = LOCALTIMESTAMP
                WHERE study_id = ?
                """, [update.trialsTotal, update.status?.rawValue, update.runOptionsJSON, update.stopReason, update.stopReason,
                      update.status?.rawValue, update.spacePath, update.spaceText, id])
            guard changed == 1 else { throw RuntimeFailure("\(location): no Sweep study with id \(id)") }
        }
    }

    @discardableResult
    public func deleteStudy(id: Int64, holderKnownDead: String?) throws -> Int {
        try pool.transaction { db in
            try refuseLiveController(db, studyID: id, owner: nil, holderKnownDead: holderKnownDead, lock: "FOR UPDATE")
            let trials = "SELECT trial_id FROM trials WHERE study_id = ?"
            let count = try db.scalar("SELECT COUNT(*) FROM trials WHERE study_id = ?", [id], as: Int64.self) ?? 0
            for table in ["trial_heartbeats", "trial_intermediate_values", "trial_values", "trial_params", "trial_user_attributes",
                          "trial_system_attributes", "sweep_trials"] {
                try db.execute("DELETE FROM \(table) WHERE trial_id IN (\(trials))", [id])
            }
            try db.execute("DELETE FROM trials WHERE study_id = ?", [id])
            for table in ["study_user_attributes", "study_system_attributes", "study_directions", "sweep_studies", "studies"] {
                try db.execute("DELETE FROM \(table) WHERE study_id = ?", [id])
            }
            return Int(count)
        }
    }

    // MARK: Which process runs a study

    public func claimStudy(id: Int64, owner: String, leaseSeconds: Double, holderKnownDead: String?) throws {
        try pool.transaction { db in
            try refuseLiveController(db, studyID: id, owner: owner, holderKnownDead: holderKnownDead, lock: "FOR NO KEY UPDATE")
            try db.execute("""
                UPDATE sweep_studies SET controller_owner = ?, controller_expires = LOCALTIMESTAMP + make_interval(secs => ?)
                WHERE study_id = ?
                """, [owner, leaseSeconds, id])
        }
    }

    /// Throws the `InputError` of `claimStudy` when a lease runs whose holder is neither `owner`
    /// nor `holderKnownDead`, a `RuntimeFailure` when there is no such Sweep study. Locks the
    /// study's row (`lock`) first.
    func refuseLiveController(_ db: PGSession, studyID id: Int64, owner: String?, holderKnownDead: String?, lock: String) throws {
        guard let row = try db.query("""
            SELECT s.study_name, w.controller_owner, COALESCE(w.controller_expires > LOCALTIMESTAMP, FALSE) AS live
            FROM sweep_studies w JOIN studies s ON s.study_id = w.study_id WHERE w.study_id = ? \(lock) OF w
            """, [id]).first else { throw RuntimeFailure("\(location): no Sweep study with id \(id)") }
        guard let holder: String = try row["controller_owner"], try row["live"] as Bool, holder != owner, holder != holderKnownDead else { return }
        throw InputError(file: location, field: "study", Lease.refusal(study: try row["study_name"], holder: holder))
    }

    public func controllerHeartbeat(studyID: Int64, owner: String, leaseSeconds: Double, runningTrials: [Int64]) throws {
        try pool.transaction { db in
            try db.execute("""
                UPDATE sweep_studies SET controller_expires = LOCALTIMESTAMP + make_interval(secs => ?)
                WHERE study_id = ? AND controller_owner = ?
                """, [leaseSeconds, studyID, owner])
            guard !runningTrials.isEmpty else { return }
            let ids = runningTrials.map(String.init).joined(separator: ",")
            try db.execute("""
                INSERT INTO trial_heartbeats (trial_id, heartbeat)
                SELECT t.trial_id, LOCALTIMESTAMP FROM trials t LEFT JOIN sweep_trials w ON w.trial_id = t.trial_id
                WHERE t.trial_id IN (\(ids)) AND t.state = 'RUNNING' AND (w.owner IS NULL OR w.owner = ?)
                ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat
                """, [owner])
        }
    }

    public func releaseStudy(id: Int64, owner: String) throws {
        try pool.transaction { db in
            try db.execute("UPDATE sweep_studies SET controller_owner = NULL, controller_expires = NULL WHERE study_id = ? AND controller_owner = ?",
                           [id, owner])
        }
    }

    public func recordArtifacts(trialID: Int64, dir: String) throws {
        try pool.transaction { db in
            guard try db.execute("UPDATE sweep_trials SET artifact_dir = ? WHERE trial_id = ?", [dir, trialID]) == 1 else {
                throw RuntimeFailure("\(location): no Sweep trial with id \(trialID)")
            }
        }
    }

    // MARK: Trials: writing

    /// A new trial with the next number: RUNNING from now with a heartbeat, or WAITING unstarted.
    public func createTrial(studyID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                            configJSON: String, workerPID: Int32?, expectedNumber: Int?, waiting: Bool) throws -> (trialID: Int64, number: Int) {
        try QueuedTrials.checkFinite(params)
        return try pool.transaction { db in
            let number = try lockNextNumber(db, studyID)
            if let expectedNumber, expectedNumber != number { throw TrialNumberTaken(number: expectedNumber) }
            let trialID: Int64 = try db.scalar(waiting
                ? "INSERT INTO trials (number, study_id, state) VALUES (?, ?, 'WAITING') RETURNING trial_id"
                : "INSERT INTO trials (number, study_id, state, datetime_start) VALUES (?, ?, 'RUNNING', LOCALTIMESTAMP) RETURNING trial_id",
                [number, studyID])!
            try insertParams(db, trialID, params)
            try db.execute("""
                INSERT INTO sweep_trials (trial_id, seed, config_json, worker_pid, unstarted) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (trial_id) DO UPDATE SET seed = excluded.seed, config_json = excluded.config_json,
                    worker_pid = excluded.worker_pid, unstarted = excluded.unstarted
                """, [trialID, String(seed), configJSON, workerPID, waiting ? 1 : 0])
            if !waiting { try beat(db, trialID) }
            return (trialID, number)
        }
    }

    public func claimWaitingTrial(studyID: Int64, owner: String, worker: String) throws -> StoredTrial? {
        try pool.transaction { db in
            // SKIP LOCKED: a trial another claimer is taking is passed over, never waited for.
            guard let id = try db.scalar("""
                SELECT t.trial_id FROM trials t JOIN sweep_trials w ON w.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'WAITING' AND NOT EXISTS (
                    SELECT 1 FROM trial_system_attributes a WHERE a.trial_id = t.trial_id AND a.key = ?)
                ORDER BY t.number LIMIT 1 FOR NO KEY UPDATE OF t SKIP LOCKED
                """, [studyID, TrialAttribute.pausedAtEpoch], as: Int64.self) else { return nil }
            try clearRun(db, id)
            try db.execute("UPDATE trials SET state = 'RUNNING', datetime_start = LOCALTIMESTAMP, datetime_complete = NULL WHERE trial_id = ?", [id])
            try db.execute("UPDATE sweep_trials SET attempts = attempts + 1 - unstarted, unstarted = 0, owner = ? WHERE trial_id = ?", [owner, id])
            try setSystemAttribute(db, id, TrialAttribute.worker, OptunaEncoding.json(worker))
            try beat(db, id)
            return try fetchTrials(db, where: "t.trial_id = ?", [id]).first
        }
    }

    public func requeueStaleTrials(studyID: Int64, staleSeconds: Double) throws -> [Int] {
        try pool.transaction { db in
            let stale = try db.query("""
                SELECT t.trial_id, t.number FROM trials t JOIN sweep_trials w ON w.trial_id = t.trial_id
                LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'RUNNING'
                    AND (h.heartbeat IS NULL OR h.heartbeat < LOCALTIMESTAMP - make_interval(secs => ?))
                ORDER BY t.number FOR NO KEY UPDATE OF t SKIP LOCKED
                """, [studyID, staleSeconds])
            for row in stale { try requeue(db, try row["trial_id"]) }
            return try stale.map { Int(try $0["number"] as Int64) }
        }
    }

    public func reportIntermediate(trialID: Int64, step: Int, value: Double, owner: String?) throws {
        guard step >= 0 else { throw RuntimeFailure("trial \(trialID): step \(step) is negative; steps count from 0") }
        let (stored, type) = OptunaEncoding.float(value)
        try pool.transaction { db in
            try requireOwner(db, trialID, owner)
            try requireRunning(db, trialID)
            try db.execute("""
                INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type)
                VALUES (?, ?, ?, ?::trialintermediatevaluetype)
                ON CONFLICT (trial_id, step) DO UPDATE
                SET intermediate_value = excluded.intermediate_value, intermediate_value_type = excluded.intermediate_value_type
                """, [trialID, step, stored, type])
            try beat(db, trialID)
        }
    }

    @discardableResult
    public func finishTrial(trialID: Int64, state: TrialState, values: [Double]?, constraints: [Double]?, exitStatus: Int32?, reason: String?,
                            stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?,
                            owner: String?) throws -> TrialState {
        guard state.isFinished else { throw RuntimeFailure("trial \(trialID): \(state.rawValue) is not a finished state") }
        return try pool.transaction { db in
            let s = try self.state(db, trialID, lock: true)
            try requireOwner(db, trialID, owner)
            guard s == .running else { throw try notRunning(db, trialID, s) }
            let (final, reason) = try writeFinalValues(db, trialID, state: state, values: values, reason: reason)
            if let constraints {
                try db.execute("""
                    INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES (?, ?, ?)
                    ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json
                    """, [trialID, OptunaEncoding.constraintsKey, OptunaEncoding.jsonNumbers(constraints)])
            }
            try db.execute("UPDATE trials SET state = ?::trialstate, datetime_complete = LOCALTIMESTAMP WHERE trial_id = ?",
                           [final.rawValue, trialID])
            try db.execute("""
                UPDATE sweep_trials SET exit_status = ?, reason = ?, stderr_tail = ?, epochs_run = ?, duration_seconds = ?,
                    artifact_dir = ? WHERE trial_id = ?
                """, [exitStatus, reason, stderrTail, epochsRun, durationSeconds, artifactDir, trialID])
            if final == .fail, let reason { try setFailReason(db, trialID, reason) }
            return final
        }
    }

    /// Writes a finishing trial's `trial_values` as Optuna stores them (`OptunaEncoding.finishing`:
    /// a PRUNED trial without values takes its last report) and returns the state and reason it
    /// finishes with.
    func writeFinalValues(_ db: PGSession, _ trialID: Int64, state: TrialState, values: [Double]?,
                          reason: String?) throws -> (TrialState, String?) {
        let objectives = try db.scalar("""
            SELECT COUNT(*) FROM study_directions d JOIN trials t ON t.study_id = d.study_id WHERE t.trial_id = ?
            """, [trialID], as: Int64.self).map(Int.init) ?? 1
        let (final, stored, reason) = try OptunaEncoding.finishing(state, values: values, objectives: max(objectives, 1), reason: reason) {
            try db.query("""
                SELECT intermediate_value, intermediate_value_type::text AS t FROM trial_intermediate_values
                WHERE trial_id = ? ORDER BY step DESC LIMIT 1
                """, [trialID]).first.map { OptunaEncoding.float(try $0["intermediate_value"], type: try $0["t"]) }
        }
        for (i, v) in (stored ?? []).enumerated() {
            let (x, type) = OptunaEncoding.float(v)
            try db.execute("INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?::trialvaluetype)",
                           [trialID, i, x, type])
        }
        return (final, reason)
    }

    public func requeueTrial(trialID: Int64, owner: String?) throws {
        try pool.transaction { db in
            let s = try state(db, trialID, lock: true)
            if s == .waiting { return }
            try requireOwner(db, trialID, owner)
            guard s == .running else { throw try notRunning(db, trialID, s) }
            try requeue(db, trialID)
        }
    }

    /// Puts a RUNNING trial (its row locked) back to WAITING (see `requeueTrial`).
    func requeue(_ db: PGSession, _ trialID: Int64) throws {
        try clearRun(db, trialID)
        try db.execute("UPDATE sweep_trials SET owner = NULL WHERE trial_id = ?", [trialID])
        try db.execute("DELETE FROM trial_heartbeats WHERE trial_id = ?", [trialID])
        try db.execute("UPDATE trials SET state = 'WAITING', datetime_start = NULL, datetime_complete = NULL WHERE trial_id = ?", [trialID])
    }

    /// Throws `TrialNotOwned` when `owner` is given and is not the trial's (see `reportIntermediate`).
    func requireOwner(_ db: PGSession, _ trialID: Int64, _ owner: String?) throws {
        guard let owner else { return }
        let holder = try db.scalar("SELECT owner FROM sweep_trials WHERE trial_id = ?", [trialID], as: String.self)
        if holder != owner { throw TrialNotOwned(trialID: trialID, owner: owner) }
    }

    public func setWorkerPID(trialID: Int64, pid: Int32) throws {
        try pool.transaction { db in try db.execute("UPDATE sweep_trials SET worker_pid = ? WHERE trial_id = ?", [pid, trialID]) }
    }

    public func restartTrial(trialID: Int64, workerPID: Int32?) throws {
        try pool.transaction { db in
            let s = try state(db, trialID, lock: true)
            guard s == .waiting || s == .running else { throw try notRunning(db, trialID, s) }
            try clearRun(db, trialID)
            try db.execute("UPDATE trials SET state = 'RUNNING', datetime_start = LOCALTIMESTAMP, datetime_complete = NULL WHERE trial_id = ?",
                           [trialID])
            try db.execute("UPDATE sweep_trials SET attempts = attempts + 1 - unstarted, unstarted = 0, owner = NULL, worker_pid = ? WHERE trial_id = ?", [workerPID, trialID])
            try beat(db, trialID)
        }
    }

    // MARK: Trials: reading

    public func trials(studyID: Int64) throws -> [StoredTrial] {
        try pool.transaction(readOnly: true) { db in try fetchTrials(db, where: "t.study_id = ?", [studyID]) }
    }

    public func finishedTrials(studyID: Int64, completedSince since: Date?) throws -> [StoredTrial] {
        try pool.transaction(readOnly: true) { db in
            try fetchTrials(db, where: "t.study_id = ? AND t.state IN ('COMPLETE', 'PRUNED', 'FAIL') AND (?::timestamptz IS NULL OR t.datetime_complete >= ?)",
                            [studyID, since, since])
        }
    }

    public func trials(studyID: Int64, fromNumber number: Int) throws -> [StoredTrial] {
        try pool.transaction(readOnly: true) { db in try fetchTrials(db, where: "t.study_id = ? AND t.number >= ?", [studyID, number]) }
    }

    public func trial(studyID: Int64, number: Int) throws -> StoredTrial? {
        try pool.transaction(readOnly: true) { db in try fetchTrials(db, where: "t.study_id = ? AND t.number = ?", [studyID, number]).first }
    }

    public func bestTrial(studyID: Int64, direction: Direction) throws -> StoredTrial? {
        try pool.transaction(readOnly: true) { db in
            var best: (id: Int64, loss: Double)? = nil
            for row in try db.query("""
                SELECT t.trial_id, v.value, v.value_type::text AS value_type FROM trials t JOIN trial_values v ON v.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'COMPLETE' AND v.objective = 0 ORDER BY t.number
                """, [studyID]) {
                let loss = OptunaEncoding.float(try row["value"], type: try row["value_type"]) * direction.sign
                if best == nil || loss < best!.loss { best = (try row["trial_id"], loss) }
            }
            guard let best else { return nil }
            return try fetchTrials(db, where: "t.trial_id = ?", [best.id]).first
        }
    }

    // MARK: Helpers

    func fetchStudies(_ db: PGSession, where condition: String, _ arguments: [any PGArgument]) throws -> [StudyRecord] {
        try db.query("""
            SELECT s.study_id, s.study_name, d.direction::text AS direction, w.metric, w.space_path, w.space_text, w.sampler_json,
                w.scheduler_json, w.seed, w.trials_total, w.max_epochs, w.created_at, w.updated_at, w.status,
                w.controller_owner, COALESCE(w.controller_expires > LOCALTIMESTAMP, FALSE) AS lease_live, w.run_options, w.stop_reason,
                (SELECT string_agg(direction::text, ',' ORDER BY objective) FROM study_directions
                    WHERE study_id = s.study_id) AS directions,
                (SELECT value_json FROM study_system_attributes WHERE study_id = s.study_id AND key = ?) AS metric_names
            FROM studies s
            JOIN sweep_studies w ON w.study_id = s.study_id
            LEFT JOIN study_directions d ON d.study_id = s.study_id AND d.objective = 0
            WHERE \(condition) ORDER BY w.created_at, s.study_id
            """, [OptunaEncoding.metricNamesKey] + arguments).map { row in
            OptunaEncoding.withObjectives(StudyRecord(id: try row["study_id"], name: try row["study_name"], direction: OptunaEncoding.direction(try row["direction"] as String?),
                        metric: try row["metric"], spacePath: try row["space_path"], spaceText: try row["space_text"],
                        samplerJSON: try row["sampler_json"], schedulerJSON: try row["scheduler_json"],
                        seed: UInt64(try row["seed"] as String) ?? 0, trialsTotal: Int(try row["trials_total"] as Int64),
                        maxEpochs: (try row["max_epochs"] as Int64?).map(Int.init),
                        createdAt: try row["created_at"], updatedAt: try row["updated_at"],
                        status: StudyStatus(rawValue: try row["status"]) ?? .stopped, controllerOwner: try row["controller_owner"],
                        controllerLeaseLive: try row["lease_live"], runOptionsJSON: try row["run_options"], stopReason: try row["stop_reason"]),
                                          directions: try row["directions"], metricNames: try row["metric_names"])
        }
    }

    /// Trials matching a condition on `trials t`, by number, with their parameters and reports.
    func fetchTrials(_ db: PGSession, where condition: String, _ arguments: [any PGArgument]) throws -> [StoredTrial] {
        let matching = "SELECT t.trial_id FROM trials t WHERE \(condition)"
        var params: [Int64: [String: Double]] = [:]
        for row in try db.query("SELECT trial_id, param_name, param_value FROM trial_params WHERE trial_id IN (\(matching))", arguments) {
            guard let name: String = try row["param_name"], let value: Double = try row["param_value"] else { continue }
            params[try row["trial_id"] as Int64, default: [:]][name] = value
        }
        var reports: [Int64: [Int: Double]] = [:]
        for row in try db.query("""
            SELECT trial_id, step, intermediate_value, intermediate_value_type::text AS t FROM trial_intermediate_values
            WHERE trial_id IN (\(matching))
            """, arguments) {
            reports[try row["trial_id"] as Int64, default: [:]][Int(try row["step"] as Int64)] =
                OptunaEncoding.float(try row["intermediate_value"], type: try row["t"])
        }
        // Every objective's value (studies of several objectives) and Optuna's constraints.
        var values: [Int64: [Int: Double]] = [:]
        for row in try db.query("SELECT trial_id, objective, value, value_type::text AS t FROM trial_values WHERE trial_id IN (\(matching))", arguments) {
            values[try row["trial_id"] as Int64, default: [:]][Int(try row["objective"] as Int64)] =
                OptunaEncoding.float(try row["value"], type: try row["t"])
        }
        var constraints: [Int64: [Double]] = [:]
        var vectors: [Int64: [Int: [Double]]] = [:]
        for row in try db.query("""
            SELECT trial_id, key, value_json FROM trial_system_attributes
            WHERE (key IN (?, ?) OR key LIKE 'constraints:%') AND trial_id IN (\(matching)) ORDER BY key
            """, [OptunaEncoding.constraintsKey, TrialAttribute.intermediateValues] + arguments) {
            let id: Int64 = try row["trial_id"], key: String = try row["key"], json: String = try row["value_json"]
            if key == TrialAttribute.intermediateValues { vectors[id] = TrialAttribute.intermediateValues(json: json) }
            else { OptunaEncoding.addConstraint(key: key, json: json, to: &constraints[id]) }
        }
        return try db.query("""
            SELECT t.trial_id, t.number, t.state::text AS state, t.datetime_start, t.datetime_complete, v.value,
                v.value_type::text AS value_type, w.seed, w.config_json, w.attempts, w.worker_pid, w.exit_status, w.reason,
                w.stderr_tail, w.epochs_run, w.duration_seconds, w.artifact_dir, w.trial_id IS NOT NULL AS owned, w.owner
            FROM trials t
            LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0
            LEFT JOIN sweep_trials w ON w.trial_id = t.trial_id
            WHERE \(condition) ORDER BY t.number
            """, arguments).map { row in
            let id: Int64 = try row["trial_id"]
            let valueType: String? = try row["value_type"]
            let value: Double? = try row["value"]
            let record = TrialRecord(number: Int(try row["number"] as Int64), state: TrialState(rawValue: try row["state"]) ?? .fail,
                                     params: params[id] ?? [:], value: valueType.map { OptunaEncoding.float(value, type: $0) },
                                     intermediate: reports[id] ?? [:], values: OptunaEncoding.objectiveValues(values[id]),
                                     constraints: constraints[id], intermediateValues: vectors[id] ?? [:])
            return StoredTrial(trialID: id, record: record, datetimeStart: try row["datetime_start"], datetimeComplete: try row["datetime_complete"],
                               seed: (try row["seed"] as String?).flatMap { UInt64($0) } ?? 0,
                               configJSON: (try row["config_json"] as String?) ?? "", attempts: Int((try row["attempts"] as Int64?) ?? 1),
                               workerPID: (try row["worker_pid"] as Int64?).map { Int32(truncatingIfNeeded: $0) },
                               exitStatus: (try row["exit_status"] as Int64?).map { Int32(truncatingIfNeeded: $0) },
                               reason: try row["reason"], stderrTail: try row["stderr_tail"],
                               epochsRun: (try row["epochs_run"] as Int64?).map(Int.init), durationSeconds: try row["duration_seconds"],
                               artifactDir: try row["artifact_dir"], ownedBySweep: try row["owned"], owner: try row["owner"])
        }
    }

    /// Locks the study's `sweep_studies` row (the numbering lock, taken first by every numbering
    /// transaction) and returns its next trial number: the last trial's number + 1 (see
    /// `SQLiteStore.nextNumber`). `RuntimeFailure` for an unknown study.
    func lockNextNumber(_ db: PGSession, _ studyID: Int64) throws -> Int {
        guard try !db.query("SELECT 1 FROM sweep_studies WHERE study_id = ? FOR NO KEY UPDATE", [studyID]).isEmpty else {
            throw RuntimeFailure("\(location): no Sweep study with id \(studyID)")
        }
        let last = try db.scalar("SELECT number FROM trials WHERE study_id = ? ORDER BY trial_id DESC LIMIT 1", [studyID], as: Int64.self)
        return last.map { Int($0) + 1 } ?? 0
    }

    func insertParams(_ db: PGSession, _ trialID: Int64, _ params: [(name: String, value: Double, distributionJSON: String)]) throws {
        for p in params {
            try db.execute("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
                           [trialID, p.name, p.value, p.distributionJSON])
        }
    }

    func setFailReason(_ db: PGSession, _ trialID: Int64, _ reason: String) throws {
        try db.execute("""
            INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?, ?, ?)
            ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json
            """, [trialID, OptunaEncoding.failReasonKey, OptunaEncoding.json(reason)])
    }

    func beat(_ db: PGSession, _ trialID: Int64) throws {
        try db.execute("""
            INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, LOCALTIMESTAMP)
            ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat
            """, [trialID])
    }

    /// Forgets a run of the trial (before it runs again): reports, exit, timings.
    func clearRun(_ db: PGSession, _ trialID: Int64) throws {
        try db.execute("DELETE FROM trial_intermediate_values WHERE trial_id = ?", [trialID])
        try db.execute("""
            UPDATE sweep_trials SET worker_pid = NULL, exit_status = NULL, reason = NULL, stderr_tail = NULL, epochs_run = NULL,
                duration_seconds = NULL, artifact_dir = NULL WHERE trial_id = ?
            """, [trialID])
    }

    /// The trial's state; `lock`: its row locked until the transaction ends (for a state change).
    func state(_ db: PGSession, _ trialID: Int64, lock: Bool = false) throws -> TrialState {
        guard let s = try db.scalar("SELECT state::text FROM trials WHERE trial_id = ?\(lock ? " FOR NO KEY UPDATE" : "")", [trialID],
                                    as: String.self) else {
            throw RuntimeFailure("\(location): no trial with id \(trialID)")
        }
        return TrialState(rawValue: s) ?? .fail
    }

    func requireRunning(_ db: PGSession, _ trialID: Int64, lock: Bool = false) throws {
        let s = try state(db, trialID, lock: lock)
        guard s == .running else { throw try notRunning(db, trialID, s) }
    }

    func notRunning(_ db: PGSession, _ trialID: Int64, _ s: TrialState) throws -> RuntimeFailure {
        let row = try db.query("SELECT t.number, s.study_name FROM trials t JOIN studies s ON s.study_id = t.study_id WHERE t.trial_id = ?",
                               [trialID]).first
        let which = try row.map { "trial \(try $0["number"] as Int64) of study '\(try $0["study_name"] as String)'" } ?? "trial id \(trialID)"
        return RuntimeFailure("\(location): \(which) is \(s.rawValue); only a running trial can change")
    }
}
