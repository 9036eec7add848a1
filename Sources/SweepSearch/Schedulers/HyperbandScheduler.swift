import SweepCore

/// Hyperband (Li et al. 2018) run as several asynchronous successive-halving brackets, as
/// Optuna's `HyperbandPruner` does.
///
/// - There are B = ⌊log_η(maxResource/minResource)⌋ + 1 brackets. Bracket b has the rungs of
///   `ASHAScheduler` from minResource·η^b on (milestones below maxResource only), so bracket 0 is
///   the most aggressive and bracket B−1 never stops a trial (plain training to maxResource).
///   Every bracket trains its survivors up to maxResource.
/// - A trial's bracket is a pure function of its number and the study seed: a 64-bit hash
///   (`SeedSequence.derive(studySeed, label("hyperband"), number)`) modulo the total weight
///   picks a bracket with probability proportional to its weight ⌈B·η^s/(s+1)⌉, s = B−1−b
///   (Optuna's trial allocation budget, the n of Hyperband's Algorithm 1). Optuna hashes the study
///   name with CRC-32 instead; the weights and the walk over them are the same.
/// - A trial competes only with the trials of its own bracket, with ASHA's promotion rule (see
///   `RungLadder`: continue iff among the best max(1, ⌊n/η⌋) of the n values reported at the
///   milestone, ties continue, NaN stops).
/// - `mode: .promote`: each bracket pauses and promotes as promotion-mode ASHA; among the
///   brackets, the paused trial waiting at the highest milestone is promoted first (then the
///   lower bracket).
public struct HyperbandScheduler: PausingScheduler {
    public let mode: ASHAScheduler.Mode
    public let reductionFactor: Int
    public let minResource: Int
    public let maxResource: Int
    /// One ladder per bracket, bracket 0 first.
    let ladders: [RungLadder]
    /// The bracket weights, bracket 0 first.
    public let bracketWeights: [Int]

    public init(reductionFactor: Int = 3, minResource: Int = 1, maxResource: Int, mode: ASHAScheduler.Mode = .stop) throws {
        try SchedulerSettings.require(reductionFactor >= 2, "reduction_factor", "must be at least 2, got \(reductionFactor)")
        try SchedulerSettings.require(minResource >= 1, "min_resource", "must be at least 1 epoch, got \(minResource)")
        try SchedulerSettings.require(maxResource >= minResource, "max_resource",
                                      "max_resource \(maxResource) is below min_resource \(minResource)")
        self.mode = mode
        self.reductionFactor = reductionFactor
        self.minResource = minResource
        self.maxResource = maxResource
        let count = Self.bracketCount(reductionFactor: reductionFactor, minResource: minResource, maxResource: maxResource)
        ladders = (0..<count).map {
            RungLadder(minResource: minResource, reductionFactor: reductionFactor, firstRung: $0, maxResource: maxResource)
        }
        // ⌈B·η^s/(s+1)⌉ for s = B−1−b, in integers; absurd ratios (weights past 2^63) are refused.
        var weights: [Int] = []
        var total = 0
        for b in 0..<count {
            let s = count - 1 - b
            var power = 1, overflow = false
            for _ in 0..<s where !overflow { (power, overflow) = power.multipliedReportingOverflow(by: reductionFactor) }
            var numerator = 0
            if !overflow { (numerator, overflow) = count.multipliedReportingOverflow(by: power) }
            if !overflow { (numerator, overflow) = numerator.addingReportingOverflow(s) }
            if !overflow { (total, overflow) = total.addingReportingOverflow(numerator / (s + 1)) }
            try SchedulerSettings.require(!overflow, "max_resource",
                                          "max_resource \(maxResource) / min_resource \(minResource) gives \(count) brackets, too many for reduction_factor \(reductionFactor)")
            weights.append(numerator / (s + 1))
        }
        bracketWeights = weights
    }

    /// ⌊log_η(max/min)⌋ + 1, computed exactly: the number of k ≥ 0 with min·η^k ≤ max.
    static func bracketCount(reductionFactor: Int, minResource: Int, maxResource: Int) -> Int {
        var count = 0, r = minResource
        while r <= maxResource {
            count += 1
            let (next, overflow) = r.multipliedReportingOverflow(by: reductionFactor)
            if overflow { break }
            r = next
        }
        return count
    }

    public var name: String { "hyperband" }

    public var bracketCount: Int { ladders.count }

    /// The milestone epochs of one bracket, increasing (empty for the last bracket).
    public func milestones(ofBracket b: Int) -> [Int] { ladders[b].milestones }

    /// The bracket of a trial: depends only on the trial number and the study seed.
    public func bracket(of trialNumber: Int, studySeed: UInt64) -> Int {
        let total = UInt64(bracketWeights.reduce(0, +))
        let hash = SeedSequence.derive(studySeed, SeedSequence.label("hyperband"), UInt64(bitPattern: Int64(trialNumber)))
        var n = Int(hash % total)
        for (b, w) in bracketWeights.enumerated() {
            n -= w
            if n < 0 { return b }
        }
        return bracketWeights.count - 1  // unreachable: n < total
    }

    public func decide(trial: TrialRecord, all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Decision {
        let b = bracket(of: trial.number, studySeed: studySeed)
        if mode == .promote { return ladders[b].decidePausing(trial: trial) }
        return ladders[b].decide(trial: trial, all: all, sign: direction.sign) {
            bracket(of: $0.number, studySeed: studySeed) == b
        }
    }

    public func promotion(all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Int? {
        guard mode == .promote else { return nil }
        var best: (number: Int, milestone: Int)?
        for (b, ladder) in ladders.enumerated() {
            guard let p = ladder.promotion(all: all, sign: direction.sign, isCompetitor: { bracket(of: $0.number, studySeed: studySeed) == b })
            else { continue }
            if best == nil || p.milestone > best!.milestone { best = p }
        }
        return best?.number
    }
}
