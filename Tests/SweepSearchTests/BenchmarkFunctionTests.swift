import Foundation
import XCTest
@testable import SweepSearch

/// Checks the Swift benchmark functions against the shared description: every vector of
/// `function-test-vectors.json` (relative tolerance 1e-9, absolute 1e-12 near zero), and the ids,
/// bounds and optima of `functions.json`. Both files live in `../shared/bench` beside the
/// repository; the tests are skipped when it is absent.
final class BenchmarkFunctionTests: XCTestCase {
    static let sharedBench = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()  // repo
        .deletingLastPathComponent().appendingPathComponent("shared/bench")

    func loadJSON(_ name: String) throws -> [String: Any] {
        let url = Self.sharedBench.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) is absent")
        }
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func testEveryVectorMatches() throws {
        let file = try loadJSON("function-test-vectors.json")
        let vectors = try XCTUnwrap(file["vectors"] as? [String: [[String: Any]]])
        XCTAssertEqual(Set(vectors.keys), Set(BenchmarkFunction.all.map(\.id)))
        var checked = 0
        for (id, points) in vectors {
            let f = try XCTUnwrap(BenchmarkFunction.named(id), "no Swift function '\(id)'")
            XCTAssertFalse(points.isEmpty)
            for point in points {
                let params = try XCTUnwrap(point["params"] as? [String: Double])
                let expected = try XCTUnwrap(point["value"] as? Double)
                XCTAssertEqual(Set(params.keys), Set(f.parameterNames), id)
                let got = try XCTUnwrap(f.evaluate(params: params))
                let tolerance = max(1e-9 * abs(expected), 1e-12)
                XCTAssertLessThanOrEqual(abs(got - expected), tolerance, "\(id) at \(params): \(got) vs \(expected)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 70)
    }

    func testDescriptionsMatchFunctionsJSON() throws {
        let file = try loadJSON("functions.json")
        let specs = try XCTUnwrap(file["functions"] as? [[String: Any]])
        XCTAssertEqual(specs.compactMap { $0["name"] as? String }, BenchmarkFunction.all.map(\.id))
        for spec in specs {
            let f = try XCTUnwrap(BenchmarkFunction.named(spec["name"] as? String ?? ""))
            XCTAssertEqual(spec["dim"] as? Int, f.dimension, f.id)
            // Foundation's JSON reader on Linux may be 1 ulp off the shortest decimal's value.
            XCTAssertEqual(try XCTUnwrap(spec["f_opt"] as? Double), f.fOpt, accuracy: 1e-15 * abs(f.fOpt), f.id)
            let space = try XCTUnwrap(spec["space"] as? [[String: Any]])
            XCTAssertEqual(space.compactMap { $0["name"] as? String }, f.searchSpace.names, f.id)
            for (p, b) in zip(space, f.bounds) {
                XCTAssertEqual(p["type"] as? String, "float")
                XCTAssertEqual(p["log"] as? Bool, false)
                XCTAssertEqual(p["low"] as? Double, b.low, f.id)
                XCTAssertEqual(p["high"] as? Double, b.high, f.id)
            }
            // The minimiser attains f_opt (to the precision of its published digits).
            let xOpt = try XCTUnwrap(spec["x_opt"] as? [String: Double])
            let atOpt = try XCTUnwrap(f.evaluate(params: xOpt))
            XCTAssertEqual(atOpt, f.fOpt, accuracy: 1e-6 * max(1, abs(f.fOpt)), f.id)
        }
    }

    func testSearchSpaceIsFloatBoxes() {
        for f in BenchmarkFunction.all {
            let space = f.searchSpace
            XCTAssertEqual(space.names, (0..<f.dimension).map { "x\($0)" })
            for (p, b) in zip(space.parameters, f.bounds) {
                XCTAssertEqual(p.distribution, .float(low: b.low, high: b.high, log: false, step: nil))
            }
        }
    }
}
