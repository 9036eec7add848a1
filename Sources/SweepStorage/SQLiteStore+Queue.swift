import Foundation
import GRDB
import SweepCore
import SweepSearch

/// Trials queued to run later, in Optuna's forms, so that Optuna and Sweep each see the other's:
/// - **Enqueued** (`sweep enqueue`, Optuna's `study.enqueue_trial(params)`): a WAITING trial with
///   the system attribute `fixed_params` (an object of external values) and no Sweep row. A runner
///   takes it over (`adoptTrial`) once it has checked the values and completed them, or fails it
///   with the reason (`failEnqueuedTrial`).
/// - **Retried** (`sweep retry`, as Optuna's `RetryFailedTrialCallback`): a new WAITING trial with
///   the failed trial's parameters and the system attributes `failed_trial` and `retry_history`;
///   Sweep's row carries its seed and configuration, so it runs like a requeued trial. The failed
///   trial stays FAIL: Optuna has no way back from a finished state.
extension SQLiteStore {
    /// The system attribute Optuna's `enqueue_trial` stores a trial's given parameters in.
    static let fixedParamsKey = "fixed_params"

    public func enqueueTrial(studyID: Int64, fixedParams: [String: ParamValue]) throws -> Int {
        let json = OptunaEncoding.json(fixedParams.mapValues(\.json))
        return try pool.write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM sweep_studies WHERE study_id = ?", arguments: [studyID]) != nil else {
                throw RuntimeFailure("\(path): no Sweep study with id \(studyID)")
            }
            let number = try nextNumber(db, studyID)
            try db.execute(sql: "INSERT INTO trials (number, study_id, state) VALUES (?, ?, 'WAITING')", arguments: [number, studyID])
            try setSystemAttribute(db, db.lastInsertedRowID, Self.fixedParamsKey, json)
            return number
        }
    }

    public func givenParams(trialID: Int64) throws -> (values: [String: ParamValue], unreadable: [String]) {
        try pool.read { db in
            let fixed = try String.fetchOne(db, sql: """
                SELECT value_json FROM trial_system_attributes WHERE trial_id = ? AND "key" = ?
                """, arguments: [trialID, Self.fixedParamsKey])
            let stored = try Row.fetchAll(db, sql: "SELECT param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ?",
                                          arguments: [trialID])
                .map { (name: $0["param_name"] as String, value: $0["param_value"] as Double?, distributionJSON: $0["distribution_json"] as String?) }
            return QueuedTrials.givenParams(fixedParamsJSON: fixed, stored: stored)
        }
    }

    public func adoptTrial(trialID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                           configJSON: String) throws -> Bool {
        try QueuedTrials.checkFinite(params)
        let now = OptunaEncoding.datetime(Date())
        return try pool.write { db in
            guard try isUnownedWaiting(db, trialID) else { return false }
            try db.execute(sql: "DELETE FROM trial_params WHERE trial_id = ?", arguments: [trialID])
            for p in params {
                try db.execute(sql: "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
                               arguments: [trialID, p.name, p.value, p.distributionJSON])
            }
            try db.execute(sql: "INSERT OR REPLACE INTO sweep_trials (trial_id, seed, config_json) VALUES (?, ?, ?)",
                           arguments: [trialID, String(seed), configJSON])
            try db.execute(sql: "UPDATE trials SET state = 'RUNNING', datetime_start = ? WHERE trial_id = ?", arguments: [now, trialID])
            try beat(db, trialID, now)
            return true
        }
    }

    public func failEnqueuedTrial(trialID: Int64, seed: UInt64, reason: String) throws -> Bool {
        let now = OptunaEncoding.datetime(Date())
        return try pool.write { db in
            guard try isUnownedWaiting(db, trialID) else { return false }
            try db.execute(sql: "INSERT OR REPLACE INTO sweep_trials (trial_id, seed, config_json, reason) VALUES (?, ?, '', ?)",
                           arguments: [trialID, String(seed), reason])
            try db.execute(sql: "UPDATE trials SET state = 'FAIL', datetime_start = ?, datetime_complete = ? WHERE trial_id = ?",
                           arguments: [now, now, trialID])
            try setFailReason(db, trialID, reason)
            return true
        }
    }

    public func retryFailedTrials(studyID: Int64) throws -> [(failed: Int, retry: Int)] {
        try pool.write { db in
            var retried = Set<Int>()
            for text in try String.fetchAll(db, sql: """
                SELECT a.value_json FROM trial_system_attributes a JOIN trials t ON t.trial_id = a.trial_id
                WHERE t.study_id = ? AND a."key" = 'retry_history'
                """, arguments: [studyID]) {
                if let last = QueuedTrials.intList(text)?.last { retried.insert(last) }
            }
            var queued: [(failed: Int, retry: Int)] = []
            for row in try Row.fetchAll(db, sql: """
                SELECT t.trial_id, t.number, w.seed, w.config_json, w.attempts FROM trials t
                LEFT JOIN sweep_trials w ON w.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'FAIL' ORDER BY t.number
                """, arguments: [studyID]) {
                let old: Int64 = row["trial_id"], oldNumber: Int = row["number"]
                guard !retried.contains(oldNumber) else { continue }
                let number = try nextNumber(db, studyID)
                try db.execute(sql: "INSERT INTO trials (number, study_id, state) VALUES (?, ?, 'WAITING')", arguments: [number, studyID])
                let id = db.lastInsertedRowID
                try db.execute(sql: """
                    INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
                    SELECT ?, param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ?
                    """, arguments: [id, old])
                try db.execute(sql: """
                    INSERT INTO trial_user_attributes (trial_id, "key", value_json)
                    SELECT ?, "key", value_json FROM trial_user_attributes WHERE trial_id = ? AND "key" != ?
                    """, arguments: [id, old, OptunaEncoding.failReasonKey])
                var system: [String: String] = [:]
                for a in try Row.fetchAll(db, sql: #"SELECT "key", value_json FROM trial_system_attributes WHERE trial_id = ?"#, arguments: [old]) {
                    system[a["key"]] = a["value_json"]
                }
                for (key, value) in QueuedTrials.retryAttributes(of: system, failedNumber: oldNumber) { try setSystemAttribute(db, id, key, value) }
                if let config: String = row["config_json"], !config.isEmpty {
                    try db.execute(sql: "INSERT INTO sweep_trials (trial_id, seed, config_json, attempts) VALUES (?, ?, ?, ?)",
                                   arguments: [id, row["seed"] as String, config, row["attempts"] as Int])
                }
                queued.append((oldNumber, number))
            }
            return queued
        }
    }

    public func setTrialSystemAttribute(trialID: Int64, key: String, valueJSON: String?) throws {
        try pool.write { db in
            if let valueJSON { try setSystemAttribute(db, trialID, key, valueJSON) }
            else { try db.execute(sql: #"DELETE FROM trial_system_attributes WHERE trial_id = ? AND "key" = ?"#, arguments: [trialID, key]) }
        }
    }

    public func setTrialUserAttributes(trialID: Int64, _ attributes: [String: String]) throws {
        try pool.write { db in
            for (k, v) in attributes.sorted(by: { $0.key < $1.key }) {
                try db.cachedStatement(sql: """
                    INSERT INTO trial_user_attributes (trial_id, "key", value_json) VALUES (?, ?, ?)
                    ON CONFLICT (trial_id, "key") DO UPDATE SET value_json = excluded.value_json
                    """).execute(arguments: [trialID, k, v])
            }
        }
    }

    public func trialUserAttributes(trialID: Int64) throws -> [String: String] {
        try attributes(table: "trial_user_attributes", trialID: trialID)
    }

    public func trialSystemAttributes(trialID: Int64) throws -> [String: String] {
        try attributes(table: "trial_system_attributes", trialID: trialID)
    }

    /// A trial's rows of an attribute table, key to value as JSON.
    func attributes(table: String, trialID: Int64) throws -> [String: String] {
        try pool.read { db in
            var out: [String: String] = [:]
            for a in try Row.fetchAll(db, sql: "SELECT \"key\", value_json FROM \(table) WHERE trial_id = ?", arguments: [trialID]) {
                out[a["key"]] = a["value_json"]
            }
            return out
        }
    }

    // MARK: Helpers

    /// The next trial number of a study: the count of its earlier trials (Optuna's rule), which is
    /// the last trial's number + 1 as a study's trials are never deleted; this form reads one
    /// entry of ix_trials_study_id instead of all of them.
    func nextNumber(_ db: Database, _ studyID: Int64) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT number FROM trials WHERE study_id = ? ORDER BY trial_id DESC LIMIT 1"),
                         arguments: [studyID]).map { $0 + 1 } ?? 0
    }

    func setSystemAttribute(_ db: Database, _ trialID: Int64, _ key: String, _ valueJSON: String) throws {
        try db.execute(sql: """
            INSERT INTO trial_system_attributes (trial_id, "key", value_json) VALUES (?, ?, ?)
            ON CONFLICT (trial_id, "key") DO UPDATE SET value_json = excluded.value_json
            """, arguments: [trialID, key, valueJSON])
    }

    private func isUnownedWaiting(_ db: Database, _ trialID: Int64) throws -> Bool {
        try Row.fetchOne(db, sql: """
            SELECT 1 FROM trials t WHERE t.trial_id = ? AND t.state = 'WAITING'
            AND NOT EXISTS (SELECT 1 FROM sweep_trials w WHERE w.trial_id = t.trial_id)
            """, arguments: [trialID]) != nil
    }
}
