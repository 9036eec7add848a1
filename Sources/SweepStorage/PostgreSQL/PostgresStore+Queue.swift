import Foundation
import SweepCore
import SweepSearch

/// Queued trials in Optuna's forms (see `SQLiteStore`'s queue, whose rules these follow).
extension PostgresStore {
    public func enqueueTrial(studyID: Int64, fixedParams: [String: ParamValue]) throws -> Int {
        let json = OptunaEncoding.json(fixedParams.mapValues(\.json))
        return try pool.transaction { db in
            let number = try lockNextNumber(db, studyID)
            let id: Int64 = try db.scalar("INSERT INTO trials (number, study_id, state) VALUES (?, ?, 'WAITING') RETURNING trial_id",
                                          [number, studyID])!
            try setSystemAttribute(db, id, SQLiteStore.fixedParamsKey, json)
            return number
        }
    }

    public func givenParams(trialID: Int64) throws -> (values: [String: ParamValue], unreadable: [String]) {
        try pool.transaction(readOnly: true) { db in
            let fixed = try db.scalar("SELECT value_json FROM trial_system_attributes WHERE trial_id = ? AND key = ?",
                                      [trialID, SQLiteStore.fixedParamsKey], as: String.self)
            let stored = try db.query("SELECT param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ?", [trialID])
                .map { (name: try $0["param_name"] as String, value: try $0["param_value"] as Double?, distributionJSON: try $0["distribution_json"] as String?) }
            return QueuedTrials.givenParams(fixedParamsJSON: fixed, stored: stored)
        }
    }

    public func adoptTrial(trialID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                           configJSON: String) throws -> Bool {
        try QueuedTrials.checkFinite(params)
        return try pool.transaction { db in
            guard try isUnownedWaiting(db, trialID) else { return false }
            try db.execute("DELETE FROM trial_params WHERE trial_id = ?", [trialID])
            try insertParams(db, trialID, params)
            try db.execute("INSERT INTO sweep_trials (trial_id, seed, config_json) VALUES (?, ?, ?)", [trialID, String(seed), configJSON])
            try db.execute("UPDATE trials SET state = 'RUNNING', datetime_start = LOCALTIMESTAMP WHERE trial_id = ?", [trialID])
            try beat(db, trialID)
            return true
        }
    }

    public func failEnqueuedTrial(trialID: Int64, seed: UInt64, reason: String) throws -> Bool {
        try pool.transaction { db in
            guard try isUnownedWaiting(db, trialID) else { return false }
            try db.execute("INSERT INTO sweep_trials (trial_id, seed, config_json, reason) VALUES (?, ?, '', ?)", [trialID, String(seed), reason])
            try db.execute("UPDATE trials SET state = 'FAIL', datetime_start = LOCALTIMESTAMP, datetime_complete = LOCALTIMESTAMP WHERE trial_id = ?",
                           [trialID])
            try setFailReason(db, trialID, reason)
            return true
        }
    }

    public func retryFailedTrials(studyID: Int64) throws -> [(failed: Int, retry: Int)] {
        try pool.transaction { db in
            var number = try lockNextNumber(db, studyID)
            var retried = Set<Int>()
            for row in try db.query("""
                SELECT a.value_json FROM trial_system_attributes a JOIN trials t ON t.trial_id = a.trial_id
                WHERE t.study_id = ? AND a.key = 'retry_history'
                """, [studyID]) {
                if let text: String = try row["value_json"], let last = QueuedTrials.intList(text)?.last { retried.insert(last) }
            }
            var queued: [(failed: Int, retry: Int)] = []
            for row in try db.query("""
                SELECT t.trial_id, t.number, w.seed, w.config_json, w.attempts FROM trials t
                LEFT JOIN sweep_trials w ON w.trial_id = t.trial_id
                WHERE t.study_id = ? AND t.state = 'FAIL' ORDER BY t.number
                """, [studyID]) {
                let old: Int64 = try row["trial_id"], oldNumber = Int(try row["number"] as Int64)
                guard !retried.contains(oldNumber) else { continue }
                let id: Int64 = try db.scalar("INSERT INTO trials (number, study_id, state) VALUES (?, ?, 'WAITING') RETURNING trial_id",
                                              [number, studyID])!
                try db.execute("""
                    INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
                    SELECT ?, param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ?
                    """, [id, old])
                try db.execute("""
                    INSERT INTO trial_user_attributes (trial_id, key, value_json)
                    SELECT ?, key, value_json FROM trial_user_attributes WHERE trial_id = ? AND key != ?
                    """, [id, old, OptunaEncoding.failReasonKey])
                var system: [String: String] = [:]
                for a in try db.query("SELECT key, value_json FROM trial_system_attributes WHERE trial_id = ?", [old]) {
                    system[try a["key"]] = try a["value_json"]
                }
                for (key, value) in QueuedTrials.retryAttributes(of: system, failedNumber: oldNumber) { try setSystemAttribute(db, id, key, value) }
                if let config: String = try row["config_json"], !config.isEmpty {
                    try db.execute("INSERT INTO sweep_trials (trial_id, seed, config_json, attempts) VALUES (?, ?, ?, ?)",
                                   [id, try row["seed"] as String, config, try row["attempts"] as Int64])
                }
                queued.append((oldNumber, number))
                number += 1
            }
            return queued
        }
    }

    public func setTrialSystemAttribute(trialID: Int64, key: String, valueJSON: String?) throws {
        try pool.transaction { db in
            if let valueJSON { try setSystemAttribute(db, trialID, key, valueJSON) }
            else { try db.execute("DELETE FROM trial_system_attributes WHERE trial_id = ? AND key = ?", [trialID, key]) }
        }
    }

    public func setTrialUserAttributes(trialID: Int64, _ attributes: [String: String]) throws {
        try pool.transaction { db in
            for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
                try db.execute("""
                    INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?, ?, ?)
                    ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json
                    """, [trialID, key, value])
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
        try pool.transaction(readOnly: true) { db in
            var out: [String: String] = [:]
            for a in try db.query("SELECT key, value_json FROM \(table) WHERE trial_id = ?", [trialID]) {
                out[try a["key"]] = try a["value_json"]
            }
            return out
        }
    }

    // MARK: Helpers

    func setSystemAttribute(_ db: PGSession, _ trialID: Int64, _ key: String, _ valueJSON: String) throws {
        try db.execute("""
            INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES (?, ?, ?)
            ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json
            """, [trialID, key, valueJSON])
    }

    /// Whether the trial is WAITING and not Sweep's; its row locked, so two adopters take turns.
    private func isUnownedWaiting(_ db: PGSession, _ trialID: Int64) throws -> Bool {
        try !db.query("""
            SELECT 1 FROM trials t WHERE t.trial_id = ? AND t.state = 'WAITING'
            AND NOT EXISTS (SELECT 1 FROM sweep_trials w WHERE w.trial_id = t.trial_id) FOR NO KEY UPDATE
            """, [trialID]).isEmpty
    }
}
