import Foundation
import SweepCore

/// Trials paused by a pausing scheduler (see `TrialStore.pauseTrial`).
extension PostgresStore {
    public func pauseTrial(trialID: Int64, owner: String?) throws {
        try pool.transaction { db in
            let s = try state(db, trialID, lock: true)
            try requireOwner(db, trialID, owner)
            guard s == .running else { throw try notRunning(db, trialID, s) }
            let step = try db.scalar("SELECT MAX(step)::bigint FROM trial_intermediate_values WHERE trial_id = ?", [trialID], as: Int64.self)
            try db.execute("UPDATE sweep_trials SET owner = NULL, worker_pid = NULL WHERE trial_id = ?", [trialID])
            try db.execute("DELETE FROM trial_heartbeats WHERE trial_id = ?", [trialID])
            try db.execute("UPDATE trials SET state = 'WAITING', datetime_complete = NULL WHERE trial_id = ?", [trialID])
            try setSystemAttribute(db, trialID, TrialAttribute.pausedAtEpoch, "\(step ?? 0)")
        }
    }

    public func resumePausedTrial(trialID: Int64, workerPID: Int32?) throws {
        try pool.transaction { db in
            try requirePaused(db, trialID)
            try db.execute("UPDATE trials SET state = 'RUNNING', datetime_start = COALESCE(datetime_start, LOCALTIMESTAMP) WHERE trial_id = ?", [trialID])
            try db.execute("UPDATE sweep_trials SET unstarted = 0, owner = NULL, worker_pid = ? WHERE trial_id = ?", [workerPID, trialID])
            try unmarkPaused(db, trialID)
            try beat(db, trialID)
        }
    }

    public func endPausedTrial(trialID: Int64) throws {
        try pool.transaction { db in
            try requirePaused(db, trialID)
            let (final, _) = try writeFinalValues(db, trialID, state: .pruned, values: nil, reason: nil)
            try db.execute("""
                UPDATE trials SET state = ?::trialstate, datetime_start = COALESCE(datetime_start, LOCALTIMESTAMP),
                    datetime_complete = LOCALTIMESTAMP WHERE trial_id = ?
                """, [final.rawValue, trialID])
            try unmarkPaused(db, trialID)
        }
    }

    /// Refuses a trial that is not WAITING with the pause marker (its row locked).
    private func requirePaused(_ db: PGSession, _ trialID: Int64) throws {
        let s = try state(db, trialID, lock: true)
        let marked = try db.scalar("SELECT 1::bigint FROM trial_system_attributes WHERE trial_id = ? AND key = ?",
                                   [trialID, TrialAttribute.pausedAtEpoch], as: Int64.self) != nil
        guard s == .waiting, marked else {
            throw RuntimeFailure("\(location): trial id \(trialID) is \(s.rawValue)\(s == .waiting ? " but not paused" : ""); only a paused trial can be resumed or ended")
        }
    }

    private func unmarkPaused(_ db: PGSession, _ trialID: Int64) throws {
        try db.execute("DELETE FROM trial_system_attributes WHERE trial_id = ? AND key = ?", [trialID, TrialAttribute.pausedAtEpoch])
    }
}
