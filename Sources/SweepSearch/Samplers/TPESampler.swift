import Foundation
import SweepCore

/// Tree-structured Parzen estimator, multivariate, for mixed and conditional spaces.
///
/// After `startupTrials` random trials, the finished trials are split into the best
/// γ(n) = min(⌈0.1·n⌉, 25) ("good") and the rest ("bad"); a Parzen estimator l(x) is fitted to the
/// good ones and g(x) to the bad ones (see `ParzenEstimator`), `candidates` points are drawn from
/// l(x), and the one maximizing log l(x) − log g(x) is proposed. One deliberate difference from
/// Optuna: l(x)'s kernels may be narrower (`goodKernelFloor`). PRUNED trials count as bad;
/// RUNNING trials count as bad too (the "constant liar"), so parallel workers spread out; FAIL
/// trials are ignored.
///
/// Discrete spaces: with `ordinalChoices` (off by default: it measured worse on the tuning
/// landscapes), a choice list of three or more numbers (`{choice: [16, 32, 64, 128]}`) is
/// modelled as ordered values at their positions on a log or linear scale
/// (`Distribution.ordinalPositions`), with the numeric kernels, so a good 64 makes 32 and 128
/// likelier too. In a finite space, a configuration another trial has taken
/// (in any state) is not proposed again while untaken ones remain (`avoidRepeats`): the best-scoring
/// untaken candidate wins, more candidates are drawn when all are taken, and random untaken points
/// are the last resort.
///
/// Several objectives (Optuna's MOTPE) and constraints: the good trials are chosen by
/// `splitGood` (feasible first, by Pareto front, the last front cut by hypervolume subset
/// selection) and weighted by their hypervolume contributions; the rest is the same.
public struct TPESampler: MultiObjectiveSampler {
    public var startupTrials: Int
    public var candidates: Int
    public var constantLiar: Bool
    /// Model numeric choice lists as ordered values (see above).
    public var ordinalChoices: Bool
    /// Never propose a configuration already taken in a finite space, while untaken ones remain.
    public var avoidRepeats: Bool
    /// The good estimator's narrowest kernel, as a fraction of Optuna's "magic clip"
    /// (range / min(100, kernels + 1)), which still bounds the bad estimator. 1 uses Optuna's
    /// limit; the default 0.25 lets l(x) sharpen around the best trials (see `bench/README.md`:
    /// geometric-mean regret over the seven benchmark functions about half of Optuna TPE's, tuned on
    /// held-out seeds; below 0.1 it over-exploits and collapses).
    public var goodKernelFloor: Double

    public init(startupTrials: Int = 10, candidates: Int = 24, constantLiar: Bool = true, goodKernelFloor: Double = 0.25,
                ordinalChoices: Bool = false, avoidRepeats: Bool = true) {
        self.startupTrials = startupTrials; self.candidates = candidates; self.constantLiar = constantLiar
        self.goodKernelFloor = goodKernelFloor; self.ordinalChoices = ordinalChoices; self.avoidRepeats = avoidRepeats
    }

    public var name: String { "tpe" }

    public static func gamma(_ n: Int) -> Int { min(Int((0.1 * Double(n)).rounded(.up)), 25) }

    public func suggest(space: SearchSpace, history: [TrialRecord], directions: [Direction],
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("tpe"), UInt64(trialNumber)))
        // Indices, not copies: histories run to thousands of trials.
        var complete: [Int] = [], others: [Int] = []
        for i in history.indices {
            switch history[i].state {
            case .complete where directions.count == 1 && history[i].values == nil
                    ? history[i].value?.isFinite ?? false : history[i].losses(directions) != nil:
                complete.append(i)
            case .pruned: others.append(i)
            case .running where constantLiar && history[i].number != trialNumber: others.append(i)
            default: break
            }
        }
        let taken = avoidRepeats ? TakenConfigurations(space: space, history: history, trialNumber: trialNumber) : nil
        let avoiding = taken?.active ?? false
        if complete.count < startupTrials || space.isEmpty {
            return untaken(fillRandomly([:], space: space, rng: &rng), space: space, taken: avoiding ? taken : nil, rng: &rng)
        }
        let nGood = max(Self.gamma(complete.count), 1)
        let byNumber: (Int, Int) -> Bool = { history[$0].number < history[$1].number }
        let good: [Int], goodWeights: [Double]
        if directions.count == 1 && complete.allSatisfy({ history[$0].constraints == nil }) {
            good = Self.leastLoss(complete, count: nGood, history: history, direction: directions[0])
            goodWeights = Self.weights(good.count)
        } else {
            (good, goodWeights) = Self.splitGood(complete, count: nGood, history: history, directions: directions)
        }
        var isGood = [Bool](repeating: false, count: history.count)
        for i in good { isGood[i] = true }
        let bad = Self.merged(complete.filter { !isGood[$0] }, others, by: byNumber)

        let params = space.parameters
        let kinds = params.map(\.distribution)
        let names = params.map(\.name)
        // Ordered numeric choices: the estimators see a float on [0, 1] at the choices' positions.
        let positions = kinds.map { ordinalChoices ? $0.ordinalPositions : nil }
        let modelKinds = kinds.indices.map { positions[$0] == nil ? kinds[$0] : Distribution.float(low: 0, high: 1, log: false, step: nil) }
        let isCat = modelKinds.map(\.isCategorical)
        let dims = params.count
        // Observations as one flat row-major matrix: unit value (numeric) or category index, NaN
        // where the trial lacks the parameter (inactive, or outside the current space). Small
        // spaces match a trial's names by comparison instead of hashing each name per trial.
        func encode(_ rows: [Int]) -> [Double] {
            var flat = [Double](repeating: .nan, count: rows.count * dims)
            flat.withUnsafeMutableBufferPointer { out in
                kinds.withUnsafeBufferPointer { kinds in
                    func put(_ r: Int, _ d: Int, _ x: Double) {
                        guard kinds[d].contains(x) else { return }
                        out[r * dims + d] = isCat[d] ? x : positions[d].map { $0[Int(x)] } ?? kinds[d].unit(x)
                    }
                    for (r, i) in rows.enumerated() {
                        if dims <= 16 {
                            for (name, x) in history[i].params {
                                if let d = names.firstIndex(of: name) { put(r, d, x) }
                            }
                        } else {
                            for d in 0..<dims { if let x = history[i].params[names[d]] { put(r, d, x) } }
                        }
                    }
                }
            }
            return flat
        }
        let below = ParzenEstimator(obs: encode(good), weights: goodWeights, kinds: modelKinds, minBandwidthScale: goodKernelFloor)
        let above = ParzenEstimator(obs: encode(bad), weights: Self.weights(bad.count), kinds: modelKinds)

        var bestScore = -Double.infinity
        var best: [String: Double] = [:]
        var scratch: [Double] = []
        // While untaken configurations remain, taken ones are skipped; up to 8 rounds of candidates.
        for round in 0..<(avoiding ? 8 : 1) {
          if round > 0 && !best.isEmpty { break }
          for _ in 0..<candidates {
            let k = below.pickComponent(&rng)
            var values: [String: Double] = [:]
            var point = [Double?](repeating: nil, count: params.count)
            for (d, p) in params.enumerated() where space.isActive(p, given: values) {
                // A component that lacks this parameter samples it from the prior (component 0).
                let hasIt = k > 0 && below.present[k * below.dims + d]
                let u = below.sample(d, component: hasIt ? k : 0, &rng)
                if let pos = positions[d] {
                    var j = 0
                    for i in pos.indices where abs(pos[i] - u) < abs(pos[j] - u) { j = i }
                    values[p.name] = Double(j); point[d] = pos[j]
                } else if p.distribution.isCategorical {
                    values[p.name] = u; point[d] = u
                } else {
                    let x = p.distribution.fromUnit(u)
                    values[p.name] = x; point[d] = p.distribution.unit(x)
                }
            }
            if avoiding, taken!.contains(values) { continue }
            let score = below.logDensity(point, scratch: &scratch) - above.logDensity(point, scratch: &scratch)
            if score > bestScore || best.isEmpty { bestScore = score; best = values }
          }
        }
        return best.isEmpty ? untaken(fillRandomly([:], space: space, rng: &rng), space: space, taken: taken, rng: &rng) : best
    }


    /// Good trials of one objective: the `count` complete trials of least loss (ties: lower
    /// number), found by one pass that keeps them in a small sorted buffer; in trial order.
    static func leastLoss(_ complete: [Int], count: Int, history: [TrialRecord], direction: Direction) -> [Int] {
        func better(_ a: Int, _ b: Int) -> Bool {
            let la = history[a].value! * direction.sign, lb = history[b].value! * direction.sign
            return la != lb ? la < lb : history[a].number < history[b].number
        }
        var least: [Int] = []
        least.reserveCapacity(count + 1)
        for i in complete where least.count < count || better(i, least[least.count - 1]) {
            least.insert(i, at: least.firstIndex { better(i, $0) } ?? least.count)
            if least.count > count { least.removeLast() }
        }
        return least.sorted { history[$0].number < history[$1].number }
    }

    /// Good trials under several objectives or constraints, as Optuna's TPE splits them: feasible
    /// trials first, by Pareto front (one objective: by loss); the front that does not fit whole
    /// is cut by greedy hypervolume subset selection; when feasible trials are too few, infeasible
    /// ones by violation. Weights (Optuna's MOTPE): each good feasible trial's hypervolume
    /// contribution over the largest, at least 1e-12; infeasible ones 1e-12. With one objective
    /// the weights are the usual ones. In trial order, with their weights.
    static func splitGood(_ complete: [Int], count: Int, history: [TrialRecord], directions: [Direction]) -> ([Int], [Double]) {
        let feasible = complete.filter { history[$0].violation == 0 }
        let infeasible = complete.filter { history[$0].violation > 0 }
        var good: [Int] = []
        if directions.count == 1 {
            good = leastLoss(feasible, count: count, history: history, direction: directions[0])
        } else {
            let losses = feasible.map { history[$0].losses(directions)! }
            let ranks = Pareto.frontRanks(losses)
            for r in 0...(ranks.max() ?? 0) where good.count < count {
                let front = feasible.indices.filter { ranks[$0] == r }
                if good.count + front.count <= count { good += front.map { feasible[$0] }; continue }
                let points = front.map { losses[$0] }
                let chosen = Pareto.subsetSelection(points, k: count - good.count, reference: Pareto.referencePoint(points))
                good += chosen.map { feasible[front[$0]] }
            }
        }
        if good.count < count {
            let byViolation = infeasible.sorted { history[$0].violation != history[$1].violation ? history[$0].violation < history[$1].violation : history[$0].number < history[$1].number }
            good += byViolation.prefix(count - good.count)
        }
        good.sort { history[$0].number < history[$1].number }
        guard directions.count > 1 else { return (good, weights(good.count)) }
        let feasibleGood = good.filter { history[$0].violation == 0 }
        let points = feasibleGood.map { history[$0].losses(directions)! }
        let contributions = points.count > 0 ? Pareto.contributions(points, reference: Pareto.referencePoint(points)) : []
        let top = max(contributions.max() ?? 0, 1e-12)
        var weightOf: [Int: Double] = [:]
        for (k, i) in feasibleGood.enumerated() { weightOf[i] = max(contributions[k] / top, 1e-12) }
        return (good, good.map { weightOf[$0] ?? 1e-12 })
    }

    /// The union of two index lists in `areInOrder` order. Both lists come in history order, which
    /// is trial order for the histories the store hands out; then this is a linear merge, else a sort.
    static func merged(_ a: [Int], _ b: [Int], by areInOrder: (Int, Int) -> Bool) -> [Int] {
        func sorted(_ x: [Int]) -> Bool { zip(x, x.dropFirst()).allSatisfy { areInOrder($0, $1) } }
        guard sorted(a), sorted(b) else { return (a + b).sorted(by: areInOrder) }
        var out: [Int] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && !areInOrder(b[j], a[i])) { out.append(a[i]); i += 1 }
            else { out.append(b[j]); j += 1 }
        }
        return out
    }

    /// Optuna's default weights: flat for up to 25 observations, else a linear ramp from 1/n up
    /// to 1 over the older ones and 1 for the newest 25 (observations in trial order).
    static func weights(_ n: Int) -> [Double] {
        if n == 0 { return [] }
        if n < 25 { return [Double](repeating: 1, count: n) }
        let ramp = n - 25
        var w = (0..<ramp).map { i in ramp == 1 ? 1.0 / Double(n) : 1.0 / Double(n) + (1 - 1.0 / Double(n)) * Double(i) / Double(ramp - 1) }
        w += [Double](repeating: 1, count: 25)
        return w
    }
}
