import SweepCore

/// The rungs of one asynchronous successive-halving ladder and its promotion rule, shared by
/// `ASHAScheduler` and each bracket of `HyperbandScheduler`.
///
/// It is Optuna's `SuccessiveHalvingPruner` without its stored "completed_rung_k" attributes: a
/// trial's value at a rung is simply its report at the rung's milestone step, so everything is
/// derived from the reports and nothing has to be written back.
///
/// Promotion rule, at a milestone step m (the trial's latest report is at step m):
/// - V = the values reported at step m by every trial in the comparison set, in any state (a
///   pruned or complete trial keeps competing), this trial included once, NaN values left out,
///   each multiplied by the direction's sign so that smaller is better;
/// - n = |V|, k = max(1, ⌊n/η⌋);
/// - the trial continues iff its value ≤ the k-th smallest of V (ties continue), else it stops.
/// With fewer than η values at the rung, k = 1: only a trial that is the best so far continues
/// (Optuna's choice: it cannot pause a trial and promote it later). A NaN report at a milestone
/// stops the trial (as in Optuna). At any step that is not a milestone the decision is `continue`.
///
/// Promotion mode (`decidePausing`, `promotion`; the ASHA paper's rule): a trial pauses at every
/// milestone; a paused trial at milestone m is promoted when its value is among the best
/// ⌊n/η⌋ of the n values reported at m (no `max(1, …)`: with fewer than η values nobody is
/// promoted yet); higher rungs are served first, then the better value, then the lower number.
struct RungLadder: Sendable, Equatable {
    /// Milestone steps (epochs), increasing.
    let milestones: [Int]
    let reductionFactor: Int

    /// Milestones minResource·η^k for k ≥ firstRung that are below maxResource (a trial that
    /// reaches maxResource is done anyway) and not below `notBefore`.
    init(minResource: Int, reductionFactor: Int, firstRung: Int, maxResource: Int, notBefore: Int = 1) {
        self.reductionFactor = reductionFactor
        var ms: [Int] = []
        var r = minResource, k = 0
        while r < maxResource {
            if k >= firstRung && r >= notBefore { ms.append(r) }
            let (next, overflow) = r.multipliedReportingOverflow(by: reductionFactor)
            if overflow { break }
            r = next; k += 1
        }
        milestones = ms
    }

    /// The decision for `trial` after its latest report; `isCompetitor` selects the other trials
    /// of `all` that share this ladder (all of them for ASHA, one bracket for Hyperband).
    func decide(trial: TrialRecord, all: [TrialRecord], sign: Double,
                isCompetitor: (TrialRecord) -> Bool = { _ in true }) -> Decision {
        guard let step = trial.lastStep, milestones.contains(step), let own = trial.intermediate[step] else {
            return .continue
        }
        if own.isNaN { return .stop }
        let value = own * sign
        var values = [value]
        for t in all where t.number != trial.number && isCompetitor(t) {
            if let v = t.intermediate[step], !v.isNaN { values.append(v * sign) }
        }
        let k = max(1, values.count / reductionFactor)
        values.sort()
        return value <= values[k - 1] ? .continue : .stop
    }
}

extension RungLadder {
    /// Promotion mode: pause at a milestone (stop on NaN), else continue.
    func decidePausing(trial: TrialRecord) -> Decision {
        guard let step = trial.lastStep, milestones.contains(step), let own = trial.intermediate[step] else {
            return .continue
        }
        return own.isNaN ? .stop : .pause
    }

    /// The paused trial this ladder would promote first, with the milestone it waits at.
    func promotion(all: [TrialRecord], sign: Double, isCompetitor: (TrialRecord) -> Bool = { _ in true })
        -> (number: Int, milestone: Int)? {
        for m in milestones.reversed() {
            var entries: [(value: Double, number: Int, paused: Bool)] = []
            for t in all where isCompetitor(t) {
                if let v = t.intermediate[m], !v.isNaN { entries.append((v * sign, t.number, t.isPaused && t.lastStep == m)) }
            }
            let top = entries.count / reductionFactor
            guard top > 0 else { continue }
            entries.sort { $0.value != $1.value ? $0.value < $1.value : $0.number < $1.number }
            if let e = entries.prefix(top).first(where: \.paused) { return (e.number, m) }
        }
        return nil
    }
}

extension RungLadder {
    /// Stopping mode for several objectives (`TrialRecord.intermediateValues`), the same rule
    /// with fronts for values: at milestone m the n vectors reported there (this trial's
    /// included, any with a NaN left out, as losses) are sorted into Pareto fronts, and the
    /// trial continues iff fewer than max(1, ⌊n/η⌋) vectors lie in fronts better than its own.
    /// So the best fronts holding about 1/η of the trials go on, the first front always, and
    /// with one objective this is exactly `decide` (ties continue).
    func decide(trial: TrialRecord, all: [TrialRecord], directions: [Direction],
                isCompetitor: (TrialRecord) -> Bool = { _ in true }) -> Decision {
        guard let step = trial.intermediateValues.keys.max(), milestones.contains(step), let own = trial.intermediateValues[step] else {
            return .continue
        }
        func losses(_ v: [Double]) -> [Double]? {
            v.count == directions.count && !v.contains(where: \.isNaN) ? zip(v, directions).map { $0 * $1.sign } : nil
        }
        guard let mine = losses(own) else { return .stop }
        var points = [mine]
        for t in all where t.number != trial.number && isCompetitor(t) {
            if let v = t.intermediateValues[step], let l = losses(v) { points.append(l) }
        }
        let ranks = Pareto.frontRanks(points)
        let better = ranks.filter { $0 < ranks[0] }.count
        return better < max(1, points.count / reductionFactor) ? .continue : .stop
    }
}

/// Checks shared by the successive-halving schedulers' constructors.
enum SchedulerSettings {
    static func require(_ ok: Bool, _ field: String, _ message: String) throws {
        if !ok { throw InputError(field: "scheduler.\(field)", message) }
    }
}
