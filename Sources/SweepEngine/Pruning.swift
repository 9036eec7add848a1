/// Magnitude pruning of a network's dense and conv weight matrices (biases, BatchNorm and the
/// rest are kept): which weights are held at zero.
///
/// Each matrix of n weights loses its `round(sparsity · n)` weights of smallest magnitude, ties
/// broken by position (the first goes first), so the result depends on the weights alone.
public struct PruningMask: Equatable, Sendable {
    /// Offsets into the network's parameter buffer of the weights held at zero, ascending.
    public let pruned: [Int]
    /// Weights in the dense and conv matrices.
    public let weightCount: Int

    /// Zeroes the smallest weights of each matrix of `net` and returns the mask.
    public init(pruning net: Network, sparsity: Double) {
        precondition(sparsity >= 0 && sparsity < 1)
        let p = net.params.pointer
        var pruned: [Int] = []
        for r in Self.weightRanges(net) {
            let drop = Int((sparsity * Double(r.count)).rounded())
            guard drop > 0 else { continue }
            let order = r.sorted { a, b in
                let x = abs(p[a]), y = abs(p[b])
                return x < y || (x == y && a < b)
            }
            pruned += order.prefix(drop)
        }
        self.pruned = pruned.sorted()
        weightCount = Self.weightRanges(net).reduce(0) { $0 + $1.count }
        apply(p)
    }

    /// The mask of a network pruned before (a checkpoint taken while fine-tuning): its weights
    /// that are zero. (A weight that training left at exactly 0.0 would be masked too.)
    public init(zerosOf net: Network) {
        let p = net.params.pointer
        let ranges = Self.weightRanges(net)
        pruned = ranges.flatMap { r in r.filter { p[$0] == 0 } }
        weightCount = ranges.reduce(0) { $0 + $1.count }
    }

    /// Sets the pruned weights of the parameter buffer `p` to zero.
    public func apply(_ p: UnsafeMutablePointer<Float>) {
        for i in pruned { p[i] = 0 }
    }

    /// The fraction of dense and conv weights that are zero.
    public var sparsity: Double { weightCount == 0 ? 0 : Double(pruned.count) / Double(weightCount) }

    /// The fraction of dense and conv weights of `net` that are zero (pruned or not).
    public static func sparsity(of net: Network) -> Double {
        let ranges = weightRanges(net), p = net.params.pointer
        let n = ranges.reduce(0) { $0 + $1.count }
        return n == 0 ? 0 : Double(ranges.reduce(0) { s, r in s + r.filter { p[$0] == 0 }.count }) / Double(n)
    }

    /// Where each dense and conv weight matrix lies in the parameter buffer (biases excluded).
    public static func weightRanges(_ net: Network) -> [Range<Int>] {
        net.layers.indices.compactMap { i in
            switch net.layers[i] {
            case let d as Dense: return net.paramOffsets[i]..<(net.paramOffsets[i] + d.U * d.D)
            case let c as Conv2D: return net.paramOffsets[i]..<(net.paramOffsets[i] + c.K * c.KK)
            default: return nil
            }
        }
    }
}
