import Foundation
import XCTest
import SweepCore
@testable import SweepSearch

/// Discrete spaces as what they are: ordered numeric choices, no repeated configurations, the
/// GP's discrete neighbourhood search, the tabular landscapes the benchmark looks results up in,
/// and the `auto` rule.
final class DiscreteSpaceTests: XCTestCase {
    static func choice(_ name: String, _ values: [ParamValue]) -> Parameter {
        Parameter(name: name, distribution: try! .makeCategorical(values))
    }

    /// 4 x 4 x 3 = 48 configurations: widths, learning rates, activations.
    static let space = try! SearchSpace([
        choice("units", [.int(16), .int(32), .int(64), .int(128)]),
        choice("lr", [.double(0.0001), .double(0.001), .double(0.01), .double(0.1)]),
        choice("act", [.string("relu"), .string("tanh"), .string("gelu")]),
    ])

    /// A smooth bowl over the positions of the numeric choices, best at units 64, lr 0.01, gelu.
    static func loss(_ p: [String: Double]) -> Double {
        let u = p["units"]! - 2, l = p["lr"]! - 2, a = p["act"]! == 2 ? 0.0 : 1.0
        return u * u + l * l + a
    }

    func testOrdinalPositionsUseTheScaleTheValuesCallFor() {
        let widths = try! Distribution.makeCategorical([.int(16), .int(32), .int(64), .int(128)])
        let pos = widths.ordinalPositions!
        for (a, b) in zip(pos, [0, 1.0 / 3, 2.0 / 3, 1]) { XCTAssertEqual(a, b, accuracy: 1e-12) }  // log: equal ratios
        let linear = try! Distribution.makeCategorical([.double(0), .double(0.25), .double(1)]).ordinalPositions!
        XCTAssertEqual(linear, [0, 0.25, 1])   // contains 0: linear
        let lr = try! Distribution.makeCategorical([.double(0.0003), .double(0.001), .double(0.003), .double(0.01)]).ordinalPositions!
        XCTAssertEqual(lr[2], log(10.0) / log(0.01 / 0.0003), accuracy: 1e-12)
        XCTAssertEqual(try! Distribution.makeCategorical([.int(1), .int(2), .int(3), .int(4)]).ordinalPositions!, [0, 1.0 / 3, 2.0 / 3, 1])
        XCTAssertNil(try! Distribution.makeCategorical([.int(1), .int(2)]).ordinalPositions)           // two choices
        XCTAssertNil(try! Distribution.makeCategorical([.int(1), .string("x"), .int(3)]).ordinalPositions)
        XCTAssertNil(try! Distribution.makeFloat(0, 1).ordinalPositions)
    }

    func testGPEncodesOrderedChoicesAsOneColumn() {
        let e = GP.Encoding(space: Self.space)
        XCTAssertEqual(e.width, [1, 1, 3])
        var f = [Double](repeating: 0, count: e.featureCount)
        e.features(of: ["units": 2, "lr": 3, "act": 1], into: &f[...])
        XCTAssertEqual(f[0], 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(f[1], 1, accuracy: 1e-12)
        XCTAssertEqual(Array(f[2...]), [0, 1, 0])
        XCTAssertEqual(GP.Encoding(space: Self.space, ordinal: false).width, [4, 4, 3])
    }

    /// Runs `trials` sequential trials; `running` trials stay RUNNING (a parallel study).
    func study(_ s: any Sampler, trials: Int, running: Set<Int> = [], seed: UInt64 = 1) -> [TrialRecord] {
        var h: [TrialRecord] = []
        for i in 0..<trials {
            let p = s.suggest(space: Self.space, history: h, direction: .minimize, trialNumber: i, studySeed: seed)
            XCTAssertTrue(Self.space.isValid(p), "\(s.name): \(p)")
            h.append(running.contains(i) ? TrialRecord(number: i, state: .running, params: p)
                                         : TrialRecord(number: i, state: .complete, params: p, value: Self.loss(p)))
        }
        return h
    }

    func testNoConfigurationIsProposedTwiceUntilTheSpaceIsExhausted() {
        for s: any Sampler in [TPESampler(startupTrials: 5), TPESampler(startupTrials: 5, ordinalChoices: true),
                               GPSampler(startupTrials: 5, candidates: 128)] {
            for seed: UInt64 in [1, 2] {
                let h = study(s, trials: 48, running: [7, 20, 33], seed: seed)
                XCTAssertEqual(Set(h.map(\.params)).count, 48, "\(s.name), seed \(seed)")
                // Exhausted: the 49th may repeat, and is still valid.
                let next = s.suggest(space: Self.space, history: h, direction: .minimize, trialNumber: 48, studySeed: seed)
                XCTAssertTrue(Self.space.isValid(next))
            }
        }
    }

    func testRepeatsCanBeAllowed() {
        // TPE converges onto the bowl's minimum and, allowed to, proposes it again.
        let h = study(TPESampler(startupTrials: 5, avoidRepeats: false), trials: 48)
        XCTAssertLessThan(Set(h.map(\.params)).count, 48)
        XCTAssertThrowsError(try SamplerFactory.make(ComponentSpec(name: "tpe", options: ["allow_repeats": 2]),
                                                     space: Self.space, budget: Budget(trials: 10), file: "f.yaml"))
    }

    func testModelBasedSamplersFindTheDiscreteOptimumSoonerThanRandom() {
        // Median over seeds of the trial that first hits the optimum (48 if never).
        func firstHit(_ s: any Sampler) -> Double {
            let hits = (1...7).map { seed -> Double in
                let h = study(s, trials: 30, seed: UInt64(seed))
                return Double(h.firstIndex { Self.loss($0.params) == 0 } ?? 48)
            }
            return SamplerBenchmark.median(hits)
        }
        let random = firstHit(RandomSampler())
        XCTAssertLessThan(firstHit(GPSampler(startupTrials: 5, candidates: 128)), random)
        XCTAssertLessThan(firstHit(TPESampler(startupTrials: 5)), random)
    }

    func testAcquisitionSearchesTheDiscreteNeighbourhood() {
        // From a single candidate far from the optimum, the neighbourhood walk reaches it.
        let e = GP.Encoding(space: Self.space)
        var x: [Double] = [], y: [Double] = []
        let all = (0..<4).flatMap { u in (0..<4).flatMap { l in (0..<3).map { a in ["units": Double(u), "lr": Double(l), "act": Double(a)] } } }
        for p in all {
            var f = [Double](repeating: 0, count: e.featureCount)
            e.features(of: p, into: &f[...])
            x += f; y.append(Self.loss(p))
        }
        let z = GPSampler.standardize(y)
        var rng = SweepRandom(seed: 1)
        let params = GP.fitKernel(x: x, y: z, n: all.count, d: e.featureCount, restarts: 1, rng: &rng)
        let model = GP.Model(x: x, y: z, n: all.count, params: params)!
        let acquisition = GP.Acquisition(encoding: e, model: model, best: z.min()!)
        let start = e.unitPoint(of: ["units": 0, "lr": 0, "act": 0]) { 0.5 }
        let best = acquisition.maximize(start, count: 1)
        XCTAssertEqual(e.assignment(best), ["units": 2, "lr": 2, "act": 2])
    }

    func testAutoRuleFollowsTheSpaceAndBudget() throws {
        func pick(_ space: SearchSpace, _ trials: Int) -> SamplerFactory.AutoChoice {
            SamplerFactory.autoChoice(space: space, budget: Budget(trials: trials))
        }
        XCTAssertEqual(pick(try SearchSpace([]), 10).sampler, "random")
        XCTAssertEqual(pick(Self.space, 48), SamplerFactory.AutoChoice(sampler: "grid",
            reason: "every parameter is discrete and all 48 configurations fit in the budget of 48 trials"))
        XCTAssertEqual(pick(Self.space, 47).sampler, "gp")
        XCTAssertTrue(pick(Self.space, 47).reason.contains("all 3 parameters discrete (48 configurations)"), pick(Self.space, 47).reason)
        let mixed = try SearchSpace(Self.space.parameters + [Parameter(name: "wd", distribution: try .makeFloat(1e-6, 1e-2, log: true))])
        XCTAssertEqual(pick(mixed, 100).sampler, "gp")
        XCTAssertTrue(pick(mixed, 100).reason.contains("3 of 4 parameters discrete"))
        XCTAssertEqual(pick(mixed, 201).sampler, "tpe")
        let conditional = try SearchSpace([
            Self.choice("opt", [.string("sgd"), .string("adam")]),
            Parameter(name: "momentum", distribution: try .makeFloat(0, 1), conditions: [Condition(parent: "opt", values: [.string("sgd")])]),
            Parameter(name: "beta", distribution: try .makeFloat(0, 1), conditions: [Condition(parent: "opt", values: [.string("adam")])]),
        ])
        XCTAssertEqual(pick(conditional, 100).sampler, "tpe")
        // The factory builds what the rule names.
        for (space, trials, name) in [(Self.space, 48, "grid"), (Self.space, 47, "gp"), (mixed, 500, "tpe")] {
            XCTAssertEqual(try SamplerFactory.make(ComponentSpec(name: "auto"), space: space, budget: Budget(trials: trials), file: "f").name, name)
        }
    }

    // MARK: Tabular landscapes

    static let table = """
        {"format": "sweep-tabular-landscape/1", "name": "t", "space": "units: {choice: [16, 32]}\\nact: {choice: [\\"relu\\", \\"tanh\\"]}",
         "columns": ["units", "act", "val_loss", "val_accuracy"],
         "rows": [[16, "relu", 0.5, 0.8], [16, "tanh", 0.25, 0.9], [32, "relu", null, 0.1], [32, "tanh", 1.5, 0.5]]}
        """

    func testTabularLandscapeLooksConfigurationsUp() throws {
        let t = try TabularLandscape(json: Data(Self.table.utf8), file: "t.json")
        XCTAssertEqual(t.id, "t")
        XCTAssertEqual(t.searchSpace.names, ["units", "act"])
        XCTAssertEqual(t.searchSpace["units"]?.distribution, .categorical([.int(16), .int(32)]))
        XCTAssertEqual(t.size, 4)
        XCTAssertEqual(t.evaluate(params: ["units": 0, "act": 1]), 0.25)
        XCTAssertEqual(t.evaluate(params: ["units": 1, "act": 0]), 1.5)   // diverged: the worst finite loss
        XCTAssertNil(t.evaluate(params: ["units": 0]))
        XCTAssertEqual(t.fOpt, 0.25)
        let run = try SamplerBenchmark.run(RandomSampler(), on: t, trials: 6, seed: 0)
        XCTAssertGreaterThan(run.repeats, 0)   // 6 draws from 4 configurations
    }

    func testTabularLandscapeRejectsIncompleteTables() {
        let missing = Self.table.replacingOccurrences(of: ", [32, \"tanh\", 1.5, 0.5]", with: "")
        XCTAssertThrowsError(try TabularLandscape(json: Data(missing.utf8), file: "t.json")) {
            XCTAssertTrue("\($0)".contains("1 of the grid's 4 configurations are missing"), "\($0)")
        }
        let unknown = Self.table.replacingOccurrences(of: "[16, \"relu\", 0.5", with: "[16, \"selu\", 0.5")
        XCTAssertThrowsError(try TabularLandscape(json: Data(unknown.utf8), file: "t.json")) {
            XCTAssertTrue("\($0)".contains("'selu' is not a choice of act"), "\($0)")
        }
    }

    /// A table with the deployment columns as a multi-objective problem: objectives (1 − deployed
    /// validation accuracy, MB), the true front's reference and hypervolume, and the test side.
    func testTabularLandscapeAsAMultiObjectiveProblem() throws {
        let table = """
            {"format": "sweep-tabular-landscape/1", "name": "m", "space": "units: {choice: [16, 32]}\\nq: {choice: [\\"none\\", \\"int8\\"]}",
             "columns": ["units", "q", "val_loss", "val_accuracy", "test_accuracy", "deployed_val_accuracy", "deployed_test_accuracy", "model_bytes", "parameters"],
             "rows": [[16, "none", 0.5, 0.8, 0.7, 0.8, 0.7, 4000, 1000], [16, "int8", 0.5, 0.8, 0.7, 0.75, 0.6, 1000, 1000],
                      [32, "none", 0.3, 0.9, 0.9, 0.9, 0.9, 8000, 2000], [32, "int8", null, 0.9, 0.9, null, 0.85, 2000, 2000]]}
            """
        let t = try TabularLandscape(json: Data(table.utf8), file: "m.json")
        let p = try MultiObjectiveProblem.landscape(t, file: "m.json")
        XCTAssertEqual(p.id, "m")
        let v = try XCTUnwrap(p.evaluate(["units": 0, "q": 1]))
        XCTAssertEqual(v[0], 0.25, accuracy: 1e-12)
        XCTAssertEqual(v[1], 0.001, accuracy: 1e-12)
        XCTAssertEqual(p.evaluate(["units": 1, "q": 1]), [1, 0.002])   // no accuracy: error 1
        XCTAssertNil(p.evaluate(["units": 2, "q": 0]))
        // Validation front: (0.25, 0.001), (0.2, 0.004), (0.1, 0.008); reference = worst + a tenth of the range.
        XCTAssertEqual(p.reference[0], 0.25 + 0.1 * 0.15, accuracy: 1e-12)
        XCTAssertEqual(p.reference[1], 0.008 + 0.1 * 0.007, accuracy: 1e-12)
        let front = [[0.25, 0.001], [0.2, 0.004], [0.1, 0.008]]
        XCTAssertEqual(p.optimalHypervolume, Pareto.hypervolume(front, reference: p.reference), accuracy: 1e-15)
        // The test side judges the trials picked by validation with their test error.
        let test = try XCTUnwrap(p.test)
        XCTAssertEqual(test.evaluate(["units": 1, "q": 1])?[0] ?? 0, 0.15, accuracy: 1e-12)
        let run = MultiObjectiveRun(problem: "m", sampler: "s", seed: 0, values: [[0.25, 0.001], [0.2, 0.004], [0.5, 0.0005]],
                                    testValues: [[0.4, 0.001], [0.3, 0.004], [0.01, 0.0005]])
        // Trial 2 is dominated nowhere on validation ([0.5, 0.0005] is on the front), so it counts on test too.
        XCTAssertEqual(run.testHypervolume(after: 2, reference: test.reference),
                       Pareto.hypervolume([[0.4, 0.001], [0.3, 0.004]], reference: test.reference))
        XCTAssertNil(MultiObjectiveRun(problem: "m", sampler: "s", seed: 0, values: [[1, 1]]).testHypervolume(after: 1, reference: [2, 2]))
        // A table recorded before the deployment columns is refused with the column it lacks.
        XCTAssertThrowsError(try MultiObjectiveProblem.landscape(TabularLandscape(json: Data(Self.table.utf8), file: "t.json"), file: "t.json")) {
            XCTAssertTrue("\($0)".contains("t.json") && "\($0)".contains("deployed_val_accuracy"), "\($0)")
        }
    }
}
