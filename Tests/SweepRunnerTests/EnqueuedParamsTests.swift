import XCTest
import SweepCore
import SweepSearch
@testable import SweepRunner

/// The rules `sweep enqueue` and a runner apply to given parameters.
final class EnqueuedParamsTests: XCTestCase {
    let space = try! SearchSpace([
        Parameter(name: "lr", distribution: try! .makeFloat(1e-4, 1e-1, log: true)),
        Parameter(name: "units", distribution: try! .makeInt(8, 64, step: 8)),
        Parameter(name: "opt", distribution: try! .makeCategorical([.string("sgd"), .string("adam")])),
        Parameter(name: "momentum", distribution: try! .makeFloat(0.5, 0.9), conditions: [Condition(parent: "opt", values: [.string("sgd")])]),
    ])

    func problem(_ given: [String: ParamValue], in space: SearchSpace? = nil) -> String {
        do {
            _ = try EnqueuedParams.resolve(given, space: space ?? self.space)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testValuesAreCheckedAgainstTheirDistributions() throws {
        XCTAssertEqual(try EnqueuedParams.resolve(["lr": .double(0.01), "units": .int(16), "opt": .string("adam")], space: space),
                       ["lr": 0.01, "units": 16, "opt": 1])
        XCTAssertEqual(try EnqueuedParams.resolve(["units": .double(24)], space: space), ["units": 24], "an integral number for an int")
        XCTAssertEqual(problem(["depth": .int(3)]), "'depth' is not a parameter of this study; its parameters: lr, units, opt, momentum")
        XCTAssertEqual(problem(["lr": .double(0.5)]), "'lr' = 0.5 is not a number in [0.0001, 0.1] (log scale)")
        XCTAssertEqual(problem(["units": .int(12)]), "'units' = 12 is not an integer in [8, 64] on a step of 8 from 8")
        XCTAssertEqual(problem(["opt": .string("rmsprop")]), "'opt' = rmsprop is not one of sgd, adam")
        XCTAssertEqual(problem(["lr": .string("fast")]), "'lr' = fast is not a number in [0.0001, 0.1] (log scale)")
    }

    func testAConditionalParameterNeedsItsParent() throws {
        XCTAssertEqual(problem(["momentum": .double(0.6)]),
                       "'momentum' exists only when 'opt' (not given) is one of sgd; give its parent a value that makes it exist")
        XCTAssertEqual(problem(["momentum": .double(0.6), "opt": .string("adam")]),
                       "'momentum' exists only when 'opt' is one of sgd; give its parent a value that makes it exist")
        XCTAssertEqual(try EnqueuedParams.resolve(["momentum": .double(0.6), "opt": .string("sgd")], space: space), ["momentum": 0.6, "opt": 0])
    }

    func testTheOldParamsSpellingNamesTheSameCommandParameter() throws {
        let old = space.renaming(["lr": "params.lr"])
        XCTAssertEqual(try EnqueuedParams.resolve(["lr": .double(0.01)], space: old), ["params.lr": 0.01])
        XCTAssertEqual(try EnqueuedParams.resolve(["params.lr": .double(0.01)], space: space), ["lr": 0.01])
        XCTAssertEqual(problem(["lr": .double(0.01), "params.lr": .double(0.02)], in: old), "'params.lr' and 'lr' name the same parameter params.lr")
    }

    func testCompletionKeepsGivenValuesAndFillsWhatTheyMakeExist() {
        var rng = SweepRandom(seed: 1)
        // The proposal chose adam (no momentum); the given sgd makes momentum exist: drawn.
        let done = EnqueuedParams.complete(["opt": 0], proposal: ["lr": 0.02, "units": 32, "opt": 1], space: space, rng: &rng)
        XCTAssertEqual(done["opt"], 0)
        XCTAssertEqual(done["lr"], 0.02)
        XCTAssertEqual(done["units"], 32)
        XCTAssertTrue(space["momentum"]!.distribution.contains(try XCTUnwrap(done["momentum"])))
        XCTAssertTrue(space.isValid(done))
        // The given adam removes the momentum the proposal had.
        let fewer = EnqueuedParams.complete(["opt": 1], proposal: ["lr": 0.02, "units": 32, "opt": 0, "momentum": 0.7], space: space, rng: &rng)
        XCTAssertNil(fewer["momentum"])
        XCTAssertTrue(space.isValid(fewer))
    }
}
