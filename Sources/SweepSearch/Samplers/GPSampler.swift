import Foundation
import SweepCore

/// Bayesian optimisation with a Gaussian process, after Optuna's GPSampler and BoTorch's recipe.
///
/// 1. Start-up: the first `startupTrials` trials less the prior observations (`WarmStart`), and
///    any later one while fewer than two trials have completed, take point `trialNumber` plus
///    the number of priors (warm-started from a study of the same seed, it continues its
///    sequence) of a scrambled Halton sequence fixed by the study seed, so they cover the box
///    whatever order they finish in.
/// 2. Model: the COMPLETE trials' values, turned into losses (`direction.sign`) and z-scored,
///    against their features (`GP.Encoding`: unit box, one-hot categories, 0.5 for inactive
///    parameters); a Matérn-5/2 ARD kernel fitted by maximum a posteriori (`GP.fitKernel`).
///    RUNNING and WAITING trials join as pending points valued at the posterior mean (kriging
///    believer): the mean is unchanged, the variance around them collapses, so parallel workers
///    spread out. FAIL and PRUNED trials are ignored.
/// 3. Acquisition: log expected improvement over the best loss, scored on `candidates` Halton
///    points plus perturbations of the best trials, then a compass search over the continuous
///    parameters of the best few. Categories and ints are only ever evaluated at real values.
///
/// Discrete spaces: ordered numeric choices are one feature at their position on a log or linear
/// scale (`ordinalChoices`, see `GP.Encoding`); the acquisition's local search also walks the
/// discrete neighbourhood of its best points; and in a finite space no configuration another
/// trial has taken (any state) is proposed again while untaken ones remain (`avoidRepeats`).
///
/// Several objectives (`suggest(directions:)`, in GPSampler+MultiObjective.swift): one GP per
/// objective, the acquisition log expected hypervolume improvement over the COMPLETE trials'
/// Pareto front. Constraints are not modelled: `StudySpec` refuses gp for a study with
/// constraints, and constraint values in the history are ignored here.
///
/// Cost: one MAP fit (a few dozen O(N³) evaluations at N completed trials) and two Cholesky
/// factorisations (three with pending trials) per suggestion and objective.
public struct GPSampler: MultiObjectiveSampler {
    public let startupTrials: Int
    public let candidates: Int
    public let ordinalChoices: Bool
    public let avoidRepeats: Bool

    public init(startupTrials: Int = 10, candidates: Int = 2048, ordinalChoices: Bool = true, avoidRepeats: Bool = true) {
        self.startupTrials = max(0, startupTrials)
        self.candidates = max(1, candidates)
        self.ordinalChoices = ordinalChoices
        self.avoidRepeats = avoidRepeats
    }

    public var name: String { "gp" }

    /// The configurations a suggestion must not repeat (`avoidRepeats` in a finite space with
    /// untaken ones left), or nil.
    func repeatsToAvoid(space: SearchSpace, history: [TrialRecord], trialNumber: Int) -> TakenConfigurations? {
        let taken = avoidRepeats ? TakenConfigurations(space: space, history: history, trialNumber: trialNumber) : nil
        return (taken?.active ?? false) ? taken : nil
    }

    /// The start-up point of `trialNumber` (step 1 of the type's comment), while the model may
    /// not propose yet: before `startupTrials` less the prior observations (`WarmStart`, which
    /// stand in for start-up trials), with fewer than two `observed` trials, or with no features;
    /// nil once it may.
    func startup(space: SearchSpace, history: [TrialRecord], observed: Int, encoding: GP.Encoding, trialNumber: Int,
                 studySeed: UInt64, avoiding: TakenConfigurations?, rng: inout SweepRandom) -> [String: Double]? {
        let priors = history.reduce(0) { $0 + ($1.isPrior ? 1 : 0) }
        guard trialNumber + priors < startupTrials || observed < 2 || encoding.featureCount == 0 else { return nil }
        return untaken(fillRandomly(startupPoint(trialNumber + priors, encoding: encoding, studySeed: studySeed), space: space, rng: &rng),
                       space: space, taken: avoiding, rng: &rng)
    }

    public func suggest(space: SearchSpace, history: [TrialRecord], direction: Direction,
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        guard !space.isEmpty else { return [:] }
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("gp"), UInt64(truncatingIfNeeded: trialNumber)))
        let encoding = GP.Encoding(space: space, ordinal: ordinalChoices)
        let observed = history.filter { $0.state == .complete && ($0.value?.isFinite ?? false) }
        let avoiding = repeatsToAvoid(space: space, history: history, trialNumber: trialNumber)
        if let point = startup(space: space, history: history, observed: observed.count, encoding: encoding,
                               trialNumber: trialNumber, studySeed: studySeed, avoiding: avoiding, rng: &rng) {
            return point
        }

        // Training data: features (N,D) and standardised losses (N).
        let n = observed.count, d = encoding.featureCount
        var x = [Double](repeating: 0, count: n * d)
        for (i, t) in observed.enumerated() { encoding.features(of: t.params, into: &x[(i * d)..<((i + 1) * d)]) }
        let y = Self.standardize(observed.map { direction.sign * $0.value! })

        let params = GP.fitKernel(x: x, y: y, n: n, d: d, restarts: 1, rng: &rng)
        guard var model = GP.Model(x: x, y: y, n: n, params: params) else {
            return fillRandomly([:], space: space, rng: &rng)
        }
        let pending = history.filter { ($0.state == .running || $0.state == .waiting) && !$0.params.isEmpty }
        if !pending.isEmpty {
            var px = [Double](repeating: 0, count: pending.count * d)
            for (i, t) in pending.enumerated() { encoding.features(of: t.params, into: &px[(i * d)..<((i + 1) * d)]) }
            let believed = model.predict(px, m: pending.count).mean
            if let m = GP.Model(x: x + px, y: y + believed, n: n + pending.count, params: params) { model = m }
        }

        let acquisition = GP.Acquisition(encoding: encoding, model: model, best: y.min()!)
        let leaders = y.indices.sorted { y[$0] < y[$1] }.prefix(5).map { observed[$0] }
        let u = candidatePoints(encoding: encoding, leaders: leaders, rng: &rng)
        let winner = acquisition.maximize(u, count: u.count / encoding.parameterCount, taken: avoiding)
        return untaken(fillRandomly(encoding.assignment(winner), space: space, rng: &rng), space: space, taken: avoiding, rng: &rng)
    }


    /// Point `number` of the study's start-up sequence, as an assignment. The scramble and offset
    /// come from a stream of the study seed alone, not from the trial's: every trial must see the
    /// same sequence for its points to be spread out together.
    func startupPoint(_ number: Int, encoding: GP.Encoding, studySeed: UInt64) -> [String: Double] {
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("gp"), SeedSequence.label("startup")))
        let halton = GP.ScrambledHalton(dims: encoding.parameterCount, rng: &rng)
        var values = [Double](repeating: .nan, count: encoding.parameterCount)
        var features = [Double](repeating: 0, count: encoding.featureCount)
        encoding.decode(halton.point(max(number, 0))[...], values: &values, features: &features[...])
        return encoding.assignment(values)
    }

    /// Parameter-box points (count, P) row-major: `candidates` scrambled Halton points, then an
    /// eighth as many Gaussian perturbations of the `leaders` (the best trials, one or more; the
    /// first five are used; categories resampled now and then), at scales from fine to coarse.
    func candidatePoints(encoding: GP.Encoding, leaders: [TrialRecord], rng: inout SweepRandom) -> [Double] {
        let p = encoding.parameterCount
        let local = max(candidates / 8, 16)
        var u = [Double](repeating: 0, count: (candidates + local) * p)
        let halton = GP.ScrambledHalton(dims: p, rng: &rng)
        for c in 0..<candidates { halton.fill(c, into: &u[(c * p)..<((c + 1) * p)]) }

        let best = leaders.prefix(5)
        let scales = [0.01, 0.03, 0.1, 0.25]
        for c in 0..<local {
            let trial = best[best.startIndex + c % best.count]
            let sigma = scales[(c / best.count) % scales.count]
            let base = encoding.unitPoint(of: trial.params) { rng.nextDouble() }
            for (j, param) in encoding.space.parameters.enumerated() {
                let v: Double
                if param.distribution.isCategorical {
                    v = rng.nextDouble() < 0.15 ? rng.nextDouble() : base[j]
                } else {
                    v = min(max(base[j] + sigma * rng.nextGaussian(), 0), 1)
                }
                u[(candidates + c) * p + j] = v
            }
        }
        return u
    }

    /// Losses → z-scores (all zeros when they are all equal).
    static func standardize(_ losses: [Double]) -> [Double] {
        let n = Double(losses.count)
        let mean = losses.reduce(0, +) / n
        let variance = losses.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        let sd = variance.squareRoot()
        return losses.map { sd > 1e-12 * max(1, abs(mean)) ? ($0 - mean) / sd : 0 }
    }
}
