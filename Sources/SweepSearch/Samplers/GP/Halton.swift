import SweepCore

extension GP {
    /// A scrambled Halton sequence in [0, 1)^dims: coordinate j of point i is the radical inverse
    /// of `offset + i` in the j-th prime base, with every digit position passed through its own
    /// random permutation of the digits. The scramble moves point 0 off the corner and breaks the
    /// correlations between high bases, while any b consecutive points still fall in distinct
    /// 1/b-strata of a base-b coordinate.
    struct ScrambledHalton {
        let dims: Int
        let offset: Int
        private let bases: [Int]
        private let positions: [Int]   // digit positions kept per dimension (b^positions ≥ 2^40)
        private let permStart: [Int]   // where dimension j's permutations start in `perms`
        private let perms: [Int]       // per dimension, per position: a permutation of 0..<b

        init(dims: Int, rng: inout SweepRandom, maxOffset: Int = 1 << 12) {
            self.dims = dims
            bases = Self.primes(dims)
            var positions: [Int] = [], permStart: [Int] = [], perms: [Int] = []
            for b in bases {
                var k = 0, reach = 1.0
                while reach < 1.1e12 { reach *= Double(b); k += 1 }
                positions.append(k)
                permStart.append(perms.count)
                for _ in 0..<k {
                    var p = Array(0..<b)
                    rng.shuffle(&p)
                    perms += p
                }
            }
            self.positions = positions; self.permStart = permStart; self.perms = perms
            offset = maxOffset > 0 ? rng.nextInt(below: maxOffset) : 0
        }

        /// Point `index` of the sequence, `dims` values in [0, 1).
        func point(_ index: Int) -> [Double] {
            var out = [Double](repeating: 0, count: dims)
            fill(index, into: &out[...])
            return out
        }

        /// Writes point `index` into `out` (`dims` values).
        func fill(_ index: Int, into out: inout ArraySlice<Double>) {
            let i0 = out.startIndex
            for j in 0..<dims {
                let b = bases[j], inv = 1 / Double(b)
                var i = offset + index, scale = inv, v = 0.0, at = permStart[j]
                for _ in 0..<positions[j] {
                    v += Double(perms[at + i % b]) * scale
                    i /= b; scale *= inv; at += b
                }
                out[i0 + j] = min(v, 1 - 0x1p-53)
            }
        }

        /// The first `count` primes.
        static func primes(_ count: Int) -> [Int] {
            var out: [Int] = []
            var n = 2
            while out.count < count {
                if out.allSatisfy({ $0 * $0 > n || n % $0 != 0 }) { out.append(n) }
                n += 1
            }
            return out
        }
    }
}
