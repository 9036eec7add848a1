import Foundation

/// The line protocol between a trial process and the controller, the same for Sweep's own
/// engine and for a user's command: a protocol line on stdout is one JSON object with a `value`,
/// `{"step": N, "value": X}` for an intermediate value (N = epoch, counting from 1) and a final
/// `{"value": X}`. Extra keys are allowed (the engine adds train_loss, val_loss, seconds, ...).
/// The numeric extra keys of the final line are the trial's metrics (a built-in trial's
/// `parameters`, `model_bytes`, `latency_ms`, `test_accuracy`, `int8_*`, ...), which the runner
/// stores as the trial's user attributes `sweep:metric:NAME` (`TrialAttribute.metrics`).
/// A study of several objectives (or constraints) takes each objective's value by its metric's
/// name: `{"values": {"val_loss": 0.3, "latency_ms": 1.2}}` (per epoch with a `step`, or final),
/// whose numbers join the extra keys (winning over them); `value`, when given, is the first
/// objective's (see `ObjectiveValues`).
/// A line may also give the objectives by their metrics' names instead of `value` or `values`
/// (`{"loss": 0.3}` for a study whose metric is `loss`, `{"step": 2, "loss": 0.4}` per epoch):
/// an object without `value` and `values` that holds a number for every objective's metric
/// (`objectives`) is read as if those were its `values`.
/// A trial that continues from its checkpoint says so first with `{"resumed_from_epoch": K}`
/// (K = the last epoch the checkpoint holds); the controller records it with the trial.
///
/// Any other stdout line (`Loading...`, a JSON object without `value`) is not a protocol line:
/// a lenient trial (a command's default) keeps it as a log line with its stderr; a strict one
/// (built-in trials, `protocol: strict`) fails. A protocol line that is wrong (a `value` that is
/// not a number, a `step` that is not a whole number from 0) fails the trial in both modes.
public enum TrialLine: Equatable, Sendable {
    /// `value` is nil for a line that gives only `values` (in `extra`).
    case report(step: Int, value: Double?, extra: [String: Double])
    case final(value: Double?, metrics: [String: Double] = [:])
    case resumed(epoch: Int)

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// Not a JSON object with a `value` key: a log line unless the protocol is strict.
        case notProtocol(String)
        /// A JSON object with a `value` key whose `value` or `step` is wrong.
        case invalid(String, problem: String)
        case notANumber(step: Int?)

        public var description: String {
            switch self {
            case .notProtocol(let line): return "printed something that is not a protocol line: \(line.prefix(120))"
            case .invalid(let line, let problem): return "printed a protocol line whose \(problem): \(line.prefix(120))"
            case .notANumber(let step): return step.map { "reported NaN at step \($0)" } ?? "reported NaN as its final value"
            }
        }
    }

    /// A JSON value of a protocol line (decoded with `JSONDecoder`, which reads numbers exactly;
    /// `JSONSerialization` on Linux rounds the last digit, which would break exact replay).
    indirect enum Field: Decodable {
        case number(Double), string(String), null, object([String: Field]), other
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let o = try? c.decode([String: Field].self) { self = .object(o) }
            else { self = .other }
        }

        /// A number, or a string that stands for NaN or an infinity (not null: a metric given by
        /// its name must be written as one of these).
        var isNumeric: Bool {
            switch self {
            case .number: return true
            case .string: return number != nil
            default: return false
            }
        }

        /// A number, or one of the strings and null that stand for NaN and the infinities.
        var number: Double? {
            switch self {
            case .number(let n): return n
            case .string(let s):
                switch s.lowercased() {
                case "nan": return .nan
                case "inf", "infinity", "+inf": return .infinity
                case "-inf", "-infinity": return -.infinity
                default: return nil
                }
            case .null: return .nan
            case .object, .other: return nil
            }
        }
    }

    /// Decodes one object; Python's `json.dumps` writes the bare tokens NaN, Infinity and
    /// -Infinity, which are read as the strings "nan", "inf" and "-inf".
    static func decode(_ text: String) -> [String: Field]? {
        if let obj = try? JSONDecoder().decode([String: Field].self, from: Data(text.utf8)) { return obj }
        guard text.contains("NaN") || text.contains("Infinity") else { return nil }
        let fixed = text.replacingOccurrences(of: #":\s*-Infinity"#, with: #": "-inf""#, options: .regularExpression)
            .replacingOccurrences(of: #":\s*Infinity"#, with: #": "inf""#, options: .regularExpression)
            .replacingOccurrences(of: #":\s*NaN"#, with: #": "nan""#, options: .regularExpression)
        return try? JSONDecoder().decode([String: Field].self, from: Data(fixed.utf8))
    }

    /// `objectives`: the study's objectives' metric names (a line that gives them by name is a
    /// protocol line; none: only `value` and `values` lines are).
    public static func parse(_ line: Substring, objectives: [String] = []) throws -> TrialLine? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        guard trimmed.hasPrefix("{"), var obj = decode(trimmed) else { throw ParseError.notProtocol(trimmed) }
        if obj["value"] == nil, obj["values"] == nil, !objectives.isEmpty,
           objectives.allSatisfy({ obj[$0]?.isNumeric == true }) {
            var named: [String: Field] = [:]
            for m in objectives { named[m] = obj.removeValue(forKey: m) }
            obj["values"] = .object(named)
        }
        if obj["value"] == nil, let resumed = obj["resumed_from_epoch"] {
            guard case .number(let k) = resumed, k >= 0, k == k.rounded(), k < 1e12 else {
                throw ParseError.invalid(trimmed, problem: "resumed_from_epoch is not a whole number from 0")
            }
            return .resumed(epoch: Int(k))
        }
        guard obj["value"] != nil || obj["values"] != nil else { throw ParseError.notProtocol(trimmed) }
        let step: Int?
        switch obj["step"] {
        case nil: step = nil
        case .number(let n)? where n >= 0 && n == n.rounded() && n < 1e12: step = Int(n)
        default: throw ParseError.invalid(trimmed, problem: "step is not a whole number from 0")
        }
        var value: Double? = nil
        if let raw = obj["value"] {
            guard let n = raw.number else { throw ParseError.invalid(trimmed, problem: "value is not a number") }
            if n.isNaN { throw ParseError.notANumber(step: step) }
            value = n
        }
        var extra: [String: Double] = [:]
        for (k, v) in obj where !["step", "value", "values", "resumed_from_epoch"].contains(k) { if case .number(let n) = v { extra[k] = n } }
        if let values = obj["values"] {
            guard case .object(let named) = values, !named.isEmpty else {
                throw ParseError.invalid(trimmed, problem: "values is not an object of metric names to numbers")
            }
            for (k, v) in named {
                guard let n = v.number else { throw ParseError.invalid(trimmed, problem: "values.\(k) is not a number") }
                extra[k] = n
            }
        }
        if let step { return .report(step: step, value: value, extra: extra) }
        return .final(value: value, metrics: extra)
    }
}
