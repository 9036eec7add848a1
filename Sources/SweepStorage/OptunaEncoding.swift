import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

    /// The trial user attribute where Sweep puts a failed trial's reason (optuna-dashboard shows
    /// a trial's user attributes).
    static let failReasonKey = "fail_reason"

    // MARK: Enumerations

    static func direction(_ d: Direction) -> String { d == .minimize ? "MINIMIZE" : "MAXIMIZE" }

    static func direction(_ s: String?) -> Direction { s == "MAXIMIZE" ? .maximize : .minimize }

    // MARK: Finishing a trial

    /// What `finishTrial` stores, as Optuna does: the final state, the objective value and the
    /// reason. A COMPLETE trial without a value (or with NaN) is FAIL, its reason saying why; a
    /// PRUNED trial's value is its last report (`lastReport`, read only then), unless NaN.
    static func finishing(_ state: TrialState, value: Double?, reason: String?, lastReport: () throws -> Double?) rethrows
        -> (state: TrialState, objective: Double?, reason: String?) {
        switch state {
        case .complete:
            if let value, !value.isNaN { return (.complete, value, reason) }
            let why = value == nil ? "no objective value was reported" : "the objective value is NaN"
            return (.fail, nil, reason.map { "\($0); \(why)" } ?? why)
        case .pruned:
            let last = try lastReport()
            return (.pruned, last.flatMap { $0.isNaN ? nil : $0 }, reason)
        default:
            return (state, nil, reason)
        }
    }
}
