/// What a scheduler says about a running trial after one of its reports.
public enum Decision: Equatable, Sendable, Codable {
    /// Keep training.
    case `continue`
    /// Stop now; the trial ends PRUNED with its last reported value.
    case stop
}

/// A scheduler decides, after each intermediate report, whether a trial goes on.
///
/// Contract:
/// - Decisions are derived only from stored reports: `decide` is a pure function of the trial,
///   every trial's stored intermediate values, the direction and the study seed, so a restarted
///   daemon or a second process decides exactly the same (no hidden counters, no wall clock).
/// - `decide` is called after each report of a RUNNING trial; `trial.intermediate` already holds
///   that report. Reports are objective values (e.g. validation accuracy per epoch).
public protocol Scheduler: Sendable {
    var name: String { get }
    func decide(trial: TrialRecord, all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Decision
}

/// Never stops a trial early.
public struct NoScheduler: Scheduler {
    public init() {}
    public var name: String { "none" }
    public func decide(trial: TrialRecord, all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Decision { .continue }
}
