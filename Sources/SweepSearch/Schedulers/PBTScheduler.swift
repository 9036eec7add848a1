import SweepCore

/// Population-based training (Jaderberg et al. 2017), asynchronous as in Ray Tune's
/// `PopulationBasedTraining`, derived from stored reports only.
///
/// - At every `interval`-th epoch below `maxResource`, a trial is ranked among the trials that
///   reported that same epoch (any state, NaN left out, smaller-is-better after the direction's
///   sign; ties by trial number). With n ≥ `minPopulation` of them and q = ⌈`quantile`·n⌉, a
///   trial among the worst q is exploited: `Decision.exploit(donor:)` names one of the best q,
///   drawn from `SeedSequence(studySeed, "pbt", trial number, epoch)`. Everything else continues.
/// - The runner ends the exploited trial PRUNED and starts a new trial whose parameters are
///   `explore(donor's parameters)`, from the donor's checkpoint at that epoch; the new trial
///   records its donor and epoch, so the lineage of the best model is stored trial by trial and
///   each can be replayed. The new trial counts toward the study's trial budget.
/// - `explore`: each searched parameter is redrawn from its range with `resampleProbability`;
///   otherwise a number is multiplied by 0.8 or 1.2 (clamped to its range and snapped to its
///   step; an int that would not move steps by one), and a choice moves to a neighbouring
///   choice in its list.
public struct PBTScheduler: Scheduler {
    public let interval: Int
    public let quantile: Double
    public let maxResource: Int
    public let resampleProbability: Double
    /// Trials that must have reported an epoch before anyone is exploited there.
    public let minPopulation: Int

    public init(interval: Int, quantile: Double = 0.25, maxResource: Int, resampleProbability: Double = 0.25,
                minPopulation: Int = 4) throws {
        try SchedulerSettings.require(interval >= 1 && interval < maxResource, "interval",
                                      "must be at least 1 and below max_epochs \(maxResource), got \(interval)")
        try SchedulerSettings.require(quantile > 0 && quantile <= 0.5, "quantile", "must be above 0 and at most 0.5, got \(quantile)")
        try SchedulerSettings.require(resampleProbability >= 0 && resampleProbability <= 1, "resample_probability",
                                      "must be from 0 to 1, got \(resampleProbability)")
        try SchedulerSettings.require(minPopulation >= 2, "min_population", "must be at least 2, got \(minPopulation)")
        self.interval = interval; self.quantile = quantile; self.maxResource = maxResource
        self.resampleProbability = resampleProbability; self.minPopulation = minPopulation
    }

    public var name: String { "pbt" }

    public func decide(trial: TrialRecord, all: [TrialRecord], direction: Direction, studySeed: UInt64) -> Decision {
        guard let step = trial.lastStep, step % interval == 0, step < maxResource, let own = trial.intermediate[step] else {
            return .continue
        }
        if own.isNaN { return .stop }
        var ranked: [(value: Double, number: Int)] = []
        for t in all where t.number != trial.number {
            if let v = t.intermediate[step], !v.isNaN { ranked.append((v * direction.sign, t.number)) }
        }
        ranked.append((own * direction.sign, trial.number))
        guard ranked.count >= minPopulation else { return .continue }
        ranked.sort { $0.value != $1.value ? $0.value < $1.value : $0.number < $1.number }
        let q = Int((quantile * Double(ranked.count)).rounded(.up))
        guard ranked.suffix(q).contains(where: { $0.number == trial.number }) else { return .continue }
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("pbt"), UInt64(trial.number), UInt64(step)))
        return .exploit(donor: ranked[rng.nextInt(below: q)].number)
    }

    /// The parameters of the trial that continues a donor's model (see the type's comment).
    public func explore(_ params: [String: Double], space: SearchSpace, studySeed: UInt64, trialNumber: Int) -> [String: Double] {
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("pbt-explore"), UInt64(trialNumber)))
        var out: [String: Double] = [:]
        for p in space.parameters where space.isActive(p, given: out) {
            let resample = rng.nextDouble() < resampleProbability
            let up = rng.nextDouble() < 0.5
            guard !resample, let x = params[p.name], p.distribution.contains(x) else {
                out[p.name] = p.distribution.fromUnit(rng.nextDouble())
                continue
            }
            out[p.name] = Self.perturb(x, p.distribution, up: up)
        }
        return RandomSampler().fillRandomly(out, space: space, rng: &rng)
    }

    static func perturb(_ x: Double, _ d: Distribution, up: Bool) -> Double {
        switch d {
        case .categorical(let c):
            return min(max(x + (up ? 1 : -1), 0), Double(c.count - 1))
        case let .int(lo, hi, _, step):
            var y = d.fromUnit(d.unit(min(max(x * (up ? 1.2 : 0.8), Double(lo)), Double(hi))))
            if y == x { y = min(max(x + Double(up ? step : -step), Double(lo)), Double(hi)) }
            return y
        case let .float(lo, hi, _, _):
            return d.fromUnit(d.unit(min(max(x * (up ? 1.2 : 0.8), lo), hi)))
        }
    }
}
