import Foundation

/// A test function with a known global minimum, for measuring samplers (simple regret).
///
/// The seven functions, their bounds, constants and optima are copied from the shared benchmark
/// description (`bench/functions.json`, format-checked against `function-test-vectors.json` by
/// `BenchmarkFunctionTests`), so Sweep and its peers optimise exactly the same problems. Nothing
/// here reads that file at run time. Every function is minimised; parameters are named
/// `x0 … x{d-1}`, floats on a linear scale.
public struct BenchmarkFunction: Sendable {
    public let id: String
    /// `(low, high)` of each coordinate, in the order `x0, x1, …`.
    public let bounds: [(low: Double, high: Double)]
    /// The global minimum.
    public let fOpt: Double
    private let formula: @Sendable ([Double]) -> Double

    public init(id: String, bounds: [(low: Double, high: Double)], fOpt: Double,
                formula: @escaping @Sendable ([Double]) -> Double) {
        self.id = id; self.bounds = bounds; self.fOpt = fOpt; self.formula = formula
    }

    public var dimension: Int { bounds.count }
    public var parameterNames: [String] { (0..<dimension).map { "x\($0)" } }

    /// f(x) for `x` of length `dimension`.
    public func evaluate(_ x: [Double]) -> Double {
        precondition(x.count == dimension, "\(id) takes \(dimension) coordinates, got \(x.count)")
        return formula(x)
    }

    /// f at a sampler's assignment (`x0 …` by name); nil when a coordinate is missing.
    public func evaluate(params: [String: Double]) -> Double? {
        var x: [Double] = []
        x.reserveCapacity(dimension)
        for name in parameterNames {
            guard let v = params[name] else { return nil }
            x.append(v)
        }
        return formula(x)
    }

    /// Float parameters `x0 … x{d-1}` over `bounds`.
    public var searchSpace: SearchSpace {
        let parameters = zip(parameterNames, bounds).map { name, b in
            // The bounds are constants below, finite and ordered: the constructor cannot fail.
            Parameter(name: name, distribution: try! Distribution.makeFloat(b.low, b.high))
        }
        return try! SearchSpace(parameters)
    }

    /// Simple regret of a best-so-far value: best − f_opt, clipped at 0.
    public func regret(_ best: Double) -> Double { max(best - fOpt, 0) }
}

public extension BenchmarkFunction {
    /// All seven, in the order of `functions.json`.
    static let all: [BenchmarkFunction] = [
        branin, hartmann3, hartmann6, rosenbrock5, levy10, ackley5, styblinskiTang8,
    ]

    static func named(_ id: String) -> BenchmarkFunction? { all.first { $0.id == id } }

    /// Branin-Hoo: three global minima, e.g. (π, 2.275).
    static let branin = BenchmarkFunction(
        id: "branin", bounds: [(-5, 10), (0, 15)], fOpt: 0.3978873577297384
    ) { x in
        let b = 5.1 / (4 * Double.pi * Double.pi), c = 5 / Double.pi, t = 1 / (8 * Double.pi)
        let u = x[1] - b * x[0] * x[0] + c * x[0] - 6
        return u * u + 10 * (1 - t) * cos(x[0]) + 10
    }

    static let hartmann3 = BenchmarkFunction(
        id: "hartmann3", bounds: Array(repeating: (0, 1), count: 3), fOpt: -3.862779787332663
    ) { x in hartmann(x, a: Hartmann.a3, p: Hartmann.p3) }

    static let hartmann6 = BenchmarkFunction(
        id: "hartmann6", bounds: Array(repeating: (0, 1), count: 6), fOpt: -3.3223680114155147
    ) { x in hartmann(x, a: Hartmann.a6, p: Hartmann.p6) }

    static let rosenbrock5 = BenchmarkFunction(
        id: "rosenbrock5", bounds: Array(repeating: (-5, 10), count: 5), fOpt: 0
    ) { x in
        var f = 0.0
        for i in 0..<(x.count - 1) {
            let u = x[i + 1] - x[i] * x[i], v = x[i] - 1
            f += 100 * u * u + v * v
        }
        return f
    }

    static let levy10 = BenchmarkFunction(
        id: "levy10", bounds: Array(repeating: (-10, 10), count: 10), fOpt: 0
    ) { x in
        let w = x.map { 1 + ($0 - 1) / 4 }
        let d = w.count
        func sin2(_ t: Double) -> Double { let s = sin(t); return s * s }
        var f = sin2(Double.pi * w[0])
        for i in 0..<(d - 1) {
            f += (w[i] - 1) * (w[i] - 1) * (1 + 10 * sin2(Double.pi * w[i] + 1))
        }
        f += (w[d - 1] - 1) * (w[d - 1] - 1) * (1 + sin2(2 * Double.pi * w[d - 1]))
        return f
    }

    /// Ackley on the asymmetric box [-5, 10]^5, so the optimum is not the centre.
    static let ackley5 = BenchmarkFunction(
        id: "ackley5", bounds: Array(repeating: (-5, 10), count: 5), fOpt: 0
    ) { x in
        let d = Double(x.count)
        let squares = x.reduce(0) { $0 + $1 * $1 }
        let cosines = x.reduce(0) { $0 + cos(2 * Double.pi * $1) }
        return -20 * exp(-0.2 * (squares / d).squareRoot()) - exp(cosines / d) + 20 + M_E
    }

    /// Minimiser x_i = -2.903534027771177, f_opt = 8 × -39.16616570377142.
    static let styblinskiTang8 = BenchmarkFunction(
        id: "styblinski_tang8", bounds: Array(repeating: (-5, 5), count: 8), fOpt: -313.3293256301713
    ) { x in
        0.5 * x.reduce(0) { f, v in f + v * v * v * v - 16 * v * v + 5 * v }
    }
}

/// f = −Σ_i α_i exp(−Σ_j A_ij (x_j − P_ij)²), i = 1…4.
private func hartmann(_ x: [Double], a: [[Double]], p: [[Double]]) -> Double {
    var f = 0.0
    for i in 0..<4 {
        var inner = 0.0
        for j in 0..<x.count {
            let d = x[j] - p[i][j]
            inner += a[i][j] * d * d
        }
        f -= Hartmann.alpha[i] * exp(-inner)
    }
    return f
}

/// The constants of `functions.json` → `constants.hartmann3` / `hartmann6`.
private enum Hartmann {
    static let alpha: [Double] = [1.0, 1.2, 3.0, 3.2]
    static let a3: [[Double]] = [
        [3.0, 10.0, 30.0],
        [0.1, 10.0, 35.0],
        [3.0, 10.0, 30.0],
        [0.1, 10.0, 35.0],
    ]
    static let p3: [[Double]] = [
        [0.3689, 0.117, 0.2673],
        [0.4699, 0.4387, 0.747],
        [0.1091, 0.8732, 0.5547],
        [0.0381, 0.5743, 0.8828],
    ]
    static let a6: [[Double]] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
    static let p6: [[Double]] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ]
}
