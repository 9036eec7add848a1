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
        let (priors, skipped) = WarmStart.priors(from: [.init(space: old, trials: trials)], for: new)
        XCTAssertEqual(skipped, 3, "complete trials that do not fit (1, 3, 5); the pruned one is not a candidate")
        XCTAssertEqual(priors.map(\.number), [-2, -1])
        XCTAssertEqual(priors[0].params, ["lr": 1e-3, "units": 0])
        XCTAssertEqual(priors[1].params, ["lr": 2e-3, "units": 1])
        XCTAssertEqual(priors.map(\.value), [0.9, 0.7])
        XCTAssertEqual(priors[1].intermediate, [:], "reports are the earlier study's, not for this study's schedulers")
        XCTAssertTrue(priors.allSatisfy { new.isValid($0.params) })
        // A new parameter the old trials lack: none fits; two sources keep their order.
        XCTAssertEqual(WarmStart.priors(from: [.init(space: old, trials: trials)], for: try space(lr: (1e-4, 1e-1), units: [32, 64, 128], extra: true)).priors.count, 0)
        let both = WarmStart.priors(from: [.init(space: old, trials: [trials[0]]), .init(space: old, trials: [trials[4]])], for: new).priors
        XCTAssertEqual(both.map(\.value), [0.9, 0.7])
    }

    /// Priors shape the sampler: TPE warm-started near a good region proposes there at once.
    func testPriorsSteerTPEFromItsFirstTrial() throws {
        let s = try SearchSpace([Parameter(name: "x", distribution: try .makeFloat(0, 1))])
        let old = (0..<40).map { n -> TrialRecord in
            let x = Double(n) / 40
            return TrialRecord(number: n, state: .complete, params: ["x": x], value: (x - 0.8) * (x - 0.8))
        }
        let priors = WarmStart.priors(from: [.init(space: s, trials: old)], for: s).priors
        let tpe = TPESampler()
        let proposals = (0..<5).map { tpe.suggest(space: s, history: priors, direction: .minimize, trialNumber: $0, studySeed: 1)["x"]! }
        XCTAssertTrue(proposals.allSatisfy { abs($0 - 0.8) < 0.2 }, "\(proposals)")
        // Every sampler accepts negative numbers in its history.
        let samplers: [any Sampler] = [RandomSampler(), GPSampler(), NSGAIISampler(populationSize: 4), try GridSampler(space: try SearchSpace([Parameter(name: "x", distribution: try .makeFloat(0, 1, step: 0.25))]))]
        for sampler in samplers {
            let space = sampler is GridSampler ? try SearchSpace([Parameter(name: "x", distribution: try .makeFloat(0, 1, step: 0.25))]) : s
            let history = WarmStart.priors(from: [.init(space: space, trials: [TrialRecord(number: 0, state: .complete, params: ["x": 0.5], value: 1)])], for: space).priors
            XCTAssertEqual(history.map(\.number), [-1])
            XCTAssertTrue(space.isValid(sampler.suggest(space: space, history: history, direction: .minimize, trialNumber: 4, studySeed: 2)), sampler.name)
        }
    }
}
