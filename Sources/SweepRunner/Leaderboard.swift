import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// The ranked view of a study's trials: COMPLETE trials by value, then PRUNED ones by their
/// last reported value, then the rest (running, waiting, failed) unranked.
///
/// A study of several objectives ranks its COMPLETE trials by front: the feasible trials' Pareto
/// fronts first (the first is `pareto`, what Optuna's `study.best_trials` returns), then the
/// infeasible ones by violation (`NSGAIISampler.constrainedFrontRanks`), within a front by the
/// first objective; its tables show one column per objective.
public struct Leaderboard {
    public struct Row {
        public var rank: Int?
        public var number: Int
        public var value: Double?
        public var params: [(name: String, value: String)]
        public var epochs: Int
        public var duration: Double?
        public var state: TrialState
        public var reason: String?
        /// The reported value per step (epoch).
        public var curve: [Int: Double] = [:]
        /// The metrics the trial reported with its final value (`TrialAttribute.metrics`), when loaded.
        public var metrics: [String: Double] = [:]
        /// The daemon that ran the trial (`host:pid`), for a trial a daemon claimed.
        public var worker: String? = nil
        /// Several objectives: every objective's value (a pruned trial's last report of them all),
        /// the trial's front (0 first) and whether it is on the Pareto front of the feasible
        /// trials; its constraint values (at most 0: holds).
        public var values: [Double]? = nil
        public var front: Int? = nil
        public var pareto = false
        public var constraints: [Double]? = nil
    }

    public var rows: [Row]
    /// The objectives' metrics of a study of several objectives (empty for one).
    public var objectives: [String] = []

    public init(trials: [StoredTrial], space: SearchSpace, direction: Direction) {
        self.init(trials: trials, space: space, directions: [direction], metrics: [])
    }

    /// The study's best trials, by number: the feasible COMPLETE trials no other one dominates
    /// (with one objective, those with the best value), as Optuna's `study.best_trials`.
    public static func front(_ trials: [StoredTrial], directions: [Direction]) -> [StoredTrial] {
        let feasible = trials.filter { $0.record.state == .complete && $0.record.violation == 0 && $0.record.losses(directions) != nil }
        let ranks = Pareto.frontRanks(feasible.map { $0.record.losses(directions)! })
        return zip(feasible, ranks).filter { $0.1 == 0 }.map(\.0)
    }

    /// The leaderboard of a stored study, with its objectives.
    public init(trials: [StoredTrial], space: SearchSpace, study: StudyRecord) {
        self.init(trials: trials, space: space, directions: study.directions.isEmpty ? [study.direction] : study.directions,
                  metrics: study.metrics)
    }

    /// `metrics`: the objectives' names (used when there are several `directions`).
    public init(trials: [StoredTrial], space: SearchSpace, directions: [Direction], metrics: [String]) {
        let direction = directions[0]
        let several = directions.count > 1
        // Fronts of the COMPLETE trials with every value (several objectives).
        var front: [Int: Int] = [:]
        if several {
            let ranked = trials.filter { $0.record.state == .complete && $0.record.losses(directions) != nil }
            let ranks = NSGAIISampler.constrainedFrontRanks(ranked.map(\.record), directions: directions)
            for (t, r) in zip(ranked, ranks) { front[t.record.number] = r }
        }
        func key(_ t: StoredTrial) -> (Int, Int, Double, Int) {
            let s = t.record.state
            let group = s == .complete ? 0 : s == .pruned ? 1 : 2
            let v = (t.record.value ?? t.record.lastValue).map { $0 * direction.sign } ?? .infinity
            // One objective with constraints: the feasible trials first.
            let tier = several ? front[t.record.number] ?? Int.max : t.record.violation > 0 ? 1 : 0
            return (group, tier, v.isNaN ? .infinity : v, t.record.number)
        }
        let sorted = trials.sorted { key($0) < key($1) }
        if several { objectives = metrics }
        let space = space.adoptingStoredNames(Set(trials.flatMap(\.record.params.keys)))
        var rank = 0
        rows = sorted.map { t in
            let ranked = t.record.state == .complete || t.record.state == .pruned
            if ranked { rank += 1 }
            let ext = space.external(t.record.params)
            let params = space.parameters.compactMap { p in ext[p.name].map { (name: p.name, value: $0.description) } }
            let value = t.record.state == .pruned ? (t.record.value ?? t.record.lastValue) : t.record.value
            var row = Row(rank: ranked ? rank : nil, number: t.record.number, value: value, params: params,
                          epochs: t.epochsRun ?? (t.record.intermediate.keys.max() ?? 0), duration: t.durationSeconds,
                          state: t.record.state, reason: t.reason, curve: t.record.intermediate)
            if several {
                // A pruned trial's last report of every objective, when it reported them all.
                row.values = t.record.values ?? (t.record.state == .pruned ? t.record.intermediateValues.max { $0.key < $1.key }?.value : nil)
                row.front = front[t.record.number]
                row.pareto = row.front == 0 && t.record.violation == 0
            }
            row.constraints = t.record.constraints
            row.worker = t.owner.flatMap(LeaseOwner.init(id:)).map { "\($0.host):\($0.pid)" }
            return row
        }
    }

    /// The columns that show a row's result: `value`, or a study's front and objectives.
    var valueHeader: [String] { objectives.isEmpty ? ["value"] : ["front"] + objectives }
    func valueCells(_ r: Row) -> [String] {
        guard !objectives.isEmpty else { return [Self.fmt(r.value)] }
        let front = r.front.map { r.pareto ? "\($0 + 1)*" : "\($0 + 1)" } ?? "-"
        return [front] + objectives.indices.map { i in Self.fmt(r.values.flatMap { i < $0.count ? $0[i] : nil } ?? (i == 0 ? r.value : nil)) }
    }

    /// A short name for a table column: `training.learning_rate` → `learning_rate`,
    /// `model.layers.0.units` → `layers.0.units`.
    static func short(_ name: String) -> String {
        for prefix in ["training.", "model.", "dataset.", "params."] where name.hasPrefix(prefix) { return String(name.dropFirst(prefix.count)) }
        return name
    }

    static func fmt(_ v: Double?) -> String {
        guard let v else { return "-" }
        if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
        return String(format: "%.6g", v)
    }

    public func table(top: Int?, study: String, metric: String) -> String {
        let shown = top.map { Array(rows.prefix($0)) } ?? rows
        var out = objectives.isEmpty ? "leaderboard of \(study) (\(metric)), \(rows.count) trials\n"
            : "leaderboard of \(study) (\(objectives.joined(separator: ", "))), \(rows.count) trials; front 1* is the Pareto front\n"
        let header = ["rank", "trial"] + valueHeader + ["epochs", "seconds", "state", "parameters"]
        let stateColumn = header.count - 2
        var lines: [[String]] = [header]
        for r in shown {
            let params = r.params.map { "\(Self.short($0.name))=\(Self.trim($0.value))" }.joined(separator: " ")
            let infeasible = (r.constraints ?? []).contains { !($0 <= 0) } ? "  [infeasible]" : ""
            lines.append([r.rank.map(String.init) ?? "-", String(r.number)] + valueCells(r) + [String(r.epochs),
                          r.duration.map { String(format: "%.1f", $0) } ?? "-", r.state.rawValue,
                          params + infeasible + (r.reason.map { "  [\($0)]" } ?? "")])
        }
        let widths = (0..<header.count - 1).map { c in lines.map { $0[c].count }.max() ?? 0 }
        for l in lines {
            var s = ""
            for c in 0..<(header.count - 1) {
                let cell = l[c]
                s += (c == stateColumn || c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                                       : String(repeating: " ", count: widths[c] - cell.count) + cell) + "  "
            }
            out += s + l[header.count - 1] + "\n"
        }
        return out
    }

    static func trim(_ s: String) -> String {
        guard let d = Double(s), s.contains(".") || s.contains("e") else { return s }
        return String(format: "%.4g", d)
    }

    public func json(top: Int?) -> String {
        let shown = top.map { Array(rows.prefix($0)) } ?? rows
        let arr: [[String: Any]] = shown.map { r in
            var o: [String: Any] = ["trial": r.number, "state": r.state.rawValue, "epochs": r.epochs,
                                    "params": Dictionary(uniqueKeysWithValues: r.params.map { ($0.name, Self.jsonValue($0.value)) })]
            o["rank"] = r.rank ?? NSNull()
            o["value"] = r.value.map { $0.isFinite ? $0 as Any : "\($0)" } ?? NSNull()
            o["duration_seconds"] = r.duration ?? NSNull()
            o["reason"] = r.reason ?? NSNull()
            o["curve"] = Dictionary(uniqueKeysWithValues: r.curve.map { ("\($0.key)", $0.value.isFinite ? $0.value as Any : "\($0.value)") })
            if !r.metrics.isEmpty { o["metrics"] = r.metrics }
            if !objectives.isEmpty {
                o["pareto"] = r.pareto
                o["front"] = r.front.map { $0 + 1 as Any } ?? NSNull()
                o["values"] = r.values.map { v in
                    Dictionary(uniqueKeysWithValues: zip(objectives, v).map { ($0, $1.isFinite ? $1 as Any : "\($1)") }) as Any
                } ?? NSNull()
            }
            if let c = r.constraints {
                o["constraints"] = c.map { $0.isFinite ? $0 as Any : "\($0)" }
                o["feasible"] = !c.contains { !($0 <= 0) }
            }
            if let w = r.worker { o["worker"] = w }
            return o
        }
        return String(data: try! JSONSerialization.data(withJSONObject: arr, options: [.sortedKeys, .prettyPrinted]), encoding: .utf8)!
    }

    static func jsonValue(_ s: String) -> Any {
        if let i = Int(s) { return i }
        if let d = Double(s) { return d }
        if s == "true" || s == "false" { return s == "true" }
        return s
    }

    public func csv(top: Int?) -> String {
        let shown = top.map { Array(rows.prefix($0)) } ?? rows
        var names: [String] = []
        for r in rows { for p in r.params where !names.contains(p.name) { names.append(p.name) } }
        func q(_ s: String) -> String { s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        let results = objectives.isEmpty ? ["value"] : ["pareto", "front"] + objectives
        var out = (["rank", "trial"] + results + ["epochs", "duration_seconds", "state"] + names + ["reason"]).map(q).joined(separator: ",") + "\n"
        for r in shown {
            let pv = Dictionary(uniqueKeysWithValues: r.params.map { ($0.name, $0.value) })
            let rank: String = r.rank.map { String($0) } ?? ""
            let value: String = r.value.map { "\($0)" } ?? ""
            let duration: String = r.duration.map { "\($0)" } ?? ""
            var cells: [String] = [rank, String(r.number)]
            if objectives.isEmpty { cells.append(value) } else {
                cells += [r.pareto ? "true" : "false", r.front.map { "\($0 + 1)" } ?? ""]
                cells += objectives.indices.map { i in r.values.flatMap { i < $0.count ? "\($0[i])" : nil } ?? "" }
            }
            cells += [String(r.epochs), duration, r.state.rawValue]
            for n in names { cells.append(pv[n] ?? "") }
            cells.append(r.reason ?? "")
            out += cells.map(q).joined(separator: ",") + "\n"
        }
        return out
    }
}
