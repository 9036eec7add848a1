import Foundation
import SweepCore

/// The GP for several objectives, after Optuna's GPSampler (LogEHVI) and BoTorch's qLogEHVI.
///
/// 1. Start-up as with one objective (the same Halton sequence, the same conditions).
/// 2. Models: one GP per objective, each fitted as the single-objective GP is (the same
///    encoding; losses `losses(directions)` z-scored per objective; MAP Matérn-5/2 kernel), in
///    the objectives' order from the trial's generator.
/// 3. Acquisition: log expected hypervolume improvement over the Pareto front of the COMPLETE
///    trials, in the standardised losses, computed exactly from a box decomposition of the
///    region the front does not dominate (`GP.HypervolumeBoxes`; no Monte Carlo draws). The
///    reference point is Optuna's: the worst standardised loss of every objective over the
///    complete trials, moved outwards by 10% (`Pareto.referencePoint`: max(1.1·w, 0.9·w), a tiny
///    positive number where that is 0), so every trial lies inside it. Pending (RUNNING,
///    WAITING) trials are believed at each model's posterior mean (kriging believer): they join
///    every model at that value and the front at that point, so a point a worker is already
///    measuring promises no improvement and parallel workers spread out (Optuna's qLogEHVI adds
///    its samples of them to the front likewise).
/// 4. Maximised as with one objective: Halton candidates plus perturbations of five front
///    trials drawn at random (Optuna's starts of its local search), a compass search, the
///    discrete neighbourhood walk, no repeated configuration in a finite space.
///
/// One direction is the single-objective sampler (`suggest(direction:)`), unchanged.
extension GPSampler {
    public func suggest(space: SearchSpace, history: [TrialRecord], directions: [Direction],
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        guard directions.count > 1 else {
            return suggest(space: space, history: history, direction: directions.first ?? .minimize,
                           trialNumber: trialNumber, studySeed: studySeed)
        }
        guard !space.isEmpty else { return [:] }
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("gp"), UInt64(truncatingIfNeeded: trialNumber)))
        let encoding = GP.Encoding(space: space, ordinal: ordinalChoices)
        var observed: [TrialRecord] = [], losses: [[Double]] = []
        for t in history where t.state == .complete {
            guard let l = t.losses(directions) else { continue }
            observed.append(t); losses.append(l)
        }
        let avoiding = repeatsToAvoid(space: space, history: history, trialNumber: trialNumber)
        if let point = startup(space: space, history: history, observed: observed.count, encoding: encoding,
                               trialNumber: trialNumber, studySeed: studySeed, avoiding: avoiding, rng: &rng) {
            return point
        }

        // Training data: features (N,D); per objective, standardised losses (N).
        let n = observed.count, d = encoding.featureCount, m = directions.count
        var x = [Double](repeating: 0, count: n * d)
        for (i, t) in observed.enumerated() { encoding.features(of: t.params, into: &x[(i * d)..<((i + 1) * d)]) }
        let y = (0..<m).map { k in Self.standardize(losses.map { $0[k] }) }

        let pending = history.filter { ($0.state == .running || $0.state == .waiting) && !$0.params.isEmpty }
        var px = [Double](repeating: 0, count: pending.count * d)
        for (i, t) in pending.enumerated() { encoding.features(of: t.params, into: &px[(i * d)..<((i + 1) * d)]) }
        var models: [GP.Model] = []
        var believed = [[Double]](repeating: [], count: m)   // (M, pending)
        for k in 0..<m {
            let params = GP.fitKernel(x: x, y: y[k], n: n, d: d, restarts: 1, rng: &rng)
            guard var model = GP.Model(x: x, y: y[k], n: n, params: params) else {
                return fillRandomly([:], space: space, rng: &rng)
            }
            if !pending.isEmpty {
                believed[k] = model.predict(px, m: pending.count).mean
                if let b = GP.Model(x: x + px, y: y[k] + believed[k], n: n + pending.count, params: params) { model = b }
            }
            models.append(model)
        }

        let points = (0..<n).map { i in (0..<m).map { y[$0][i] } }
        let reference = Pareto.referencePoint(points)
        let pendingPoints = pending.indices.map { i in (0..<m).map { believed[$0][i] } }
        let acquisition = GP.Acquisition(encoding: encoding, models: models,
                                         boxes: GP.HypervolumeBoxes(front: points + pendingPoints, reference: reference))
        let leaders = Self.leaders(points, count: 5, rng: &rng).map { observed[$0] }
        let u = candidatePoints(encoding: encoding, leaders: leaders, rng: &rng)
        let winner = acquisition.maximize(u, count: u.count / encoding.parameterCount, taken: avoiding)
        return untaken(fillRandomly(encoding.assignment(winner), space: space, rng: &rng), space: space, taken: avoiding, rng: &rng)
    }

    /// Up to `count` indices of the Pareto front of `points` (losses), drawn at random without
    /// replacement as Optuna's GPSampler chooses the starts of its local search: the trials whose
    /// neighbourhoods the candidates perturb.
    static func leaders(_ points: [[Double]], count: Int, rng: inout SweepRandom) -> [Int] {
        var front = Pareto.front(points)
        for i in 0..<min(count, front.count) { front.swapAt(i, i + rng.nextInt(below: front.count - i)) }
        return Array(front.prefix(count))
    }
}
