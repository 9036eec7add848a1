import XCTest
import Foundation
import SweepCore
@testable import SweepSearch

/// The GP with several objectives: the box decomposition, exact log EHVI, and the sampler.
final class GPMultiObjectiveTests: XCTestCase {
    /// The boxes give HV(front ∪ {y}) − HV(front) for any y, for 2, 3 and 4 objectives.
    func testBoxesGiveTheHypervolumeImprovement() {
        for m in [2, 3, 4] {
            var rng = SweepRandom(seed: UInt64(40 + m))
            let points = (0..<12).map { _ in (0..<m).map { _ in rng.nextDouble() } }
            let reference = [Double](repeating: 1.1, count: m)
            let boxes = GP.HypervolumeBoxes(front: points, reference: reference)
            if m == 2 { XCTAssertEqual(boxes.count, Pareto.front(points).count + 1) }
            let before = Pareto.hypervolume(points, reference: reference)
            for _ in 0..<50 {
                let y = (0..<m).map { _ in 1.3 * rng.nextDouble() - 0.1 }
                let expected = Pareto.hypervolume(points + [y], reference: reference) - before
                XCTAssertEqual(boxes.improvement(y), expected, accuracy: 1e-12, "\(m) objectives, y = \(y)")
            }
        }
        // Points outside the reference, and dominated ones, add nothing.
        let boxes = GP.HypervolumeBoxes(front: [[0.5, 0.5], [0.6, 0.6], [2, 0]], reference: [1, 1])
        XCTAssertEqual(boxes.count, 2)
        XCTAssertEqual(boxes.improvement([0.5, 0.5]), 0)
        XCTAssertEqual(boxes.improvement([0, 0]), 1 - 0.25, accuracy: 1e-12)
    }

    /// log EHVI against a Monte Carlo average of HVI over normal draws, and against HVI(mean) as
    /// the variance vanishes.
    func testLogEHVIIsTheExpectedImprovement() {
        var rng = SweepRandom(seed: 5)
        for m in [2, 3] {
            let points = (0..<8).map { _ in (0..<m).map { _ in rng.nextDouble() } }
            let boxes = GP.HypervolumeBoxes(front: points, reference: [Double](repeating: 1.1, count: m))
            var scratch = GP.HypervolumeBoxes.Scratch()
            let mean = [Double](repeating: 0.3, count: m), sd = (0..<m).map { 0.1 + 0.1 * Double($0) }
            var total = 0.0
            let draws = 100_000
            for _ in 0..<draws { total += boxes.improvement((0..<m).map { mean[$0] + sd[$0] * rng.nextGaussian() }) }
            let exact = exp(boxes.logEHVI(mean: mean, variance: sd.map { $0 * $0 }, scratch: &scratch))
            XCTAssertEqual(exact, total / Double(draws), accuracy: 0.03 * exact, "\(m) objectives")
            let sharp = exp(boxes.logEHVI(mean: mean, variance: [Double](repeating: 1e-14, count: m), scratch: &scratch))
            XCTAssertEqual(sharp, boxes.improvement(mean), accuracy: 1e-6 * max(sharp, 1e-9), "\(m) objectives")
        }
    }

    /// Decision table: which of two posteriors log EHVI prefers, for the front (0,1), (0.5,0.5),
    /// (1,0) and the reference (1.1, 1.1).
    func testEHVIPrefersAPointThatDominatesTheFront() {
        let boxes = GP.HypervolumeBoxes(front: [[0, 1], [0.5, 0.5], [1, 0]], reference: [1.1, 1.1])
        var scratch = GP.HypervolumeBoxes.Scratch()
        func score(_ mean: [Double], _ variance: Double) -> Double {
            boxes.logEHVI(mean: mean, variance: [variance, variance], scratch: &scratch)
        }
        // (mean, variance) of the preferred point, then of the other.
        let table: [(better: [Double], betterVariance: Double, worse: [Double], worseVariance: Double, why: String)] = [
            ([0.2, 0.2], 0.01, [0.6, 0.6], 0.01, "dominates (0.5, 0.5) vs inside the front"),
            ([0.2, 0.2], 0.01, [0.45, 0.45], 0.01, "dominates it by more"),
            ([0.6, 0.6], 0.01, [30, 30], 0.01, "near the front vs far behind it"),
            ([0.7, 0.7], 0.05, [0.7, 0.7], 0.0001, "more uncertain vs less, both behind the front"),
            ([-0.5, 0.9], 0.01, [0.6, 0.6], 0.01, "dominates the extreme (0, 1) vs inside the front"),
        ]
        for row in table {
            let a = score(row.better, row.betterVariance), b = score(row.worse, row.worseVariance)
            XCTAssertGreaterThan(a, b, row.why)
            XCTAssertTrue(b.isFinite, "log EHVI stays finite far from the front: \(row.why)")
        }
    }

    func history(_ sampler: GPSampler, _ problem: MultiObjectiveProblem, trials: Int, seed: UInt64) -> [TrialRecord] {
        var history: [TrialRecord] = []
        for n in 0..<trials {
            let p = sampler.suggest(space: problem.searchSpace, history: history, directions: [.minimize, .minimize], trialNumber: n, studySeed: seed)
            history.append(TrialRecord(number: n, state: .complete, params: p, values: problem.evaluate(p)))
        }
        return history
    }

    /// The same seed and history give the same suggestion; another seed or trial number, another;
    /// running and failed trials are handled.
    func testSuggestionsAreReproducibleForASeed() {
        let problem = MultiObjectiveProblem.zdt1(dimension: 3)
        let gp = GPSampler(startupTrials: 5, candidates: 256)
        let h = history(gp, problem, trials: 12, seed: 3)
        XCTAssertEqual(h.map(\.params), history(gp, problem, trials: 12, seed: 3).map(\.params))
        XCTAssertNotEqual(h.map(\.params), history(gp, problem, trials: 12, seed: 4).map(\.params))
        let next = gp.suggest(space: problem.searchSpace, history: h, directions: [.minimize, .minimize], trialNumber: 12, studySeed: 3)
        XCTAssertNotEqual(next, gp.suggest(space: problem.searchSpace, history: h, directions: [.minimize, .minimize], trialNumber: 13, studySeed: 3))
        // A running trial at that point (kriging believer: believed there, it promises no
        // improvement) moves the suggestion; a failed one is ignored.
        let busy = h + [TrialRecord(number: 13, state: .running, params: next)]
        let other = gp.suggest(space: problem.searchSpace, history: busy, directions: [.minimize, .minimize], trialNumber: 12, studySeed: 3)
        XCTAssertTrue(problem.searchSpace.isValid(other))
        let distance = zip(problem.searchSpace.names.map { other[$0]! }, problem.searchSpace.names.map { next[$0]! }).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(distance, 0.01, "\(next) vs \(other)")
        let failed = h + [TrialRecord(number: 12, state: .fail, params: next)]
        XCTAssertEqual(gp.suggest(space: problem.searchSpace, history: failed, directions: [.minimize, .minimize], trialNumber: 13, studySeed: 3),
                       gp.suggest(space: problem.searchSpace, history: h, directions: [.minimize, .minimize], trialNumber: 13, studySeed: 3))
    }

    /// One direction is the single-objective GP.
    func testOneObjectiveIsTheSingleObjectiveGP() {
        let space = BenchmarkFunction.branin.searchSpace
        let gp = GPSampler(startupTrials: 4, candidates: 256)
        var history: [TrialRecord] = []
        for n in 0..<8 {
            let a = gp.suggest(space: space, history: history, direction: .maximize, trialNumber: n, studySeed: 2)
            XCTAssertEqual(a, gp.suggest(space: space, history: history, directions: [.maximize], trialNumber: n, studySeed: 2))
            history.append(TrialRecord(number: n, state: .complete, params: a, value: BenchmarkFunction.branin.evaluate(params: a)))
        }
    }

    /// ZDT1 in 4 dimensions, 30 trials, seeds 0-2: the median hypervolume beats random search's.
    func testBeatsRandomOnZDT1AtASmallBudget() throws {
        let problem = MultiObjectiveProblem.zdt1(dimension: 4)
        func medianHV(_ s: any MultiObjectiveSampler) throws -> Double {
            let hv = try (0..<3).map { try SamplerBenchmark.run(s, on: problem, trials: 30, seed: $0).hypervolume(after: 30, reference: problem.reference) }
            return hv.sorted()[1]
        }
        let gp = try medianHV(GPSampler(candidates: 512)), random = try medianHV(RandomSampler())
        XCTAssertGreaterThan(gp, random, "GP \(gp) vs random \(random)")
    }
}
