import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepRunner
import SweepSearch
import SweepStorage

/// Opens the store (`--db`: a file or a PostgreSQL URL) for reading only (it may be read-only,
/// or in a read-only folder); a missing file is an input error (nothing is created).
func openStore(_ location: String) throws -> any TrialStore {
    try requireStoreFile(location)
    return try openStore(location: location, readOnly: true)
}

/// Opens an existing store to change its studies (enqueue, retry, delete); a missing file is an
/// input error (nothing is created).
func openStoreForWriting(_ location: String) throws -> any TrialStore {
    try requireStoreFile(location)
    return try openStore(location: location)
}

private func requireStoreFile(_ path: String) throws {
    guard databaseExists(path) else {
        throw InputError(file: path, field: "--db", "no results database here; run `sweep start SPACE.yaml` first or pass --db")
    }
}

/// Whether `--db` names a database that exists: a PostgreSQL URL (its server says when opened),
/// or a file that is there.
func databaseExists(_ location: String) -> Bool {
    PostgresLocation.isURL(location) || FileManager.default.fileExists(atPath: location)
}

func findStudy(_ store: any TrialStore, _ name: String?, db: String) throws -> StudyRecord {
    if let name {
        guard let s = try store.study(named: name) else {
            let known = try store.studies().map(\.name)
            throw InputError(file: db, field: "STUDY", "no study named '\(name)'; studies: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
        }
        return s
    }
    guard let s = try store.latestStudy() else { throw InputError(file: db, field: "STUDY", "the database holds no study yet") }
    return s
}

/// Where a study's data sets live: `--data-dir` when given, else the data directory the study
/// was started with (stored in its run options), else the default.
func studyDataDir(_ study: StudyRecord, flag: String?) -> String {
    if let flag { return absolute(flag) }
    return RunOptions.stored(study, dbPath: "", trialExecutable: "", dataDir: DataDirectory.resolve(nil)).dataDir
}

/// The search space a study runs with: its `StudyDefinition` (the stored file with the
/// overrides, sampler, scheduler and seed it was started with).
func storedSpec(_ study: StudyRecord) throws -> StudySpec {
    try StudyDefinition(study).spec
}

struct LeaderboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leaderboard", abstract: "Rank a study's trials (default: the most recent study).")
    @Argument(help: "Study name.") var study: String?
    @Option(parsing: .unconditional, help: "Show the best N trials.") var top: Int?
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "CSV output.") var csv = false
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if json && csv { throw ValidationError("--json and --csv cannot be used together") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        let db = try openStore(store.db)
        let s = try findStudy(db, study, db: store.db)
        let spec = try storedSpec(s)
        let trials = try db.trials(studyID: s.id)
        var board = Leaderboard(trials: trials, space: spec.space, study: s)
        if json {
            // The metrics a trial reported with its final value (user attributes `sweep:metric:NAME`).
            let ids = Dictionary(uniqueKeysWithValues: trials.map { ($0.record.number, $0.trialID) })
            for i in board.rows.indices.prefix(top ?? board.rows.count) where board.rows[i].state == .complete {
                board.rows[i].metrics = TrialAttribute.metrics(fromUserAttributes: try db.trialUserAttributes(trialID: ids[board.rows[i].number]!))
            }
            print(board.json(top: top))
        } else if csv { print(board.csv(top: top), terminator: "") }
        else { print(board.table(top: top, study: s.name, metric: s.metric), terminator: "") }
    }
}

/// `sweep studies`: every study in a table; `--json` is `sweep status --json`'s array (one
/// vocabulary: `study`, `state`, `trials`, `best_value`, ...).
struct Studies: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the studies: state, trials per state, best value.")
    @Flag(help: "JSON output (the same objects as `sweep status --json`).") var json = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        let db = try openStore(store.db)
        let reports = try StudyStatusReport.all(db)
        if json { print(StudyStatusReport.json(reports)); return }
        if reports.isEmpty { print("no studies"); return }
        let header = ["study", "state", "metric", "direction", "complete", "pruned", "failed", "waiting", "running", "best", "created"]
        var rows = [header]
        for r in reports {
            let n = { (s: TrialState) in String(r.trials[s.rawValue] ?? 0) }
            rows.append([r.study, r.state, r.metrics.joined(separator: ","), r.directions.joined(separator: ","), n(.complete), n(.pruned), n(.fail), n(.waiting), n(.running),
                         r.bestValue.map { String(format: "%.6g", $0) } ?? "-", r.createdAt.map(Self.date) ?? "-"])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max()! }
        for row in rows {
            print(row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
    }

    static func date(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: d)
    }
}
