/// A sampler proposes the parameters of the next trial.
///
/// Contract:
/// - Deterministic: the result depends only on the space, the history, the trial number and the
///   study seed (draw every random number from `SweepRandom(seed: SeedSequence.derive(studySeed,
///   label, trialNumber))`). A restarted controller therefore proposes exactly what an
///   uninterrupted one would have.
/// - Returns an internal value (see `Distribution`) for every parameter that is *active* given
///   the values it returns for the others (conditions are evaluated by `SearchSpace.isActive`),
///   and no value for inactive ones. Every value satisfies `distribution.contains`.
/// - `history` holds every other trial of the study, in any state: samplers learn from COMPLETE
///   trials (values in the study's `direction`), may use PRUNED trials' intermediate values, must
///   cope with FAIL trials (typically by ignoring them) and may account for RUNNING ones (TPE's
///   constant liar) so parallel workers do not pile onto one point.
/// - Stateless between calls: any model is rebuilt from `history`. Implementations are value types
///   and thread-safe.
public protocol Sampler: Sendable {
    var name: String { get }
    func suggest(space: SearchSpace, history: [TrialRecord], direction: Direction,
                 trialNumber: Int, studySeed: UInt64) -> [String: Double]
}

/// A sampler for studies of several objectives (and constraints, for any number of objectives).
///
/// Contract: as `Sampler`, with the objectives' `directions` in the study's order; a COMPLETE
/// trial's values are `TrialRecord.values` (`losses(directions)`), its feasibility
/// `TrialRecord.violation` (feasible first, then the smaller violation, as Optuna's constrained
/// samplers rank trials). With one direction it must behave as `suggest(direction:)`.
public protocol MultiObjectiveSampler: Sampler {
    func suggest(space: SearchSpace, history: [TrialRecord], directions: [Direction],
                 trialNumber: Int, studySeed: UInt64) -> [String: Double]
}

public extension MultiObjectiveSampler {
    /// One objective is the case of several with one direction.
    func suggest(space: SearchSpace, history: [TrialRecord], direction: Direction,
                 trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        suggest(space: space, history: history, directions: [direction], trialNumber: trialNumber, studySeed: studySeed)
    }
}

public extension Sampler {
    /// Random values for the active parameters not yet in `partial` (in the space's order), drawn
    /// from `rng`: the fallback every sampler shares for start-up and for parameters it has no
    /// model of.
    func fillRandomly(_ partial: [String: Double], space: SearchSpace, rng: inout SweepRandom) -> [String: Double] {
        var out = partial
        for p in space.parameters where out[p.name] == nil && space.isActive(p, given: out) {
            out[p.name] = p.distribution.fromUnit(rng.nextDouble())
        }
        // Drop values of parameters that the final assignment leaves inactive.
        for p in space.parameters where out[p.name] != nil && !space.isActive(p, given: out) { out[p.name] = nil }
        return out
    }
}

import SweepCore
