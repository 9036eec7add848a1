import Foundation
import SweepCore

/// A problem of several objectives (every one minimised) whose best front is known, for
/// measuring multi-objective samplers by the hypervolume of the front they find: a test function
/// (ZDT1, ZDT2, DTLZ2) or a recorded real landscape (`landscape(_:)`), which also has the same
/// trials' objectives on held-out data.
public struct MultiObjectiveProblem: Sendable {
    public let id: String
    public let searchSpace: SearchSpace
    public let objectives: Int
    /// The point hypervolumes are measured against.
    public let reference: [Double]
    /// The hypervolume of the true front against `reference` (the most any run can reach).
    public let optimalHypervolume: Double
    /// The objectives of an assignment; nil when it is not one of the problem's.
    public let evaluate: @Sendable (_ params: [String: Double]) -> [Double]?
    /// For a recorded landscape: the objectives of an assignment on held-out data (test accuracy
    /// instead of validation accuracy), their reference and the best front's hypervolume there.
    public let test: Held?

    public struct Held: Sendable {
        public let reference: [Double]
        public let optimalHypervolume: Double
        public let evaluate: @Sendable (_ params: [String: Double]) -> [Double]?
    }

    public init(id: String, searchSpace: SearchSpace, objectives: Int, reference: [Double], optimalHypervolume: Double,
                test: Held? = nil, evaluate: @escaping @Sendable ([String: Double]) -> [Double]?) {
        self.id = id; self.searchSpace = searchSpace; self.objectives = objectives; self.reference = reference
        self.optimalHypervolume = optimalHypervolume; self.test = test; self.evaluate = evaluate
    }

    /// Floats `x0 … x{d-1}` on [0, 1] and a formula of them.
    static func continuous(id: String, dimension: Int, objectives: Int, reference: [Double], optimalHypervolume: Double,
                           formula: @escaping @Sendable ([Double]) -> [Double]) -> MultiObjectiveProblem {
        let space = try! SearchSpace((0..<dimension).map { Parameter(name: "x\($0)", distribution: try! Distribution.makeFloat(0, 1)) })
        return MultiObjectiveProblem(id: id, searchSpace: space, objectives: objectives, reference: reference,
                                     optimalHypervolume: optimalHypervolume) { params in
            var x: [Double] = []
            for d in 0..<dimension {
                guard let v = params["x\(d)"] else { return nil }
                x.append(v)
            }
            return formula(x)
        }
    }

    /// ZDT1 (Zitzler, Deb, Thiele 2000): convex front f2 = 1 − √f1 at g = 1. The reference
    /// (1.1, 11) counts every point with g ≤ 10; the optimum is the box minus the area under the front.
    public static func zdt1(dimension: Int = 10) -> MultiObjectiveProblem {
        continuous(id: "zdt1-\(dimension)d", dimension: dimension, objectives: 2, reference: [1.1, 11],
                   optimalHypervolume: 1.1 * 11 - 1.0 / 3.0) { x in
            let g = 1 + 9 * x.dropFirst().reduce(0, +) / Double(x.count - 1)
            return [x[0], g * (1 - (x[0] / g).squareRoot())]
        }
    }

    /// ZDT2: concave front f2 = 1 − f1² at g = 1.
    public static func zdt2(dimension: Int = 10) -> MultiObjectiveProblem {
        continuous(id: "zdt2-\(dimension)d", dimension: dimension, objectives: 2, reference: [1.1, 11],
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
        continuous(id: "dtlz2-\(dimension)d", dimension: dimension, objectives: 3, reference: [1.1, 1.1, 1.1],
                   optimalHypervolume: 1.331 - Double.pi / 6) { x in
            let g = x.dropFirst(2).reduce(0) { $0 + ($1 - 0.5) * ($1 - 0.5) }
            let a = x[0] * .pi / 2, b = x[1] * .pi / 2
            return [(1 + g) * cos(a) * cos(b), (1 + g) * cos(a) * sin(b), (1 + g) * sin(a)]
        }
    }

    public static let all: [MultiObjectiveProblem] = [zdt1(), zdt2(), dtlz2()]

    /// A recorded landscape as the deployment trade-off a user searches: the deployed model's
    /// validation error (1 − `deployed_val_accuracy`, the int8 model's when the configuration
    /// quantizes) against its exported size in MB (`model_bytes` / 10⁶); `test` is the same with
    /// `deployed_test_accuracy`. A configuration without a recorded accuracy (a diverged run)
    /// has error 1. The reference is the table's true front's worst point plus a tenth of the
    /// front's range in each objective (validation and test fronts each their own), so the
    /// hypervolume measures the trade-off region rather than the distance from a far corner.
    public static func landscape(_ t: TabularLandscape, file: String) throws -> MultiObjectiveProblem {
        func column(_ name: String) throws -> [Double] {
            guard let c = t.recorded[name] else {
                throw InputError(file: file, field: "columns", "a multi-objective landscape needs the column \(name) (re-record it with sweep-bench record-landscape)")
            }
            return c
        }
        let val = try column("deployed_val_accuracy"), test = try column("deployed_test_accuracy"), bytes = try column("model_bytes")
        guard !bytes.contains(where: { !$0.isFinite }) else {
            throw InputError(file: file, field: "rows", "every configuration needs a model_bytes value")
        }
        func points(_ acc: [Double]) -> [[Double]] { zip(acc, bytes).map { [$0.isFinite ? 1 - $0 : 1, $1 / 1e6] } }
        let valPoints = points(val), testPoints = points(test)
        func bounds(_ p: [[Double]]) -> (reference: [Double], optimum: Double) {
            let front = Pareto.front(p).map { p[$0] }
            let reference = (0..<2).map { k -> Double in
                let hi = front.map { $0[k] }.max()!, lo = front.map { $0[k] }.min()!
                return hi + 0.1 * max(hi - lo, 1e-9)
            }
            return (reference, Pareto.hypervolume(front, reference: reference))
        }
        let v = bounds(valPoints), h = bounds(testPoints)
        let held = Held(reference: h.reference, optimalHypervolume: h.optimum) { params in t.configuration(params).map { testPoints[$0] } }
        return MultiObjectiveProblem(id: t.id, searchSpace: t.searchSpace, objectives: 2, reference: v.reference,
                                     optimalHypervolume: v.optimum, test: held) { params in t.configuration(params).map { valPoints[$0] } }
    }
}

/// One sequential run of a sampler on a multi-objective problem.
public struct MultiObjectiveRun: Sendable {
    public var problem: String
    public var sampler: String
    public var seed: Int
    /// The objectives of trial i.
    public var values: [[Double]]
    /// Trial i's objectives on held-out data, when the problem has them (`MultiObjectiveProblem.test`).
    public var testValues: [[Double]]?
    /// How long the sampler took to suggest trial i, in seconds (Sweep's runs; nil for a peer's).
    public var suggestSeconds: [Double]?

    public init(problem: String, sampler: String, seed: Int, values: [[Double]], testValues: [[Double]]? = nil) {
        self.problem = problem; self.sampler = sampler; self.seed = seed; self.values = values; self.testValues = testValues
    }

    /// The hypervolume of the front of the first `k` trials against `reference`.
    public func hypervolume(after k: Int, reference: [Double]) -> Double {
        let points = Array(values.prefix(k))
        return Pareto.hypervolume(Pareto.front(points).map { points[$0] }, reference: reference)
    }

    /// What the front of the first `k` trials is worth on held-out data: the hypervolume of
    /// those same trials' test objectives (the models a user would pick by validation, judged on
    /// the test split). nil without `testValues`.
    public func testHypervolume(after k: Int, reference: [Double]) -> Double? {
        guard let testValues else { return nil }
        let points = Array(values.prefix(k))
        return Pareto.hypervolume(Pareto.front(points).map { testValues[$0] }, reference: reference)
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
        run.suggestSeconds = []
        let clock = ContinuousClock()
        for number in 0..<trials {
            let start = clock.now
            let params = sampler.suggest(space: space, history: history, directions: directions,
                                         trialNumber: number, studySeed: UInt64(seed))
            run.suggestSeconds!.append((clock.now - start).seconds)
            guard space.isValid(params), let values = problem.evaluate(params) else {
                throw SamplerBenchmarkError(description:
                    "\(sampler.name) proposed an invalid assignment for trial \(number) of \(problem.id) (seed \(seed)): \(params)")
            }
            run.values.append(values)
            if let test = problem.test, let held = test.evaluate(params) {
                run.testValues = (run.testValues ?? []) + [held]
            }
            history.append(TrialRecord(number: number, state: .complete, params: params, values: values))
        }
        return run
    }
}
