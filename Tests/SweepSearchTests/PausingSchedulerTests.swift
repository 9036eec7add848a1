import XCTest
import SweepCore
@testable import SweepSearch

private func t(_ number: Int, _ reports: [Int: Double], _ state: TrialState = .running) -> TrialRecord {
    TrialRecord(number: number, state: state, params: [:], intermediate: reports)
}

private func paused(_ number: Int, _ reports: [Int: Double]) -> TrialRecord { t(number, reports, .waiting) }

/// Promotion-mode ASHA and Hyperband, and PBT, as decision tables (values are losses unless
/// said otherwise); each promotion table is also checked mirrored (negated values, maximize)
/// and with the trials in another order.
final class PausingSchedulerTests: XCTestCase {
    // η = 3, milestones 1, 3, 9 below max 27.
    let asha = try! ASHAScheduler(reductionFactor: 3, minResource: 1, maxResource: 27, mode: .promote)

    func promotion(_ s: any PausingScheduler, _ all: [TrialRecord], seed: UInt64 = 0, file: StaticString = #filePath, line: UInt = #line) -> Int? {
        let answer = s.promotion(all: all, direction: .minimize, studySeed: seed)
        let mirrored = all.map { r -> TrialRecord in var m = r; m.intermediate = r.intermediate.mapValues { -$0 }; return m }
        XCTAssertEqual(s.promotion(all: mirrored, direction: .maximize, studySeed: seed), answer, "mirrored", file: file, line: line)
        XCTAssertEqual(s.promotion(all: all.reversed(), direction: .minimize, studySeed: seed), answer, "reordered", file: file, line: line)
        return answer
    }

    func testPromoteModePausesAtEveryMilestoneAndStopsOnNaN() {
        let rows: [([Int: Double], Decision)] = [
            ([1: 0.5], .pause), ([1: 0.5, 2: 0.4], .continue), ([1: 0.5, 2: 0.4, 3: 0.3], .pause),
            ([1: .nan], .stop), ([1: 0.5, 2: 0.4, 3: 0.3, 9: 0.2], .pause), ([1: 0.5, 2: 0.4, 3: 0.3, 9: 0.2, 10: 0.1], .continue),
        ]
        for (reports, expected) in rows {
            // A much better trial elsewhere changes nothing: the decision at a rung is to pause.
            XCTAssertEqual(asha.decide(trial: t(5, reports), all: [t(0, [1: 0.0, 3: 0.0])], direction: .minimize, studySeed: 0), expected, "\(reports)")
        }
    }

    func testPromotionTable() {
        // Fewer than η values at a rung: nobody is promoted yet (no max(1, ...) in this mode).
        XCTAssertNil(promotion(asha, [paused(0, [1: 0.2]), paused(1, [1: 0.1])]))
        // Three values at rung 1: the best paused one goes on.
        XCTAssertEqual(promotion(asha, [paused(0, [1: 0.2]), paused(1, [1: 0.1]), paused(2, [1: 0.3])]), 1)
        // The best is already promoted (running past the rung): nobody else is in the top 1/η.
        XCTAssertNil(promotion(asha, [paused(0, [1: 0.2]), t(1, [1: 0.1, 2: 0.1]), paused(2, [1: 0.3])]))
        // Six values: the top two; 1 runs on, so 0 is promoted.
        let six = [paused(0, [1: 0.2]), t(1, [1: 0.1, 2: 0.1]), paused(2, [1: 0.3]), paused(3, [1: 0.4]),
                   t(4, [1: 0.5], .complete), t(5, [1: 0.6], .pruned)]
        XCTAssertEqual(promotion(asha, six), 0)
        // Higher rungs first: a trial waiting at rung 3 beats one waiting at rung 1.
        let rungs = six + [paused(6, [1: 0.05, 3: 0.3]), t(7, [1: 0.06, 3: 0.4], .pruned), t(8, [1: 0.07, 3: 0.5], .pruned)]
        XCTAssertEqual(promotion(asha, rungs), 6)
        // Ties at a rung: the lower number first.
        XCTAssertEqual(promotion(asha, [paused(4, [1: 0.1]), paused(3, [1: 0.1]), paused(5, [1: 0.3])]), 3)
        // NaN values do not count at a rung.
        XCTAssertNil(promotion(asha, [paused(0, [1: 0.2]), t(1, [1: .nan], .pruned), t(2, [1: .nan], .pruned)]))
        // Stop mode never promotes.
        let stopping = try! ASHAScheduler(reductionFactor: 3, minResource: 1, maxResource: 27)
        XCTAssertNil(stopping.promotion(all: six, direction: .minimize, studySeed: 0))
        XCTAssertEqual(stopping.decide(trial: t(9, [1: 0.05]), all: six, direction: .minimize, studySeed: 0), .continue)
    }

    /// A whole promotion run simulated without processes: every trial reaches 27 epochs only
    /// through promotions, and no paused trial is left promotable at the end.
    func testSimulatedPromotionRunRespectsTheRungShares() {
        var all: [TrialRecord] = []
        func loss(_ n: Int, _ epoch: Int) -> Double { Double((n * 7919) % 101) / 100 + 1 / Double(epoch) }
        // Start 27 trials one by one; after each, promote while anyone is due.
        for n in 0..<27 {
            all.append(t(n, [:]))
            var current = n
            while true {
                var epoch = (all[current].lastStep ?? 0)
                all[current].state = .running
                var decision = Decision.continue
                repeat {
                    epoch += 1
                    all[current].intermediate[epoch] = loss(current, epoch)
                    decision = asha.decide(trial: all[current], all: all, direction: .minimize, studySeed: 0)
                } while decision == .continue && epoch < 27
                all[current].state = decision == .pause ? .waiting : .complete
                guard let next = asha.promotion(all: all, direction: .minimize, studySeed: 0) else { break }
                current = next
            }
        }
        let reached = [1, 3, 9, 27].map { m in all.filter { $0.intermediate[m] != nil }.count }
        XCTAssertEqual(reached, [27, 9, 3, 1])
        XCTAssertNil(asha.promotion(all: all, direction: .minimize, studySeed: 0))
    }

    func testHyperbandPromotesWithinBracketsHighestMilestoneFirst() throws {
        let hb = try HyperbandScheduler(reductionFactor: 3, minResource: 1, maxResource: 9, mode: .promote)
        // Find trials of bracket 0 (milestones 1, 3) and of bracket 1 (milestone 3).
        let b0 = (0..<400).filter { hb.bracket(of: $0, studySeed: 0) == 0 }
        let b1 = (0..<400).filter { hb.bracket(of: $0, studySeed: 0) == 1 }
        XCTAssertEqual(hb.milestones(ofBracket: 0), [1, 3]); XCTAssertEqual(hb.milestones(ofBracket: 1), [3])
        var all = [paused(b0[0], [1: 0.1]), paused(b0[1], [1: 0.2]), paused(b0[2], [1: 0.3])]
        XCTAssertEqual(promotion(hb, all), b0[0])
        // Bracket 1's rung at epoch 3 is higher than bracket 0's at 1: it goes first.
        all += [paused(b1[0], [1: 0.9, 2: 0.9, 3: 0.5]), t(b1[1], [3: 0.6], .complete), t(b1[2], [3: 0.7], .complete)]
        XCTAssertEqual(promotion(hb, all), b1[0])
        XCTAssertEqual(hb.decide(trial: t(b1[3], [3: 0.1]), all: all, direction: .minimize, studySeed: 0), .pause)
        XCTAssertEqual(hb.decide(trial: t(b1[3], [1: 0.1]), all: all, direction: .minimize, studySeed: 0), .continue, "1 is no milestone of bracket 1")
    }

    func testPBTExploitTable() throws {
        let pbt = try PBTScheduler(interval: 2, quantile: 0.25, maxResource: 10)
        let population = (0..<8).map { t($0, [2: Double($0) / 10]) }
        // Worst 2 of 8 (losses 0.6, 0.7) exploit one of the best 2 (trials 0, 1); others continue.
        for n in 0..<6 { XCTAssertEqual(pbt.decide(trial: population[n], all: population, direction: .minimize, studySeed: 1), .continue) }
        for n in [6, 7] {
            guard case .exploit(let donor) = pbt.decide(trial: population[n], all: population, direction: .minimize, studySeed: 1) else {
                return XCTFail("trial \(n) should be exploited")
            }
            XCTAssertTrue([0, 1].contains(donor))
            XCTAssertEqual(pbt.decide(trial: population[n], all: population.reversed(), direction: .minimize, studySeed: 1), .exploit(donor: donor))
        }
        // Maximize: the same trials, mirrored, are the worst.
        let mirrored = population.map { r -> TrialRecord in var m = r; m.intermediate = r.intermediate.mapValues { -$0 }; return m }
        XCTAssertEqual(pbt.decide(trial: mirrored[0], all: mirrored, direction: .maximize, studySeed: 1), .continue)
        if case .exploit = pbt.decide(trial: mirrored[7], all: mirrored, direction: .maximize, studySeed: 1) {} else { XCTFail("maximize") }
        // Not at an interval, at max, with too few peers, or NaN.
        XCTAssertEqual(pbt.decide(trial: t(7, [1: 0.9]), all: population, direction: .minimize, studySeed: 1), .continue)
        XCTAssertEqual(pbt.decide(trial: t(7, [10: 0.9]), all: population.map { t($0.number, [10: 0.0]) }, direction: .minimize, studySeed: 1), .continue)
        XCTAssertEqual(pbt.decide(trial: population[7], all: Array(population.suffix(3)), direction: .minimize, studySeed: 1), .continue)
        XCTAssertEqual(pbt.decide(trial: t(9, [2: .nan]), all: population, direction: .minimize, studySeed: 1), .stop)
        XCTAssertThrowsError(try PBTScheduler(interval: 10, maxResource: 10))
        XCTAssertThrowsError(try PBTScheduler(interval: 2, quantile: 0.7, maxResource: 10))
    }

    func testPBTExploreStaysInTheSpaceAndMoves() throws {
        let space = try SearchSpace([
            Parameter(name: "lr", distribution: try .makeFloat(1e-4, 1e-1, log: true)),
            Parameter(name: "units", distribution: try .makeInt(16, 256, step: 16)),
            Parameter(name: "layers", distribution: try .makeInt(1, 4)),
            Parameter(name: "act", distribution: try .makeCategorical([.string("relu"), .string("tanh"), .string("gelu")])),
        ])
        let pbt = try PBTScheduler(interval: 1, maxResource: 5, resampleProbability: 0)
        let donor: [String: Double] = ["lr": 0.01, "units": 64, "layers": 2, "act": 1]
        var moved = Set<String>()
        for n in 0..<50 {
            let x = pbt.explore(donor, space: space, studySeed: 3, trialNumber: n)
            XCTAssertTrue(space.isValid(x), "\(x)")
            XCTAssertEqual(x, pbt.explore(donor, space: space, studySeed: 3, trialNumber: n), "deterministic")
            XCTAssertTrue([0.008, 0.012].contains { abs(x["lr"]! - $0) < 1e-12 }, "lr ×0.8 or ×1.2: \(x["lr"]!)")
            XCTAssertTrue([1, 3].contains(x["layers"]!), "an int that would not move steps by one")
            XCTAssertTrue([0, 2].contains(x["act"]!), "a neighbouring choice")
            XCTAssertTrue([48, 80].contains(x["units"]!), "64 ×0.8 or ×1.2, snapped to the step of 16: \(x["units"]!)")
            for (k, v) in x where v != donor[k] { moved.insert(k) }
        }
        XCTAssertEqual(moved, ["lr", "units", "layers", "act"])
        XCTAssertEqual(PBTScheduler.perturb(1e-1, try .makeFloat(1e-4, 1e-1, log: true), up: true), 1e-1, "clamped")
    }
}
