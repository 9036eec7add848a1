import SweepCore

/// Asynchronous successive halving (ASHA; Li et al. 2018), with the promotion rule of Optuna's
/// `SuccessiveHalvingPruner`.
///
/// Rungs sit at the milestone epochs minResource·η^k (k = 0, 1, …) below `maxResource`, leaving
/// out those below `gracePeriod`: with η = 3, minResource = 1 and maxResource = 27 they are epochs
/// 1, 3 and 9. Steps are epochs, 1-based. When a trial reports at a milestone, its value is
/// compared with the values every trial of the study reported at that same epoch (any state, the
/// trial itself included once, NaN left out, signs normalised so that smaller is better):
/// with n values, it continues iff it is among the best max(1, ⌊n/η⌋), ties continue. So with
/// fewer than η values at the rung only the best so far continues (Optuna's choice, as it cannot
/// pause a trial and promote it later). A NaN value at a milestone stops the trial.
///
/// `mode: .promote` is the ASHA paper's promotion rule instead (see `RungLadder`): every trial
/// pauses at each milestone and the best ⌊n/η⌋ of a rung are resumed from their checkpoints. Between milestones, and from `maxResource` on, the decision is `continue`
/// (the runner ends a trial at the study's epoch budget).
///
/// The decision depends only on the stored reports, not on when or in which order they arrived,
/// so a restarted controller decides the same. Reports must include every milestone epoch (the
/// engine reports every epoch); a trial that skips a milestone is not judged at that rung.
public struct ASHAScheduler: PausingScheduler {
    /// Whether trials below the cut stop at once (`stop`, the default) or every trial pauses at
    /// a rung until promoted (`promote`).
    public enum Mode: String, Sendable, CaseIterable { case stop, promote }

    public let mode: Mode
    public let reductionFactor: Int
    public let minResource: Int
    public let maxResource: Int
    public let gracePeriod: Int
    let ladder: RungLadder

    /// - Parameters:
    ///   - reductionFactor: η ≥ 2; about 1/η of the trials at a rung reach the next one.
    ///   - minResource: the first milestone, in epochs (≥ 1).
    ///   - maxResource: the most epochs a trial trains (the study's `max_epochs`), ≥ minResource.
    ///   - gracePeriod: a trial is never stopped before this epoch (Ray Tune's `grace_period`):
    ///     milestones below it are dropped. 1, the default, drops none.
    ///   - mode: `stop` (Optuna's rule) or `promote` (pause and promote).
    public init(reductionFactor: Int = 3, minResource: Int = 1, maxResource: Int, gracePeriod: Int = 1, mode: Mode = .stop) throws {
        try SchedulerSettings.require(reductionFactor >= 2, "reduction_factor", "must be at least 2, got \(reductionFactor)")
        try SchedulerSettings.require(minResource >= 1, "min_resource", "must be at least 1 epoch, got \(minResource)")
        try SchedulerSettings.require(maxResource >= minResource, "max_resource",
                                      "max_resource \(maxResource) is below min_resource \(minResource)")
        try SchedulerSettings.require(gracePeriod >= 1 && gracePeriod <= maxResource, "grace_period",
                                      "must be between 1 and max_resource \(maxResource), got \(gracePeriod)")
        self.mode = mode
        self.reductionFactor = reductionFactor
        self.minResource = minResource
        self.maxResource = maxResource
        self.gracePeriod = gracePeriod
        ladder = RungLadder(minResource: minResource, reductionFactor: reductionFactor, firstRung: 0,
                            maxResource: maxResource, notBefore: gracePeriod)
    }

    public var name: String { "asha" }

    /// The milestone epochs at which trials are compared, increasing.
    public var milestones: [Int] { ladder.milestones }

    public func decide(trial: TrialRecord, all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Decision {
        mode == .promote ? ladder.decidePausing(trial: trial) : ladder.decide(trial: trial, all: all, sign: direction.sign)
    }

    /// The stopping rule for several objectives (see `RungLadder`): Pareto fronts at the rung.
    public func decide(trial: TrialRecord, all: [TrialRecord], directions: [Direction], studySeed: UInt64) -> Decision {
        ladder.decide(trial: trial, all: all, directions: directions)
    }

    public func promotion(all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Int? {
        mode == .promote ? ladder.promotion(all: all, sign: direction.sign)?.number : nil
    }
}
