import Foundation
import XCTest
import SweepCore
@testable import SweepSearch

/// The GP sampler: its numeric parts against references (log EI, erfcx, the likelihood's
/// gradient, L-BFGS, Halton), then the sampler's contract and a small optimisation race.
final class GPSamplerTests: XCTestCase {
    // MARK: Numeric parts

    func testLogEIMatchesDirectFormulaAndStaysFiniteInTheTail() {
        func direct(_ z: Double) -> Double {
            let pdf = exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
            return log(pdf + z * 0.5 * erfc(-z / 2.0.squareRoot()))
        }
        for z in stride(from: -6.0, through: 5.0, by: 0.25) {
            XCTAssertEqual(GP.logH(z), direct(z), accuracy: 1e-9 * max(1, abs(direct(z))), "z = \(z)")
        }
        // Continuous across the branch points, increasing, and asymptotically −z²/2 − log(2π)/2 − 2 log|z|.
        XCTAssertEqual(GP.logH(-1 - 1e-12), GP.logH(-1 + 1e-12), accuracy: 1e-9)
        func remainder(_ z: Double) -> Double { GP.logH(z) + 0.5 * z * z + 0.5 * log(2 * Double.pi) + 2 * log(-z) }
        XCTAssertEqual(remainder(-1000 - 1e-9), remainder(-1000 + 1e-9), accuracy: 1e-8)
        XCTAssertEqual(remainder(-1000), log1p(-3e-6), accuracy: 1e-8)
        var last = -Double.infinity
        for z in [-1e12, -1e9, -1e5, -1e3, -100, -40, -10, -3, -1, 0, 2] {
            let v = GP.logH(z)
            XCTAssertTrue(v.isFinite && v > last, "z = \(z): \(v)")
            last = v
        }
        let z = -30.0
        XCTAssertEqual(GP.logH(z), -0.5 * z * z - 0.5 * log(2 * Double.pi) - 2 * log(-z) + log(1 - 3 / (z * z)), accuracy: 1e-4)
        // logEI = log σ + log h((best − μ)/σ).
        XCTAssertEqual(GP.logEI(mean: 1, variance: 4, best: 0), log(2) + GP.logH(-0.5), accuracy: 1e-12)
    }

    func testErfcxMatchesItsDefinitionAndAsymptote() {
        for x in stride(from: -2.0, through: 24.0, by: 0.5) {
            XCTAssertEqual(GP.erfcx(x), exp(x * x) * erfc(x), accuracy: 1e-12 * exp(x * x) * erfc(x))
        }
        for x in [25.0, 30, 100, 1e4] {
            let series = 1 / (x * Double.pi.squareRoot()) * (1 - 1 / (2 * x * x) + 3 / (4 * pow(x, 4)) - 15 / (8 * pow(x, 6)) + 105 / (16 * pow(x, 8)))
            XCTAssertEqual(GP.erfcx(x), series, accuracy: 1e-12 * series)
        }
        XCTAssertEqual(GP.erfcx(25 - 1e-9), GP.erfcx(25), accuracy: 1e-10 * GP.erfcx(25))
    }

    /// Random features (N,D) and a smooth target.
    func data(n: Int, d: Int, seed: UInt64) -> (x: [Double], y: [Double]) {
        var rng = SweepRandom(seed: seed)
        let x = (0..<(n * d)).map { _ in rng.nextDouble() }
        let y = (0..<n).map { i in sin(6 * x[i * d]) + (d > 1 ? x[i * d + 1] * x[i * d + 1] : 0) + 0.01 * rng.nextGaussian() }
        return (x, GPSampler.standardize(y))
    }

    func testMarginalLikelihoodGradientMatchesFiniteDifferences() {
        let (n, d) = (12, 3)
        let (x, y) = data(n: n, d: d, seed: 1)
        let f = GP.MarginalLikelihood(x: x, y: y, n: n, d: d)
        for theta in [[-0.5, 0.2, 1.0, 0.3, -4.0], [0.0, -1.0, 0.5, -0.7, -12.0]] {
            var g = [Double](repeating: 0, count: d + 2), scratch = g
            let v = f.value(theta, gradient: &g)
            XCTAssertTrue(v.isFinite)
            for j in 0..<(d + 2) {
                let h = 1e-5
                var up = theta, down = theta
                up[j] += h; down[j] -= h
                let numeric = (f.value(up, gradient: &scratch) - f.value(down, gradient: &scratch)) / (2 * h)
                XCTAssertEqual(g[j], numeric, accuracy: 1e-5 * max(1, abs(numeric)), "θ_\(j) at \(theta)")
            }
        }
    }

    func testFittedModelInterpolatesAndRevertsToThePriorFarAway() {
        let (n, d) = (20, 2)
        var (x, y) = data(n: n, d: d, seed: 2)
        y = (0..<n).map { sin(6 * x[$0 * d]) + x[$0 * d + 1] }
        y = GPSampler.standardize(y)
        var rng = SweepRandom(seed: 3)
        let params = GP.fitKernel(x: x, y: y, n: n, d: d, restarts: 1, rng: &rng)
        let model = GP.Model(x: x, y: y, n: n, params: params)!
        let (mean, variance) = model.predict(x, m: n)
        for i in 0..<n {
            XCTAssertEqual(mean[i], y[i], accuracy: 0.05)
            XCTAssertLessThan(variance[i], 0.01 * params.signal)
        }
        let far = model.predict([40, -40], m: 1)
        XCTAssertEqual(far.mean[0], 0, accuracy: 1e-6)
        XCTAssertEqual(far.variance[0], params.signal, accuracy: 1e-6)
        // The MAP fit beats the default start.
        let f = GP.MarginalLikelihood(x: x, y: y, n: n, d: d)
        var g = [Double](repeating: 0, count: d + 2)
        XCTAssertLessThan(f.value(params.theta, gradient: &g), f.value(GP.KernelParams(defaultFor: d).theta, gradient: &g))
    }

    func testBoxLBFGSMinimizesRosenbrockAndRespectsBounds() {
        func rosenbrock(_ v: [Double], _ g: inout [Double]) -> Double {
            let (a, b) = (v[0], v[1])
            g[0] = -2 * (1 - a) - 400 * a * (b - a * a)
            g[1] = 200 * (b - a * a)
            return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a)
        }
        let free = GP.BoxLBFGS(maxIterations: 200, relativeTolerance: 0).minimize([-1.2, 1], lower: [-5, -5], upper: [5, 5], rosenbrock)
        XCTAssertEqual(free.x[0], 1, accuracy: 1e-4); XCTAssertEqual(free.x[1], 1, accuracy: 1e-4)
        let boxed = GP.BoxLBFGS(maxIterations: 200).minimize([-1.2, 0.2], lower: [-5, -5], upper: [5, 0.5], rosenbrock)
        XCTAssertEqual(boxed.x[1], 0.5, accuracy: 1e-9)
        XCTAssertEqual(boxed.x[0], 0.7071, accuracy: 0.01)  // minimiser of (1−a)² + 100(0.5 − a²)²
    }

    func testScrambledHaltonStratifiesAndDependsOnTheSeed() {
        var rng = SweepRandom(seed: 5)
        let h = GP.ScrambledHalton(dims: 3, rng: &rng)
        XCTAssertEqual(GP.ScrambledHalton.primes(6), [2, 3, 5, 7, 11, 13])
        // Any b consecutive points hit the b strata of a base-b coordinate once; b² points the b² strata.
        for start in [0, 7, 100] {
            for (j, b) in [2, 3, 5].enumerated() {
                let strata = Set((start..<(start + b * b)).map { Int(h.point($0)[j] * Double(b * b)) })
                XCTAssertEqual(strata.count, b * b, "dim \(j) from \(start)")
            }
        }
        XCTAssertTrue((0..<50).allSatisfy { i in h.point(i).allSatisfy { $0 >= 0 && $0 < 1 } })
        var other = SweepRandom(seed: 6)
        XCTAssertNotEqual(GP.ScrambledHalton(dims: 3, rng: &other).point(0), h.point(0))
    }

    func testEncodingIsOneHotWithNeutralInactiveColumns() throws {
        let space = try Self.mixedSpace()
        let e = GP.Encoding(space: space)
        XCTAssertEqual(e.featureCount, 1 + 1 + 3 + 1 + 1)  // lr, units, opt (3), momentum, beta; 'fixed' none
        var f = [Double](repeating: -1, count: e.featureCount)
        e.features(of: ["lr": 0.01, "units": 64, "opt": 1, "beta": 0.9, "fixed": 3], into: &f[...])
        XCTAssertEqual(f[0], (log(0.01) - log(1e-4)) / (log(1) - log(1e-4)), accuracy: 1e-12)
        XCTAssertEqual(Array(f[2..<5]), [0, 1, 0])
        XCTAssertEqual(f[5], 0.5)  // momentum: inactive for adam
        // Decoding a parameter-box point: values rounded, inactive ones NaN and 0.5 features.
        var values = [Double](repeating: 0, count: e.parameterCount)
        e.decode([0.5, 0.999, 0.7, 0.3, 0.5, 0.5][...], values: &values, features: &f[...])
        let out = e.assignment(values)
        XCTAssertTrue(space.isValid(out), "\(out)")
        XCTAssertEqual(out["opt"], 2)
        XCTAssertNil(out["momentum"])
        XCTAssertEqual(out["units"], 128)
        XCTAssertEqual(Array(f[2..<5]), [0, 0, 1])
    }

    // MARK: The sampler

    /// Every kind of parameter: log float, stepped int, categorical with two conditional
    /// children (a stepped float, a float), and a single-valued int.
    static func mixedSpace() throws -> SearchSpace {
        try SearchSpace([
            Parameter(name: "lr", distribution: .makeFloat(1e-4, 1, log: true)),
            Parameter(name: "units", distribution: .makeInt(16, 128, step: 16)),
            Parameter(name: "opt", distribution: .makeCategorical([.string("sgd"), .string("adam"), .string("rmsprop")])),
            Parameter(name: "momentum", distribution: .makeFloat(0, 0.9, step: 0.1), conditions: [Condition(parent: "opt", values: [.string("sgd")])]),
            Parameter(name: "beta", distribution: .makeFloat(0.8, 0.999), conditions: [Condition(parent: "opt", values: [.string("adam"), .string("rmsprop")])]),
            Parameter(name: "fixed", distribution: .makeInt(3, 3)),
        ])
    }

    static func mixedObjective(_ v: [String: Double], space: SearchSpace) -> Double {
        var s = pow(log10(v["lr"]!) + 2.5, 2) + pow((v["units"]! - 80) / 64, 2)
        if let m = v["momentum"] { s += pow(m - 0.8, 2) } else { s += 0.3 + pow(v["beta"]! - 0.95, 2) }
        return s
    }

    /// Runs `trials` sequential suggestions of `sampler`, every `failEvery`-th one failing.
    func run(_ sampler: Sampler, space: SearchSpace, trials: Int, seed: UInt64, direction: Direction = .minimize,
             failEvery: Int = 0, objective: ([String: Double]) -> Double) -> [TrialRecord] {
        var history: [TrialRecord] = []
        for i in 0..<trials {
            let v = sampler.suggest(space: space, history: history, direction: direction, trialNumber: i, studySeed: seed)
            let fails = failEvery > 0 && i % failEvery == failEvery - 1
            history.append(TrialRecord(number: i, state: fails ? .fail : .complete, params: v, value: fails ? nil : objective(v)))
        }
        return history
    }

    func testSuggestionsRespectBoundsTypesAndConditions() throws {
        let space = try Self.mixedSpace()
        let history = run(GPSampler(startupTrials: 4, candidates: 256), space: space, trials: 14, seed: 3, direction: .maximize) {
            -Self.mixedObjective($0, space: space)
        }
        var optimizers = Set<Double>()
        for t in history {
            XCTAssertTrue(space.isValid(t.params), "trial \(t.number): \(t.params)")
            XCTAssertEqual(t.params["fixed"], 3)
            optimizers.insert(t.params["opt"]!)
        }
        XCTAssertGreaterThan(optimizers.count, 1)
    }

    func testStartupPointsAreSpreadAndIgnoreTheHistory() throws {
        let space = try SearchSpace([Parameter(name: "x", distribution: .makeFloat(0, 1))])
        let gp = GPSampler(startupTrials: 4)
        let points = (0..<4).map { gp.suggest(space: space, history: [], direction: .minimize, trialNumber: $0, studySeed: 9)["x"]! }
        XCTAssertEqual(Set(points.map { Int($0 * 4) }).count, 4, "\(points)")
        let history = [TrialRecord(number: 0, state: .complete, params: ["x": 0.3], value: 1),
                       TrialRecord(number: 1, state: .complete, params: ["x": 0.6], value: 2)]
        XCTAssertEqual(gp.suggest(space: space, history: history, direction: .minimize, trialNumber: 2, studySeed: 9)["x"], points[2])
        XCTAssertNotEqual(gp.suggest(space: space, history: [], direction: .minimize, trialNumber: 2, studySeed: 10)["x"], points[2])
    }

    func testDeterministicAndIgnoresFailedTrials() throws {
        let space = try Self.mixedSpace()
        let gp = GPSampler(startupTrials: 4, candidates: 256)
        let history = run(gp, space: space, trials: 10, seed: 4, failEvery: 4) { Self.mixedObjective($0, space: space) }
        XCTAssertEqual(history.filter { $0.state == .fail }.count, 2)
        let a = gp.suggest(space: space, history: history, direction: .minimize, trialNumber: 10, studySeed: 4)
        let b = gp.suggest(space: space, history: history, direction: .minimize, trialNumber: 10, studySeed: 4)
        XCTAssertEqual(a, b)
        // Failed trials carry no information: dropping them, or giving them absurd values, changes nothing.
        let withoutFailures = history.filter { $0.state != .fail }
        XCTAssertEqual(gp.suggest(space: space, history: withoutFailures, direction: .minimize, trialNumber: 10, studySeed: 4), a)
        let absurd = history.map { t -> TrialRecord in var t = t; if t.state == .fail { t.value = -1e9 }; return t }
        XCTAssertEqual(gp.suggest(space: space, history: absurd, direction: .minimize, trialNumber: 10, studySeed: 4), a)
        XCTAssertNotEqual(gp.suggest(space: space, history: history, direction: .minimize, trialNumber: 11, studySeed: 4), a)
    }

    /// Kriging believer: a running trial at the point the sampler would choose pushes the next
    /// suggestion elsewhere.
    func testRunningTrialsSpreadParallelSuggestions() throws {
        let space = try SearchSpace([Parameter(name: "x", distribution: .makeFloat(0, 1)),
                                     Parameter(name: "y", distribution: .makeFloat(0, 1))])
        let gp = GPSampler(startupTrials: 6, candidates: 256)
        let history = run(gp, space: space, trials: 8, seed: 7) { v in pow(v["x"]! - 0.3, 2) + pow(v["y"]! - 0.6, 2) }
        let first = gp.suggest(space: space, history: history, direction: .minimize, trialNumber: 8, studySeed: 7)
        let busy = history + [TrialRecord(number: 8, state: .running, params: first)]
        let second = gp.suggest(space: space, history: busy, direction: .minimize, trialNumber: 8, studySeed: 7)
        let distance = hypot(first["x"]! - second["x"]!, first["y"]! - second["y"]!)
        XCTAssertGreaterThan(distance, 0.01, "\(first) vs \(second)")
    }

    /// Branin on [-5, 10] × [0, 15] (minimum 0.397887): 30 sequential trials on three seeds.
    func testBeatsRandomSearchOnBranin() throws {
        let space = try SearchSpace([Parameter(name: "x0", distribution: .makeFloat(-5, 10)),
                                     Parameter(name: "x1", distribution: .makeFloat(0, 15))])
        func branin(_ v: [String: Double]) -> Double {
            let (a, b) = (v["x0"]!, v["x1"]!)
            let t = b - 5.1 / (4 * Double.pi * Double.pi) * a * a + 5 / Double.pi * a - 6
            return t * t + 10 * (1 - 1 / (8 * Double.pi)) * cos(a) + 10
        }
        func medianBest(_ sampler: Sampler) -> Double {
            let bests = [UInt64(1), 2, 3].map { seed in
                run(sampler, space: space, trials: 30, seed: seed, objective: branin).compactMap(\.value).min()!
            }
            return bests.sorted()[1]
        }
        let gp = medianBest(GPSampler()), random = medianBest(RandomSampler())
        XCTAssertLessThan(gp, 0.5 * random, "GP \(gp) vs random \(random)")
        XCTAssertLessThan(gp, 0.6, "GP \(gp) vs optimum 0.397887")
    }
}
