import XCTest
import SweepCore
@testable import SweepSearch

final class WarmStartTests: XCTestCase {
    func space(lr: (Double, Double), units: [Int], extra: Bool = false) throws -> SearchSpace {
        var ps = [Parameter(name: "lr", distribution: try .makeFloat(lr.0, lr.1, log: true)),
                  Parameter(name: "units", distribution: try .makeCategorical(units.map { .int($0) }))]
        if extra { ps.append(Parameter(name: "dropout", distribution: try .makeFloat(0, 0.5))) }
        return try SearchSpace(ps)
    }

    /// A table of earlier trials -> which fit a new space, converted by external value.
    func testTrialsThatFitTheNewSpaceBecomePriors() throws {
        let old = try space(lr: (1e-4, 1e-1), units: [32, 64, 128])
        let trials = [
            TrialRecord(number: 0, state: .complete, params: ["lr": 1e-3, "units": 2], value: 0.9),     // 128: index 0 in the new list
            TrialRecord(number: 1, state: .complete, params: ["lr": 5e-2, "units": 0], value: 0.8),     // lr outside the narrowed range
            TrialRecord(number: 2, state: .pruned, params: ["lr": 1e-3, "units": 1], value: 0.5),       // not complete
            TrialRecord(number: 3, state: .complete, params: ["lr": 2e-3, "units": 0], value: .nan),    // no finite value
            TrialRecord(number: 4, state: .complete, params: ["lr": 2e-3, "units": 1], value: 0.7, intermediate: [1: 0.6]),
            TrialRecord(number: 5, state: .complete, params: ["lr": 3e-3, "units": 0], value: 0.6),     // 32 is gone
        ]
        let new = try space(lr: (1e-4, 1e-2), units: [128, 64, 256])
        let (priors, skipped) = WarmStart.priors(from: [.init(study: "old", space: old, trials: trials)], for: new)
        XCTAssertEqual(skipped, 3, "complete trials that do not fit (1, 3, 5); the pruned one is not a candidate")
        XCTAssertEqual(priors, [WarmStart.Prior(study: "old", trial: 0, params: ["lr": 1e-3, "units": 0], value: 0.9),
                                WarmStart.Prior(study: "old", trial: 4, params: ["lr": 2e-3, "units": 1], value: 0.7)])
        let records = WarmStart.records(priors)
        XCTAssertEqual(records.map(\.number), [-2, -1])
        XCTAssertTrue(records.allSatisfy { $0.isPrior && $0.state == .complete && $0.intermediate.isEmpty },
                      "reports are the earlier study's, not for this study's schedulers")
        XCTAssertTrue(priors.allSatisfy { new.isValid($0.params) })
        // A new parameter the old trials lack: none fits; two sources keep their order.
        XCTAssertEqual(WarmStart.priors(from: [.init(study: "old", space: old, trials: trials)], for: try space(lr: (1e-4, 1e-1), units: [32, 64, 128], extra: true)).priors.count, 0)
        let both = WarmStart.priors(from: [.init(study: "old", space: old, trials: [trials[0]]), .init(study: "old", space: old, trials: [trials[4]])], for: new).priors
        XCTAssertEqual(both.map(\.value), [0.9, 0.7])
    }

    /// Priors shape the sampler: TPE warm-started near a good region proposes there at once.
    func testPriorsSteerTPEFromItsFirstTrial() throws {
        let s = try SearchSpace([Parameter(name: "x", distribution: try .makeFloat(0, 1))])
        let old = (0..<40).map { n -> TrialRecord in
            let x = Double(n) / 40
            return TrialRecord(number: n, state: .complete, params: ["x": x], value: (x - 0.8) * (x - 0.8))
        }
        let priors = WarmStart.records(WarmStart.priors(from: [.init(study: "old", space: s, trials: old)], for: s).priors)
        let tpe = TPESampler()
        let proposals = (0..<5).map { tpe.suggest(space: s, history: priors, direction: .minimize, trialNumber: $0, studySeed: 1)["x"]! }
        XCTAssertTrue(proposals.allSatisfy { abs($0 - 0.8) < 0.2 }, "\(proposals)")
        // Every sampler accepts negative numbers in its history.
        let samplers: [any Sampler] = [RandomSampler(), GPSampler(), NSGAIISampler(populationSize: 4), try GridSampler(space: try SearchSpace([Parameter(name: "x", distribution: try .makeFloat(0, 1, step: 0.25))]))]
        for sampler in samplers {
            let space = sampler is GridSampler ? try SearchSpace([Parameter(name: "x", distribution: try .makeFloat(0, 1, step: 0.25))]) : s
            let history = WarmStart.records(WarmStart.priors(from: [.init(study: "old", space: space, trials: [TrialRecord(number: 0, state: .complete, params: ["x": 0.5], value: 1)])], for: space).priors)
            XCTAssertEqual(history.map(\.number), [-1])
            XCTAssertTrue(space.isValid(sampler.suggest(space: space, history: history, direction: .minimize, trialNumber: 4, studySeed: 2)), sampler.name)
        }
    }

    /// Priors stand in for start-up trials (GP), and take no point of a grid or of the repeat
    /// avoidance: the study may measure a prior's configuration itself.
    func testPriorsCountAsStartUpButTakeNoPoint() throws {
        let s = try SearchSpace([Parameter(name: "x", distribution: try .makeFloat(0, 1))])
        let old = (0..<12).map { n -> TrialRecord in
            let x = Double(n) / 12
            return TrialRecord(number: n, state: .complete, params: ["x": x], value: (x - 0.7) * (x - 0.7))
        }
        let priors = WarmStart.records(WarmStart.priors(from: [.init(study: "old", space: s, trials: old)], for: s).priors)
        let gp = GPSampler(candidates: 256)
        let startup = gp.suggest(space: s, history: [], direction: .minimize, trialNumber: 0, studySeed: 4)
        let cold = gp.suggest(space: s, history: Array(priors.prefix(1)), direction: .minimize, trialNumber: 0, studySeed: 4)
        XCTAssertEqual(cold, gp.suggest(space: s, history: [], direction: .minimize, trialNumber: 1, studySeed: 4),
                       "one prior: not enough to fit, the start-up sequence's next point")
        let warm = gp.suggest(space: s, history: priors, direction: .minimize, trialNumber: 0, studySeed: 4)
        XCTAssertNotEqual(warm, startup)
        XCTAssertLessThan(abs(warm["x"]! - 0.7), 0.15, "the GP's first trial is model-based: \(warm)")

        let d = try SearchSpace([Parameter(name: "x", distribution: try .makeFloat(0, 1, step: 0.25))])
        let grid = try GridSampler(space: d)
        let onePrior = WarmStart.records([WarmStart.Prior(study: "old", trial: 0, params: grid.points[0], value: 1)])
        XCTAssertEqual(grid.suggest(space: d, history: onePrior, direction: .minimize, trialNumber: 0, studySeed: 9),
                       grid.suggest(space: d, history: [], direction: .minimize, trialNumber: 0, studySeed: 9))
        let all = WarmStart.records(grid.points.enumerated().map { WarmStart.Prior(study: "old", trial: $0.offset, params: $0.element, value: 1) })
        XCTAssertFalse(TakenConfigurations(space: d, history: all, trialNumber: 0).contains(grid.points[0]))
    }
}
