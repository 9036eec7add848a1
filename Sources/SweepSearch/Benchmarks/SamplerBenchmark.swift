import Foundation
import SweepCore

/// One sequential run of a sampler on a benchmark problem: a row of `hpo-bench-results/1`.
public struct SamplerRun: Sendable, Equatable {
    public var function: String
    /// The result id of the sampler, e.g. `sweep_tpe`.
    public var sampler: String
    public var seed: Int
    /// Raw objective value of trial i.
    public var values: [Double]
    /// min(values[0...i]).
    public var bestSoFar: [Double]
    /// Wall-clock seconds of the `suggest` call for trial i (never objective time).
    public var suggestSeconds: [Double]
    /// Trials whose assignment equals an earlier trial's (re-evaluations of a seen configuration).
    public var repeats: Int = 0

    public var trials: Int { values.count }

    /// Simple regret after the first `k` trials (1 ≤ k ≤ trials): best − f_opt, clipped at 0.
    public func regret(after k: Int, fOpt: Double) -> Double { max(bestSoFar[k - 1] - fOpt, 0) }
}

public struct SamplerBenchmarkError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Measures samplers on `BenchmarkFunction`s: regret curves of sequential studies and the cost of
/// one suggestion at a given history size. Single-threaded, so timings are not disturbed by other
/// runs of the benchmark.
public enum SamplerBenchmark {
    /// `run` on one of the test functions (`.branin`, ...).
    public static func run(_ sampler: any Sampler, on function: BenchmarkFunction, trials: Int,
                           seed: Int, resultID: String? = nil) throws -> SamplerRun {
        try run(sampler, on: function as any BenchmarkProblem, trials: trials, seed: seed, resultID: resultID)
    }

    /// Runs `trials` sequential trials (each suggestion is evaluated before the next is asked),
    /// with study seed `seed`, minimising `function`, and counts the assignments proposed again.
    /// Throws when the sampler proposes an assignment the search space rejects.
    public static func run(_ sampler: any Sampler, on function: any BenchmarkProblem, trials: Int,
                           seed: Int, resultID: String? = nil) throws -> SamplerRun {
        let space = function.searchSpace
        var history: [TrialRecord] = []
        history.reserveCapacity(trials)
        var run = SamplerRun(function: function.id, sampler: resultID ?? "sweep_\(sampler.name)", seed: seed,
                             values: [], bestSoFar: [], suggestSeconds: [])
        var best = Double.infinity
        var seen = Set<[String: Double]>()
        for number in 0..<trials {
            let clock = ContinuousClock()
            let start = clock.now
            let params = sampler.suggest(space: space, history: history, direction: .minimize,
                                         trialNumber: number, studySeed: UInt64(seed))
            let elapsed = clock.now - start
            guard space.isValid(params), let value = function.evaluate(params: params) else {
                throw SamplerBenchmarkError(description:
                    "\(sampler.name) proposed an invalid assignment for trial \(number) of \(function.id) (seed \(seed)): \(params)")
            }
            best = min(best, value)
            if !seen.insert(params).inserted { run.repeats += 1 }
            run.values.append(value)
            run.bestSoFar.append(best)
            run.suggestSeconds.append(elapsed.seconds)
            history.append(TrialRecord(number: number, state: .complete, params: params, value: value))
        }
        return run
    }

    /// Median wall-clock seconds of one `suggest` for trial `historySize`, given `historySize`
    /// COMPLETE trials drawn uniformly at random (the random sampler, study seed `seed`) and
    /// evaluated on `function`. Samplers are stateless, so the same call is simply repeated.
    public static func suggestionCost(_ sampler: any Sampler, on function: BenchmarkFunction = .hartmann6,
                                      historySize: Int, repeats: Int = 5, seed: Int = 0) -> Double {
        let space = function.searchSpace
        let random = RandomSampler()
        let history: [TrialRecord] = (0..<historySize).map { number in
            let params = random.suggest(space: space, history: [], direction: .minimize,
                                        trialNumber: number, studySeed: UInt64(seed))
            return TrialRecord(number: number, state: .complete, params: params,
                               value: function.evaluate(params: params))
        }
        var times: [Double] = []
        for _ in 0..<max(repeats, 1) {
            let clock = ContinuousClock()
            let start = clock.now
            let params = sampler.suggest(space: space, history: history, direction: .minimize,
                                         trialNumber: historySize, studySeed: UInt64(seed))
            let elapsed = clock.now - start
            precondition(!params.isEmpty)  // keeps the call from being optimised away
            times.append(elapsed.seconds)
        }
        return median(times)
    }

    /// Median over runs (seeds) of the simple regret after `k` trials.
    public static func medianRegret(_ runs: [SamplerRun], fOpt: Double, after k: Int) -> Double {
        median(runs.map { $0.regret(after: k, fOpt: fOpt) })
    }

    /// The median of a non-empty list (the mean of the two middle values for an even count).
    public static func median(_ xs: [Double]) -> Double {
        precondition(!xs.isEmpty, "median of an empty list")
        let s = xs.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// The geometric mean of positive values; values below `floor` count as `floor`, so a zero
    /// regret (the optimum found to within rounding) does not make the whole mean 0.
    public static func geometricMean(_ xs: [Double], floor: Double = 1e-12) -> Double {
        precondition(!xs.isEmpty, "geometric mean of an empty list")
        return exp(xs.reduce(0) { $0 + log(max($1, floor)) } / Double(xs.count))
    }
}

extension Duration {
    /// This duration in seconds, as a Double.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
