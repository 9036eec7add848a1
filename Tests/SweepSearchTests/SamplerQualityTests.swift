import XCTest
@testable import SweepSearch

/// TPE and GP must beat random search on Branin and Hartmann6 at 50 trials, over fixed seeds
/// (median simple regret). Small and sequential so it stays quick in a debug build.
final class SamplerQualityTests: XCTestCase {
    func medianRegret(_ sampler: Sampler, _ f: BenchmarkFunction, seeds: Range<Int>, trials: Int = 50) throws -> Double {
        let runs = try seeds.map { try SamplerBenchmark.run(sampler, on: f, trials: trials, seed: $0) }
        return SamplerBenchmark.medianRegret(runs, fOpt: f.fOpt, after: trials)
    }

    func testTPEAndGPBeatRandom() throws {
        for f in [BenchmarkFunction.branin, .hartmann6] {
            let random = try medianRegret(RandomSampler(), f, seeds: 0..<5)
            let tpe = try medianRegret(TPESampler(), f, seeds: 0..<5)
            let gp = try medianRegret(GPSampler(), f, seeds: 0..<3)
            XCTAssertLessThan(tpe, random, "\(f.id): TPE \(tpe) vs random \(random)")
            XCTAssertLessThan(gp, random, "\(f.id): GP \(gp) vs random \(random)")
        }
    }

    func testExampleSpacesLoad() throws {
        let dir = CLIPaths.repo + "/search-spaces"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 4)
        for f in files {
            let spec = try StudySpec.load(path: dir + "/" + f)
            XCTAssertFalse(spec.space.isEmpty, f)
            // A random point of every built-in example space makes a valid engine configuration
            // (a user-command study has no engine configuration).
            if spec.command != nil { continue }
            let v = RandomSampler().suggest(space: spec.space, history: [], direction: .minimize, trialNumber: 0, studySeed: 1)
            XCTAssertNoThrow(try spec.trialConfig(v), f)
        }
    }
}
