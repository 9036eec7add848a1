import SweepCore

/// Independent uniform draws in each parameter's unit box (log-uniform for log ranges).
public struct RandomSampler: Sampler {
    public init() {}
    public var name: String { "random" }
    public func suggest(space: SearchSpace, history: [TrialRecord], direction: Direction,
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("random"), UInt64(trialNumber)))
        return fillRandomly([:], space: space, rng: &rng)
    }
}
