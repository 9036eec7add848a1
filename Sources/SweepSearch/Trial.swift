/// The state of a trial, with Optuna's names (the store keeps these strings).
public enum TrialState: String, Codable, Sendable, CaseIterable {
    case running = "RUNNING"
    case complete = "COMPLETE"
    case pruned = "PRUNED"
    case fail = "FAIL"
    case waiting = "WAITING"

    public var isFinished: Bool { self == .complete || self == .pruned || self == .fail }
}

public enum Direction: String, Codable, Sendable, CaseIterable {
    case minimize, maximize
    /// +1 to turn a value into a loss (smaller is better), -1 for maximize.
    public var sign: Double { self == .minimize ? 1 : -1 }
}

/// An immutable snapshot of one trial as samplers and schedulers see it.
///
/// `params` holds internal values (Optuna's representation: a categorical is its index) of the
/// parameters that were active for this trial only. `intermediate` maps a step (epoch) to the
/// reported value; `value` is the final objective for complete trials (pruned trials keep their
/// last intermediate value there, as Optuna does). A study of several objectives also fills
/// `values` (every objective, in the study's order; `value` is the first); `constraints` holds
/// Optuna's constraint values, the trial being feasible when each is at most 0.
public struct TrialRecord: Sendable, Equatable, Codable {
    public var number: Int
    public var state: TrialState
    public var params: [String: Double]
    public var value: Double?
    public var intermediate: [Int: Double]
    public var values: [Double]?
    public var constraints: [Double]?
    /// Per step, every objective's reported value (studies of several objectives; `intermediate`
    /// holds the first).
    public var intermediateValues: [Int: [Double]]

    public init(number: Int, state: TrialState, params: [String: Double], value: Double? = nil, intermediate: [Int: Double] = [:],
                values: [Double]? = nil, constraints: [Double]? = nil, intermediateValues: [Int: [Double]] = [:]) {
        self.number = number; self.state = state; self.params = params; self.value = value ?? values?.first
        self.intermediate = intermediate.isEmpty ? intermediateValues.compactMapValues(\.first) : intermediate
        self.values = values; self.constraints = constraints; self.intermediateValues = intermediateValues
    }

    /// The last reported step, if any.
    public var lastStep: Int? { intermediate.keys.max() }

    /// Paused by a `PausingScheduler`: waiting, with reports kept.
    public var isPaused: Bool { state == .waiting && !intermediate.isEmpty }

    /// The value reported at the last step, if any.
    public var lastValue: Double? { lastStep.flatMap { intermediate[$0] } }
}

extension TrialRecord {
    /// The objectives as losses (each multiplied by its direction's sign, so smaller is better),
    /// or nil when the trial has no finite value for each of `directions`.
    public func losses(_ directions: [Direction]) -> [Double]? {
        let v = values ?? value.map { [$0] } ?? []
        guard v.count == directions.count, v.allSatisfy(\.isFinite) else { return nil }
        return zip(v, directions).map { $0 * $1.sign }
    }

    /// How far the trial is from feasible: the sum of its positive constraint values (0 when it
    /// is feasible or has none; NaN counts as infinitely infeasible).
    public var violation: Double {
        (constraints ?? []).reduce(0) { $0 + ($1.isNaN ? .infinity : max($1, 0)) }
    }
}
