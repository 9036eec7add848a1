import ArgumentParser
import Foundation
import SweepCore
import SweepRunner
import SweepSearch
import SweepStorage

/// Opens the store for reading only (it may be read-only, or in a read-only folder); a missing
/// file is an input error (nothing is created).
func openStore(_ path: String) throws -> SweepStore {
    try requireStoreFile(path)
    return try SweepStore(readingOnly: path)
}

/// Opens an existing store to change its studies (enqueue, retry, delete); a missing file is an
/// input error (nothing is created).
func openStoreForWriting(_ path: String) throws -> SweepStore {
    try requireStoreFile(path)
    return try SweepStore(path: path)
}

private func requireStoreFile(_ path: String) throws {
    guard FileManager.default.fileExists(atPath: path) else {
        throw InputError(file: path, field: "--db", "no results database here; run `sweep start SPACE.yaml` first or pass --db")
    }
}

func findStudy(_ store: SweepStore, _ name: String?, db: String) throws -> StudyRecord {
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

/// The search space a study was run with, rebuilt from the file text stored with it.
func storedSpec(_ study: StudyRecord) throws -> StudySpec {
    try StudySpec.parse(study.spaceText, file: study.spacePath)
}

struct LeaderboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leaderboard", abstract: "Rank a study's trials (default: the most recent study).")
    @Argument(help: "Study name.") var study: String?
    @Option(help: "Show the best N trials.") var top: Int?
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
        let board = Leaderboard(trials: try db.trials(studyID: s.id), space: spec.space, direction: s.direction)
        if json { print(board.json(top: top)) } else if csv { print(board.csv(top: top), terminator: "") }
        else { print(board.table(top: top, study: s.name, metric: s.metric), terminator: "") }
    }
}

struct Studies: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the studies with their trial counts and best values.")
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        let db = try openStore(store.db)
        let all = try db.studies()
        if json {
            let arr: [[String: Any]] = all.map { s in
                ["name": s.name, "direction": s.direction.rawValue, "metric": s.metric, "trials": s.counts.mapKeys(\.rawValue),
                 "best_value": s.bestValue ?? NSNull(), "created_at": ISO8601DateFormatter().string(from: s.createdAt),
                 "status": s.status.rawValue, "trials_total": s.trialsTotal]
            }
            print(String(data: try JSONSerialization.data(withJSONObject: arr, options: [.prettyPrinted, .sortedKeys]), encoding: .utf8)!)
            return
        }
        if all.isEmpty { print("no studies"); return }
        print("study  metric  direction  complete  pruned  failed  running  best  created  status")
        for s in all {
            let c = s.counts
            print("\(s.name)  \(s.metric)  \(s.direction.rawValue)  \(c[.complete] ?? 0)  \(c[.pruned] ?? 0)  \(c[.fail] ?? 0)  \((c[.running] ?? 0) + (c[.waiting] ?? 0))  \(s.bestValue.map { String(format: "%.6g", $0) } ?? "-")  \(s.createdAt)  \(s.status)")
        }
    }
}

extension Dictionary {
    func mapKeys<K: Hashable>(_ f: (Key) -> K) -> [K: Value] { Dictionary<K, Value>(uniqueKeysWithValues: map { (f($0.key), $0.value) }) }
}
