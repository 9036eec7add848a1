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
/// - **Round trips.** What a running trial calls is one round trip each: a claim, a report, a
///   change read and a finish are one statement each, outside a transaction block (a statement
///   is atomic and sees one snapshot; data-modifying `WITH` parts do the writes); a creation is a
///   transaction of two statements sent together (the lock, then the writes), a leader's batch
///   of WAITING trials the same sent in one go with its `BEGIN` and `COMMIT`
///   (`PGPool.pipelinedTransaction`); a PRUNED trial's finish is a transaction of two (its last
///   report, then the writes).
/// - **Prepared statements.** The store's statements are prepared once per connection
///   (`PGPrepared`: `PREPARE`, then `EXECUTE` with the arguments as exact literals), so the
///   server does not parse and plan them for every trial (planning was a third of its CPU).
/// - **Study changes** are notified (`NOTIFY sweep_studies`, PostgresStore+Notify.swift) and
///   listened to on a connection of each watch's own, outside the pool.
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
        if readOnly { config.options.additionalStartupParameters.append(("default_transaction_read_only", "on")) }
        // The connection that checks the schema stays the pool's first: one connection (and its
        // password exchange) per opening, not two. Opening errors come at once, not after
        // `reconnectFor` of retries.
        pool = PGPool(configuration: config, size: poolSize, reconnectFor: 0)
        do {
            try pool.check()
            try PostgresSchema.migrate(pool, location: url.redacted)
        } catch {
            throw Self.openingError(error, url)
        }
        pool.reconnectFor = PGPool.defaultReconnectFor
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
                            maxEpochs: Int?, runOptionsJSON: String?) throws -> StudyRecord {
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
                    seed, trials_total, max_epochs, created_at, updated_at, status, run_options)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, LOCALTIMESTAMP, LOCALTIMESTAMP, 'running', ?)
                """, [id, spacePath, spaceText, metrics[0], samplerJSON, schedulerJSON, String(seed), trialsTotal, maxEpochs,
                      runOptionsJSON])
            try PostgresSchema.setMetricNames(db, studyID: id, metrics: metrics, replace: true)
            try Self.notifyStudyChanged(db, id: id)
            return try fetchStudies(db, where: "s.study_id = ?", [id])[0]
        }
    }

    public func study(named name: String) throws -> StudyRecord? {
        try pool.statement(idempotent: true) { db in try fetchStudies(db, where: "s.study_name = ?", [name]).first }
    }

    public func study(id: Int64) throws -> StudyRecord? {
        try pool.statement(idempotent: true) { db in try fetchStudies(db, where: "s.study_id = ?", [id]).first }
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
            if update.status != nil || update.trialsTotal != nil || update.runOptionsJSON != nil { try Self.notifyStudyChanged(db, id: id) }
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
    /// Two statements after `BEGIN`, sent together: the numbering lock, then one that numbers the
    /// trial (the server runs it once the lock is held, with a snapshot taken then, so it sees the
    /// trials the lock's last holder wrote) and writes every row, or nothing when the number is
    /// not `expectedNumber`. One round trip and the `COMMIT`.
    public func createTrial(studyID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                            configJSON: String, workerPID: Int32?, expectedNumber: Int?, waiting: Bool) throws -> (trialID: Int64, number: Int) {
        try QueuedTrials.checkFinite(params)
        return try pool.transaction { db in
            // The lock is not waited for: the statement after it runs once it is held.
            let locked = sendNumberingLock(db, studyID)
            let rows: [PGRow]
            do {
                rows = try db.query("""
                WITH n AS (SELECT COALESCE((SELECT number FROM trials WHERE study_id = ? ORDER BY trial_id DESC LIMIT 1) + 1, 0) AS number),
                made AS (
                    INSERT INTO trials (number, study_id, state, datetime_start)
                    SELECT n.number, ?, \(waiting ? "'WAITING'::trialstate, NULL::timestamp" : "'RUNNING'::trialstate, LOCALTIMESTAMP") FROM n
                    WHERE ?::bigint IS NULL OR n.number = ? RETURNING trial_id),
                params AS (
                    INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
                    SELECT made.trial_id, p.name, p.value, p.distribution FROM made, unnest(?::text[], ?::float8[], ?::text[]) AS p (name, value, distribution)),
                sweep AS (
                    INSERT INTO sweep_trials (trial_id, seed, config_json, worker_pid, unstarted) SELECT trial_id, ?, ?, ?::integer, ?::integer FROM made
                    ON CONFLICT (trial_id) DO UPDATE SET seed = excluded.seed, config_json = excluded.config_json,
                        worker_pid = excluded.worker_pid, unstarted = excluded.unstarted),
                beat AS (
                    INSERT INTO trial_heartbeats (trial_id, heartbeat) SELECT trial_id, LOCALTIMESTAMP FROM made WHERE NOT ?)
                SELECT n.number, made.trial_id FROM n LEFT JOIN made ON TRUE
                """, [studyID, studyID, expectedNumber, expectedNumber, params.map(\.name), params.map(\.value), params.map(\.distributionJSON),
                      String(seed), configJSON, workerPID, waiting ? 1 : 0, waiting])
            } catch {
                try checkNumberingLock(db, locked, studyID)   // its error first: it made this one
                throw error
            }
            try checkNumberingLock(db, locked, studyID)
            let row = rows.first!
            let number = Int(try row["number"] as Int64)
            guard let trialID: Int64 = try row["trial_id"] else { throw TrialNumberTaken(number: expectedNumber ?? number) }
            return (trialID, number)
        }
    }

    /// Numbers the trials and writes every row in one statement, or nothing when the study's next
    /// number is not `firstNumber`; one round trip with the numbering lock (as `createTrial`).
    /// Trial ids follow the numbers (the rows are inserted in number order), as the next number's
    /// reading (the number of the study's last trial id) needs.
    public func createWaitingTrials(studyID: Int64, _ trials: [NewWaitingTrial], firstNumber: Int) throws -> [Int64] {
        for t in trials { try QueuedTrials.checkFinite(t.params) }
        guard !trials.isEmpty else { return [] }
        let numbers = trials.indices.map { Int64(firstNumber + $0) }
        var paramNumbers: [Int64] = [], names: [String] = [], values: [Double] = [], distributions: [String] = []
        for (i, t) in trials.enumerated() {
            for p in t.params { paramNumbers.append(numbers[i]); names.append(p.name); values.append(p.value); distributions.append(p.distributionJSON) }
        }
        return try pool.pipelinedTransaction(rerunAfterLoss: true) { db in
            let locked = sendNumberingLock(db, studyID)
            let made = db.send("""
                WITH n AS (SELECT COALESCE((SELECT number FROM trials WHERE study_id = ? ORDER BY trial_id DESC LIMIT 1) + 1, 0) AS number),
                made AS (
                    INSERT INTO trials (number, study_id, state, datetime_start)
                    SELECT g.number, ?, 'WAITING'::trialstate, NULL::timestamp FROM n, unnest(?::int8[]) AS g (number)
                    WHERE n.number = ? AND EXISTS (SELECT 1 FROM sweep_studies WHERE study_id = ?) ORDER BY g.number RETURNING trial_id, number),
                params AS (
                    INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
                    SELECT made.trial_id, p.name, p.value, p.distribution
                    FROM made JOIN unnest(?::int8[], ?::text[], ?::float8[], ?::text[]) WITH ORDINALITY AS p (number, name, value, distribution, ord)
                        ON p.number = made.number
                    ORDER BY p.ord),
                sweep AS (
                    INSERT INTO sweep_trials (trial_id, seed, config_json, worker_pid, unstarted)
                    SELECT made.trial_id, w.seed, w.config, NULL, 1 FROM made JOIN unnest(?::int8[], ?::text[], ?::text[]) AS w (number, seed, config)
                        ON w.number = made.number
                    ON CONFLICT (trial_id) DO UPDATE SET seed = excluded.seed, config_json = excluded.config_json, worker_pid = NULL, unstarted = 1)
                SELECT (SELECT array_agg(trial_id ORDER BY number) FROM made) AS ids
                """, [studyID, studyID, numbers, firstNumber, studyID, paramNumbers, names, values, distributions,
                      numbers, trials.map { String($0.seed) }, trials.map(\.configJSON)])
            return {
                try self.checkNumberingLock(db, locked, studyID)   // its error first: it failed the next one
                let row = try db.wait(made).rows.first.map { PGRow(row: $0.makeRandomAccess()) }!
                guard let ids: [Int64] = try row["ids"] else { throw TrialNumberTaken(number: firstNumber) }
                return ids
            }
        }
    }

    public func claimWaitingTrial(studyID: Int64, owner: String, worker: String) throws -> StoredTrial? {
        // One statement (its own transaction): the pick, the start and the answer in one round trip.
        // Not run again after a lost answer: a claim that committed then goes stale and is requeued.
        try pool.statement(idempotent: false) { db in
            guard let row = try db.query("WITH " + Self.claimParts(when: "TRUE") + "\nSELECT " + Self.claimedColumns
                                         + " FROM started s JOIN sweep w ON w.trial_id = s.trial_id",
                                         Self.claimArguments(studyID, owner, worker)).first else { return nil }
            return try claimed(row, owner: owner)
        }
    }

    /// A claim (`claimWaitingTrial`) as parts of a `WITH`, taking a trial only `when` (an SQL
    /// condition); its arguments are `claimArguments`, its answer `claimedColumns` read from
    /// `started s JOIN sweep w`. SKIP LOCKED: a trial another claimer is taking is passed over,
    /// never waited for. The parts of a statement see one snapshot: the answer reads the
    /// parameters as they were (a claim does not change them) and the rest from what the updates
    /// return.
    static func claimParts(when: String) -> String {
        """
        c AS (
            SELECT t.trial_id FROM trials t JOIN sweep_trials w ON w.trial_id = t.trial_id
            WHERE t.study_id = ? AND t.state = 'WAITING' AND NOT EXISTS (
                SELECT 1 FROM trial_system_attributes a WHERE a.trial_id = t.trial_id AND a.key = ?) AND \(when)
            ORDER BY t.number LIMIT 1 FOR NO KEY UPDATE OF t SKIP LOCKED),
        reports AS (DELETE FROM trial_intermediate_values WHERE trial_id IN (SELECT trial_id FROM c)),
        started AS (
            UPDATE trials SET state = 'RUNNING', datetime_start = LOCALTIMESTAMP, datetime_complete = NULL
            WHERE trial_id IN (SELECT trial_id FROM c) RETURNING trial_id, number, datetime_start),
        sweep AS (
            UPDATE sweep_trials SET worker_pid = NULL, exit_status = NULL, reason = NULL, stderr_tail = NULL, epochs_run = NULL,
                duration_seconds = NULL, artifact_dir = NULL, attempts = attempts + 1 - unstarted, unstarted = 0, owner = ?
            WHERE trial_id IN (SELECT trial_id FROM c) RETURNING trial_id, seed, config_json, attempts),
        attribute AS (
            INSERT INTO trial_system_attributes (trial_id, key, value_json) SELECT trial_id, ?, ? FROM c
            ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json)
        """
    }

    static func claimArguments(_ studyID: Int64, _ owner: String, _ worker: String) -> [any PGArgument] {
        [studyID, TrialAttribute.pausedAtEpoch, owner, TrialAttribute.worker, OptunaEncoding.json(worker)]
    }

    static let claimedColumns = """
        s.trial_id, s.number, s.datetime_start, w.seed, w.config_json, w.attempts,
            (SELECT array_agg(param_name::text ORDER BY param_id) FROM trial_params p
                WHERE p.trial_id = s.trial_id AND param_name IS NOT NULL AND param_value IS NOT NULL) AS param_names,
            (SELECT array_agg(param_value ORDER BY param_id) FROM trial_params p
                WHERE p.trial_id = s.trial_id AND param_name IS NOT NULL AND param_value IS NOT NULL) AS param_values
        """

    /// The trial a claim took, from its `claimedColumns` (nil: none was taken).
    func claimed(_ row: PGRow, owner: String) throws -> StoredTrial? {
        guard let trialID: Int64 = try row["trial_id"] else { return nil }
        var params: [String: Double] = [:]
        if let names: [String] = try row["param_names"], let xs: [Double] = try row["param_values"] {
            for (name, x) in zip(names, xs) { params[name] = x }
        }
        // Started now: no reports, values or constraints yet.
        return StoredTrial(trialID: trialID, record: TrialRecord(number: Int(try row["number"] as Int64), state: .running, params: params),
                           datetimeStart: try row["datetime_start"], datetimeComplete: nil,
                           seed: UInt64(try row["seed"] as String) ?? 0, configJSON: try row["config_json"],
                           attempts: Int(try row["attempts"] as Int64), workerPID: nil, exitStatus: nil, reason: nil, stderrTail: nil,
                           epochsRun: nil, durationSeconds: nil, artifactDir: nil, ownedBySweep: true, owner: owner)
    }

    public func requeueStaleTrials(studyID: Int64, staleSeconds: Double) throws -> [Int] {
        try pool.transaction { db in
            let stale = try db.query("""
                SELECT t.trial_id, t.number FROM trials t JOIN sweep_trials w ON w.trial_id = t.trial_id
                LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'RUNNING'
                    AND COALESCE(GREATEST(h.heartbeat, t.datetime_start), '-infinity') < LOCALTIMESTAMP - make_interval(secs => ?)
                ORDER BY t.number FOR NO KEY UPDATE OF t SKIP LOCKED
                """, [studyID, staleSeconds])
            for row in stale { try requeue(db, try row["trial_id"]) }
            return try stale.map { Int(try $0["number"] as Int64) }
        }
    }

    public func reportIntermediate(trialID: Int64, step: Int, value: Double, owner: String?) throws {
        guard step >= 0 else { throw RuntimeFailure("trial \(trialID): step \(step) is negative; steps count from 0") }
        let (stored, type) = OptunaEncoding.float(value)
        // One statement (its own transaction, so running it again writes the same): the checks
        // on the trial (its row share-locked, so a finish or requeue is waited for and seen), the
        // report and the heartbeat; the refusal's reason is read after.
        let row = try pool.statement(idempotent: true) { db in
            try db.query("""
                WITH k AS (
                    SELECT t.trial_id, t.state::text AS state, w.owner FROM trials t LEFT JOIN sweep_trials w ON w.trial_id = t.trial_id
                    WHERE t.trial_id = ? FOR SHARE OF t),
                ok AS (SELECT trial_id FROM k WHERE state = 'RUNNING' AND (?::text IS NULL OR owner = ?)),
                report AS (
                    INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type)
                    SELECT trial_id, ?::integer, ?::float8, ?::trialintermediatevaluetype FROM ok
                    ON CONFLICT (trial_id, step) DO UPDATE
                    SET intermediate_value = excluded.intermediate_value, intermediate_value_type = excluded.intermediate_value_type),
                beat AS (
                    INSERT INTO trial_heartbeats (trial_id, heartbeat) SELECT trial_id, LOCALTIMESTAMP FROM ok
                    ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat)
                SELECT k.state, k.owner, ok.trial_id IS NOT NULL AS written FROM k LEFT JOIN ok ON TRUE
                """, [trialID, owner, owner, step, stored, type]).first
        }
        guard let row else { throw RuntimeFailure("\(location): no trial with id \(trialID)") }
        if try row["written"] as Bool { return }
        if let owner, try row["owner"] as String? != owner { throw TrialNotOwned(trialID: trialID, owner: owner) }
        let s = TrialState(rawValue: try row["state"]) ?? .fail
        throw try pool.statement(idempotent: true) { db in try notRunning(db, trialID, s) }
    }

    @discardableResult
    public func finishTrial(trialID: Int64, state: TrialState, values: [Double]?, constraints: [Double]?, exitStatus: Int32?, reason: String?,
                            stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?,
                            owner: String?) throws -> TrialState {
        guard state.isFinished else { throw RuntimeFailure("trial \(trialID): \(state.rawValue) is not a finished state") }
        let run = FinishedRun(exitStatus: exitStatus, stderrTail: stderrTail, epochsRun: epochsRun, durationSeconds: durationSeconds,
                              artifactDir: artifactDir, constraints: constraints)
        if let (final, _) = try finishInOneStatement(trialID, state: state, values: values, reason: reason, run: run, owner: owner) { return final }
        return try finishInTransaction(trialID, state: state, values: values, reason: reason, run: run, owner: owner)
    }

    /// `finishTrial` where one statement does not do (see `finishInOneStatement`): a transaction
    /// that reads what finishing the trial needs (its last report, the study's objectives), then writes.
    func finishInTransaction(_ trialID: Int64, state: TrialState, values: [Double]?, reason: String?, run: FinishedRun,
                             owner: String?) throws -> TrialState {
        try pool.transaction { db in
            // Two statements: the trial (locked; with its owner's row when an owner is given, so
            // both are read as the last writer left them) and what finishing it needs, then every write.
            guard let row = try db.query("""
                SELECT t.state::text AS state, w.owner,
                    (SELECT COUNT(*) FROM study_directions d WHERE d.study_id = t.study_id) AS objectives,
                    r.intermediate_value AS last_value, r.intermediate_value_type::text AS last_type
                FROM trials t \(owner == nil ? "LEFT " : "")JOIN sweep_trials w ON w.trial_id = t.trial_id
                LEFT JOIN LATERAL (SELECT intermediate_value, intermediate_value_type FROM trial_intermediate_values
                    WHERE trial_id = t.trial_id ORDER BY step DESC LIMIT 1) r ON TRUE
                WHERE t.trial_id = ? FOR NO KEY UPDATE OF t\(owner == nil ? "" : ", w")
                """, [trialID]).first else {
                // No trial, or (an owner given) no Sweep row: the reasons in the usual order.
                _ = try self.state(db, trialID)
                throw TrialNotOwned(trialID: trialID, owner: owner ?? "")
            }
            if let owner, try row["owner"] as String? != owner { throw TrialNotOwned(trialID: trialID, owner: owner) }
            let s = TrialState(rawValue: try row["state"]) ?? .fail
            guard s == .running else { throw try notRunning(db, trialID, s) }
            let objectives = Int(try row["objectives"] as Int64)
            let last: Double? = try (row["last_type"] as String?).map { OptunaEncoding.float(try row["last_value"], type: $0) }
            let finishing = OptunaEncoding.finishing(state, values: values, objectives: max(objectives, 1), reason: reason) { last }
            let (parts, arguments) = finishWrites(trialID, finishing, run, when: "TRUE")
            try db.execute("WITH " + parts.joined(separator: ",\n") + "\nSELECT 1", arguments)
            return finishing.state
        }
    }

    /// What a finished run leaves besides its state and values (see `finishTrial`).
    struct FinishedRun {
        var exitStatus: Int32?, stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?
        var constraints: [Double]?
    }

    /// `finishTrial` in one statement (its own transaction, one round trip) when what it stores
    /// does not depend on the trial's last report: a COMPLETE trial with its values (none NaN),
    /// stored only if the study has as many objectives (checked in the statement), or a state
    /// that keeps no values (FAIL). The checks of the transaction path, in the same order, on the
    /// trial's rows locked in the statement (both, when an owner is given, so a requeue that
    /// committed meanwhile is seen whole). nil, nothing written, when it does not apply (a PRUNED
    /// trial, values missing, a study of another number of objectives) or the trial or its Sweep
    /// row is missing: the transaction path writes or says why.
    /// `claim` (with an `owner`): the same statement then claims a trial of that study for
    /// `owner`, only when the finish was written (`finishTrialAndClaim`); the trial it took comes
    /// back with the state.
    func finishInOneStatement(_ trialID: Int64, state: TrialState, values: [Double]?, reason: String?, run: FinishedRun,
                              owner: String?, claim: (studyID: Int64, worker: String)? = nil) throws -> (TrialState, StoredTrial?)? {
        let objectives: Int?
        switch state {
        case .complete:
            guard let values, !values.isEmpty, !values.contains(where: \.isNaN) else { return nil }
            objectives = values.count
        case .pruned: return nil
        default: objectives = nil
        }
        let finishing = OptunaEncoding.finishing(state, values: values, objectives: objectives ?? 1, reason: reason) { nil }
        var (parts, arguments) = finishWrites(trialID, finishing, run, when: "EXISTS (SELECT 1 FROM ok)")
        var answer = "SELECT k.state, k.owner, ok.trial_id IS NOT NULL AS written FROM k LEFT JOIN ok ON TRUE"
        let claimer = claim.flatMap { c in owner.map { (studyID: c.studyID, owner: $0, worker: c.worker) } }
        if let claimer {
            parts.append(Self.claimParts(when: "EXISTS (SELECT 1 FROM ok)"))
            arguments += Self.claimArguments(claimer.studyID, claimer.owner, claimer.worker)
            answer = "SELECT k.state, k.owner, ok.trial_id IS NOT NULL AS written, " + Self.claimedColumns
                + "\nFROM k LEFT JOIN ok ON TRUE LEFT JOIN (started s JOIN sweep w ON w.trial_id = s.trial_id) ON TRUE"
        }
        // Run again after a lost answer only without a claim (see `claimWaitingTrial`).
        let row = try pool.statement(idempotent: claimer == nil) { db in
            try db.query("""
                WITH k AS (
                    SELECT t.trial_id, t.state::text AS state, w.owner,
                        (SELECT COUNT(*) FROM study_directions d WHERE d.study_id = t.study_id) AS objectives
                    FROM trials t \(owner == nil ? "LEFT " : "")JOIN sweep_trials w ON w.trial_id = t.trial_id
                    WHERE t.trial_id = ? FOR NO KEY UPDATE OF t\(owner == nil ? "" : ", w")),
                ok AS (SELECT trial_id FROM k WHERE state = 'RUNNING' AND (?::text IS NULL OR owner = ?)
                    AND (?::bigint IS NULL OR objectives = ?)),
                """ + parts.joined(separator: ",\n") + "\n" + answer, [trialID, owner, owner, objectives, objectives] + arguments).first
        }
        // No row: no trial, or (an owner given) no Sweep row; the transaction path tells which.
        guard let row else { return nil }
        if try row["written"] as Bool { return (finishing.state, try claimer.flatMap { try claimed(row, owner: $0.owner) }) }
        if let owner, try row["owner"] as String? != owner { throw TrialNotOwned(trialID: trialID, owner: owner) }
        let s = TrialState(rawValue: try row["state"]) ?? .fail
        if s != .running { throw try pool.statement(idempotent: true) { db in try notRunning(db, trialID, s) } }
        return nil   // another number of objectives: the transaction path says why
    }

    public func finishTrialAndClaim(trialID: Int64, state: TrialState, values: [Double]?, constraints: [Double]?, exitStatus: Int32?,
                                    reason: String?, stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?,
                                    owner: String, studyID: Int64, worker: String) throws -> (state: TrialState, claimed: StoredTrial?) {
        guard state.isFinished else { throw RuntimeFailure("trial \(trialID): \(state.rawValue) is not a finished state") }
        let run = FinishedRun(exitStatus: exitStatus, stderrTail: stderrTail, epochsRun: epochsRun, durationSeconds: durationSeconds,
                              artifactDir: artifactDir, constraints: constraints)
        if let (final, claimed) = try finishInOneStatement(trialID, state: state, values: values, reason: reason, run: run, owner: owner,
                                                           claim: (studyID, worker)) {
            return (final, claimed)
        }
        // The finish takes the transaction path (one statement did not do, and wrote nothing): it, then the claim.
        let final = try finishInTransaction(trialID, state: state, values: values, reason: reason, run: run, owner: owner)
        return (final, try claimWaitingTrial(studyID: studyID, owner: owner, worker: worker))
    }

    /// The writes of a finishing trial as parts of a `WITH` (Optuna's rows: values, constraints,
    /// state, a FAIL's reason; Sweep's: exit, timings), each done only `when` (an SQL condition).
    func finishWrites(_ trialID: Int64, _ f: (state: TrialState, objectives: [Double]?, reason: String?), _ run: FinishedRun,
                      when: String) -> (parts: [String], arguments: [any PGArgument]) {
        let encoded = (f.objectives ?? []).map(OptunaEncoding.float)
        var parts = ["""
            new_values AS (INSERT INTO trial_values (trial_id, objective, value, value_type)
                SELECT ?::bigint, o.i - 1, CASE WHEN o.type = 'FINITE' THEN o.x END, o.type::trialvaluetype
                FROM unnest(?::float8[], ?::text[]) WITH ORDINALITY AS o (x, type, i) WHERE \(when))
            """]
        var arguments: [any PGArgument] = [trialID, encoded.map { $0.value ?? 0 }, encoded.map(\.type)]
        if let constraints = run.constraints {
            parts.append("""
                new_constraints AS (INSERT INTO trial_system_attributes (trial_id, key, value_json) SELECT ?::bigint, ?, ? WHERE \(when)
                    ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json)
                """)
            arguments += [trialID, OptunaEncoding.constraintsKey, OptunaEncoding.jsonNumbers(constraints)] as [any PGArgument]
        }
        parts.append("new_state AS (UPDATE trials SET state = ?::trialstate, datetime_complete = LOCALTIMESTAMP WHERE trial_id = ? AND \(when))")
        arguments += [f.state.rawValue, trialID] as [any PGArgument]
        if f.state == .fail, let reason = f.reason {
            parts.append("""
                new_reason AS (INSERT INTO trial_user_attributes (trial_id, key, value_json) SELECT ?::bigint, ?, ? WHERE \(when)
                    ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json)
                """)
            arguments += [trialID, OptunaEncoding.failReasonKey, OptunaEncoding.json(reason)] as [any PGArgument]
        }
        parts.append("""
            new_run AS (UPDATE sweep_trials SET exit_status = ?, reason = ?, stderr_tail = ?, epochs_run = ?, duration_seconds = ?,
                artifact_dir = ? WHERE trial_id = ? AND \(when))
            """)
        arguments += [run.exitStatus, f.reason, run.stderrTail, run.epochsRun, run.durationSeconds, run.artifactDir, trialID] as [any PGArgument]
        return (parts, arguments)
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
        try pool.statement(idempotent: true) { db in _ = try db.execute("UPDATE sweep_trials SET worker_pid = ? WHERE trial_id = ?", [pid, trialID]) }
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
        try pool.statement(idempotent: true) { db in try fetchTrials(db, where: "t.study_id = ?", [studyID]) }
    }

    public func finishedTrials(studyID: Int64, completedSince since: Date?) throws -> [StoredTrial] {
        try pool.statement(idempotent: true) { db in
            try fetchTrials(db, where: "t.study_id = ? AND t.state IN ('COMPLETE', 'PRUNED', 'FAIL') AND (?::timestamptz IS NULL OR t.datetime_complete >= ?)",
                            [studyID, since, since])
        }
    }

    public func trials(studyID: Int64, fromNumber number: Int) throws -> [StoredTrial] {
        try pool.statement(idempotent: true) { db in try fetchTrials(db, where: "t.study_id = ? AND t.number >= ?", [studyID, number]) }
    }

    public func trial(studyID: Int64, number: Int) throws -> StoredTrial? {
        try pool.statement(idempotent: true) { db in try fetchTrials(db, where: "t.study_id = ? AND t.number = ?", [studyID, number]).first }
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

    /// The trials `condition` picks (on `trials t`, its arguments first, then two of the
    /// attributes' keys), every part of each, by number, after a first row with the snapshot's
    /// xmin (`fetchTrialsAndXmin`).
    static func trialsSQL(where condition: String) -> String {
        // The snapshot's row comes first and always (a LEFT JOIN), so an empty result still gives it.
        // Each trial's rows are read by its id (LATERAL, fenced by OFFSET 0 so the planner cannot
        // turn them back into joins: index lookups, whatever its statistics say). As joins, a
        // nested loop planned on stale statistics (after a bulk import) ran the aggregates once
        // per trial: minutes at 10k trials; and a hash join planned on fresh ones (the generic plan
        // of a prepared change read, which cannot know how few trials changed) scanned every
        // trial of every study: 7 ms instead of 1.4 at 3,000 trials stored, growing with them.
        """
            WITH m AS MATERIALIZED (SELECT t.trial_id FROM trials t WHERE \(condition))
            SELECT txid_snapshot_xmin(txid_current_snapshot()) AS snapshot_xmin,
                t.trial_id, t.number, t.state::text AS state, t.datetime_start, t.datetime_complete, v.value,
                v.value_type::text AS value_type, w.seed, w.config_json, w.attempts, w.worker_pid, w.exit_status, w.reason,
                w.stderr_tail, w.epochs_run, w.duration_seconds, w.artifact_dir, w.trial_id IS NOT NULL AS owned, w.owner,
                p.names AS param_names, p.xs AS param_values, r.steps AS report_steps, r.xs AS report_values, r.types AS report_types,
                o.objectives, o.xs AS objective_values, o.types AS objective_types, a.keys AS attribute_keys, a.jsons AS attribute_jsons
            FROM (SELECT 1) AS snapshot
            LEFT JOIN (m CROSS JOIN LATERAL (SELECT * FROM trials WHERE trial_id = m.trial_id OFFSET 0) t) ON TRUE
            LEFT JOIN LATERAL (SELECT value, value_type FROM trial_values WHERE trial_id = t.trial_id AND objective = 0 OFFSET 0) v ON TRUE
            LEFT JOIN LATERAL (SELECT * FROM sweep_trials WHERE trial_id = t.trial_id OFFSET 0) w ON TRUE
            LEFT JOIN LATERAL (SELECT array_agg(param_name::text ORDER BY param_id) AS names, array_agg(param_value ORDER BY param_id) AS xs
                FROM trial_params WHERE trial_id = t.trial_id AND param_name IS NOT NULL AND param_value IS NOT NULL) p ON TRUE
            LEFT JOIN LATERAL (SELECT array_agg(step::bigint) AS steps, array_agg(COALESCE(intermediate_value, 0)) AS xs,
                    array_agg(intermediate_value_type::text) AS types
                FROM trial_intermediate_values WHERE trial_id = t.trial_id) r ON TRUE
            LEFT JOIN LATERAL (SELECT array_agg(objective::bigint) AS objectives, array_agg(COALESCE(value, 0)) AS xs,
                    array_agg(value_type::text) AS types
                FROM trial_values WHERE trial_id = t.trial_id) o ON TRUE
            LEFT JOIN LATERAL (SELECT array_agg(key::text ORDER BY key) AS keys, array_agg(value_json::text ORDER BY key) AS jsons
                FROM trial_system_attributes WHERE trial_id = t.trial_id AND (key IN (?, ?) OR key LIKE 'constraints:%')) a ON TRUE
            ORDER BY t.number
            """
    }

    /// Trials matching a condition on `trials t`, by number, with their parameters and reports:
    /// one statement (one round trip, one snapshot), each trial's parts gathered as arrays;
    /// `fetchTrialsAndXmin` also gives the `xmin` of the statement's snapshot (see `TrialChangeCursor`).
    func fetchTrials(_ db: PGSession, where condition: String, _ arguments: [any PGArgument]) throws -> [StoredTrial] {
        try fetchTrialsAndXmin(db, where: condition, arguments).trials
    }

    func fetchTrialsAndXmin(_ db: PGSession, where condition: String, _ arguments: [any PGArgument]) throws -> (trials: [StoredTrial], xmin: Int64) {
        let rows = try db.query(Self.trialsSQL(where: condition), arguments + [OptunaEncoding.constraintsKey, TrialAttribute.intermediateValues])
        guard let first = rows.first, let xmin: Int64 = try first["snapshot_xmin"] else {
            throw RuntimeFailure("\(location): the server gave no snapshot")
        }
        let trials = try rows.compactMap { row -> StoredTrial? in
            guard let id: Int64 = try row["trial_id"] else { return nil }
            var params: [String: Double] = [:]
            if let names: [String] = try row["param_names"], let xs: [Double] = try row["param_values"] {
                for (name, x) in zip(names, xs) { params[name] = x }
            }
            var reports: [Int: Double] = [:]
            if let steps: [Int64] = try row["report_steps"], let xs: [Double] = try row["report_values"], let types: [String] = try row["report_types"] {
                for i in steps.indices { reports[Int(steps[i])] = OptunaEncoding.float(xs[i], type: types[i]) }
            }
            var values: [Int: Double]? = nil
            if let objectives: [Int64] = try row["objectives"], let xs: [Double] = try row["objective_values"], let types: [String] = try row["objective_types"] {
                values = [:]
                for i in objectives.indices { values![Int(objectives[i])] = OptunaEncoding.float(xs[i], type: types[i]) }
            }
            var constraints: [Double]? = nil
            var vectors: [Int: [Double]] = [:]
            if let keys: [String] = try row["attribute_keys"], let jsons: [String] = try row["attribute_jsons"] {
                for (key, json) in zip(keys, jsons) {
                    if key == TrialAttribute.intermediateValues { vectors = TrialAttribute.intermediateValues(json: json) }
                    else { OptunaEncoding.addConstraint(key: key, json: json, to: &constraints) }
                }
            }
            let valueType: String? = try row["value_type"]
            let value: Double? = try row["value"]
            let record = TrialRecord(number: Int(try row["number"] as Int64), state: TrialState(rawValue: try row["state"]) ?? .fail,
                                     params: params, value: valueType.map { OptunaEncoding.float(value, type: $0) },
                                     intermediate: reports, values: OptunaEncoding.objectiveValues(values),
                                     constraints: constraints, intermediateValues: vectors)
            return StoredTrial(trialID: id, record: record, datetimeStart: try row["datetime_start"], datetimeComplete: try row["datetime_complete"],
                               seed: (try row["seed"] as String?).flatMap { UInt64($0) } ?? 0,
                               configJSON: (try row["config_json"] as String?) ?? "", attempts: Int((try row["attempts"] as Int64?) ?? 1),
                               workerPID: (try row["worker_pid"] as Int64?).map { Int32(truncatingIfNeeded: $0) },
                               exitStatus: (try row["exit_status"] as Int64?).map { Int32(truncatingIfNeeded: $0) },
                               reason: try row["reason"], stderrTail: try row["stderr_tail"],
                               epochsRun: (try row["epochs_run"] as Int64?).map(Int.init), durationSeconds: try row["duration_seconds"],
                               artifactDir: try row["artifact_dir"], ownedBySweep: try row["owned"], owner: try row["owner"])
        }
        return (trials, xmin)
    }

    /// Locks the study's `sweep_studies` row (the numbering lock, taken first by every numbering
    /// transaction) and returns its next trial number: the last trial's number + 1 (see
    /// `SQLiteStore.nextNumber`). `RuntimeFailure` for an unknown study.
    func lockNextNumber(_ db: PGSession, _ studyID: Int64) throws -> Int {
        try lockNumbering(db, studyID)
        let last = try db.scalar("SELECT number FROM trials WHERE study_id = ? ORDER BY trial_id DESC LIMIT 1", [studyID], as: Int64.self)
        return last.map { Int($0) + 1 } ?? 0
    }

    /// Locks the study's `sweep_studies` row: the numbering lock (see `lockNextNumber`).
    func lockNumbering(_ db: PGSession, _ studyID: Int64) throws {
        try checkNumberingLock(db, sendNumberingLock(db, studyID), studyID)
    }

    func sendNumberingLock(_ db: PGSession, _ studyID: Int64) -> EventLoopFuture<PostgresQueryResult> {
        db.send("SELECT 1 FROM sweep_studies WHERE study_id = ? FOR NO KEY UPDATE", [studyID])
    }

    func checkNumberingLock(_ db: PGSession, _ sent: EventLoopFuture<PostgresQueryResult>, _ studyID: Int64) throws {
        guard try db.wait(sent).rows.first != nil else {
            throw RuntimeFailure("\(location): no Sweep study with id \(studyID)")
        }
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
