import XCTest
import SweepCore
@testable import SweepSearch

/// A trial with the reports `values` (epoch → value).
private func trial(_ number: Int, _ values: [Int: Double], _ state: TrialState = .running) -> TrialRecord {
    TrialRecord(number: number, state: state, params: [:], intermediate: values)
}

/// One row of a decision table: the other trials, the judged trial's reports, the decision.
/// Values are losses (smaller is better); `check` also runs every row mirrored (negated values,
/// `.maximize`), which must decide the same.
private struct Row {
    var name: String
    var others: [TrialRecord]
    var reports: [Int: Double]
    var expected: Decision
    var number = 100
}

private func mirrored(_ t: TrialRecord) -> TrialRecord {
    var m = t
    m.intermediate = t.intermediate.mapValues { -$0 }
    return m
}

/// Checks each row in both directions, and that the decision is the same when asked again, with
/// the trial itself in `all`, and with `all` in another order (a restarted controller may load
/// the trials in any order).
private func check(_ scheduler: any Scheduler, _ rows: [Row], seed: UInt64 = 0,
                   file: StaticString = #filePath, line: UInt = #line) {
    for row in rows {
        for direction in Direction.allCases {
            let flip = direction == .maximize
            let own = trial(row.number, row.reports)
            let me = flip ? mirrored(own) : own
            let others = flip ? row.others.map(mirrored) : row.others
            var rng = SweepRandom(seed: 99)
            var shuffled = others + [me]
            rng.shuffle(&shuffled)
            let decisions = [
                scheduler.decide(trial: me, all: others, direction: direction, studySeed: seed),
                scheduler.decide(trial: me, all: others, direction: direction, studySeed: seed),
                scheduler.decide(trial: me, all: others.reversed(), direction: direction, studySeed: seed),
                scheduler.decide(trial: me, all: shuffled, direction: direction, studySeed: seed),
            ]
            for d in decisions {
                XCTAssertEqual(d, row.expected, "\(scheduler.name) \(direction): \(row.name)", file: file, line: line)
            }
        }
    }
}

final class SchedulerTests: XCTestCase {

    // MARK: ASHA

    func testASHAMilestones() throws {
        XCTAssertEqual(try ASHAScheduler(maxResource: 27).milestones, [1, 3, 9])
        XCTAssertEqual(try ASHAScheduler(maxResource: 28).milestones, [1, 3, 9, 27])
        XCTAssertEqual(try ASHAScheduler(reductionFactor: 2, minResource: 2, maxResource: 16).milestones, [2, 4, 8])
        XCTAssertEqual(try ASHAScheduler(maxResource: 27, gracePeriod: 2).milestones, [3, 9])
        XCTAssertEqual(try ASHAScheduler(maxResource: 1).milestones, [])
        XCTAssertEqual(try ASHAScheduler(reductionFactor: 2, maxResource: Int.max).milestones.count, 63)
    }

    func testASHADecisionTable() throws {
        let asha = try ASHAScheduler(reductionFactor: 3, minResource: 1, maxResource: 27)  // rungs 1, 3, 9
        let ramp = Dictionary(uniqueKeysWithValues: (1...27).map { ($0, 0.2) })
        check(asha, [
            Row(name: "alone at the first rung", others: [], reports: [1: 0.9], expected: .continue),
            Row(name: "between milestones, even the worst goes on",
                others: [trial(0, [1: 0.1, 2: 0.1])], reports: [1: 0.1, 2: 0.9], expected: .continue),
            Row(name: "2 values (< η): worse than the best stops",
                others: [trial(0, [1: 0.2])], reports: [1: 0.5], expected: .stop),
            Row(name: "2 values (< η): the best goes on",
                others: [trial(0, [1: 0.2])], reports: [1: 0.1], expected: .continue),
            Row(name: "a tie goes on",
                others: [trial(0, [1: 0.2])], reports: [1: 0.2], expected: .continue),
            Row(name: "3 values: only the best (k = 1)",
                others: [trial(0, [1: 0.1]), trial(1, [1: 0.5])], reports: [1: 0.3], expected: .stop),
            Row(name: "5 values: k = ⌊5/3⌋ = 1, second stops",
                others: [0.1, 0.4, 0.5, 0.6].enumerated().map { trial($0.offset, [1: $0.element]) },
                reports: [1: 0.3], expected: .stop),
            Row(name: "6 values: k = 2, second goes on",
                others: [0.1, 0.4, 0.5, 0.6, 0.7].enumerated().map { trial($0.offset, [1: $0.element]) },
                reports: [1: 0.3], expected: .continue),
            Row(name: "6 values: k = 2, third stops",
                others: [0.1, 0.2, 0.5, 0.6, 0.7].enumerated().map { trial($0.offset, [1: $0.element]) },
                reports: [1: 0.3], expected: .stop),
            Row(name: "only trials that reported at this rung compete",
                others: [trial(0, [1: 0.2, 2: 0.2]), trial(1, [1: 0.05], .pruned)],
                reports: [1: 0.1, 2: 0.5, 3: 0.5], expected: .continue),
            Row(name: "complete and pruned trials compete",
                others: [trial(0, ramp, .complete), trial(1, [1: 0.3, 2: 0.3, 3: 0.3], .pruned)],
                reports: [1: 0.1, 2: 0.4, 3: 0.4], expected: .stop),
            Row(name: "failed trials' reports compete too",
                others: [trial(0, [1: 0.1], .fail)], reports: [1: 0.4], expected: .stop),
            Row(name: "rung 9", others: [trial(0, ramp, .complete), trial(1, ramp, .complete)],
                reports: [1: 0.1, 3: 0.1, 9: 0.3], expected: .stop),
            Row(name: "a NaN at a milestone stops", others: [], reports: [1: .nan], expected: .stop),
            Row(name: "a NaN between milestones goes on", others: [], reports: [1: 0.1, 2: .nan], expected: .continue),
            Row(name: "others' NaN values are left out",
                others: [trial(0, [1: .nan]), trial(1, [1: .nan])], reports: [1: 0.5], expected: .continue),
            Row(name: "maxResource is not a rung",
                others: [trial(0, ramp, .complete)], reports: [27: 0.9], expected: .continue),
            Row(name: "no reports yet", others: [trial(0, ramp, .complete)], reports: [:], expected: .continue),
        ])
    }

    func testASHAReadsAsAccuracy() throws {
        // The same rule written the way a user sees it: accuracy, maximised.
        let asha = try ASHAScheduler(maxResource: 27)
        let others = [trial(0, [1: 0.90]), trial(1, [1: 0.60]), trial(2, [1: 0.70])]
        XCTAssertEqual(asha.decide(trial: trial(3, [1: 0.95]), all: others, direction: .maximize, studySeed: 0), .continue)
        XCTAssertEqual(asha.decide(trial: trial(3, [1: 0.80]), all: others, direction: .maximize, studySeed: 0), .stop)
        // The same numbers as losses: 0.60 is now the best.
        XCTAssertEqual(asha.decide(trial: trial(3, [1: 0.50]), all: others, direction: .minimize, studySeed: 0), .continue)
        XCTAssertEqual(asha.decide(trial: trial(3, [1: 0.65]), all: others, direction: .minimize, studySeed: 0), .stop)
    }

    func testASHAGracePeriodAndOtherLadders() throws {
        let graceful = try ASHAScheduler(maxResource: 27, gracePeriod: 2)  // rungs 3, 9
        check(graceful, [
            Row(name: "epoch 1 is inside the grace period",
                others: [trial(0, [1: 0.1])], reports: [1: 0.9], expected: .continue),
            Row(name: "epoch 3 is judged",
                others: [trial(0, [1: 0.1, 2: 0.1, 3: 0.1])], reports: [1: 0.9, 2: 0.9, 3: 0.9], expected: .stop),
        ])
        let halving = try ASHAScheduler(reductionFactor: 2, minResource: 2, maxResource: 16)  // rungs 2, 4, 8
        let four = [0.1, 0.2, 0.5].enumerated().map { trial($0.offset, [2: 0.3, 4: $0.element]) }
        check(halving, [
            Row(name: "epoch 1 is not a rung", others: [trial(0, [1: 0.1])], reports: [1: 0.9], expected: .continue),
            Row(name: "4 values, η = 2: the best 2 go on", others: four, reports: [2: 0.3, 4: 0.15], expected: .continue),
            Row(name: "4 values, η = 2: the third stops", others: four, reports: [2: 0.3, 4: 0.3], expected: .stop),
        ])
    }

    func testSettingsAreChecked() {
        XCTAssertThrowsError(try ASHAScheduler(reductionFactor: 1, maxResource: 27))
        XCTAssertThrowsError(try ASHAScheduler(minResource: 0, maxResource: 27))
        XCTAssertThrowsError(try ASHAScheduler(minResource: 5, maxResource: 4))
        XCTAssertThrowsError(try ASHAScheduler(maxResource: 27, gracePeriod: 0))
        XCTAssertThrowsError(try ASHAScheduler(maxResource: 27, gracePeriod: 28))
        XCTAssertThrowsError(try HyperbandScheduler(reductionFactor: 1, maxResource: 27))
        XCTAssertThrowsError(try HyperbandScheduler(minResource: 30, maxResource: 27))
        XCTAssertThrowsError(try MedianScheduler(warmupSteps: -1))
        XCTAssertThrowsError(try MedianScheduler(minTrials: 0))
        do {
            _ = try ASHAScheduler(reductionFactor: 1, maxResource: 27)
        } catch {
            XCTAssertEqual("\(error)", "'scheduler.reduction_factor': must be at least 2, got 1")
        }
    }

    // MARK: Hyperband

    func testHyperbandBrackets() throws {
        let hb = try HyperbandScheduler(reductionFactor: 3, minResource: 1, maxResource: 27)
        XCTAssertEqual(hb.bracketCount, 4)
        XCTAssertEqual(hb.bracketWeights, [27, 12, 6, 4])  // ⌈4·3^s/(s+1)⌉, s = 3, 2, 1, 0
        XCTAssertEqual((0..<4).map { hb.milestones(ofBracket: $0) }, [[1, 3, 9], [3, 9], [9], []])
        XCTAssertEqual(try HyperbandScheduler(maxResource: 81).bracketCount, 5)
        XCTAssertEqual(try HyperbandScheduler(maxResource: 26).bracketCount, 3)
        XCTAssertEqual(try HyperbandScheduler(maxResource: 1).bracketCount, 1)
        XCTAssertEqual(try HyperbandScheduler(minResource: 2, maxResource: 100).bracketCount, 4)  // 2, 6, 18, 54
        XCTAssertEqual(HyperbandScheduler.bracketCount(reductionFactor: 2, minResource: 1, maxResource: Int.max), 63)
        XCTAssertThrowsError(try HyperbandScheduler(reductionFactor: 2, maxResource: Int.max))  // weights past 2^63
        XCTAssertEqual(try HyperbandScheduler(reductionFactor: 2, maxResource: 1 << 40).bracketCount, 41)
    }

    func testHyperbandAssignmentIsDeterministicAndWeighted() throws {
        let hb = try HyperbandScheduler(maxResource: 27)
        let again = try HyperbandScheduler(maxResource: 27)
        let a = (0..<1000).map { hb.bracket(of: $0, studySeed: 7) }
        XCTAssertEqual(a, (0..<1000).map { hb.bracket(of: $0, studySeed: 7) })
        XCTAssertEqual(a, (0..<1000).map { again.bracket(of: $0, studySeed: 7) })
        XCTAssertNotEqual(a, (0..<1000).map { hb.bracket(of: $0, studySeed: 8) })
        // Known values pin the hash: a change would silently move every stored trial's bracket.
        XCTAssertEqual(Array(a.prefix(12)), Self.pinnedBrackets)

        let n = 49_000
        var counts = [Int](repeating: 0, count: 4)
        for t in 0..<n { counts[hb.bracket(of: t, studySeed: 3)] += 1 }
        for (b, w) in hb.bracketWeights.enumerated() {
            XCTAssertEqual(Double(counts[b]) / Double(n), Double(w) / 49, accuracy: 0.01, "bracket \(b): \(counts)")
        }
    }

    static let pinnedBrackets = [0, 0, 1, 2, 0, 0, 0, 1, 1, 3, 2, 1]

    func testHyperbandDecisionTable() throws {
        let hb = try HyperbandScheduler(maxResource: 27)  // rungs: [1, 3, 9], [3, 9], [9], []
        let seed: UInt64 = 11
        func numbers(in bracket: Int) -> [Int] {
            Array((0..<1000).filter { hb.bracket(of: $0, studySeed: seed) == bracket }.prefix(3))
        }
        let b0 = numbers(in: 0), b1 = numbers(in: 1), b3 = numbers(in: 3)
        let good: [Int: Double] = [1: 0.1, 2: 0.1, 3: 0.1, 4: 0.1, 5: 0.1, 6: 0.1, 7: 0.1, 8: 0.1, 9: 0.1]
        check(hb, [
            Row(name: "bracket 0, epoch 1: worse than a bracket-0 trial stops",
                others: [trial(b0[0], good)], reports: [1: 0.5], expected: .stop, number: b0[1]),
            Row(name: "bracket 0, epoch 1: other brackets do not compete",
                others: [trial(b1[0], good), trial(b3[0], good)], reports: [1: 0.5], expected: .continue, number: b0[1]),
            Row(name: "bracket 1, epoch 1 is not a rung",
                others: [trial(b1[0], good)], reports: [1: 0.9], expected: .continue, number: b1[1]),
            Row(name: "bracket 1, epoch 3: worse than a bracket-1 trial stops",
                others: [trial(b1[0], good), trial(b0[0], [1: 0.9])], reports: [1: 0.9, 2: 0.9, 3: 0.9],
                expected: .stop, number: b1[1]),
            Row(name: "bracket 1, epoch 3: bracket-0 trials do not compete",
                others: [trial(b0[0], good), trial(b0[1], good)], reports: [1: 0.9, 2: 0.9, 3: 0.9],
                expected: .continue, number: b1[1]),
            Row(name: "bracket 3 never stops",
                others: [trial(b3[0], good), trial(b3[1], good)], reports: good.mapValues { _ in 0.9 },
                expected: .continue, number: b3[2]),
        ], seed: seed)
    }

    // MARK: Median

    func testMedianDecisionTable() throws {
        let median = try MedianScheduler(warmupSteps: 1, minTrials: 5)
        // Five complete trials; at epoch 2 they reported 0.1 … 0.5 (median 0.3).
        let complete = (0..<5).map { trial($0, [1: 0.6, 2: 0.1 * Double($0 + 1), 3: 0.05], .complete) }
        check(median, [
            Row(name: "worse than the median stops", others: complete, reports: [1: 0.9, 2: 0.35], expected: .stop),
            Row(name: "better than the median goes on", others: complete, reports: [1: 0.9, 2: 0.25], expected: .continue),
            Row(name: "equal to the median goes on", others: complete, reports: [1: 0.9, 2: 0.3], expected: .continue),
            Row(name: "the best so far counts, not the value at the step",
                others: complete, reports: [1: 0.2, 2: 0.9], expected: .continue),
            Row(name: "epoch 1 is warm-up", others: complete, reports: [1: 0.9], expected: .continue),
            Row(name: "4 complete trials are too few",
                others: Array(complete.prefix(4)), reports: [1: 0.9, 2: 0.9], expected: .continue),
            Row(name: "running and pruned trials are not the reference",
                others: Array(complete.prefix(4)) + [trial(5, [1: 0.1, 2: 0.1]), trial(6, [1: 0.1, 2: 0.1], .pruned)],
                reports: [1: 0.9, 2: 0.9], expected: .continue),
            Row(name: "complete trials without a value at the step do not count",
                others: Array(complete.prefix(4)) + [trial(7, [1: 0.1], .complete)],
                reports: [1: 0.9, 2: 0.9], expected: .continue),
            Row(name: "an even count takes the mean of the middle two (0.4)",
                others: [0.1, 0.2, 0.3, 0.5, 0.6, 0.7].enumerated().map { trial($0.offset, [2: $0.element], .complete) },
                reports: [1: 0.9, 2: 0.45], expected: .stop),
            Row(name: "an even count, below the mean of the middle two",
                others: [0.1, 0.2, 0.3, 0.5, 0.6, 0.7].enumerated().map { trial($0.offset, [2: $0.element], .complete) },
                reports: [1: 0.9, 2: 0.35], expected: .continue),
            Row(name: "only NaN reports stop", others: complete, reports: [1: .nan, 2: .nan], expected: .stop),
            Row(name: "a NaN report does not hide an earlier good one",
                others: complete, reports: [1: 0.2, 2: .nan], expected: .continue),
            Row(name: "others' NaN values are left out",
                others: Array(complete.prefix(4)) + [trial(8, [2: .nan], .complete)],
                reports: [1: 0.9, 2: 0.9], expected: .continue),
        ])
        let eager = try MedianScheduler(warmupSteps: 0, minTrials: 5)
        check(eager, [
            Row(name: "no warm-up: epoch 1 is judged", others: complete, reports: [1: 0.9], expected: .stop),
        ])
    }

    func testMedianReadsAsAccuracy() throws {
        let median = try MedianScheduler(warmupSteps: 0, minTrials: 3)
        let complete = [0.70, 0.80, 0.90].enumerated().map { trial($0.offset, [1: $0.element], .complete) }
        XCTAssertEqual(median.decide(trial: trial(9, [1: 0.75]), all: complete, direction: .maximize, studySeed: 0), .stop)
        XCTAssertEqual(median.decide(trial: trial(9, [1: 0.85]), all: complete, direction: .maximize, studySeed: 0), .continue)
        XCTAssertEqual(median.decide(trial: trial(9, [1: 0.75]), all: complete, direction: .minimize, studySeed: 0), .continue)
    }

    // MARK: Restart

    /// A restarted controller rebuilds the schedulers and reloads the trials from the store (in
    /// any order): every decision must come out the same.
    func testDecisionsSurviveARestart() throws {
        var rng = SweepRandom(seed: 5)
        let states: [TrialState] = [.running, .complete, .pruned, .fail]
        let history: [TrialRecord] = (0..<40).map { n in
            let steps = 1 + rng.nextInt(below: 27)
            let values = Dictionary(uniqueKeysWithValues: (1...steps).map { ($0, rng.nextDouble()) })
            return trial(n, values, states[rng.nextInt(below: 4)])
        }
        let reloaded = try JSONDecoder().decode([TrialRecord].self, from: JSONEncoder().encode(history))
        var shuffled = reloaded
        rng.shuffle(&shuffled)
        func make() throws -> [any Scheduler] {
            [try ASHAScheduler(maxResource: 27), try HyperbandScheduler(maxResource: 27), try MedianScheduler(minTrials: 3)]
        }
        let before = try make(), after = try make()
        var stops = 0
        for (a, b) in zip(before, after) {
            for direction in Direction.allCases {
                for t in history {
                    let d = a.decide(trial: t, all: history, direction: direction, studySeed: 42)
                    let again = b.decide(trial: reloaded[t.number], all: shuffled, direction: direction, studySeed: 42)
                    XCTAssertEqual(d, again, "\(a.name) trial \(t.number)")
                    if d == .stop { stops += 1 }
                }
            }
        }
        XCTAssertGreaterThan(stops, 0)  // the history exercises both decisions
    }

    // MARK: Learning-curve benchmark

    func testBenchmarkIsDeterministicAndSymmetric() throws {
        let accuracy = LearningCurveBenchmark(trials: 40, maxResource: 27)
        let error = LearningCurveBenchmark(trials: 40, maxResource: 27, direction: .minimize)
        let schedulers: [any Scheduler] = [
            try ASHAScheduler(maxResource: 27), try HyperbandScheduler(maxResource: 27), try MedianScheduler(),
        ]
        for s in schedulers {
            for seed: UInt64 in [1, 2] {
                let a = accuracy.run(s, seed: seed)
                XCTAssertEqual(a, accuracy.run(s, seed: seed), s.name)
                let e = error.run(s, seed: seed)
                XCTAssertEqual(a.totalEpochs, e.totalEpochs, s.name)
                XCTAssertEqual(a.bestTrial, e.bestTrial, s.name)
                XCTAssertEqual(a.bestFinal!, 1 - e.bestFinal!, accuracy: 1e-12, s.name)
            }
        }
        let none = accuracy.run(NoScheduler(), seed: 1)
        XCTAssertEqual(none.totalEpochs, 40 * 27)
        XCTAssertEqual(none.completed, 40)
    }

    /// The target: at a fixed number of trials, ASHA finds random search's best with at
    /// least 3x fewer epochs. 81 trials, 27 epochs each, η = 3, rungs at epochs 1, 3, 9; "finds"
    /// means a best final accuracy at most 0.005 (the report noise) below the baseline's.
    func testASHAReachesRandomSearchBestWithAThirdOfTheEpochs() throws {
        let asha = try ASHAScheduler(reductionFactor: 3, minResource: 1, maxResource: 27)
        let seeds = Array(UInt64(1)...10)
        for workers in [1, 2] {
            let bench = LearningCurveBenchmark(trials: 81, maxResource: 27, workers: workers)
            let rows = bench.compare(asha, seeds: seeds)
            print(Self.table(rows, title: "ASHA vs no early stopping, 81 trials × 27 epochs, \(workers) worker(s)"))
            for r in rows {
                XCTAssertGreaterThanOrEqual(r.resourceRatio, 3, "seed \(r.seed), \(workers) workers")
            }
            let reached = rows.filter { $0.reachesBaseline(tolerance: 0.005) }.count
            XCTAssertGreaterThan(reached, seeds.count / 2, "\(workers) workers: best reached on \(reached) of \(seeds.count) seeds")
        }
    }

    /// Figures for every scheduler (printed; only the invariants are asserted).
    func testLearningCurveFiguresForAllSchedulers() throws {
        let seeds = Array(UInt64(1)...10)
        for (trials, epochs) in [(81, 27), (100, 81)] {
            let schedulers: [any Scheduler] = [
                try ASHAScheduler(maxResource: epochs), try HyperbandScheduler(maxResource: epochs), try MedianScheduler(),
            ]
            for s in schedulers {
                let rows = LearningCurveBenchmark(trials: trials, maxResource: epochs).compare(s, seeds: seeds)
                print(Self.table(rows, title: "\(s.name) vs none, \(trials) trials × \(epochs) epochs"))
                for r in rows {
                    XCTAssertLessThanOrEqual(r.candidate.totalEpochs, r.baseline.totalEpochs)
                    XCTAssertLessThanOrEqual(r.candidate.bestFinal!, r.baseline.bestFinal!)
                }
            }
        }
    }

    static func table(_ rows: [LearningCurveBenchmark.Comparison], title: String) -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "-" }
        var out = "\(title)\nseed  epochs(none)  epochs(sched)  ratio  best(none)  best(sched)  reached\n"
        for r in rows {
            out += String(format: "%4d  %12d  %13d  %5.2f  ", r.seed, r.baseline.totalEpochs, r.candidate.totalEpochs, r.resourceRatio)
            out += "\(f(r.baseline.bestFinal))      \(f(r.candidate.bestFinal))       \(r.reachesBaseline(tolerance: 0.005))\n"
        }
        let ratio = Double(rows.map(\.baseline.totalEpochs).reduce(0, +)) / Double(rows.map(\.candidate.totalEpochs).reduce(0, +))
        out += String(format: "total ratio %.2f, reached %d of %d", ratio, rows.filter { $0.reachesBaseline(tolerance: 0.005) }.count, rows.count)
        return out
    }
}
