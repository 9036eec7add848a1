import SweepCore

/// The median stopping rule (Golovin et al. 2017), with the semantics of Optuna's `MedianPruner`.
///
/// After a report at step s (epochs, 1-based), the trial stops iff all of these hold:
/// - s > `warmupSteps` (its first `warmupSteps` epochs are never judged; Optuna's
///   `n_warmup_steps` with its 0-based steps);
/// - at least `minTrials` *other COMPLETE* trials reported a (non-NaN) value at step s. As in
///   Optuna the reference is complete trials only: running ones have not shown their whole curve
///   and pruned ones are a sample biased towards bad curves. This one count plays the part of
///   Optuna's `n_startup_trials` (5) and `n_min_trials`;
/// - the trial's *best value so far* (over all its reports up to s, NaN ignored) is strictly worse
///   than the median of those trials' values *at step s* (Optuna compares the best so far, not the
///   value at s; the median of an even count is the mean of the middle two, as numpy's).
/// A trial whose reports are all NaN stops once it is past the warm-up.
/// Decisions are pure functions of the reports, independent of the order of `all`.
public struct MedianScheduler: Scheduler {
    public let warmupSteps: Int
    public let minTrials: Int

    public init(warmupSteps: Int = 1, minTrials: Int = 5) throws {
        try SchedulerSettings.require(warmupSteps >= 0, "warmup_steps", "must be at least 0, got \(warmupSteps)")
        try SchedulerSettings.require(minTrials >= 1, "min_trials", "must be at least 1, got \(minTrials)")
        self.warmupSteps = warmupSteps
        self.minTrials = minTrials
    }

    public var name: String { "median" }

    public func decide(trial: TrialRecord, all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Decision {
        guard let step = trial.lastStep, step > warmupSteps else { return .continue }
        let sign = direction.sign
        var reference: [Double] = []
        for t in all where t.number != trial.number && t.state == .complete {
            if let v = t.intermediate[step], !v.isNaN { reference.append(v * sign) }
        }
        guard reference.count >= minTrials else { return .continue }
        let own = trial.intermediate.values.filter { !$0.isNaN }.map { $0 * sign }  // every report is ≤ step
        guard let best = own.min() else { return .stop }
        return best > Self.median(reference) ? .stop : .continue
    }

    /// The median of a non-empty array (mean of the middle two for an even count).
    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }
}
