import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SweepCore
import SweepSearch

/// How Optuna's RDB storage writes values that are not plain numbers or strings, so that rows
/// Sweep writes read back in Optuna unchanged.
enum OptunaEncoding {
    // MARK: Datetimes

    /// `YYYY-MM-DD HH:MM:SS.ffffff`, the text SQLAlchemy writes for a `DATETIME` column in
    /// SQLite. Sweep writes UTC (Optuna writes local time; both are naive datetimes to it).
    static func datetime(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        var micros = Int(((t - t.rounded(.down)) * 1_000_000).rounded())
        if micros == 1_000_000 { seconds += 1; micros = 0 }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + " " + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(micros, 6)
    }

    /// Reads `YYYY-MM-DD HH:MM:SS[.ffffff]` (also with a `T`), as UTC; nil for anything else.
    /// The fraction is optional because SQLite's `CURRENT_TIMESTAMP` (Optuna's heartbeats) has none.
    static func date(_ text: String) -> Date? {
        let u = Array(text.utf8)
        guard u.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for i in range {
                guard u[i] >= 48 && u[i] <= 57 else { return nil }
                n = n * 10 + Int(u[i] - 48)
            }
            return n
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var fraction = 0.0
        if u.count > 20, u[19] == UInt8(ascii: ".") {
            guard let f = number(20..<u.count) else { return nil }
            fraction = Double(f) / pow(10, Double(u.count - 20))
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: Double(timegm(&parts)) + fraction)
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    // MARK: Floats

    /// A float column with its type column (`trial_values.value_type`,
    /// `trial_intermediate_values.intermediate_value_type`): SQL has no infinities and SQLite
    /// turns NaN into NULL, so Optuna stores those as NULL plus a type.
    static func float(_ x: Double) -> (value: Double?, type: String) {
        if x.isNaN { return (nil, "NAN") }
        if x == .infinity { return (nil, "INF_POS") }
        if x == -.infinity { return (nil, "INF_NEG") }
        return (x, "FINITE")
    }

    static func float(_ value: Double?, type: String) -> Double {
        switch type {
        case "INF_POS": return .infinity
        case "INF_NEG": return -.infinity
        case "NAN": return .nan
        default: return value ?? .nan
        }
    }

    // MARK: Attributes

    /// An attribute's `value_json` (Optuna writes `json.dumps(value)`): a string, number, bool,
    /// array or object as JSON text.
    static func json(_ value: Any) -> String {
        String(data: try! JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]),
               encoding: .utf8)!
    }

    /// The study system attribute Optuna's `study.set_metric_names` writes: a JSON list of names,
    /// which optuna-dashboard shows on its objective axes.
    static let metricNamesKey = "study:metric_names"

    /// The trial system attribute where Optuna's constrained samplers keep a trial's constraint
    /// values (`optuna.samplers._base._CONSTRAINTS_KEY`): a JSON list, each at most 0 when it holds.
    static let constraintsKey = "constraints"

    /// A list of numbers as Python's `json.dumps` writes it (NaN and the infinities as the bare
    /// tokens `NaN`, `Infinity`, `-Infinity`, which `json.loads` reads), in Swift's shortest
    /// round-trip form.
    static func jsonNumbers(_ xs: [Double]) -> String {
        "[" + xs.map { $0.isNaN ? "NaN" : $0 == .infinity ? "Infinity" : $0 == -.infinity ? "-Infinity" : "\($0)" }.joined(separator: ", ") + "]"
    }

    /// Reads `jsonNumbers`' form (and Python's); nil for anything else.
    static func numbers(_ json: String) -> [Double]? {
        let t = json.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("["), t.hasSuffix("]") else { return nil }
        let body = t.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if body.isEmpty { return [] }
        var out: [Double] = []
        for part in body.split(separator: ",") {
            let p = part.trimmingCharacters(in: .whitespaces)
            switch p {
            case "NaN": out.append(.nan)
            case "Infinity": out.append(.infinity)
            case "-Infinity": out.append(-.infinity)
            default:
                guard let x = Double(p), x.isFinite else { return nil }
                out.append(x)
            }
        }
        return out
    }

    /// Adds a trial system attribute of Optuna's constraints to a trial's list: `constraints` (the
    /// list Optuna's constrained samplers and Sweep write) or `constraints:NAME` (one value, from
    /// Optuna 5's `trial.set_constraint`); Optuna reads both as the trial's constraints.
    static func addConstraint(key: String, json: String, to list: inout [Double]?) {
        if key == constraintsKey {
            if let xs = numbers(json) { list = xs + (list ?? []) }
        } else if let x = numbers("[" + json + "]")?.first {
            list = (list ?? []) + [x]
        }
    }

    /// A JSON list of strings (`study:metric_names`); nil for anything else.
    static func strings(_ json: String) -> [String]? {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String]
    }

    /// The trial user attribute where Sweep puts a failed trial's reason (optuna-dashboard shows
    /// a trial's user attributes).
    static let failReasonKey = "fail_reason"

    // MARK: Enumerations

    static func direction(_ d: Direction) -> String { d == .minimize ? "MINIMIZE" : "MAXIMIZE" }

    static func direction(_ s: String?) -> Direction { s == "MAXIMIZE" ? .maximize : .minimize }

    // MARK: Several objectives

    /// `createStudy`'s precondition: as many metrics as directions, at least one.
    static func checkObjectives(_ directions: [Direction], _ metrics: [String]) throws {
        guard !directions.isEmpty, directions.count == metrics.count else {
            throw RuntimeFailure("a study needs one metric per direction, at least one (got \(directions.count) directions, \(metrics.count) metrics)")
        }
    }

    /// A study read back with its objectives: `directions`, the study's `study_directions` by
    /// objective index, comma-separated; `metricNames`, its `study:metric_names` (a name Optuna
    /// lacks is the metric of Sweep's row for the first objective, `objective_N` for others).
    static func withObjectives(_ study: StudyRecord, directions: String?, metricNames: String?) -> StudyRecord {
        var s = study
        s.directions = (directions ?? "").split(separator: ",").map { direction(String($0)) }
        if s.directions.isEmpty { s.directions = [s.direction] }
        let names = metricNames.flatMap(strings) ?? []
        s.metrics = s.directions.indices.map { i in i < names.count ? names[i] : i == 0 ? s.metric : "objective_\(i)" }
        return s
    }

    /// A trial's values by objective index as `TrialRecord.values`: nil for one objective (or
    /// none), else every objective in order (a missing one as NaN).
    static func objectiveValues(_ byIndex: [Int: Double]?) -> [Double]? {
        guard let byIndex, byIndex.count > 1, let last = byIndex.keys.max() else { return nil }
        return (0...last).map { byIndex[$0] ?? .nan }
    }

    // MARK: Finishing a trial

    /// What `finishTrial` stores, as Optuna does: the final state, the objective values (one per
    /// of the study's `objectives`) and the reason. A COMPLETE trial without its values (or with
    /// a NaN) is FAIL, its reason saying why; a PRUNED trial of one objective keeps its last
    /// report (`lastReport`, read only then), unless NaN; one of several keeps none.
    static func finishing(_ state: TrialState, values: [Double]?, objectives: Int, reason: String?,
                          lastReport: () throws -> Double?) rethrows -> (state: TrialState, objectives: [Double]?, reason: String?) {
        switch state {
        case .complete:
            if let values, values.count == objectives, !values.contains(where: \.isNaN) { return (.complete, values, reason) }
            let why = values == nil || values!.isEmpty ? "no objective value was reported"
                : values!.count != objectives ? "reported \(values!.count) values for a study of \(objectives) objectives"
                : objectives == 1 ? "the objective value is NaN" : "an objective value is NaN"
            return (.fail, nil, reason.map { "\($0); \(why)" } ?? why)
        case .pruned:
            guard objectives == 1 else { return (.pruned, nil, reason) }
            let last = try lastReport()
            return (.pruned, last.flatMap { $0.isNaN ? nil : [$0] }, reason)
        default:
            return (state, nil, reason)
        }
    }
}
