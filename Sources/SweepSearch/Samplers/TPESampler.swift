import Foundation
import SweepCore

/// Tree-structured Parzen estimator, multivariate, for mixed and conditional spaces.
///
/// After `startupTrials` random trials, the finished trials are split into the best
/// γ(n) = min(⌈0.1·n⌉, 25) ("good") and the rest ("bad"); a Parzen estimator l(x) is fitted to the
/// good ones and g(x) to the bad ones (see `ParzenEstimator`), `candidates` points are drawn from
/// l(x), and the one maximizing log l(x) − log g(x) is proposed. PRUNED trials count as bad;
/// RUNNING trials count as bad too (the "constant liar"), so parallel workers spread out; FAIL
/// trials are ignored.
public struct TPESampler: Sampler {
    public var startupTrials: Int
    public var candidates: Int
    public var constantLiar: Bool

    public init(startupTrials: Int = 10, candidates: Int = 24, constantLiar: Bool = true) {
        self.startupTrials = startupTrials; self.candidates = candidates; self.constantLiar = constantLiar
    }

    public var name: String { "tpe" }

    public static func gamma(_ n: Int) -> Int { min(Int((0.1 * Double(n)).rounded(.up)), 25) }

    public func suggest(space: SearchSpace, history: [TrialRecord], direction: Direction,
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("tpe"), UInt64(trialNumber)))
        // Indices, not copies: histories run to thousands of trials.
        var complete: [Int] = [], others: [Int] = []
        for (i, t) in history.enumerated() {
            switch t.state {
            case .complete where t.value?.isFinite ?? false: complete.append(i)
            case .pruned: others.append(i)
            case .running where constantLiar && t.number != trialNumber: others.append(i)
            default: break
            }
        }
        if complete.count < startupTrials || space.isEmpty {
            return fillRandomly([:], space: space, rng: &rng)
        }
        let losses = complete.map { history[$0].value! * direction.sign }
        var order = Array(complete.indices)
        order.sort { losses[$0] != losses[$1] ? losses[$0] < losses[$1] : history[complete[$0]].number < history[complete[$1]].number }
        let nGood = max(Self.gamma(complete.count), 1)
        let good = order.prefix(nGood).map { complete[$0] }.sorted { history[$0].number < history[$1].number }
        // Bad: the other complete trials, PRUNED ones, and (constant liar) RUNNING ones, in trial order.
        let bad = (order.dropFirst(nGood).map { complete[$0] } + others).sorted { history[$0].number < history[$1].number }

        let params = space.parameters
        func encode(_ t: TrialRecord) -> [Double?] {
            params.map { p in
                guard let x = t.params[p.name], p.distribution.contains(x) else { return nil }
                return p.distribution.isCategorical ? x : p.distribution.unit(x)
            }
        }
        let kinds = params.map(\.distribution)
        let below = ParzenEstimator(obs: good.map { encode(history[$0]) }, weights: Self.weights(good.count), kinds: kinds)
        let above = ParzenEstimator(obs: bad.map { encode(history[$0]) }, weights: Self.weights(bad.count), kinds: kinds)

        var bestScore = -Double.infinity
        var best: [String: Double] = [:]
        var scratch: [Double] = []
        for _ in 0..<candidates {
            let k = below.pickComponent(&rng)
            var values: [String: Double] = [:]
            var point = [Double?](repeating: nil, count: params.count)
            for (d, p) in params.enumerated() where space.isActive(p, given: values) {
                // A component that lacks this parameter samples it from the prior (component 0).
                let hasIt = k > 0 && below.present[k * below.dims + d]
                let u = below.sample(d, component: hasIt ? k : 0, &rng)
                if p.distribution.isCategorical {
                    values[p.name] = u; point[d] = u
                } else {
                    let x = p.distribution.fromUnit(u)
                    values[p.name] = x; point[d] = p.distribution.unit(x)
                }
            }
            let score = below.logDensity(point, scratch: &scratch) - above.logDensity(point, scratch: &scratch)
            if score > bestScore { bestScore = score; best = values }
        }
        return best
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
