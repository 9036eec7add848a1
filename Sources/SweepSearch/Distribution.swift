import Foundation
import SweepCore

/// A value a parameter can take: a number or a category label.
public enum ParamValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)

    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .string(let s): return s
        case .bool(let b): return "\(b)"
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if c.decodeNil() { self = .string("null") }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a scalar") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .string(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        }
    }

    /// The JSON value (for Optuna's distribution JSON and the store).
    public var json: Any {
        switch self {
        case .int(let v): return v
        case .double(let v): return v
        case .string(let s): return s
        case .bool(let b): return b
        }
    }

    /// Reads a YAML scalar: bool, int, double, else string.
    public static func parse(_ s: String) -> ParamValue {
        switch s.lowercased() {
        case "true", "yes", "on": return .bool(true)
        case "false", "no", "off": return .bool(false)
        default: break
        }
        if let i = Int(s) { return .int(i) }
        // Finite only: 1e999 stays text (JSON, hence the store and Optuna, has no infinity).
        if let d = Double(s), d.isFinite, s.rangeOfCharacter(from: .letters) == nil || s.lowercased().contains("e") { return .double(d) }
        return .string(s)
    }
}

/// The range of one parameter, with Optuna's semantics (FloatDistribution, IntDistribution,
/// CategoricalDistribution). Constructors validate and say what is wrong in terms of the values.
///
/// Internal representation (as in Optuna): floats and ints as themselves, a categorical as the
/// index of its choice. `unit(_:)` maps an internal value into [0, 1] (log scale when `log`), so
/// samplers work in one box whatever the kind.
public enum Distribution: Equatable, Sendable {
    case float(low: Double, high: Double, log: Bool, step: Double?)
    case int(low: Int, high: Int, log: Bool, step: Int)
    case categorical([ParamValue])

    public static func makeFloat(_ low: Double, _ high: Double, log: Bool = false, step: Double? = nil) throws -> Distribution {
        guard low.isFinite, high.isFinite else { throw DistributionError("bounds must be finite numbers") }
        guard low <= high else { throw DistributionError("low \(low) is above high \(high)") }
        guard (high - low).isFinite else { throw DistributionError("the range [\(low), \(high)] is too wide: high - low overflows") }
        if log {
            guard low > 0 else { throw DistributionError("a log range must be above 0; low is \(low)") }
            guard step == nil else { throw DistributionError("step and log cannot be used together") }
        }
        if let step {
            guard step > 0 else { throw DistributionError("step must be above 0, got \(step)") }
            guard ((high - low) / step).isFinite else { throw DistributionError("step \(step) is too small for the range [\(low), \(high)]") }
        }
        return .float(low: low, high: high, log: log, step: step)
    }

    /// The largest magnitude of an int bound: every int up to it is exact as a Double (the
    /// internal value), and high − low cannot overflow.
    public static let intLimit = 1 << 53

    public static func makeInt(_ low: Int, _ high: Int, log: Bool = false, step: Int = 1) throws -> Distribution {
        guard (-intLimit...intLimit).contains(low), (-intLimit...intLimit).contains(high) else {
            throw DistributionError("bounds must be within ±\(intLimit) (2^53), got [\(low), \(high)]")
        }
        guard low <= high else { throw DistributionError("low \(low) is above high \(high)") }
        guard step >= 1 else { throw DistributionError("step must be at least 1, got \(step)") }
        if log {
            guard low >= 1 else { throw DistributionError("a log range must be above 0; low is \(low)") }
            guard step == 1 else { throw DistributionError("step and log cannot be used together") }
        }
        return .int(low: low, high: high, log: log, step: step)
    }

    public static func makeCategorical(_ choices: [ParamValue]) throws -> Distribution {
        guard !choices.isEmpty else { throw DistributionError("a choice list needs at least one value") }
        var seen = Set<ParamValue>()
        for c in choices where !seen.insert(c).inserted { throw DistributionError("the choice '\(c)' appears twice") }
        return .categorical(choices)
    }

    /// Why the step pins the value to the low end (a step larger than the range), or nil. Not a
    /// construction error: a study an older version stored with one stays readable; a new
    /// study is refused it (`StudySpec.checkSteps`).
    public var stepProblem: String? {
        let bounds: (low: Double, high: Double, step: Double)
        switch self {
        case let .float(lo, hi, _, s?): bounds = (lo, hi, s)
        case let .int(lo, hi, _, s): bounds = (Double(lo), Double(hi), Double(s))
        default: return nil
        }
        let (low, high, step) = bounds
        // A hair of tolerance: [0.1, 0.4] with step 0.3 is 0.30000000000000004 wide, or just under.
        guard high > low, step > (high - low) * (1 + 1e-9) else { return nil }
        let width = isIntegral ? "\(Int(high - low))" : "\(high - low)"
        return "step \(Self.number(step)) is larger than the range [\(Self.number(low)), \(Self.number(high))]: the value would never vary; use a step of at most \(width)"
    }

    var isIntegral: Bool { if case .int = self { return true }; return false }

    public var isCategorical: Bool { if case .categorical = self { return true }; return false }

    /// A distribution with a single possible value.
    public var isSingle: Bool {
        switch self {
        case let .float(lo, hi, _, _): return lo == hi
        case let .int(lo, hi, _, step): return lo == hi || hi - lo < step
        case .categorical(let c): return c.count == 1
        }
    }

    /// Whether an internal value is one this distribution can produce.
    public func contains(_ x: Double) -> Bool {
        switch self {
        case let .float(lo, hi, _, step):
            guard x >= lo && x <= hi else { return false }
            if let step { let k = (x - lo) / step; return abs(k - k.rounded()) < 1e-8 }
            return true
        case let .int(lo, hi, _, step):
            return x == x.rounded() && x >= Double(lo) && x <= Double(hi) && (Int(x) - lo) % step == 0
        case .categorical(let c):
            return x == x.rounded() && x >= 0 && x < Double(c.count)
        }
    }

    /// The external value of an internal one.
    public func value(_ x: Double) -> ParamValue {
        switch self {
        case .float: return .double(x)
        case .int: return .int(Int(x.rounded()))
        case .categorical(let c): return c[min(max(Int(x.rounded()), 0), c.count - 1)]
        }
    }

    /// The internal value of an external one, if it belongs to this distribution.
    public func internalValue(_ v: ParamValue) -> Double? {
        switch (self, v) {
        case (.categorical(let c), _): return c.firstIndex(of: v).map(Double.init)
        case (.float, .double(let d)): return contains(d) ? d : nil
        case (.float, .int(let i)): return contains(Double(i)) ? Double(i) : nil
        case (.int, .int(let i)): return contains(Double(i)) ? Double(i) : nil
        default: return nil
        }
    }

    // MARK: The unit box

    /// Internal value → [0, 1] (log-transformed for log ranges; ints span their half-steps so
    /// every int gets an equal share of the box). Categoricals: index / count.
    public func unit(_ x: Double) -> Double {
        switch self {
        case let .float(lo, hi, log, _):
            if hi == lo { return 0.5 }
            return log ? (Foundation.log(x) - Foundation.log(lo)) / (Foundation.log(hi) - Foundation.log(lo)) : (x - lo) / (hi - lo)
        case let .int(lo, hi, log, step):
            let a = Double(lo) - 0.5 * Double(step), b = Double(hi) + 0.5 * Double(step)
            if log { return (Foundation.log(x) - Foundation.log(max(a, 0.5))) / (Foundation.log(b) - Foundation.log(max(a, 0.5))) }
            return (x - a) / (b - a)
        case .categorical(let c):
            return (x + 0.5) / Double(c.count)
        }
    }

    /// [0, 1] → the nearest internal value (rounded to step / int / category).
    public func fromUnit(_ u0: Double) -> Double {
        let u = min(max(u0, 0), 1)
        switch self {
        case let .float(lo, hi, log, step):
            var x = log ? Foundation.exp(Foundation.log(lo) + u * (Foundation.log(hi) - Foundation.log(lo))) : lo + u * (hi - lo)
            if let step { x = lo + ((x - lo) / step).rounded() * step; if x > hi + 1e-12 { x -= step } }
            return min(max(x, lo), hi)
        case let .int(lo, hi, log, step):
            let a = Double(lo) - 0.5 * Double(step), b = Double(hi) + 0.5 * Double(step)
            let raw = log ? Foundation.exp(Foundation.log(max(a, 0.5)) + u * (Foundation.log(b) - Foundation.log(max(a, 0.5)))) : a + u * (b - a)
            var k = ((raw - Double(lo)) / Double(step)).rounded()
            k = min(max(k, 0), Double((hi - lo) / step))
            return Double(lo) + k * Double(step)
        case .categorical(let c):
            return Double(min(Int(u * Double(c.count)), c.count - 1))
        }
    }

    // MARK: Optuna's JSON form

    /// `{"name": "FloatDistribution", "attributes": {...}}` as Optuna's `distribution_to_json`.
    public var optunaJSON: String {
        let obj: [String: Any]
        switch self {
        case let .float(lo, hi, log, step):
            obj = ["name": "FloatDistribution", "attributes": ["low": lo, "high": hi, "log": log, "step": step as Any? ?? NSNull()]]
        case let .int(lo, hi, log, step):
            obj = ["name": "IntDistribution", "attributes": ["low": lo, "high": hi, "log": log, "step": step]]
        case .categorical(let c):
            obj = ["name": "CategoricalDistribution", "attributes": ["choices": c.map(\.json)]]
        }
        return String(data: try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), encoding: .utf8)!
    }

    public static func fromOptunaJSON(_ s: String) throws -> Distribution {
        struct Attributes: Decodable {
            var low: Double?, high: Double?, log: Bool?, step: Double?, choices: [ParamValue]?
        }
        struct Envelope: Decodable { var name: String; var attributes: Attributes }
        guard let o = try? JSONDecoder().decode(Envelope.self, from: Data(s.utf8)) else {
            throw DistributionError("not an Optuna distribution JSON: \(s)")
        }
        let a = o.attributes
        switch o.name {
        case "FloatDistribution":
            guard let lo = a.low, let hi = a.high else { throw DistributionError("FloatDistribution lacks low/high") }
            return try makeFloat(lo, hi, log: a.log ?? false, step: a.step)
        case "IntDistribution":
            guard let lo = a.low, let hi = a.high else { throw DistributionError("IntDistribution lacks low/high") }
            return try makeInt(Int(lo), Int(hi), log: a.log ?? false, step: Int(a.step ?? 1))
        case "CategoricalDistribution":
            guard let cs = a.choices else { throw DistributionError("CategoricalDistribution lacks 'choices'") }
            return try makeCategorical(cs)
        default:
            throw DistributionError("unknown Optuna distribution '\(o.name)'")
        }
    }
}

public struct DistributionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ d: String) { description = d }
}
