import SweepCore

public enum Splitter {
    /// Divides indices into (kept, held out) with `fraction` of each class held out, seeded.
    /// Regression data is split uniformly. Both lists are returned in ascending order.
    public static func stratified(_ d: Dataset, fraction: Double, seed: UInt64) -> ([Int], [Int]) {
        var rng = SweepRandom(seed: seed)
        var groups: [[Int]]
        if d.task == .classification {
            groups = Array(repeating: [], count: max(d.classCount, 1))
            for (i, l) in d.labels.enumerated() { groups[Int(l)].append(i) }
        } else {
            groups = [Array(0..<d.count)]
        }
        var kept: [Int] = [], held: [Int] = []
        for var g in groups {
            rng.shuffle(&g)
            let h = Int((Double(g.count) * fraction).rounded())
            held += g.prefix(h); kept += g.dropFirst(h)
        }
        return (kept.sorted(), held.sorted())
    }
}

/// Feature scaling fitted on the training split and applied to every split alike.
/// One (offset, scale) pair for every feature, or a single pair for all: x' = (x - offset) * scale.
public struct Scaler: Codable, Equatable, Sendable {
    public var offset: [Float]
    public var scale: [Float]

    public static let identity = Scaler(offset: [0], scale: [1])

    public static func fit(_ kind: Scaling, on d: Dataset) -> Scaler {
        let n = d.count, f = d.featureCount
        switch kind {
        case .none:
            return .identity
        case .unit, .minus_one_one:
            var lo: [Float], hi: [Float]
            if let r = d.valueRange {
                lo = [r.lowerBound]; hi = [r.upperBound]
            } else {
                lo = Array(repeating: .infinity, count: f); hi = Array(repeating: -.infinity, count: f)
                for i in 0..<n { for j in 0..<f { let v = d.features[i * f + j]; lo[j] = min(lo[j], v); hi[j] = max(hi[j], v) } }
            }
            let range = zip(lo, hi).map { $1 > $0 ? $1 - $0 : 1 }
            if kind == .unit { return Scaler(offset: lo, scale: range.map { 1 / $0 }) }
            // [-1, 1]: (x - lo) * 2/range - 1 == (x - (lo + range/2)) * 2/range
            return Scaler(offset: zip(lo, range).map { $0 + $1 / 2 }, scale: range.map { 2 / $0 })
        case .standardize:
            var mean = [Double](repeating: 0, count: f), sq = [Double](repeating: 0, count: f)
            for i in 0..<n { for j in 0..<f { let v = Double(d.features[i * f + j]); mean[j] += v; sq[j] += v * v } }
            var off = [Float](repeating: 0, count: f), sc = [Float](repeating: 1, count: f)
            for j in 0..<f {
                let m = mean[j] / Double(max(n, 1))
                let v = max(sq[j] / Double(max(n, 1)) - m * m, 0)
                off[j] = Float(m); sc[j] = v > 1e-12 ? Float(1 / v.squareRoot()) : 1
            }
            return Scaler(offset: off, scale: sc)
        }
    }

    public func apply(_ d: inout Dataset) { apply(&d.features, featureCount: d.featureCount) }

    /// Scales row-major samples of `featureCount` features each in place.
    public func apply(_ features: inout [Float], featureCount f: Int) {
        let perFeature = offset.count == f && f > 1
        features.withUnsafeMutableBufferPointer { p in
            if perFeature {
                for i in 0..<(p.count / max(f, 1)) { for j in 0..<f { p[i * f + j] = (p[i * f + j] - offset[j]) * scale[j] } }
            } else {
                let o = offset[0], s = scale[0]
                for i in 0..<p.count { p[i] = (p[i] - o) * s }
            }
        }
    }
}
