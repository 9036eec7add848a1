import Foundation

/// Pareto ranking and hypervolume of loss vectors (every objective minimised: multiply a
/// maximised one by -1 first, see `Objectives.losses`).
///
/// Everything here is a pure function of its arguments; ties are broken by index so results do
/// not depend on anything else. Sizes in a study are small (hundreds of points, 2-4 objectives),
/// so the plain algorithms are used: O(M·N²) non-dominated sorting, exact hypervolume by sweeping
/// (2 objectives) or by slicing along the last objective (3 or more).
public enum Pareto {
    /// Whether `a` dominates `b`: no worse in every objective and better in one.
    public static func dominates(_ a: [Double], _ b: [Double]) -> Bool {
        var better = false
        for (x, y) in zip(a, b) {
            if x > y { return false }
            if x < y { better = true }
        }
        return better
    }

    /// The front of each point: 0 for the non-dominated ones, 1 for those dominated only by
    /// front 0, and so on (Deb et al.'s fast non-dominated sort).
    public static func frontRanks(_ points: [[Double]]) -> [Int] {
        let n = points.count
        var dominatedBy = [Int](repeating: 0, count: n)      // how many points dominate i
        var dominates = [[Int]](repeating: [], count: n)     // the points i dominates
        for i in 0..<n {
            for j in (i + 1)..<max(n, i + 1) {
                if Self.dominates(points[i], points[j]) { dominates[i].append(j); dominatedBy[j] += 1 }
                else if Self.dominates(points[j], points[i]) { dominates[j].append(i); dominatedBy[i] += 1 }
            }
        }
        var rank = [Int](repeating: 0, count: n)
        var front = (0..<n).filter { dominatedBy[$0] == 0 }
        var r = 0
        while !front.isEmpty {
            var next: [Int] = []
            for i in front {
                rank[i] = r
                for j in dominates[i] {
                    dominatedBy[j] -= 1
                    if dominatedBy[j] == 0 { next.append(j) }
                }
            }
            front = next.sorted()
            r += 1
        }
        return rank
    }

    /// Indices of the non-dominated points, in index order.
    public static func front(_ points: [[Double]]) -> [Int] {
        frontRanks(points).enumerated().filter { $0.element == 0 }.map(\.offset)
    }

    /// NSGA-II's crowding distance of each point within one front: the sum over objectives of the
    /// normalised gap between its two neighbours; the extremes of every objective get infinity.
    public static func crowdingDistance(_ points: [[Double]]) -> [Double] {
        let n = points.count
        guard n > 2, let m = points.first?.count else { return [Double](repeating: .infinity, count: n) }
        var distance = [Double](repeating: 0, count: n)
        for k in 0..<m {
            let order = (0..<n).sorted { points[$0][k] != points[$1][k] ? points[$0][k] < points[$1][k] : $0 < $1 }
            let lo = points[order[0]][k], hi = points[order[n - 1]][k]
            distance[order[0]] = .infinity
            distance[order[n - 1]] = .infinity
            guard hi > lo else { continue }
            for r in 1..<(n - 1) {
                distance[order[r]] += (points[order[r + 1]][k] - points[order[r - 1]][k]) / (hi - lo)
            }
        }
        return distance
    }

    /// The hypervolume dominated by `points` and bounded by `reference` (the volume of the union
    /// of the boxes [p, reference]). Points not strictly better than the reference in every
    /// objective add nothing.
    public static func hypervolume(_ points: [[Double]], reference: [Double]) -> Double {
        let inside = points.filter { p in zip(p, reference).allSatisfy { $0 < $1 } }
        return volume(inside, reference)
    }

    private static func volume(_ points: [[Double]], _ reference: [Double]) -> Double {
        guard !points.isEmpty else { return 0 }
        let m = reference.count
        if m == 1 { return reference[0] - points.map { $0[0] }.min()! }
        if m == 2 {
            // Sweep by the first objective; each point adds the strip below the best second
            // objective seen so far.
            let sorted = points.sorted { $0[0] != $1[0] ? $0[0] < $1[0] : $0[1] < $1[1] }
            var total = 0.0, bestY = reference[1]
            for p in sorted where p[1] < bestY {
                total += (reference[0] - p[0]) * (bestY - p[1])
                bestY = p[1]
            }
            return total
        }
        // Slice along the last objective: between consecutive values of it, the dominated region
        // is the (m-1)-dimensional hypervolume of the points at or below the slice.
        let sorted = points.sorted { $0[m - 1] < $1[m - 1] }
        let base = Array(reference.prefix(m - 1))
        var total = 0.0
        var active: [[Double]] = []
        for (i, p) in sorted.enumerated() {
            active.append(Array(p.prefix(m - 1)))
            let top = i + 1 < sorted.count ? sorted[i + 1][m - 1] : reference[m - 1]
            let height = top - p[m - 1]
            if height > 0 { total += height * volume(nonDominated(active), base) }
        }
        return total
    }

    private static func nonDominated(_ points: [[Double]]) -> [[Double]] {
        points.enumerated().filter { i, p in
            !points.enumerated().contains { j, q in j != i && (dominates(q, p) || (q == p && j < i)) }
        }.map(\.element)
    }

    /// How much hypervolume each point alone adds: HV(all) − HV(all but it).
    public static func contributions(_ points: [[Double]], reference: [Double]) -> [Double] {
        let all = hypervolume(points, reference: reference)
        return points.indices.map { i in
            var rest = points
            rest.remove(at: i)
            return max(all - hypervolume(rest, reference: reference), 0)
        }
    }

    /// A reference point for a set of loss vectors, as Optuna's TPE chooses one: the worst value
    /// of each objective moved 10% outwards (max(1.1·w, 0.9·w)), and a tiny positive number
    /// where that is 0.
    public static func referencePoint(_ points: [[Double]]) -> [Double] {
        guard let m = points.first?.count else { return [] }
        return (0..<m).map { k in
            let worst = points.map { $0[k] }.max()!
            let r = max(1.1 * worst, 0.9 * worst)
            return r == 0 ? 1e-12 : r
        }
    }

    /// Greedy hypervolume subset selection: `k` of `points` chosen one at a time, each adding the
    /// most hypervolume to those chosen before (ties: the lower index). Returns indices in order
    /// of choice.
    public static func subsetSelection(_ points: [[Double]], k: Int, reference: [Double]) -> [Int] {
        var chosen: [Int] = []
        var remaining = Array(points.indices)
        var current = 0.0
        while chosen.count < min(k, points.count) {
            var bestGain = -Double.infinity, bestAt = 0
            for (r, i) in remaining.enumerated() {
                let gain = hypervolume((chosen + [i]).map { points[$0] }, reference: reference) - current
                if gain > bestGain { bestGain = gain; bestAt = r }
            }
            let i = remaining.remove(at: bestAt)
            chosen.append(i)
            current += max(bestGain, 0)
        }
        return chosen
    }
}
