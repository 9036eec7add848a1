import SweepCore

/// Exhaustive search over a discrete space (categoricals, ints, stepped floats), in an order
/// shuffled by the study seed. Each trial takes the first grid point that no other trial (in any
/// state but FAIL) has taken; once every point is taken, points are revisited in the same order.
/// Prior observations (`WarmStart`) take no point: a grid covers its own points.
public struct GridSampler: MultiObjectiveSampler {
    public let points: [[String: Double]]

    /// Fails when a parameter is continuous or the grid exceeds `limit` points.
    public init(space: SearchSpace, limit: Int = 100_000) throws {
        if let p = space.parameters.first(where: { if case .float(_, _, _, nil) = $0.distribution { return true }; return false }) {
            throw DistributionError("grid search needs discrete parameters; '\(p.name)' is a continuous float (give it a step, or use another sampler)")
        }
        var out: [[String: Double]] = [[:]]
        for p in space.parameters {
            let values: [Double]
            switch p.distribution {
            case .categorical(let c): values = (0..<c.count).map(Double.init)
            case let .int(lo, hi, _, step):
                // Count before listing: a range of billions would not fit in memory.
                guard (hi - lo) / step < limit else { throw DistributionError("the grid has more than \(limit) points") }
                values = stride(from: lo, through: hi, by: step).map(Double.init)
            case let .float(lo, hi, _, step?):
                let last = ((hi - lo) / step + 1e-9).rounded(.down)
                guard last.isFinite, last < Double(limit) else { throw DistributionError("the grid has more than \(limit) points") }
                values = (0...Int(last)).map { lo + Double($0) * step }
            case .float:
                throw DistributionError("grid search needs discrete parameters; '\(p.name)' is a continuous float (give it a step, or use another sampler)")
            }
            var next: [[String: Double]] = []
            for partial in out {
                if space.isActive(p, given: partial) {
                    for v in values { var a = partial; a[p.name] = v; next.append(a) }
                } else {
                    next.append(partial)
                }
                if next.count > limit { throw DistributionError("the grid has more than \(limit) points") }
            }
            out = next
        }
        points = out
    }

    public var name: String { "grid" }

    public func suggest(space: SearchSpace, history: [TrialRecord], direction: Direction,
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        var order = Array(points.indices)
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("grid")))
        rng.shuffle(&order)
        var taken: [[String: Double]: Int] = [:]
        for t in history where t.state != .fail && t.number != trialNumber && !t.isPrior { taken[t.params, default: 0] += 1 }
        // The least-visited point, first in the shuffled order.
        var best = order[0], bestCount = Int.max
        for i in order {
            let c = taken[points[i]] ?? 0
            if c < bestCount { best = i; bestCount = c; if c == 0 { break } }
        }
        return points[best]
    }
}

extension GridSampler {
    /// The objectives play no part in the choice.
    public func suggest(space: SearchSpace, history: [TrialRecord], directions: [Direction],
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        suggest(space: space, history: history, direction: directions.first ?? .minimize, trialNumber: trialNumber, studySeed: studySeed)
    }
}
