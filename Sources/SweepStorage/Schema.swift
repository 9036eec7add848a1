import Foundation
import GRDB
import SweepCore

/// The database schema: Optuna's tables exactly as Optuna 5.0 creates them in SQLite, and Sweep's
/// own tables (`sweep_` prefix) beside them.
///
/// Migrations are named and append-only: a released migration is never edited; a change is a new
/// migration registered after the others. GRDB records the applied ones in `grdb_migrations`.
enum Schema {
    /// The Alembic revision and `version_info` row Optuna 5.0 writes; `optuna.load_study` refuses
    /// a file whose revision is not its head.
    static let alembicRevision = "v3.2.0.a"
    static let optunaSchemaVersion = 12
    static let optunaLibraryVersion = "5.0.0"

    static let migrator: DatabaseMigrator = {
        var m = DatabaseMigrator()
        m.registerMigration("optuna-v3.2.0.a") { db in
            // A file Optuna created already holds these tables (its revision was checked on opening).
            if try db.tableExists("alembic_version") { return }
            for statement in optunaTables { try db.execute(sql: statement) }
            try db.execute(sql: "INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, ?, ?)",
                           arguments: [optunaSchemaVersion, optunaLibraryVersion])
            try db.execute(sql: "INSERT INTO alembic_version (version_num) VALUES (?)", arguments: [alembicRevision])
        }
        m.registerMigration("sweep-v1") { db in
            try db.execute(sql: sweepTablesV1)
        }
        m.registerMigration("sweep-v2-controller-lease") { db in
            // The process that runs a study now (replaced by a lease in sweep-v5).
            try db.execute(sql: """
                ALTER TABLE sweep_studies ADD COLUMN controller_pid INTEGER;
                ALTER TABLE sweep_studies ADD COLUMN controller_host TEXT;
                ALTER TABLE sweep_studies ADD COLUMN controller_heartbeat TEXT;
                """)
        }
        m.registerMigration("sweep-v3-run-options") { db in
            // How the study was started (overrides, sampler, data folder, limits: what a daemon needs
            // to run it again), and why its last run ended early.
            try db.execute(sql: """
                ALTER TABLE sweep_studies ADD COLUMN run_options TEXT;
                ALTER TABLE sweep_studies ADD COLUMN stop_reason TEXT;
                """)
        }
        m.registerMigration("sweep-v4-metric-names") { db in
            // Optuna's `study.set_metric_names` form, for studies created before Sweep wrote it
            // (createStudy does now); a name a user set with Optuna is kept.
            for row in try Row.fetchAll(db, sql: "SELECT study_id, metric FROM sweep_studies") {
                try setMetricNames(db, studyID: row["study_id"], metrics: [row["metric"]], replace: false)
            }
        }
        m.registerMigration("sweep-v5-controller-lease-owner") { db in
            // A lease (owner id, expiry on the database's clock) instead of a pid and host name; a
            // claim held now carries over, its owner with no start token (see LeaseOwner).
            try db.execute(sql: """
                ALTER TABLE sweep_studies ADD COLUMN controller_owner TEXT;
                ALTER TABLE sweep_studies ADD COLUMN controller_expires DATETIME;
                UPDATE sweep_studies SET controller_owner = controller_host || ':' || controller_pid || ':',
                    controller_expires = strftime('%Y-%m-%d %H:%M:%f', controller_heartbeat, '+30 seconds')
                WHERE controller_pid IS NOT NULL AND controller_host IS NOT NULL AND controller_heartbeat IS NOT NULL;
                ALTER TABLE sweep_studies DROP COLUMN controller_pid;
                ALTER TABLE sweep_studies DROP COLUMN controller_host;
                ALTER TABLE sweep_studies DROP COLUMN controller_heartbeat;
                """)
        }
        m.registerMigration("sweep-v6-trial-owner") { db in
            // Which daemon runs a trial (a LeaseOwner id, while it runs it), and whether a WAITING
            // trial a leader created was never started (its first claim is attempt 1).
            try db.execute(sql: """
                ALTER TABLE sweep_trials ADD COLUMN owner TEXT;
                ALTER TABLE sweep_trials ADD COLUMN unstarted INTEGER NOT NULL DEFAULT 0;
                """)
        }
        m.registerMigration("sweep-v7-trial-changes") { db in
            // Which trials changed since a reader's last read (SQLiteStore+Changes.swift).
            for statement in trialChangesV7 { try db.execute(sql: statement) }
        }
        m.registerMigration("sweep-v8-waiting-index") { db in
            // A claim finds the study's lowest WAITING trial without scanning its finished ones.
            try db.execute(sql: "CREATE INDEX sweep_trials_waiting ON trials (study_id, number) WHERE state = 'WAITING'")
        }
        return m
    }()

    /// Writes the study's metric names as Optuna's `study.set_metric_names(metrics)` does.
    static func setMetricNames(_ db: Database, studyID: Int64, metrics: [String], replace: Bool) throws {
        try db.execute(sql: """
            INSERT INTO study_system_attributes (study_id, "key", value_json) VALUES (?, ?, ?)
            ON CONFLICT (study_id, "key") DO \(replace ? "UPDATE SET value_json = excluded.value_json" : "NOTHING")
            """, arguments: [studyID, OptunaEncoding.metricNamesKey, OptunaEncoding.json(metrics)])
    }

    /// Whether a file opened for reading only holds this version's schema.
    enum ReadableState: Equatable {
        case current
        /// Written by an older Sweep: these migrations are missing.
        case older(missing: [String])
    }

    /// Checks a file opened for reading only, without migrating it: the refusals of `migrate`,
    /// and whether migrations are missing.
    static func readableState(_ pool: DatabasePool, file: String) throws -> ReadableState {
        try pool.read { db in
            try refuseUnreadable(db, file: file)
            let applied = try migrator.appliedIdentifiers(db)
            let missing = migrator.migrations.filter { !applied.contains($0) }
            return missing.isEmpty ? .current : .older(missing: missing)
        }
    }

    /// Refuses a file a newer Sweep or another Optuna schema wrote.
    private static func refuseUnreadable(_ db: Database, file: String) throws {
        if try migrator.hasBeenSuperseded(db) {
            let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
            throw InputError(file: file, "was written by a newer version of Sweep (schema \(unknown.joined(separator: ", "))); use that version or a newer one")
        }
        if try db.tableExists("alembic_version") {
            let revision = try String.fetchOne(db, sql: "SELECT version_num FROM alembic_version") ?? "none"
            guard revision == alembicRevision else {
                throw InputError(file: file, "holds Optuna's schema at revision '\(revision)'; Sweep reads revision '\(alembicRevision)' (Optuna 5.0)")
            }
        }
    }

    /// Runs the migrations, after refusing files this version cannot read.
    static func migrate(_ pool: DatabasePool, file: String) throws {
        try pool.read { db in try refuseUnreadable(db, file: file) }
        // Two processes opening a new file at once: the second one's migration fails on the tables
        // the first just created, and the next pass finds them applied.
        for attempt in 1...3 {
            do { try migrator.migrate(pool); return } catch is DatabaseError where attempt < 3 { usleep(50_000) }
        }
    }

    // MARK: Optuna's tables

    /// `CREATE TABLE` text laid out as SQLAlchemy emits it, so `sqlite_master` matches a file
    /// Optuna created byte for byte (the interoperability test compares them).
    private static func table(_ name: String, _ clauses: [String]) -> String {
        "CREATE TABLE \(name) (\n\t" + clauses.joined(separator: ", \n\t") + "\n)"
    }

    private static func attributes(_ name: String, owner: String, ownerTable: String) -> String {
        table(name, [
            "\(name.dropLast(1))_id INTEGER NOT NULL",
            "\(owner) INTEGER",
            "\"key\" VARCHAR(512)",
            "value_json TEXT",
            "PRIMARY KEY (\(name.dropLast(1))_id)",
            "UNIQUE (\(owner), \"key\")",
            "FOREIGN KEY(\(owner)) REFERENCES \(ownerTable) (\(owner))",
        ])
    }

    /// Optuna 5.0's tables and indices, in the order it creates them. Enumerated columns
    /// (`direction`, `state`, `value_type`) carry no CHECK constraint: Optuna declares none.
    static let optunaTables: [String] = [
        table("studies", [
            "study_id INTEGER NOT NULL",
            "study_name VARCHAR(512) NOT NULL",
            "PRIMARY KEY (study_id)",
        ]),
        "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)",
        table("version_info", [
            "version_info_id INTEGER NOT NULL",
            "schema_version INTEGER",
            "library_version VARCHAR(256)",
            "PRIMARY KEY (version_info_id)",
            "CHECK (version_info_id=1)",
        ]),
        table("study_directions", [
            "study_direction_id INTEGER NOT NULL",
            "direction VARCHAR(8) NOT NULL",            // MINIMIZE, MAXIMIZE (NOT_SET)
            "study_id INTEGER NOT NULL",
            "objective INTEGER NOT NULL",
            "PRIMARY KEY (study_direction_id)",
            "UNIQUE (study_id, objective)",
            "FOREIGN KEY(study_id) REFERENCES studies (study_id)",
        ]),
        attributes("study_user_attributes", owner: "study_id", ownerTable: "studies"),
        attributes("study_system_attributes", owner: "study_id", ownerTable: "studies"),
        table("trials", [
            "trial_id INTEGER NOT NULL",
            "number INTEGER",                            // 0-based within the study
            "study_id INTEGER",
            "state VARCHAR(8) NOT NULL",                 // RUNNING, COMPLETE, PRUNED, FAIL, WAITING
            "datetime_start DATETIME",
            "datetime_complete DATETIME",
            "PRIMARY KEY (trial_id)",
            "FOREIGN KEY(study_id) REFERENCES studies (study_id)",
        ]),
        "CREATE INDEX ix_trials_study_id ON trials (study_id)",
        attributes("trial_user_attributes", owner: "trial_id", ownerTable: "trials"),
        attributes("trial_system_attributes", owner: "trial_id", ownerTable: "trials"),
        table("trial_params", [
            "param_id INTEGER NOT NULL",
            "trial_id INTEGER",
            "param_name VARCHAR(512)",
            "param_value FLOAT",                         // internal value: a categorical's index
            "distribution_json TEXT",
            "PRIMARY KEY (param_id)",
            "UNIQUE (trial_id, param_name)",
            "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)",
        ]),
        table("trial_values", [
            "trial_value_id INTEGER NOT NULL",
            "trial_id INTEGER NOT NULL",
            "objective INTEGER NOT NULL",
            "value FLOAT",                               // NULL unless FINITE
            "value_type VARCHAR(7) NOT NULL",            // FINITE, INF_POS, INF_NEG
            "PRIMARY KEY (trial_value_id)",
            "UNIQUE (trial_id, objective)",
            "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)",
        ]),
        table("trial_intermediate_values", [
            "trial_intermediate_value_id INTEGER NOT NULL",
            "trial_id INTEGER NOT NULL",
            "step INTEGER NOT NULL",
            "intermediate_value FLOAT",                  // NULL unless FINITE
            "intermediate_value_type VARCHAR(7) NOT NULL",  // FINITE, INF_POS, INF_NEG, NAN
            "PRIMARY KEY (trial_intermediate_value_id)",
            "UNIQUE (trial_id, step)",
            "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)",
        ]),
        table("trial_heartbeats", [
            "trial_heartbeat_id INTEGER NOT NULL",
            "trial_id INTEGER NOT NULL",
            "heartbeat DATETIME NOT NULL",
            "PRIMARY KEY (trial_heartbeat_id)",
            "UNIQUE (trial_id)",
            "FOREIGN KEY(trial_id) REFERENCES trials (trial_id)",
        ]),
        table("alembic_version", [
            "version_num VARCHAR(32) NOT NULL",
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)",
        ]),
    ]

    // MARK: Sweep's tables

    /// One row per Sweep study and per Sweep trial, keyed by Optuna's ids. Seeds are decimal text:
    /// a UInt64 does not fit SQLite's signed 64-bit integers.
    static let sweepTablesV1 = """
        CREATE TABLE sweep_studies (
            study_id INTEGER NOT NULL PRIMARY KEY REFERENCES studies (study_id) ON DELETE CASCADE,
            space_path TEXT NOT NULL,       -- the search-space file as given
            space_text TEXT NOT NULL,       -- its text as submitted
            metric TEXT NOT NULL,
            sampler_json TEXT NOT NULL,
            scheduler_json TEXT NOT NULL,
            seed TEXT NOT NULL,             -- decimal UInt64
            trials_total INTEGER NOT NULL CHECK (trials_total >= 0),
            max_epochs INTEGER,
            created_at DATETIME NOT NULL,   -- UTC, Optuna's datetime text
            updated_at DATETIME NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'finished'))
        );
        CREATE TABLE sweep_trials (
            trial_id INTEGER NOT NULL PRIMARY KEY REFERENCES trials (trial_id) ON DELETE CASCADE,
            seed TEXT NOT NULL,             -- decimal UInt64
            config_json TEXT NOT NULL,      -- the full model value the trial ran
            attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),  -- starts, counting restarts
            worker_pid INTEGER,
            exit_status INTEGER,
            reason TEXT,
            stderr_tail TEXT,
            epochs_run INTEGER,
            duration_seconds REAL,
            artifact_dir TEXT
        );
        """
}
