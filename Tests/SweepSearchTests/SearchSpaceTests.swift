import XCTest
import SweepCore
import SweepEngine
@testable import SweepSearch

final class SearchSpaceTests: XCTestCase {
    static let yaml = """
    name: demo
    seed: 7
    dataset: {name: digits}
    objective: {metric: val_accuracy, direction: maximize}
    budget: {trials: 12, max_epochs: 4}
    sampler: tpe
    scheduler: {name: asha, reduction_factor: 3}
    model:
      layers:
        repeat:
          count: {int: [1, 3]}
          layer:
            type: dense
            units: {int: [16, 256], log: true}
            activation: {choice: [relu, gelu, tanh]}
            dropout: {float: [0.0, 0.5], step: 0.1}
    training:
      optimizer: {choice: [sgd, momentum, adam]}
      momentum: {float: [0.5, 0.99], when: {training.optimizer: [momentum]}}
      learning_rate: {float: [1.0e-4, 1.0e-1], log: true}
      batch_size: {choice: [16, 32, 64]}
    """

    func parse(_ text: String) throws -> StudySpec { try StudySpec.parse(text, file: "space.yaml") }

    func testFlattensToNamedParameters() throws {
        let s = try parse(Self.yaml)
        XCTAssertEqual(s.name, "demo"); XCTAssertEqual(s.seed, 7)
        XCTAssertEqual(s.budget, Budget(trials: 12, maxEpochs: 4))
        XCTAssertEqual(s.sampler.name, "tpe"); XCTAssertEqual(s.scheduler, ComponentSpec(name: "asha", options: ["reduction_factor": 3]))
        XCTAssertEqual(s.space.names.sorted(), ([
            "model.layers.count", "training.optimizer", "training.momentum", "training.learning_rate", "training.batch_size",
        ] + (0..<3).flatMap { i in ["units", "activation", "dropout"].map { "model.layers.\(i).\($0)" } }).sorted())
        XCTAssertEqual(s.space["model.layers.0.units"]!.conditions, [])  // count ≥ 1 always
        XCTAssertEqual(s.space["model.layers.2.units"]!.conditions, [Condition(parent: "model.layers.count", values: [.int(3)])])
        XCTAssertEqual(s.space["training.momentum"]!.conditions, [Condition(parent: "training.optimizer", values: [.string("momentum")])])
        // Parents come before children.
        let names = s.space.names
        XCTAssertLessThan(names.firstIndex(of: "training.optimizer")!, names.firstIndex(of: "training.momentum")!)
        XCTAssertLessThan(names.firstIndex(of: "model.layers.count")!, names.firstIndex(of: "model.layers.1.units")!)
    }

    func testResolvesToATrialConfig() throws {
        let s = try parse(Self.yaml)
        let sp = s.space
        var v: [String: Double] = [
            "model.layers.count": 2, "training.optimizer": 1, "training.momentum": 0.9, "training.learning_rate": 0.01,
            "training.batch_size": 2,
        ]
        for i in 0..<2 { v["model.layers.\(i).units"] = 64; v["model.layers.\(i).activation"] = 1; v["model.layers.\(i).dropout"] = 0.2 }
        XCTAssertTrue(sp.isValid(v))
        let c = try s.trialConfig(v, seed: 99)
        XCTAssertEqual(c.layers, Array(repeating: LayerSpec(type: .dense, units: 64, activation: .gelu, dropout: 0.2), count: 2))
        XCTAssertEqual(c.training.optimizer, .momentum); XCTAssertEqual(c.training.momentum, 0.9)
        XCTAssertEqual(c.training.batchSize, 64); XCTAssertEqual(c.training.epochs, 4); XCTAssertEqual(c.seed, 99)
        // Inactive: momentum for adam; a third layer's values when count is 2.
        v["training.optimizer"] = 2
        XCTAssertFalse(sp.isValid(v))
        v["training.momentum"] = nil
        XCTAssertTrue(sp.isValid(v))
        XCTAssertEqual(try s.trialConfig(v).training.momentum, TrainingSpec().momentum)
    }

    /// The arithmetic precision is a hyperparameter like any other.
    func testPrecisionCanBeSearched() throws {
        let s = try parse(Self.yaml + "\n  precision: {choice: [fp32, bf16]}")
        XCTAssertTrue(s.space.names.contains("training.precision"))
        var v: [String: Double] = [
            "model.layers.count": 1, "model.layers.0.units": 32, "model.layers.0.activation": 0, "model.layers.0.dropout": 0,
            "training.optimizer": 2, "training.learning_rate": 0.01, "training.batch_size": 0, "training.precision": 1,
        ]
        XCTAssertTrue(s.space.isValid(v))
        XCTAssertEqual(try s.trialConfig(v).training.precision, .bf16)
        v["training.precision"] = 0
        XCTAssertEqual(try s.trialConfig(v).training.precision, .fp32)
    }

    func testFixedFileHasNoParametersAndMatchesTrain() throws {
        let path = CLIPaths.repo + "/search-spaces/seeds/digits-mlp.yaml"
        let s = try StudySpec.load(path: path)
        XCTAssertTrue(s.space.isEmpty)
        XCTAssertEqual(try s.trialConfig([:]), try ConfigFile.load(path: path))
    }

    func testOptunaDistributionJSONRoundTrip() throws {
        let s = try parse(Self.yaml)
        for p in s.space.parameters {
            XCTAssertEqual(try Distribution.fromOptunaJSON(p.distribution.optunaJSON), p.distribution, p.distribution.optunaJSON)
        }
        XCTAssertEqual(try Distribution.makeFloat(1e-4, 0.1, log: true).optunaJSON,
                       #"{"attributes":{"high":0.1,"log":true,"low":0.0001,"step":null},"name":"FloatDistribution"}"#)
        XCTAssertEqual(try Distribution.makeInt(16, 256, log: true).optunaJSON,
                       #"{"attributes":{"high":256,"log":true,"low":16,"step":1},"name":"IntDistribution"}"#)
        XCTAssertEqual(try Distribution.makeCategorical([.string("relu"), .int(3), .double(0.5), .bool(true)]).optunaJSON,
                       #"{"attributes":{"choices":["relu",3,0.5,true]},"name":"CategoricalDistribution"}"#)
        // What Optuna itself writes (json.dumps without sorted keys) reads back too.
        XCTAssertEqual(try Distribution.fromOptunaJSON(#"{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 1.0, "log": false}}"#),
                       try Distribution.makeFloat(0, 1))
    }

    func testUnitBoxRoundTrips() throws {
        let ds: [Distribution] = [try .makeFloat(-5, 10), try .makeFloat(1e-4, 1, log: true), try .makeFloat(0, 1, step: 0.25),
                                  try .makeInt(1, 9), try .makeInt(2, 512, log: true), try .makeInt(0, 10, step: 5),
                                  try .makeCategorical([.string("a"), .string("b"), .string("c")])]
        var rng = SweepRandom(seed: 1)
        for d in ds {
            for _ in 0..<200 {
                let x = d.fromUnit(rng.nextDouble())
                XCTAssertTrue(d.contains(x), "\(d) \(x)")
                XCTAssertEqual(d.fromUnit(d.unit(x)), x, accuracy: 1e-9 * max(1, abs(x)), "\(d)")
            }
            XCTAssertTrue(d.contains(d.fromUnit(0)) && d.contains(d.fromUnit(1)))
            // A stored value no distribution produces is refused, never a trap (an index of
            // infinity once trapped converting to Int).
            for bad in [Double.nan, .infinity, -.infinity] { XCTAssertFalse(d.contains(bad), "\(d) \(bad)") }
        }
    }

    // MARK: One test per validation error: file, line, key, what is accepted.

    func expectError(_ text: String, line: Int?, contains parts: [String], file: StaticString = #filePath, l: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: l) { e in
            guard let e = e as? InputError else { return XCTFail("not an InputError: \(e)", file: file, line: l) }
            XCTAssertEqual(e.file, "space.yaml", file: file, line: l)
            if let line { XCTAssertEqual(e.line, line, "\(e)", file: file, line: l) }
            for p in parts { XCTAssertTrue(e.description.contains(p), "'\(e)' lacks '\(p)'", file: file, line: l) }
        }
    }

    func testUnknownKey() {
        expectError(Self.yaml.replacingOccurrences(of: "  batch_size:", with: "  batchsize:"), line: 21, contains: ["training.batchsize", "unknown key", "batch_size"])
    }
    func testUnknownTopLevelKey() { expectError(Self.yaml + "\nsearch_space: 1", line: 22, contains: ["search_space", "unknown key"]) }
    func testLowAboveHigh() {
        expectError(Self.yaml.replacingOccurrences(of: "[1.0e-4, 1.0e-1]", with: "[0.5, 0.1]"), line: 20, contains: ["training.learning_rate", "low 0.5 is above high 0.1"])
    }
    func testLogRangeIncludingZero() {
        expectError(Self.yaml.replacingOccurrences(of: "[1.0e-4, 1.0e-1], log: true", with: "[0.0, 0.1], log: true"), line: 20, contains: ["training.learning_rate", "log range must be above 0"])
    }
    /// A step wider than its range would pin the parameter to its low end: a new study is
    /// refused it (floats and ints), naming the file, the parameter's line and the parameter; a
    /// stored study with one still reads.
    func testStepLargerThanTheRange() throws {
        let cases: [(from: String, to: String, line: Int, name: String, says: String)] = [
            ("{float: [0.0, 0.5], step: 0.1}", "{float: [0.0, 0.5], step: 0.6}", 16, "model.layers.0.dropout", "step 0.6 is larger than the range [0, 0.5]"),
            ("{int: [16, 256], log: true}", "{int: [16, 20], step: 5}", 14, "model.layers.0.units", "step 5 is larger than the range [16, 20]"),
            ("{int: [1, 3]}", "{int: [1, 3], step: 3}", 11, "model.layers.count", "step 3 is larger than the range [1, 3]: the value would never vary; use a step of at most 2"),
        ]
        for c in cases {
            XCTAssertTrue(Self.yaml.contains(c.from))
            let spec = try parse(Self.yaml.replacingOccurrences(of: c.from, with: c.to))   // readable (a stored study)
            XCTAssertThrowsError(try spec.preflight(), c.to) { e in
                XCTAssertEqual(e as? InputError, InputError(file: "space.yaml", line: c.line, field: c.name, (e as? InputError)?.message ?? ""))
                XCTAssertTrue("\(e)".hasPrefix("space.yaml:\(c.line): '\(c.name)': \(c.says)"), "\(e)")
            }
        }
        XCTAssertNoThrow(try parse(Self.yaml).preflight())
        // A step equal to the range (two values), a step within rounding of it, and a fixed value are fine.
        for d in [try Distribution.makeFloat(0, 0.5, step: 0.5), try .makeFloat(0.1, 0.4, step: 0.3), try .makeFloat(0.7, 1.0, step: 0.3),
                  try .makeInt(3, 3, step: 5), try .makeInt(0, 10, step: 10), try .makeFloat(0, 1), try .makeCategorical([.int(1)])] {
            XCTAssertNil(d.stepProblem, "\(d)")
        }
        XCTAssertNotNil(try Distribution.makeFloat(0, 0.5, step: 0.51).stepProblem)
    }

    func testConditionOnMissingParent() {
        expectError(Self.yaml.replacingOccurrences(of: "when: {training.optimizer:", with: "when: {training.optimiser:"), line: 19,
                    contains: ["training.momentum", "training.optimiser", "not a parameter"])
    }
    func testDuplicateChoices() {
        expectError(Self.yaml.replacingOccurrences(of: "[16, 32, 64]", with: "[16, 32, 16]"), line: 21, contains: ["training.batch_size", "'16' appears twice"])
    }
    /// Sampler options are checked when the sampler is built (`sweep check` and the runner).
    func expectSamplerError(_ sampler: String, contains parts: [String], file: StaticString = #filePath, l: UInt = #line) {
        let text = Self.yaml.replacingOccurrences(of: "sampler: tpe", with: "sampler: \(sampler)")
        XCTAssertThrowsError(try parse(text).makeSearchComponents(), file: file, line: l) { e in
            guard let e = e as? InputError else { return XCTFail("not an InputError: \(e)", file: file, line: l) }
            XCTAssertEqual(e.file, "space.yaml", file: file, line: l)
            for p in parts { XCTAssertTrue(e.description.contains(p), "'\(e)' lacks '\(p)'", file: file, line: l) }
        }
    }

    func testUnknownSamplerOption() {
        expectSamplerError("{name: tpe, candidate: 48}", contains: ["sampler.candidate", "unknown option of tpe", "candidates, good_kernel_floor"])
        expectSamplerError("{name: random, candidates: 3}", contains: ["sampler.candidates", "unknown option of random", "accepted: startup_trials"])
        XCTAssertNoThrow(try parse(Self.yaml.replacingOccurrences(of: "sampler: tpe", with: "sampler: {name: random, startup_trials: 3}")).makeSearchComponents())
    }

    func testNSGAIIOptions() throws {
        let made = try parse(Self.yaml.replacingOccurrences(of: "sampler: tpe", with: "sampler: {name: nsga2, population_size: 20, mutation_prob: 0.1}")).makeSearchComponents()
        let nsga = try XCTUnwrap(made.sampler as? NSGAIISampler)
        XCTAssertEqual(nsga.populationSize, 20); XCTAssertEqual(nsga.mutationProbability, 0.1); XCTAssertEqual(nsga.crossoverProbability, 0.9)
        expectSamplerError("{name: nsga2, crossover_prob: 1.5}", contains: ["sampler.crossover_prob", "probability from 0 to 1", "1.5"])
        expectSamplerError("{name: nsga2, population_size: 1}", contains: ["sampler.population_size", "from 2 to 100000"])
        expectSamplerError("{name: nsga2, candidates: 3}", contains: ["sampler.candidates", "unknown option of nsga2", "population_size"])
    }

    func testGoodKernelFloorOutOfRange() {
        for bad in ["0", "-0.5", "1.5"] {
            expectSamplerError("{name: tpe, good_kernel_floor: \(bad)}", contains: ["sampler.good_kernel_floor", "above 0 and at most 1"])
        }
        XCTAssertNoThrow(try parse(Self.yaml.replacingOccurrences(of: "sampler: tpe", with: "sampler: {name: tpe, good_kernel_floor: 1}")).makeSearchComponents())
    }

    func testUnknownSampler() { expectError(Self.yaml.replacingOccurrences(of: "sampler: tpe", with: "sampler: cmaes"), line: 6, contains: ["sampler", "cmaes", "tpe, gp"]) }
    func testUnknownMetric() {
        expectError(Self.yaml.replacingOccurrences(of: "metric: val_accuracy", with: "metric: accuracy"), line: nil, contains: ["objective.metric", "val_accuracy"])
    }
    func testBadDistributionShape() {
        expectError(Self.yaml.replacingOccurrences(of: "{int: [16, 256], log: true}", with: "{int: [16], log: true}"), line: 14, contains: ["model.layers.0.units.int", "[low, high]"])
    }
    func testTwoKinds() {
        expectError(Self.yaml.replacingOccurrences(of: "{float: [0.0, 0.5], step: 0.1}", with: "{float: [0.0, 0.5], choice: [1]}"), line: 16, contains: ["float and choice"])
    }
    func testUnknownValueInsideTheSpaceIsCaughtAtLoad() {
        expectError(Self.yaml.replacingOccurrences(of: "[sgd, momentum, adam]", with: "[sgd, momentum, adamx]"), line: nil, contains: ["training.optimizer", "adamx"])
    }
    func testShapeErrorAtTheCornersIsCaughtAtLoad() {
        expectError(Self.yaml.replacingOccurrences(of: "type: dense", with: "type: maxpool2d"), line: nil, contains: ["space.yaml"])
    }
}

enum CLIPaths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}
