import SweepCore

/// Independent uniform draws in each parameter's unit box (log-uniform for log ranges).
public struct RandomSampler: MultiObjectiveSampler {
    public init() {}
    public var name: String { "random" }
    public func suggest(space: SearchSpace, history: [TrialRecord], direction: Direction,
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("random"), UInt64(trialNumber)))
        return fillRandomly([:], space: space, rng: &rng)
    }
}

extension RandomSampler {
    /// The objectives play no part in the choice.
    public func suggest(space: SearchSpace, history: [TrialRecord], directions: [Direction],
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        suggest(space: space, history: history, direction: directions.first ?? .minimize, trialNumber: trialNumber, studySeed: studySeed)
    }
}
