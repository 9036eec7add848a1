import Foundation
import SweepCore

/// `trials(studyID:changedSince:)` on PostgreSQL: see `TrialChangeCursor` for the rule.
extension PostgresStore {
    public func trials(studyID: Int64, changedSince cursor: TrialChangeCursor?) throws -> (trials: [StoredTrial], cursor: TrialChangeCursor) {
        // One statement, so one snapshot: its xmin is the next cursor. The changed trials' ids
        // come first (an index range of the change log) and the trials are looked up by them:
        // never a scan of the study's trials, whatever the plan's estimate of how many changed.
        let (trials, xmin) = try pool.statement(idempotent: true) { db in
            try cursor.map {
                try fetchTrialsAndXmin(db, where: Self.changedTrials, [studyID, $0.position, studyID])
            } ?? fetchTrialsAndXmin(db, where: "t.study_id = ?", [studyID])
        }
        return (trials, TrialChangeCursor(xmin))
    }

    /// The condition of a change read: its study, its cursor's position, its study again.
    static let changedTrials = "t.trial_id = ANY(ARRAY(SELECT trial_id FROM sweep_trial_changes WHERE study_id = ? AND txid >= ?)) AND t.study_id = ?"
}

extension PostgresSchema {
    /// Migration `sweep-v7-trial-changes`: `sweep_trial_changes`, one row per trial holding the
    /// id of the last transaction that changed it (`txid_current()`), kept by triggers on every
    /// table a trial is read from, so any writer's changes (Optuna's too) are recorded. The row
    /// is written once per transaction and trial (a second change in the same transaction finds
    /// its id there already); it goes with the trial.
    static let trialChangesV7: [String] = [
        """
        CREATE TABLE sweep_trial_changes (
            trial_id INTEGER NOT NULL PRIMARY KEY,
            study_id INTEGER NOT NULL,
            txid BIGINT NOT NULL
        )
        """,
        "CREATE INDEX sweep_trial_changes_study_txid ON sweep_trial_changes (study_id, txid)",
        // Bodies on one line: `pg_dump` prints them as written, and the schema test tells Sweep's
        // statements from Optuna's by splitting the dump at a semicolon ending a line.
        """
        CREATE FUNCTION sweep_trial_changed() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE changed INTEGER; BEGIN \
        IF TG_OP = 'DELETE' THEN changed := OLD.trial_id; ELSE changed := NEW.trial_id; END IF; \
        INSERT INTO sweep_trial_changes (trial_id, study_id, txid) \
        SELECT t.trial_id, t.study_id, txid_current() FROM trials t WHERE t.trial_id = changed AND t.study_id IS NOT NULL \
        ON CONFLICT (trial_id) DO UPDATE SET txid = excluded.txid WHERE sweep_trial_changes.txid <> excluded.txid; \
        RETURN NULL; END $$
        """,
        """
        CREATE FUNCTION sweep_trial_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
        DELETE FROM sweep_trial_changes WHERE trial_id = OLD.trial_id; RETURN NULL; END $$
        """,
        "CREATE TRIGGER sweep_changed AFTER INSERT OR UPDATE ON trials FOR EACH ROW EXECUTE FUNCTION sweep_trial_changed()",
        "CREATE TRIGGER sweep_deleted AFTER DELETE ON trials FOR EACH ROW EXECUTE FUNCTION sweep_trial_deleted()",
    ] + Schema.trialPartTables.map { table in
        // `sweep_trials` rows are deleted only with their trial.
        let ops = table == "sweep_trials" ? "INSERT OR UPDATE" : "INSERT OR UPDATE OR DELETE"
        return "CREATE TRIGGER sweep_changed AFTER \(ops) ON \(table) FOR EACH ROW EXECUTE FUNCTION sweep_trial_changed()"
    }
}
