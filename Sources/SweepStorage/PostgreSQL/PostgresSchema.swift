import Foundation
import SweepCore

/// The schema on PostgreSQL: Optuna's tables exactly as Optuna 5.0 creates them there (its enum
/// types, serial ids, constraint names: `pg_dump --schema-only` of a database Optuna created and
/// of one Sweep created are the same), and Sweep's tables beside them, through the same named,
/// append-only migrations as on SQLite (`Schema.migrator`; a test checks the names match). The
/// applied ones are rows of `sweep_migrations`. Migrations run in one transaction under an
/// advisory lock, so processes opening a new database at once apply each once.
enum PostgresSchema {
    typealias Migration = (name: String, apply: (PGSession) throws -> Void)

    static let migrations: [Migration] = [
        ("optuna-v3.2.0.a", { db in
            // A database Optuna created already holds these tables (its revision was checked).
            if try db.scalar("SELECT to_regclass('alembic_version') IS NOT NULL", as: Bool.self) == true { return }
            for statement in optunaTables { try db.execute(statement) }
            try db.execute("INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, ?, ?)",
                           [Schema.optunaSchemaVersion, Schema.optunaLibraryVersion])
            try db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", [Schema.alembicRevision])
        }),
        ("sweep-v1", { db in
            try db.execute("""
                CREATE TABLE sweep_studies (
                    study_id INTEGER NOT NULL PRIMARY KEY REFERENCES studies (study_id) ON DELETE CASCADE,
                    space_path TEXT NOT NULL,
                    space_text TEXT NOT NULL,
                    metric TEXT NOT NULL,
                    sampler_json TEXT NOT NULL,
                    scheduler_json TEXT NOT NULL,
                    seed TEXT NOT NULL,
                    trials_total INTEGER NOT NULL CHECK (trials_total >= 0),
                    max_epochs INTEGER,
                    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
                    updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'finished'))
                )
                """)
            try db.execute("""
                CREATE TABLE sweep_trials (
                    trial_id INTEGER NOT NULL PRIMARY KEY REFERENCES trials (trial_id) ON DELETE CASCADE,
                    seed TEXT NOT NULL,
                    config_json TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
                    worker_pid INTEGER,
                    exit_status INTEGER,
                    reason TEXT,
                    stderr_tail TEXT,
                    epochs_run INTEGER,
                    duration_seconds DOUBLE PRECISION,
                    artifact_dir TEXT
                )
                """)
        }),
        ("sweep-v2-controller-lease", { db in
            try db.execute("""
                ALTER TABLE sweep_studies ADD COLUMN controller_pid INTEGER, ADD COLUMN controller_host TEXT,
                    ADD COLUMN controller_heartbeat TIMESTAMP WITHOUT TIME ZONE
                """)
        }),
        ("sweep-v3-run-options", { db in
            try db.execute("ALTER TABLE sweep_studies ADD COLUMN run_options TEXT, ADD COLUMN stop_reason TEXT")
        }),
        ("sweep-v4-metric-names", { db in
            for row in try db.query("SELECT study_id, metric FROM sweep_studies") {
                try setMetricNames(db, studyID: try row["study_id"], metrics: [try row["metric"]], replace: false)
            }
        }),
        ("sweep-v5-controller-lease-owner", { db in
            try db.execute("""
                ALTER TABLE sweep_studies ADD COLUMN controller_owner TEXT, ADD COLUMN controller_expires TIMESTAMP WITHOUT TIME ZONE
                """)
            try db.execute("""
                UPDATE sweep_studies SET controller_owner = controller_host || ':' || controller_pid || ':',
                    controller_expires = controller_heartbeat + interval '30 seconds'
                WHERE controller_pid IS NOT NULL AND controller_host IS NOT NULL AND controller_heartbeat IS NOT NULL
                """)
            try db.execute("""
                ALTER TABLE sweep_studies DROP COLUMN controller_pid, DROP COLUMN controller_host, DROP COLUMN controller_heartbeat
                """)
        }),
        ("sweep-v6-trial-owner", { db in
            try db.execute("ALTER TABLE sweep_trials ADD COLUMN owner TEXT, ADD COLUMN unstarted INTEGER NOT NULL DEFAULT 0")
        }),
        ("sweep-v7-trial-changes", { db in
            // Which trials changed since a reader's last read (PostgresStore+Changes.swift).
            for statement in trialChangesV7 { try db.execute(statement) }
        }),
        ("sweep-v8-waiting-index", { db in
            // A claim finds the study's lowest WAITING trial without scanning its finished ones
            // (0.69 -> 0.10 ms at 10,000 trials; it grew with the study).
            try db.execute("CREATE INDEX sweep_trials_waiting ON trials (study_id, number) WHERE state = 'WAITING'")
        }),
    ]

    /// Writes the study's metric names as Optuna's `study.set_metric_names(metrics)` does.
    static func setMetricNames(_ db: PGSession, studyID: Int64, metrics: [String], replace: Bool) throws {
        try db.execute("""
            INSERT INTO study_system_attributes (study_id, key, value_json) VALUES (?, ?, ?)
            ON CONFLICT (study_id, key) DO \(replace ? "UPDATE SET value_json = excluded.value_json" : "NOTHING")
            """, [studyID, OptunaEncoding.metricNamesKey, OptunaEncoding.json(metrics)])
    }

    /// Refuses a database a newer Sweep or another Optuna schema wrote, then applies the missing
    /// migrations. A database already up to date (every opening but the first) is checked with
    /// one read, without the lock or any DDL: one round trip, not eleven, for every command.
    static func migrate(_ pool: PGPool, location: String) throws {
        if try isCurrent(pool, location: location) { return }
        try pool.schemaTransaction { db in
            // One migrating process at a time (a constant key: "sweep" in ASCII).
            try db.execute("SELECT pg_advisory_xact_lock(1937204592)")
            try db.execute("CREATE TABLE IF NOT EXISTS sweep_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            let applied = Set(try db.query("SELECT identifier FROM sweep_migrations").map { try $0["identifier"] as String })
            var revision: String? = nil
            if try db.scalar("SELECT to_regclass('alembic_version') IS NOT NULL", as: Bool.self) == true {
                revision = try db.scalar("SELECT version_num FROM alembic_version", as: String.self) ?? "none"
            }
            try refuse(applied: applied, revision: revision, location: location)
            for m in migrations where !applied.contains(m.name) {
                try m.apply(db)
                try db.execute("INSERT INTO sweep_migrations (identifier) VALUES (?)", [m.name])
            }
        }
    }

    /// Whether the database holds every migration and Optuna's revision, from one read; false
    /// when it lacks the tables (a new database: the read fails) or a migration. Throws the
    /// refusals of `refuse`.
    static func isCurrent(_ pool: PGPool, location: String) throws -> Bool {
        let row: PGRow?
        do {
            row = try pool.statement(idempotent: true) { db in
                try db.query("""
                    SELECT ARRAY(SELECT identifier FROM sweep_migrations) AS applied,
                        (SELECT version_num FROM alembic_version LIMIT 1)::text AS revision
                    """).first
            }
        } catch where PGPool.sqlState(error) == "42P01" {   // undefined_table
            return false
        }
        guard let row else { return false }
        let applied = Set(try row["applied"] as [String])
        let revision: String? = try row["revision"]
        try refuse(applied: applied, revision: revision ?? "none", location: location)
        return applied.isSuperset(of: migrations.map(\.name))
    }

    /// Refuses a database whose migrations include one this version does not know (a newer
    /// Sweep wrote it) or whose Optuna revision (nil: no `alembic_version` table) is another.
    static func refuse(applied: Set<String>, revision: String?, location: String) throws {
        let unknown = applied.subtracting(migrations.map(\.name)).sorted()
        guard unknown.isEmpty else {
            throw InputError(file: location, "was written by a newer version of Sweep (schema \(unknown.joined(separator: ", "))); use that version or a newer one")
        }
        if let revision, revision != Schema.alembicRevision {
            throw InputError(file: location, "holds Optuna's schema at revision '\(revision)'; Sweep reads revision '\(Schema.alembicRevision)' (Optuna 5.0)")
        }
    }

    // MARK: Optuna's tables

    private static func attributes(_ name: String, owner: String, ownerTable: String) -> String {
        """
        CREATE TABLE \(name) (
            \(name.dropLast(1))_id SERIAL NOT NULL,
            \(owner) INTEGER,
            key VARCHAR(512),
            value_json TEXT,
            PRIMARY KEY (\(name.dropLast(1))_id),
            UNIQUE (\(owner), key),
            FOREIGN KEY(\(owner)) REFERENCES \(ownerTable) (\(owner))
        )
        """
    }

    /// Optuna 5.0's types, tables and indices on PostgreSQL (SQLAlchemy's enums are types there).
    static let optunaTables: [String] = [
        "CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE')",
        "CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING')",
        "CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG')",
        "CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN')",
        """
        CREATE TABLE studies (
            study_id SERIAL NOT NULL,
            study_name VARCHAR(512) NOT NULL,
            PRIMARY KEY (study_id)
        )
        """,
        "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)",
        """
        CREATE TABLE version_info (
            version_info_id INTEGER NOT NULL,
            schema_version INTEGER,
            library_version VARCHAR(256),
            PRIMARY KEY (version_info_id),
            CHECK (version_info_id=1)
        )
        """,
        """
        CREATE TABLE study_directions (
            study_direction_id SERIAL NOT NULL,
            direction studydirection NOT NULL,
            study_id INTEGER NOT NULL,
            objective INTEGER NOT NULL,
            PRIMARY KEY (study_direction_id),
            UNIQUE (study_id, objective),
            FOREIGN KEY(study_id) REFERENCES studies (study_id)
        )
        """,
        attributes("study_user_attributes", owner: "study_id", ownerTable: "studies"),
        attributes("study_system_attributes", owner: "study_id", ownerTable: "studies"),
        """
        CREATE TABLE trials (
            trial_id SERIAL NOT NULL,
            number INTEGER,
            study_id INTEGER,
            state trialstate NOT NULL,
            datetime_start TIMESTAMP WITHOUT TIME ZONE,
            datetime_complete TIMESTAMP WITHOUT TIME ZONE,
            PRIMARY KEY (trial_id),
            FOREIGN KEY(study_id) REFERENCES studies (study_id)
        )
        """,
        "CREATE INDEX ix_trials_study_id ON trials (study_id)",
        attributes("trial_user_attributes", owner: "trial_id", ownerTable: "trials"),
        attributes("trial_system_attributes", owner: "trial_id", ownerTable: "trials"),
        """
        CREATE TABLE trial_params (
            param_id SERIAL NOT NULL,
            trial_id INTEGER,
            param_name VARCHAR(512),
            param_value FLOAT,
            distribution_json TEXT,
            PRIMARY KEY (param_id),
            UNIQUE (trial_id, param_name),
            FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
        )
        """,
        """
        CREATE TABLE trial_values (
            trial_value_id SERIAL NOT NULL,
            trial_id INTEGER NOT NULL,
            objective INTEGER NOT NULL,
            value FLOAT,
            value_type trialvaluetype NOT NULL,
            PRIMARY KEY (trial_value_id),
            UNIQUE (trial_id, objective),
            FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
        )
        """,
        """
        CREATE TABLE trial_intermediate_values (
            trial_intermediate_value_id SERIAL NOT NULL,
            trial_id INTEGER NOT NULL,
            step INTEGER NOT NULL,
            intermediate_value FLOAT,
            intermediate_value_type trialintermediatevaluetype NOT NULL,
            PRIMARY KEY (trial_intermediate_value_id),
            UNIQUE (trial_id, step),
            FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
        )
        """,
        """
        CREATE TABLE trial_heartbeats (
            trial_heartbeat_id SERIAL NOT NULL,
            trial_id INTEGER NOT NULL,
            heartbeat TIMESTAMP WITHOUT TIME ZONE NOT NULL,
            PRIMARY KEY (trial_heartbeat_id),
            UNIQUE (trial_id),
            FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
        )
        """,
        """
        CREATE TABLE alembic_version (
            version_num VARCHAR(32) NOT NULL,
            CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
        )
        """,
    ]
}
