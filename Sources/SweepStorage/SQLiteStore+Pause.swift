import Foundation
import GRDB
import SweepCore

/// Trials paused by a pausing scheduler (see `TrialStore.pauseTrial`).
extension SQLiteStore {
    public func pauseTrial(trialID: Int64, owner: String?) throws {
        try pool.write { db in
            try requireOwner(db, trialID, owner)
            try requireRunning(db, trialID)
            let step = try Int.fetchOne(db, sql: "SELECT MAX(step) FROM trial_intermediate_values WHERE trial_id = ?", arguments: [trialID])
            try db.execute(sql: "UPDATE sweep_trials SET owner = NULL, worker_pid = NULL WHERE trial_id = ?", arguments: [trialID])
            try db.execute(sql: "DELETE FROM trial_heartbeats WHERE trial_id = ?", arguments: [trialID])
            try db.execute(sql: "UPDATE trials SET state = 'WAITING', datetime_complete = NULL WHERE trial_id = ?", arguments: [trialID])
            try setSystemAttribute(db, trialID, TrialAttribute.pausedAtEpoch, "\(step ?? 0)")
        }
    }

    public func resumePausedTrial(trialID: Int64, workerPID: Int32?) throws {
        let now = OptunaEncoding.datetime(Date())
        try pool.write { db in
            try requirePaused(db, trialID)
            try db.execute(sql: "UPDATE trials SET state = 'RUNNING', datetime_start = COALESCE(datetime_start, ?) WHERE trial_id = ?",
                           arguments: [now, trialID])
            try db.execute(sql: "UPDATE sweep_trials SET unstarted = 0, owner = NULL, worker_pid = ? WHERE trial_id = ?",
                           arguments: [workerPID, trialID])
            try unmarkPaused(db, trialID)
            try beat(db, trialID, now)
        }
    }

    public func endPausedTrial(trialID: Int64) throws {
        let now = OptunaEncoding.datetime(Date())
        try pool.write { db in
            try requirePaused(db, trialID)
            let objectives = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM study_directions d JOIN trials t ON t.study_id = d.study_id WHERE t.trial_id = ?
                """, arguments: [trialID]) ?? 1
            let (final, stored, _) = try OptunaEncoding.finishing(.pruned, values: nil, objectives: max(objectives, 1), reason: nil) {
                try Row.fetchOne(db, sql: """
                    SELECT intermediate_value, intermediate_value_type FROM trial_intermediate_values
                    WHERE trial_id = ? ORDER BY step DESC LIMIT 1
                    """, arguments: [trialID]).map { OptunaEncoding.float($0["intermediate_value"], type: $0["intermediate_value_type"]) }
            }
            for (i, v) in (stored ?? []).enumerated() {
                let (x, type) = OptunaEncoding.float(v)
                try db.execute(sql: "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)",
                               arguments: [trialID, i, x, type])
            }
            // A trial paused before it ever started (not possible through the runner) still gets a start.
            try db.execute(sql: "UPDATE trials SET state = ?, datetime_start = COALESCE(datetime_start, ?), datetime_complete = ? WHERE trial_id = ?",
                           arguments: [final.rawValue, now, now, trialID])
            try unmarkPaused(db, trialID)
        }
    }

    /// Refuses a trial that is not WAITING with the pause marker.
    private func requirePaused(_ db: Database, _ trialID: Int64) throws {
        let s = try state(db, trialID)
        let marked = try Row.fetchOne(db, sql: "SELECT 1 FROM trial_system_attributes WHERE trial_id = ? AND \"key\" = ?",
                                      arguments: [trialID, TrialAttribute.pausedAtEpoch]) != nil
        guard s == .waiting, marked else {
            throw RuntimeFailure("\(path): trial id \(trialID) is \(s.rawValue)\(s == .waiting ? " but not paused" : ""); only a paused trial can be resumed or ended")
        }
    }

    private func unmarkPaused(_ db: Database, _ trialID: Int64) throws {
        try db.execute(sql: "DELETE FROM trial_system_attributes WHERE trial_id = ? AND \"key\" = ?", arguments: [trialID, TrialAttribute.pausedAtEpoch])
    }
}
