import Foundation
import XCTest
@testable import SweepSearch

final class SamplerBenchmarkTests: XCTestCase {
    func testRunIsSeededAndRecordsTheRunningMinimum() throws {
        let a = try SamplerBenchmark.run(RandomSampler(), on: .branin, trials: 30, seed: 3)
        let b = try SamplerBenchmark.run(RandomSampler(), on: .branin, trials: 30, seed: 3)
        let c = try SamplerBenchmark.run(RandomSampler(), on: .branin, trials: 30, seed: 4)
        XCTAssertEqual(a.values, b.values)
        XCTAssertNotEqual(a.values, c.values)
        XCTAssertEqual(a.sampler, "sweep_random")
        XCTAssertEqual(a.suggestSeconds.count, 30)
        XCTAssertTrue(a.suggestSeconds.allSatisfy { $0 >= 0 })
        for i in 0..<30 { XCTAssertEqual(a.bestSoFar[i], a.values[0...i].min()) }
        XCTAssertEqual(a.regret(after: 30, fOpt: BenchmarkFunction.branin.fOpt),
                       a.bestSoFar[29] - BenchmarkFunction.branin.fOpt)
    }

    func testSuggestionCostIsAPositiveTime() {
        let s = SamplerBenchmark.suggestionCost(RandomSampler(), historySize: 20, repeats: 3)
        XCTAssertGreaterThan(s, 0)
        XCTAssertLessThan(s, 1)
    }

    func testStatistics() {
        XCTAssertEqual(SamplerBenchmark.median([3, 1, 2]), 2)
        XCTAssertEqual(SamplerBenchmark.median([4, 1, 2, 3]), 2.5)
        XCTAssertEqual(SamplerBenchmark.geometricMean([1, 100]), 10, accuracy: 1e-12)
        XCTAssertEqual(SamplerBenchmark.geometricMean([0, 1e-12]), 1e-12, accuracy: 1e-24)
    }

    func testResultsFileIsTheSharedFormat() throws {
        let run = try SamplerBenchmark.run(RandomSampler(), on: .hartmann3, trials: 5, seed: 0)
        let text = try BenchmarkResultsFile.encode(runs: [run, run], meta: ["system": "sweep"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["format"] as? String, "hpo-bench-results/1")
        let runs = try XCTUnwrap(object["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 2)
        XCTAssertEqual(runs[0]["function"] as? String, "hartmann3")
        XCTAssertEqual(runs[0]["sampler"] as? String, "sweep_random")
        XCTAssertEqual(runs[0]["seed"] as? Int, 0)
        XCTAssertEqual(runs[0]["n_trials"] as? Int, 5)
        assertClose(runs[0]["best_so_far"] as? [Double], run.bestSoFar)
        assertClose(runs[0]["values"] as? [Double], run.values)
        assertClose(runs[0]["suggest_s"] as? [Double], run.suggestSeconds)
        // The writer itself is exact: each number is Swift's shortest round-trip decimal.
        XCTAssertTrue(text.contains(run.values.map { "\($0)" }.joined(separator: ", ")))
    }

    /// Foundation's JSON reader on Linux may be 1 ulp off the decimal's value.
    func assertClose(_ a: [Double]?, _ b: [Double], line: UInt = #line) {
        guard let a, a.count == b.count else { return XCTFail("\(String(describing: a)) vs \(b)", line: line) }
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-15 * abs(y), line: line) }
    }

    func testResultsFileReadsBackWhatItWrites() throws {
        var run = try SamplerBenchmark.run(RandomSampler(), on: .hartmann3, trials: 4, seed: 2)
        run.repeats = 3
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-results-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try BenchmarkResultsFile.write(runs: [run], meta: ["system": "sweep"], to: url)
        let back = try BenchmarkResultsFile.read(url)
        XCTAssertEqual(back.count, 1)
        XCTAssertEqual(back[0].function, "hartmann3")
        XCTAssertEqual(back[0].repeats, 3)
        assertClose(back[0].bestSoFar, run.bestSoFar)
    }
}
