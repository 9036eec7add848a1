import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// Where one study stands, as `sweep status --json` and the daemon's API report it.
public struct StudyStatusReport: Encodable, Sendable, Equatable {
    public var study: String
    /// `running` (a live controller holds it), `stopping` (a user stopped it; its controller still
    /// holds it while the running trials exit), `interrupted` (stored as running, its controller
    /// is gone: the next daemon or `sweep resume` continues it), `stopped` or `finished`.
    public var state: String
    public var trialsTotal: Int
    public var finished: Int
    /// Trials per state (COMPLETE, PRUNED, FAIL, RUNNING, WAITING); absent states are left out.
    public var trials: [String: Int]
    public var workersBusy: Int
    /// The best value of one objective among feasible trials (nil for several: they have a front,
    /// which `sweep leaderboard` shows first).
    public var bestValue: Double?
    /// The first objective's metric and direction.
    public var metric: String
    public var direction: String
    /// Every objective's metric and direction, in order.
    public var metrics: [String]
    public var directions: [String]
    public var controllerPID: Int32?
    public var stopReason: String?
    /// When the study was created (nil in reports decoded from older daemons).
    public var createdAt: Date?

    enum CodingKeys: String, CodingKey {
        case study, state, trials, finished, metric, direction, metrics, directions
        case trialsTotal = "trials_total", workersBusy = "workers_busy", bestValue = "best_value"
        case controllerPID = "controller_pid", stopReason = "stop_reason", createdAt = "created_at"
    }

    public init(study s: StudyRecord, summary: StudySummary?) {
        self.init(study: s, counts: summary?.counts ?? [:], bestValue: summary?.bestValue)
    }

    private init(study s: StudyRecord, counts: [TrialState: Int], bestValue best: Double?) {
        let running = s.isRunning()
        study = s.name
        state = running ? (s.status == .running ? "running" : s.status == .stopped ? "stopping" : s.status.rawValue)
            : s.status == .running ? "interrupted" : s.status.rawValue
        trialsTotal = s.trialsTotal
        finished = (counts[.complete] ?? 0) + (counts[.pruned] ?? 0) + (counts[.fail] ?? 0)
        trials = Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
        workersBusy = running ? (counts[.running] ?? 0) : 0
        bestValue = s.isMultiObjective ? nil : best
        metric = s.metric
        direction = s.direction.rawValue
        metrics = s.metrics
        directions = s.directions.map(\.rawValue)
        controllerPID = running ? s.controllerPID : nil
        stopReason = s.stopReason
        createdAt = s.createdAt
    }

    /// The report of a study from its trials (a reader's copy: counts and best value as
    /// `TrialStore.studies()` gives them, without reading every trial of the database).
    public init(study s: StudyRecord, trials: some Sequence<TrialRecord>) {
        var counts: [TrialState: Int] = [:]
        var best: Double? = nil
        for t in trials {
            counts[t.state, default: 0] += 1
            if t.state == .complete, let v = t.value, best.map({ v * s.direction.sign < $0 * s.direction.sign }) ?? true { best = v }
        }
        self.init(study: s, counts: counts, bestValue: best)
    }

    /// Every study of the store (or the one named), oldest first.
    public static func all(_ store: any TrialStore, named name: String? = nil) throws -> [StudyStatusReport] {
        let summaries = try store.studies()
        return try summaries.filter { name == nil || $0.name == name }.compactMap { sum in
            try store.study(named: sum.name).map { StudyStatusReport(study: $0, summary: sum) }
        }
    }

    /// The JSON form (sorted keys, `null` for absent values).
    public static func json<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(data: try! e.encode(value), encoding: .utf8)!
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(study, forKey: .study); try c.encode(state, forKey: .state); try c.encode(trials, forKey: .trials)
        try c.encode(finished, forKey: .finished); try c.encode(metric, forKey: .metric); try c.encode(direction, forKey: .direction)
        try c.encode(metrics, forKey: .metrics); try c.encode(directions, forKey: .directions)
        try c.encode(trialsTotal, forKey: .trialsTotal); try c.encode(workersBusy, forKey: .workersBusy)
        try c.encode(bestValue, forKey: .bestValue); try c.encode(controllerPID, forKey: .controllerPID)
        try c.encode(stopReason, forKey: .stopReason)
        try c.encode(createdAt.map { ISO8601DateFormatter().string(from: $0) }, forKey: .createdAt)
    }
}

/// Study names: shown everywhere and part of paths under `results/` (logs, replays), so limited to
/// what is safe as one path component.
public enum StudyName {
    /// Throws an `InputError` naming `field` unless `name` is 1–200 characters of letters, digits,
    /// and `-_.+@:=,` or spaces, and does not start with a dot or a space.
    public static func check(_ name: String, file: String? = nil, field: String) throws {
        let extra = Set("-_.+@:=, ")
        let ok = !name.isEmpty && name.count <= 200 && !name.hasPrefix(".") && !name.hasPrefix(" ")
            && name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || extra.contains($0) }
        if !ok {
            throw InputError(file: file, field: field,
                             "study name '\(name.prefix(80))' is not accepted: use 1-200 letters, digits, spaces or -_.+@:=, (not starting with a dot or space)")
        }
    }
}
