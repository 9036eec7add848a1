import Foundation
import SweepCore
import SweepSearch

/// Parameters given to a trial before it runs: `sweep enqueue --set`, Optuna's
/// `study.enqueue_trial(params)` (its `fixed_params`) or parameters stored with a WAITING trial
/// Optuna added. They are checked against the study's space and completed by the sampler.
///
/// Rules (the same for every source, so `sweep enqueue` refuses exactly what would fail later):
/// - A name is a parameter's name (`training.learning_rate`, a command's `lr`); `lr` and
///   `params.lr` name the same command parameter (studies stored before command parameters kept
///   their own names call it `params.lr`).
/// - A value is an external value its distribution contains (a category label, an integer for an
///   int range, a number for a float range, on its step).
/// - A given parameter under a condition needs its parents given too, with a value that makes it
///   exist (otherwise whether it exists would depend on the sampler's draw).
/// - The parameters not given are the sampler's proposal for the trial, in the space's order; one
///   that exists only because of a given value and that the proposal lacks is drawn at random.
public enum EnqueuedParams {
    /// Why given parameters were refused, in the user's terms.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        /// The name as given, when one parameter is at fault.
        public var name: String?
        public var description: String
    }

    /// The space's parameter a given name means, if any.
    public static func parameter(named name: String, in space: SearchSpace) -> Parameter? {
        space[name] ?? space["params." + name] ?? (name.hasPrefix("params.") ? space[String(name.dropFirst(7))] : nil)
    }

    /// The internal values of the given parameters, by full name, after checking them (see the
    /// rules above); a `Problem` for the first that breaks one.
    public static func resolve(_ given: [String: ParamValue], space: SearchSpace) throws -> [String: Double] {
        var values: [String: Double] = [:]
        var givenAs: [String: String] = [:]
        for (name, value) in given.sorted(by: { $0.key < $1.key }) {
            guard let p = parameter(named: name, in: space) else {
                throw Problem(name: name, description: "'\(name)' is not a parameter of this study; its parameters: "
                              + space.parameters.map(\.name).joined(separator: ", "))
            }
            guard givenAs[p.name] == nil else {
                throw Problem(name: name, description: "'\(name)' and '\(givenAs[p.name]!)' name the same parameter \(p.name)")
            }
            guard let x = internalValue(value, p.distribution) else {
                throw Problem(name: name, description: "'\(name)' = \(value) is not \(accepted(p.distribution))")
            }
            values[p.name] = x
            givenAs[p.name] = name
        }
        for p in space.parameters where values[p.name] != nil && !space.isActive(p, given: values) {
            let why = p.conditions.map { c -> String in
                let label = givenAs[c.parent].map { "'\($0)'" } ?? "'\(c.parent)' (not given)"
                return "\(label) is one of \(c.values.map(\.description).joined(separator: ", "))"
            }.joined(separator: " and ")
            throw Problem(name: givenAs[p.name], description: "'\(givenAs[p.name]!)' exists only when \(why); give its parent a value that makes it exist")
        }
        return values
    }

    /// A full assignment: the given values, then the sampler's `proposal` for the parameters that
    /// exist given them, then random draws (`rng`) for those the proposal lacks; inactive ones are
    /// dropped.
    public static func complete(_ given: [String: Double], proposal: [String: Double], space: SearchSpace,
                                rng: inout SweepRandom) -> [String: Double] {
        var out = given
        for p in space.parameters where out[p.name] == nil && space.isActive(p, given: out) {
            out[p.name] = proposal[p.name] ?? p.distribution.fromUnit(rng.nextDouble())
        }
        for p in space.parameters where out[p.name] != nil && !space.isActive(p, given: out) { out[p.name] = nil }
        return out
    }

    /// The internal value of an external one, accepting an integral number for an int range (JSON
    /// and Python write 3.0 for 3 at times).
    static func internalValue(_ v: ParamValue, _ d: Distribution) -> Double? {
        if let x = d.internalValue(v) { return x }
        if case .int = d, case .double(let x) = v, x == x.rounded(), abs(x) < 1e15 { return d.internalValue(.int(Int(x))) }
        return nil
    }

    /// What a distribution accepts, in words.
    public static func accepted(_ d: Distribution) -> String {
        switch d {
        case let .float(lo, hi, log, step):
            return "a number in [\(lo), \(hi)]" + (step.map { " on a step of \($0) from \(lo)" } ?? "") + (log ? " (log scale)" : "")
        case let .int(lo, hi, log, step):
            return "an integer in [\(lo), \(hi)]" + (step == 1 ? "" : " on a step of \(step) from \(lo)") + (log ? " (log scale)" : "")
        case .categorical(let choices):
            return "one of " + choices.map(\.description).joined(separator: ", ")
        }
    }
}
