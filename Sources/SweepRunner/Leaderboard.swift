import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// The ranked view of a study's trials: COMPLETE trials by value, then PRUNED ones by their
/// last reported value, then the rest (running, waiting, failed) unranked.
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
    }

    public var rows: [Row]

    public init(trials: [StoredTrial], space: SearchSpace, direction: Direction) {
        func key(_ t: StoredTrial) -> (Int, Double, Int) {
            let s = t.record.state
            let group = s == .complete ? 0 : s == .pruned ? 1 : 2
            let v = (t.record.value ?? t.record.lastValue).map { $0 * direction.sign } ?? .infinity
            return (group, v.isNaN ? .infinity : v, t.record.number)
        }
        let sorted = trials.sorted { key($0) < key($1) }
        let space = space.adoptingStoredNames(Set(trials.flatMap(\.record.params.keys)))
        var rank = 0
        rows = sorted.map { t in
            let ranked = t.record.state == .complete || t.record.state == .pruned
            if ranked { rank += 1 }
            let ext = space.external(t.record.params)
            let params = space.parameters.compactMap { p in ext[p.name].map { (name: p.name, value: $0.description) } }
            let value = t.record.state == .pruned ? (t.record.value ?? t.record.lastValue) : t.record.value
            return Row(rank: ranked ? rank : nil, number: t.record.number, value: value, params: params,
                       epochs: t.epochsRun ?? (t.record.intermediate.keys.max() ?? 0), duration: t.durationSeconds,
                       state: t.record.state, reason: t.reason, curve: t.record.intermediate,
                       worker: t.owner.flatMap(LeaseOwner.init(id:)).map { "\($0.host):\($0.pid)" })
        }
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
        var out = "leaderboard of \(study) (\(metric)), \(rows.count) trials\n"
        let header = ["rank", "trial", "value", "epochs", "seconds", "state", "parameters"]
        var lines: [[String]] = [header]
        for r in shown {
            let params = r.params.map { "\(Self.short($0.name))=\(Self.trim($0.value))" }.joined(separator: " ")
            lines.append([r.rank.map(String.init) ?? "-", String(r.number), Self.fmt(r.value), String(r.epochs),
                          r.duration.map { String(format: "%.1f", $0) } ?? "-", r.state.rawValue,
                          params + (r.reason.map { "  [\($0)]" } ?? "")])
        }
        let widths = (0..<header.count - 1).map { c in lines.map { $0[c].count }.max() ?? 0 }
        for l in lines {
            var s = ""
            for c in 0..<(header.count - 1) {
                let cell = l[c]
                s += (c == 5 || c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
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
        var out = (["rank", "trial", "value", "epochs", "duration_seconds", "state"] + names + ["reason"]).map(q).joined(separator: ",") + "\n"
        for r in shown {
            let pv = Dictionary(uniqueKeysWithValues: r.params.map { ($0.name, $0.value) })
            let rank: String = r.rank.map { String($0) } ?? ""
            let value: String = r.value.map { "\($0)" } ?? ""
            let duration: String = r.duration.map { "\($0)" } ?? ""
            var cells: [String] = [rank, String(r.number), value, String(r.epochs), duration, r.state.rawValue]
            for n in names { cells.append(pv[n] ?? "") }
            cells.append(r.reason ?? "")
            out += cells.map(q).joined(separator: ",") + "\n"
        }
        return out
    }
}
