import XCTest
import SweepCore
@testable import SweepSearch

final class ParetoTests: XCTestCase {
    func testDominanceAndFronts() {
        XCTAssertTrue(Pareto.dominates([1, 2], [1, 3]))
        XCTAssertFalse(Pareto.dominates([1, 2], [1, 2]))
        XCTAssertFalse(Pareto.dominates([1, 3], [2, 2]))
        //  front 0: (1,4) (2,2) (4,1); front 1: (3,3) (2,5); front 2: (4,5)
        let points: [[Double]] = [[3, 3], [1, 4], [2, 2], [4, 5], [4, 1], [2, 5]]
        XCTAssertEqual(Pareto.frontRanks(points), [1, 0, 0, 2, 0, 1])
        XCTAssertEqual(Pareto.front(points), [1, 2, 4])
        XCTAssertEqual(Pareto.frontRanks([]), [])
        XCTAssertEqual(Pareto.frontRanks([[1, 1], [1, 1]]), [0, 0], "equal points do not dominate each other")
    }

    func testCrowdingDistanceGivesExtremesInfinity() {
        let d = Pareto.crowdingDistance([[0, 4], [1, 2], [3, 1], [4, 0]])
        XCTAssertEqual(d[0], .infinity); XCTAssertEqual(d[3], .infinity)
        XCTAssertEqual(d[1], (3.0 - 0) / 4 + (4.0 - 1) / 4, accuracy: 1e-12)
        XCTAssertEqual(d[2], (4.0 - 1) / 4 + (2.0 - 0) / 4, accuracy: 1e-12)
    }

    func testHypervolumeAgainstHandComputedAndMonteCarlo() {
        // Two boxes [1,3]x[2,3] and [2,3]x[1,3] overlap in [2,3]x[2,3]: 2 + 2 - 1.
        XCTAssertEqual(Pareto.hypervolume([[1, 2], [2, 1]], reference: [3, 3]), 3, accuracy: 1e-12)
        XCTAssertEqual(Pareto.hypervolume([[1, 2], [2, 1], [2.5, 2.5]], reference: [3, 3]), 3, accuracy: 1e-12, "dominated points add nothing")
        XCTAssertEqual(Pareto.hypervolume([[4, 0]], reference: [3, 3]), 0, "outside the reference")
        XCTAssertEqual(Pareto.hypervolume([[0, 0, 0]], reference: [1, 2, 3]), 6, accuracy: 1e-12)
        // 3 and 4 objectives against a Monte Carlo estimate.
        for m in [3, 4] {
            var rng = SweepRandom(seed: UInt64(m))
            let points = (0..<12).map { _ in (0..<m).map { _ in rng.nextDouble() } }
            let reference = [Double](repeating: 1, count: m)
            let exact = Pareto.hypervolume(points, reference: reference)
            var inside = 0
            let samples = 40_000
            for _ in 0..<samples {
                let y = (0..<m).map { _ in rng.nextDouble() }
                if points.contains(where: { p in zip(p, y).allSatisfy { $0 <= $1 } }) { inside += 1 }
            }
            XCTAssertEqual(exact, Double(inside) / Double(samples), accuracy: 0.012, "\(m) objectives")
        }
    }

    func testContributionsAndSubsetSelection() {
        let points: [[Double]] = [[1, 3], [2, 2], [3, 1], [2.1, 2.1]]
        let c = Pareto.contributions(points, reference: [4, 4])
        XCTAssertEqual(c[0], 1, accuracy: 1e-12)
        // (2,2)'s box [2,4]² less what the others cover of it: 4 − (3.61 + 0.1 + 0.1).
        XCTAssertEqual(c[1], 0.19, accuracy: 1e-9)
        XCTAssertEqual(c[3], 0, "a dominated point contributes nothing")
        // The first choice is the point alone with the largest box, then the best complement.
        XCTAssertEqual(Pareto.subsetSelection(points, k: 2, reference: [4, 4]), [1, 0])
        let r = Pareto.referencePoint([[1, -2], [3, -4], [0, 0]])
        XCTAssertEqual(r[0], 3.3, accuracy: 1e-12); XCTAssertEqual(r[1], 1e-12)
    }
}

final class MultiObjectiveSamplerTests: XCTestCase {
    let directions: [Direction] = [.minimize, .maximize]

    func record(_ n: Int, _ x: Double, _ values: [Double], constraints: [Double]? = nil) -> TrialRecord {
        TrialRecord(number: n, state: .complete, params: ["x0": x], values: values, constraints: constraints)
    }

    func testLossesFollowDirectionsAndViolationSumsPositiveConstraints() {
        let t = record(0, 0.5, [2, 3], constraints: [-1, 0.5, 2])
        XCTAssertEqual(t.losses(directions), [2, -3])
        XCTAssertNil(t.losses([.minimize]), "wrong number of objectives")
        XCTAssertEqual(t.violation, 2.5)
        XCTAssertEqual(t.value, 2, "value is the first objective")
        XCTAssertNil(TrialRecord(number: 1, state: .complete, params: [:], values: [1, .nan]).losses(directions))
    }

    /// NSGA-II's selection as a table: (trials) -> the parents kept.
    func testNSGAIISelectionTable() {
        // Feasible fronts: {0, 1} then {2}; 3 infeasible (violation 1), 4 infeasible (violation 0.5).
        let pool = [record(0, 0, [1, 5]), record(1, 0, [2, 6]), record(2, 0, [3, 1]),
                    record(3, 0, [0, 9], constraints: [1]), record(4, 0, [0, 9], constraints: [0.5])]
        XCTAssertEqual(NSGAIISampler.constrainedFrontRanks(pool, directions: directions), [0, 0, 1, 3, 2])
        XCTAssertEqual(NSGAIISampler.select(pool, count: 3, directions: directions).map(\.number), [0, 1, 2])
        XCTAssertEqual(NSGAIISampler.select(pool, count: 4, directions: directions).map(\.number), [0, 1, 2, 4])
        // A front cut by crowding: the extremes (infinite distance) stay.
        let front = [record(0, 0, [0, 0]), record(1, 0, [1, 1]), record(2, 0, [1.1, 1.1]), record(3, 0, [3, 3])]
        XCTAssertEqual(NSGAIISampler.select(front, count: 2, directions: directions).map(\.number), [0, 3])
        XCTAssertTrue(NSGAIISampler.constrainedDominates(pool[0], pool[3], directions))
        XCTAssertTrue(NSGAIISampler.constrainedDominates(pool[4], pool[3], directions))
        XCTAssertFalse(NSGAIISampler.constrainedDominates(pool[0], pool[1], directions))
    }

    func testSamplersAreDeterministicAndValidAmongRunningAndFailedTrials() {
        let problem = MultiObjectiveProblem.zdt1(dimension: 4)
        let space = problem.searchSpace
        let samplers: [any MultiObjectiveSampler] = [NSGAIISampler(populationSize: 8), TPESampler(startupTrials: 5)]
        for sampler in samplers {
            var history: [TrialRecord] = []
            for n in 0..<30 {
                let p = sampler.suggest(space: space, history: history, directions: [.minimize, .minimize], trialNumber: n, studySeed: 7)
                XCTAssertTrue(space.isValid(p), sampler.name)
                XCTAssertEqual(p, sampler.suggest(space: space, history: history, directions: [.minimize, .minimize], trialNumber: n, studySeed: 7))
                let state: TrialState = n % 7 == 3 ? .fail : .complete
                history.append(TrialRecord(number: n, state: state, params: p, values: state == .complete ? problem.evaluate(p) : nil))
            }
            var withRunning = history
            withRunning.append(TrialRecord(number: 30, state: .running, params: history[0].params))
            let p = sampler.suggest(space: space, history: withRunning, directions: [.minimize, .minimize], trialNumber: 31, studySeed: 7)
            XCTAssertTrue(space.isValid(p))
        }
    }

    func testSingleObjectiveTPEUnchangedByTheMultiObjectiveEntry() {
        let space = BenchmarkFunction.branin.searchSpace
        var history: [TrialRecord] = []
        let tpe = TPESampler()
        for n in 0..<25 {
            let a = tpe.suggest(space: space, history: history, direction: .maximize, trialNumber: n, studySeed: 3)
            XCTAssertEqual(a, tpe.suggest(space: space, history: history, directions: [.maximize], trialNumber: n, studySeed: 3))
            history.append(TrialRecord(number: n, state: .complete, params: a, value: BenchmarkFunction.branin.evaluate(params: a)))
        }
    }

    /// Constraints: once feasible trials exist, TPE's good group holds only feasible ones.
    func testConstrainedTPEPrefersFeasibleTrials() {
        var history: [TrialRecord] = []
        for n in 0..<40 {
            let x = Double(n) / 40
            // Feasible only for x >= 0.5; the objective alone would prefer small x.
            history.append(record(n, x, [x, 0], constraints: [0.5 - x]))
        }
        let (good, weights) = TPESampler.splitGood(Array(0..<40), count: 4, history: history, directions: [.minimize])
        XCTAssertEqual(good, [20, 21, 22, 23])
        XCTAssertEqual(weights.count, 4)
        let (mo, moWeights) = TPESampler.splitGood(Array(0..<40), count: 4, history: history, directions: [.minimize, .minimize])
        XCTAssertTrue(mo.allSatisfy { history[$0].violation == 0 })
        XCTAssertTrue(moWeights.allSatisfy { $0 > 0 && $0 <= 1 })
    }

    /// Both samplers beat random search on ZDT1 in median hypervolume (seeds 0-2, 100 trials).
    func testSamplersBeatRandomOnZDT1() throws {
        let problem = MultiObjectiveProblem.zdt1(dimension: 5)
        func medianHV(_ s: any MultiObjectiveSampler) throws -> Double {
            let hv = try (0..<3).map { try SamplerBenchmark.run(s, on: problem, trials: 100, seed: $0).hypervolume(after: 100, reference: problem.reference) }
            return hv.sorted()[1]
        }
        let random = try medianHV(RandomSampler())
        XCTAssertGreaterThan(try medianHV(NSGAIISampler(populationSize: 16)), random)
        XCTAssertGreaterThan(try medianHV(TPESampler()), random)
        XCTAssertLessThan(random, problem.optimalHypervolume)
    }
}

/// Early stopping for several objectives: ASHA's rule with Pareto fronts at the rung.
final class MultiObjectiveRungTests: XCTestCase {
    let asha = try! ASHAScheduler(reductionFactor: 2, minResource: 1, maxResource: 8)   // milestones 1, 2, 4

    func t(_ n: Int, _ reports: [Int: [Double]]) -> TrialRecord {
        TrialRecord(number: n, state: .running, params: [:], intermediateValues: reports)
    }

    func testFrontsAtTheRungDecide() {
        let dirs: [Direction] = [.maximize, .minimize]   // accuracy up, size down
        // At epoch 2: front 0 = {a (0.9, 5), b (0.8, 2)}, front 1 = {c (0.7, 6)}, front 2 = {d (0.6, 7)}.
        let others = [t(0, [2: [0.9, 5]]), t(1, [2: [0.8, 2]]), t(2, [2: [0.7, 6]])]
        let table: [([Double], Decision)] = [
            ([0.95, 1], .continue),   // dominates everyone
            ([0.6, 7], .stop),        // 3 vectors in better fronts, keep = 4/2 = 2
            ([0.85, 3], .continue),   // on the first front (a and b do not dominate it)
            ([0.7, 6], .stop),        // ties c in front 1: 2 better vectors, not fewer than 2
            ([0.5, .nan], .stop),
        ]
        for (own, expected) in table {
            XCTAssertEqual(asha.decide(trial: t(9, [1: [0, 0], 2: own]), all: others, directions: dirs, studySeed: 0), expected, "\(own)")
        }
        XCTAssertEqual(asha.decide(trial: t(9, [3: [0, 99]]), all: others, directions: dirs, studySeed: 0), .continue, "not a milestone")
    }

    func testOneObjectiveIsTheSingleObjectiveRule() {
        var rng = SweepRandom(seed: 5)
        for _ in 0..<200 {
            let values = (0..<7).map { _ in Double(rng.nextInt(below: 5)) }
            let all = values.enumerated().map { TrialRecord(number: $0.offset, state: .running, params: [:], intermediateValues: [1: [$0.element]]) }
            for trial in all {
                XCTAssertEqual(asha.decide(trial: trial, all: all, directions: [.minimize], studySeed: 0),
                               asha.decide(trial: trial, all: all, direction: .minimize, studySeed: 0), "\(values)")
            }
        }
    }
}
