/// What a scheduler says about a running trial after one of its reports.
public enum Decision: Equatable, Sendable, Codable {
    /// Keep training.
    case `continue`
    /// Stop now; the trial ends PRUNED with its last reported value.
    case stop
    /// Stop for now, keeping the checkpoint of this step: the trial waits (WAITING, its reports
    /// kept) until a `PausingScheduler` promotes it, then continues from the checkpoint.
    case pause
    /// Population-based training's exploit step: this trial ends PRUNED, and a new trial starts
    /// from the checkpoint of trial `donor` at this step, with the donor's parameters perturbed
    /// (`PBTScheduler.explore`).
    case exploit(donor: Int)
}

/// A scheduler decides, after each intermediate report, whether a trial goes on.
///
/// Contract:
/// - Decisions are derived only from stored reports: `decide` is a pure function of the trial,
///   every trial's stored intermediate values, the direction and the study seed, so a restarted
///   daemon or a second process decides exactly the same (no hidden counters, no wall clock).
/// - `decide` is called after each report of a RUNNING trial; `trial.intermediate` already holds
///   that report. Reports are objective values (e.g. validation accuracy per epoch).
/// - A scheduler may also cap the resource: `maxResource(for:)` tells the runner how many epochs
///   a trial may use at most (Hyperband's brackets differ), nil for the study's budget.
public protocol Scheduler: Sendable {
    var name: String { get }
    func decide(trial: TrialRecord, all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Decision
}

/// A scheduler that pauses trials and promotes them later (ASHA and Hyperband with
/// `mode: promote`, as in the ASHA paper's promotion rule).
///
/// Contract, besides `Scheduler`'s:
/// - A paused trial is WAITING in the store with its reports kept (`TrialRecord.isPaused`) and
///   the checkpoint of its last reported step kept on disk.
/// - `promotion` names the paused trial to resume first when a worker is free; the runner asks
///   before it starts any new trial. It is a pure function of the stored reports (restart-safe),
///   nil when no paused trial is due.
/// - When the study may start no new trial, no trial runs and `promotion` is nil, the runner
///   ends every paused trial PRUNED with its last value: none will be promoted any more.
public protocol PausingScheduler: Scheduler {
    func promotion(all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Int?
}

/// Never stops a trial early.
public struct NoScheduler: Scheduler {
    public init() {}
    public var name: String { "none" }
    public func decide(trial: TrialRecord, all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Decision { .continue }
}
