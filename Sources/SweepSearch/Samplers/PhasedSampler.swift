import SweepCore

/// One sampler for the first trials of a study, another for the rest: trial numbers below
/// `switchAt` go to `first`, the others to `then`. Both rebuild their models from the whole
/// history, so the second starts from everything the first found (`auto` uses GP then TPE on
/// mostly discrete spaces: the GP's model finds good regions in few trials, TPE then refines
/// among the remaining configurations faster than the GP, whose noise model stalls near the optimum).
public struct PhasedSampler: Sampler {
    public let first: any Sampler
    public let then: any Sampler
    public let switchAt: Int

    public init(first: any Sampler, then: any Sampler, switchAt: Int) {
        self.first = first; self.then = then; self.switchAt = switchAt
    }

    public var name: String { "\(first.name)+\(then.name)" }

    public func suggest(space: SearchSpace, history: [TrialRecord], direction: Direction,
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        (trialNumber < switchAt ? first : then).suggest(space: space, history: history, direction: direction,
                                                        trialNumber: trialNumber, studySeed: studySeed)
    }
}
