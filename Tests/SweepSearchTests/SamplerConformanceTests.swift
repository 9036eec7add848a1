import XCTest
import SweepCore
@testable import SweepSearch

/// The contract of `Sampler`, checked against every sampler: values inside their distributions,
/// exactly the active parameters, determinism, and coping with failed, pruned and running trials.
final class SamplerConformanceTests: XCTestCase {
    static let space = try! StudySpec.parse(SearchSpaceTests.yaml, file: "space.yaml").space
    static let discrete = try! SearchSpace([
        Parameter(name: "opt", distribution: try! .makeCategorical([.string("sgd"), .string("adam")])),
        Parameter(name: "momentum", distribution: try! .makeFloat(0.5, 0.9, step: 0.2), conditions: [Condition(parent: "opt", values: [.string("sgd")])]),
        Parameter(name: "units", distribution: try! .makeInt(16, 64, step: 16)),
    ])

    /// A toy objective over any assignment: deterministic, with a clear optimum.
    static func objective(_ v: [String: Double], space: SearchSpace) -> Double {
        var s = 0.0
        for p in space.parameters { if let x = v[p.name] { s += pow(p.distribution.unit(x) - 0.3, 2) } }
        return s
    }

    func samplers(for space: SearchSpace) -> [Sampler] {
        var out: [Sampler] = [RandomSampler(), TPESampler(startupTrials: 5)]
        if let g = try? GridSampler(space: space) { out.append(g) }
        out.append(GPSampler(startupTrials: 5))
        return out
    }

    /// A history with every state: complete, failed, pruned, running.
    func history(_ sampler: Sampler, space: SearchSpace, n: Int) -> [TrialRecord] {
        var h: [TrialRecord] = []
        for i in 0..<n {
            let v = sampler.suggest(space: space, history: h, direction: .minimize, trialNumber: i, studySeed: 11)
            let state: TrialState = i % 7 == 3 ? .fail : i % 7 == 5 ? .pruned : .complete
            h.append(TrialRecord(number: i, state: state, params: v, value: state == .fail ? nil : Self.objective(v, space: space),
                                 intermediate: state == .pruned ? [1: 1.0] : [:]))
        }
        h.append(TrialRecord(number: n, state: .running, params: h.last!.params))
        return h
    }

    func testValuesAreValidAndActive() {
        for space in [Self.space, Self.discrete] {
            for s in samplers(for: space) {
                let h = history(s, space: space, n: 16)
                for t in h { XCTAssertTrue(space.isValid(t.params), "\(s.name): \(t.params)") }
                let next = s.suggest(space: space, history: h, direction: .maximize, trialNumber: 17, studySeed: 11)
                XCTAssertTrue(space.isValid(next), "\(s.name): \(next)")
            }
        }
    }

    func testDeterministic() {
        for space in [Self.space, Self.discrete] {
            for s in samplers(for: space) {
                let h = history(s, space: space, n: 14)
                XCTAssertEqual(h, history(s, space: space, n: 14), s.name)
                let a = s.suggest(space: space, history: h, direction: .minimize, trialNumber: 15, studySeed: 3)
                let b = s.suggest(space: space, history: h, direction: .minimize, trialNumber: 15, studySeed: 3)
                XCTAssertEqual(a, b, s.name)
            }
        }
    }

    func testDifferentSeedsDiffer() {
        for s in samplers(for: Self.space) where s.name != "grid" {
            let a = s.suggest(space: Self.space, history: [], direction: .minimize, trialNumber: 0, studySeed: 1)
            let b = s.suggest(space: Self.space, history: [], direction: .minimize, trialNumber: 0, studySeed: 2)
            XCTAssertNotEqual(a, b, s.name)
        }
    }

    func testOnlyFailuresIsFine() {
        for s in samplers(for: Self.space) {
            var h: [TrialRecord] = []
            for i in 0..<12 {
                let v = s.suggest(space: Self.space, history: h, direction: .minimize, trialNumber: i, studySeed: 5)
                XCTAssertTrue(Self.space.isValid(v))
                h.append(TrialRecord(number: i, state: .fail, params: v))
            }
        }
    }

    func testGridCoversEveryPointOnce() throws {
        let g = try GridSampler(space: Self.discrete)
        XCTAssertEqual(g.points.count, 3 * 4 + 4)  // sgd: 3 momenta x 4 units; adam: 4 units
        var h: [TrialRecord] = []
        for i in 0..<g.points.count {
            let v = g.suggest(space: Self.discrete, history: h, direction: .minimize, trialNumber: i, studySeed: 1)
            h.append(TrialRecord(number: i, state: .complete, params: v, value: 0))
        }
        XCTAssertEqual(Set(h.map(\.params)).count, g.points.count, "\(h.map(\.params))")
        XCTAssertThrowsError(try GridSampler(space: Self.space)) { XCTAssertTrue("\($0)".contains("continuous")) }
    }

    func testTPEConstantLiarSpreadsParallelSuggestions() {
        let tpe = TPESampler(startupTrials: 5)
        let h = history(RandomSampler(), space: Self.space, n: 20).filter { $0.state != .running }
        let a = tpe.suggest(space: Self.space, history: h, direction: .minimize, trialNumber: 21, studySeed: 1)
        let withRunning = h + [TrialRecord(number: 21, state: .running, params: a)]
        let b = tpe.suggest(space: Self.space, history: withRunning, direction: .minimize, trialNumber: 22, studySeed: 1)
        XCTAssertNotEqual(a, b)
    }
}
