import Foundation
import SweepCore

/// What the model-based samplers need to treat a discrete space as what it is: numeric choices
/// as ordered values, and the configurations already taken.
extension Distribution {
    /// For a choice list of three or more numbers: each choice's position in [0, 1] on the scale
    /// its values call for: log when they are all positive and more evenly spaced in log than
    /// in value (`[16, 32, 64, 128]`, learning rates `[0.0003, 0.001, 0.003]`), else linear
    /// (`[1, 2, 3, 4]`, dropout `[0.0, 0.2, 0.4]`). Nil for labels, mixed lists, two
    /// choices (nothing to order) and every non-categorical distribution.
    public var ordinalPositions: [Double]? {
        guard case .categorical(let c) = self, c.count >= 3 else { return nil }
        var xs: [Double] = []
        for v in c {
            switch v {
            case .int(let i): xs.append(Double(i))
            case .double(let d): xs.append(d)
            default: return nil
            }
        }
        // Unevenness of a scale: the largest gap between sorted neighbours over the smallest.
        func unevenness(_ t: [Double]) -> Double {
            let s = t.sorted(), gaps = zip(s, s.dropFirst()).map { $1 - $0 }
            return gaps.max()! / gaps.min()!
        }
        let log = xs.min()! > 0 && unevenness(xs.map { Foundation.log($0) }) < unevenness(xs)
        let t = log ? xs.map { Foundation.log($0) } : xs
        let a = t.min()!, b = t.max()!
        return t.map { ($0 - a) / (b - a) }
    }

    /// The number of values a discrete distribution has; nil for a continuous float.
    var valueCount: Double? {
        switch self {
        case .categorical(let c): return Double(c.count)
        case let .int(lo, hi, _, step): return Double((hi - lo) / step + 1)
        case let .float(lo, hi, _, step?): return ((hi - lo) / step + 1e-9).rounded(.down) + 1
        case .float: return nil
        }
    }
}

/// The configurations a study has taken, for samplers that do not propose one twice.
struct TakenConfigurations {
    /// The space's size (every parameter counted as active: an upper bound with conditions), or
    /// nil when a parameter is continuous.
    let spaceSize: Double?
    private let taken: Set<[String: Double]>

    /// Every other trial's assignment, in any state (finished, running, waiting, failed, pruned);
    /// not prior observations (`WarmStart`): the study may measure a prior's point itself.
    init(space: SearchSpace, history: [TrialRecord], trialNumber: Int) {
        var size: Double? = 1
        for p in space.parameters {
            guard let s = size, let n = p.distribution.valueCount else { size = nil; break }
            size = s * n
        }
        spaceSize = size
        var t = Set<[String: Double]>()
        if size != nil {
            for r in history where r.number != trialNumber && !r.isPrior && !r.params.isEmpty { t.insert(r.params) }
        }
        taken = t
    }

    /// Whether repeats are to be avoided: the space is finite and not yet exhausted.
    var active: Bool { spaceSize.map { Double(taken.count) < $0 } ?? false }

    func contains(_ params: [String: Double]) -> Bool { taken.contains(params) }
    var count: Int { taken.count }
}

extension Sampler {
    /// `x`, or when `taken` holds it, a random untaken assignment (256 draws at most).
    func untaken(_ x: [String: Double], space: SearchSpace, taken: TakenConfigurations?, rng: inout SweepRandom) -> [String: Double] {
        guard let taken, taken.contains(x) else { return x }
        var y = x
        for _ in 0..<256 where taken.contains(y) { y = fillRandomly([:], space: space, rng: &rng) }
        return y
    }
}
