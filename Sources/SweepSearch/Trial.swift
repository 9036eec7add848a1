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
/// last intermediate value there, as Optuna does).
public struct TrialRecord: Sendable, Equatable, Codable {
    public var number: Int
    public var state: TrialState
    public var params: [String: Double]
    public var value: Double?
    public var intermediate: [Int: Double]

    public init(number: Int, state: TrialState, params: [String: Double], value: Double? = nil, intermediate: [Int: Double] = [:]) {
        self.number = number; self.state = state; self.params = params; self.value = value; self.intermediate = intermediate
    }

    /// The last reported step, if any.
    public var lastStep: Int? { intermediate.keys.max() }

    /// The value reported at the last step, if any.
    public var lastValue: Double? { lastStep.flatMap { intermediate[$0] } }
}
