import Foundation

/// One parameter's `Distribution.contains` and the value TPE models it by, with the
/// distribution's bounds unpacked into plain numbers once, for encoding thousands of trials per
/// proposal. Gives exactly what the distribution's own methods give (the same arithmetic on the
/// same numbers; `UnitCoderTests` compares them).
struct UnitCoder {
    /// What a contained value becomes: its unit value (`Distribution.unit`), itself (a category
    /// index), or its choice's position (ordinal choices).
    enum Model { case unit, index, positions([Double]) }

    private enum Kind { case float, int, categorical }
    private let kind: Kind
    private let model: Model
    private let low: Double, high: Double, step: Double?, intLow: Int, intStep: Int, count: Int
    /// The unit map: (f(x) − offset) / width, f the logarithm on a log scale; constant 0.5 when
    /// `degenerate` (a float range of one value).
    private let log: Bool, degenerate: Bool, offset: Double, width: Double

    init(_ distribution: Distribution, model: Model) {
        self.model = model
        switch distribution {
        case let .float(lo, hi, log, step):
            kind = .float; low = lo; high = hi; self.step = step; intLow = 0; intStep = 1; count = 0
            self.log = log; degenerate = hi == lo
            offset = log ? Foundation.log(lo) : lo
            width = log ? Foundation.log(hi) - Foundation.log(lo) : hi - lo
        case let .int(lo, hi, log, step):
            kind = .int; low = Double(lo); high = Double(hi); self.step = nil; intLow = lo; intStep = step; count = 0
            self.log = log; degenerate = false
            let a = Double(lo) - 0.5 * Double(step), b = Double(hi) + 0.5 * Double(step)
            offset = log ? Foundation.log(max(a, 0.5)) : a
            width = log ? Foundation.log(b) - Foundation.log(max(a, 0.5)) : b - a
        case .categorical(let c):
            kind = .categorical; low = 0; high = 0; step = nil; intLow = 0; intStep = 1; count = c.count
            log = false; degenerate = false; offset = -0.5; width = Double(c.count)
        }
    }

    /// `Distribution.contains`.
    func contains(_ x: Double) -> Bool {
        switch kind {
        case .float:
            guard x >= low && x <= high else { return false }
            if let step { let k = (x - low) / step; return abs(k - k.rounded()) < 1e-8 }
            return true
        case .int:
            return x == x.rounded() && x >= low && x <= high && (Int(x) - intLow) % intStep == 0
        case .categorical:
            return x == x.rounded() && x >= 0 && x < Double(count)
        }
    }

    /// `Distribution.unit`.
    func unit(_ x: Double) -> Double {
        if degenerate { return 0.5 }
        return ((log ? Foundation.log(x) : x) - offset) / width
    }

    /// The modelled value of `x`, or nil when the distribution does not contain it.
    @inline(__always) func encode(_ x: Double) -> Double? {
        guard contains(x) else { return nil }
        switch model {
        case .unit: return unit(x)
        case .index: return x
        case .positions(let p): return p[Int(x)]
        }
    }
}
