import Foundation

/// The line protocol between a trial process and the controller, the same for Sweep's own
/// engine and for a user's command: every line on stdout is one JSON object,
/// `{"step": N, "value": X}` for an intermediate value (N = epoch, counting from 1) and a final
/// `{"value": X}`. Extra keys are allowed (the engine adds train_loss, val_loss, seconds, ...).
/// Logs go to stderr. Anything else on stdout is garbage and fails the trial.
public enum TrialLine: Equatable, Sendable {
    case report(step: Int, value: Double, extra: [String: Double])
    case final(value: Double)

    public enum ParseError: Error, Equatable { case garbage(String), notANumber(step: Int?) }

    /// A JSON value of a protocol line (decoded with `JSONDecoder`, which reads numbers exactly;
    /// `JSONSerialization` on Linux rounds the last digit, which would break exact replay).
    enum Field: Decodable {
        case number(Double), string(String), null, other
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else { self = .other }
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

    public static func parse(_ line: Substring) throws -> TrialLine? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        let garbage = ParseError.garbage(String(trimmed.prefix(200)))
        guard trimmed.hasPrefix("{"), let obj = decode(trimmed) else { throw garbage }
        let step: Int?
        switch obj["step"] {
        case nil: step = nil
        case .number(let n)? where n >= 0 && n == n.rounded() && n < 1e12: step = Int(n)
        default: throw garbage
        }
        let value: Double
        switch obj["value"] {
        case .number(let n)?: value = n
        case .string(let s)?:
            switch s.lowercased() {
            case "nan": value = .nan
            case "inf", "infinity", "+inf": value = .infinity
            case "-inf", "-infinity": value = -.infinity
            default: throw garbage
            }
        case .null?: value = .nan
        default: throw garbage
        }
        if value.isNaN { throw ParseError.notANumber(step: step) }
        var extra: [String: Double] = [:]
        for (k, v) in obj where k != "step" && k != "value" { if case .number(let n) = v { extra[k] = n } }
        if let step { return .report(step: step, value: value, extra: extra) }
        return .final(value: value)
    }
}
