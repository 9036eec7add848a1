import Foundation
import SweepCore

/// A test problem of several objectives with a known Pareto front, for measuring
/// multi-objective samplers by the hypervolume of the front they find.
public struct MultiObjectiveProblem: Sendable {
    public let id: String
    public let dimension: Int
    public let objectives: Int
    /// The point hypervolumes are measured against (every objective minimised).
    public let reference: [Double]
    /// The hypervolume of the true front against `reference` (the most any run can reach).
    public let optimalHypervolume: Double
    private let formula: @Sendable ([Double]) -> [Double]

    public init(id: String, dimension: Int, objectives: Int, reference: [Double], optimalHypervolume: Double,
                formula: @escaping @Sendable ([Double]) -> [Double]) {
        self.id = id; self.dimension = dimension; self.objectives = objectives; self.reference = reference
        self.optimalHypervolume = optimalHypervolume; self.formula = formula
    }

    /// Floats `x0 … x{d-1}` on [0, 1].
    public var searchSpace: SearchSpace {
        try! SearchSpace((0..<dimension).map { Parameter(name: "x\($0)", distribution: try! Distribution.makeFloat(0, 1)) })
    }

    /// The objectives at a sampler's assignment; nil when a coordinate is missing.
    public func evaluate(params: [String: Double]) -> [Double]? {
        var x: [Double] = []
        for d in 0..<dimension {
            guard let v = params["x\(d)"] else { return nil }
            x.append(v)
        }
        return formula(x)
    }

    /// ZDT1 (Zitzler, Deb, Thiele 2000): convex front f2 = 1 − √f1 at g = 1. The reference
    /// (1.1, 11) counts every point with g ≤ 10; the optimum is the box minus the area under the front.
    public static func zdt1(dimension: Int = 10) -> MultiObjectiveProblem {
        MultiObjectiveProblem(id: "zdt1-\(dimension)d", dimension: dimension, objectives: 2, reference: [1.1, 11],
                              optimalHypervolume: 1.1 * 11 - 1.0 / 3.0) { x in
            let g = 1 + 9 * x.dropFirst().reduce(0, +) / Double(x.count - 1)
            return [x[0], g * (1 - (x[0] / g).squareRoot())]
        }
    }

    /// ZDT2: concave front f2 = 1 − f1² at g = 1.
    public static func zdt2(dimension: Int = 10) -> MultiObjectiveProblem {
        MultiObjectiveProblem(id: "zdt2-\(dimension)d", dimension: dimension, objectives: 2, reference: [1.1, 11],
                              optimalHypervolume: 1.1 * 11 - 2.0 / 3.0) { x in
            let g = 1 + 9 * x.dropFirst().reduce(0, +) / Double(x.count - 1)
            let f1 = x[0]
            return [f1, g * (1 - (f1 / g) * (f1 / g))]
        }
    }

    /// DTLZ2 with three objectives: the front is the positive octant of the unit sphere.
    public static func dtlz2(dimension: Int = 7) -> MultiObjectiveProblem {
        // HV of the region between the unit sphere's octant and the cube [0, 1.1]³, plus nothing
        // beyond: 1.1³ − π/6 (the octant's volume).
        MultiObjectiveProblem(id: "dtlz2-\(dimension)d", dimension: dimension, objectives: 3, reference: [1.1, 1.1, 1.1],
                              optimalHypervolume: 1.331 - Double.pi / 6) { x in
            let g = x.dropFirst(2).reduce(0) { $0 + ($1 - 0.5) * ($1 - 0.5) }
            let a = x[0] * .pi / 2, b = x[1] * .pi / 2
            return [(1 + g) * cos(a) * cos(b), (1 + g) * cos(a) * sin(b), (1 + g) * sin(a)]
        }
    }

    public static let all: [MultiObjectiveProblem] = [zdt1(), zdt2(), dtlz2()]
}

/// One sequential run of a sampler on a multi-objective problem.
public struct MultiObjectiveRun: Sendable {
    public var problem: String
    public var sampler: String
    public var seed: Int
    /// The objectives of trial i.
    public var values: [[Double]]

    public init(problem: String, sampler: String, seed: Int, values: [[Double]]) {
        self.problem = problem; self.sampler = sampler; self.seed = seed; self.values = values
    }

    /// The hypervolume of the front of the first `k` trials against `reference`.
    public func hypervolume(after k: Int, reference: [Double]) -> Double {
        let points = Array(values.prefix(k))
        return Pareto.hypervolume(Pareto.front(points).map { points[$0] }, reference: reference)
    }
}

extension SamplerBenchmark {
    /// `trials` sequential trials of `sampler` on `problem` (every objective minimised), study seed `seed`.
    public static func run(_ sampler: any MultiObjectiveSampler, on problem: MultiObjectiveProblem, trials: Int,
                           seed: Int, resultID: String? = nil) throws -> MultiObjectiveRun {
        let space = problem.searchSpace
        let directions = [Direction](repeating: .minimize, count: problem.objectives)
        var history: [TrialRecord] = []
        var run = MultiObjectiveRun(problem: problem.id, sampler: resultID ?? "sweep_\(sampler.name)", seed: seed, values: [])
        for number in 0..<trials {
            let params = sampler.suggest(space: space, history: history, directions: directions,
                                         trialNumber: number, studySeed: UInt64(seed))
            guard space.isValid(params), let values = problem.evaluate(params: params) else {
                throw SamplerBenchmarkError(description:
                    "\(sampler.name) proposed an invalid assignment for trial \(number) of \(problem.id) (seed \(seed)): \(params)")
            }
            run.values.append(values)
            history.append(TrialRecord(number: number, state: .complete, params: params, values: values))
        }
        return run
    }
}
