import Foundation
import GRDB

/// `trials(studyID:changedSince:)` on SQLite: see `TrialChangeCursor` for the rule.
extension SQLiteStore {
    public func trials(studyID: Int64, changedSince cursor: TrialChangeCursor?) throws -> (trials: [StoredTrial], cursor: TrialChangeCursor) {
        try pool.read { db in
            let last = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM sweep_trial_changes") ?? 0
            let trials = try cursor.map {
                try fetchTrials(db, where: """
                    t.study_id = ? AND t.trial_id IN (SELECT trial_id FROM sweep_trial_changes WHERE seq > ? AND study_id = ?)
                    """, [studyID, $0.position, studyID])
            } ?? fetchTrials(db, where: "t.study_id = ?", [studyID])
            return (trials, TrialChangeCursor(last))
        }
    }
}

extension Schema {
    /// The tables whose rows make a `StoredTrial` besides `trials` (each has a `trial_id`).
    static let trialPartTables = ["trial_params", "trial_values", "trial_intermediate_values", "trial_system_attributes", "sweep_trials"]

    /// Migration `sweep-v7-trial-changes`: `sweep_trial_changes`, one row per trial holding the
    /// `seq` of its last change (the highest + 1 when written: SQLite has one writer at a time),
    /// kept by triggers on every table a trial is read from, so any writer's changes (Optuna's,
    /// `sweep enqueue`'s) are recorded. A trial's row goes with the trial. `sweep_trials` rows
    /// are deleted only with their trial: no trigger on that.
    static var trialChangesV7: [String] {
        func upsert(_ id: String, study: String, from: String) -> String {
            """
            INSERT INTO sweep_trial_changes (trial_id, study_id, seq)
                SELECT \(id), \(study), coalesce((SELECT max(seq) FROM sweep_trial_changes), 0) + 1 \(from)
                ON CONFLICT (trial_id) DO UPDATE SET seq = excluded.seq;
            """
        }
        var statements = [
            """
            CREATE TABLE sweep_trial_changes (
                trial_id INTEGER NOT NULL PRIMARY KEY,  -- trials.trial_id (no foreign key: Optuna deletes without cascades)
                study_id INTEGER NOT NULL,
                seq INTEGER NOT NULL                    -- the change's place in commit order
            )
            """,
            "CREATE INDEX sweep_trial_changes_seq ON sweep_trial_changes (seq)",
        ]
        for op in ["INSERT", "UPDATE"] {
            statements.append("""
                CREATE TRIGGER sweep_changed_trials_\(op.lowercased()) AFTER \(op) ON trials WHEN NEW.study_id IS NOT NULL BEGIN
                \(upsert("NEW.trial_id", study: "NEW.study_id", from: "WHERE true"))
                END
                """)
        }
        statements.append("""
            CREATE TRIGGER sweep_changed_trials_delete AFTER DELETE ON trials BEGIN
            DELETE FROM sweep_trial_changes WHERE trial_id = OLD.trial_id;
            END
            """)
        for table in trialPartTables {
            for op in table == "sweep_trials" ? ["INSERT", "UPDATE"] : ["INSERT", "UPDATE", "DELETE"] {
                let row = op == "DELETE" ? "OLD" : "NEW"
                statements.append("""
                    CREATE TRIGGER sweep_changed_\(table)_\(op.lowercased()) AFTER \(op) ON \(table) BEGIN
                    \(upsert("t.trial_id", study: "t.study_id", from: "FROM trials t WHERE t.trial_id = \(row).trial_id AND t.study_id IS NOT NULL"))
                    END
                    """)
            }
        }
        return statements
    }
}
