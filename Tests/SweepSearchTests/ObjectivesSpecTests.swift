import XCTest
import SweepCore
@testable import SweepSearch

/// `objective:` as a list, `constraints:`, and what refuses them, in search-space files.
final class ObjectivesSpecTests: XCTestCase {
    static let builtIn = """
    name: mo
    dataset: {name: digits}
    objective:
      - {metric: val_accuracy, direction: maximize}
      - {metric: model_bytes, direction: minimize}
    constraints:
      - {metric: latency_ms, max: 2.0}
    budget: {trials: 6, max_epochs: 2}
    model:
      layers:
        - {type: dense, units: {int: [8, 64]}}
    """

    static let command = """
    name: mo-command
    objective:
      - {metric: val_loss, direction: minimize}
      - {metric: latency_ms}
    command: [/bin/true]
    params: {x: {float: [0, 1]}}
    budget: {trials: 4}
    """

    func parse(_ text: String) throws -> StudySpec { try StudySpec.parse(text, file: "mo.yaml") }

    func expectError(_ text: String, line: Int?, field: String?, contains parts: [String], build: Bool = false,
                     file: StaticString = #filePath, l: UInt = #line) {
        XCTAssertThrowsError(try { let s = try parse(text); if build { _ = try s.makeSearchComponents() } }(), file: file, line: l) { e in
            guard let e = e as? InputError else { return XCTFail("not an InputError: \(e)", file: file, line: l) }
            XCTAssertEqual(e.file, "mo.yaml", file: file, line: l)
            XCTAssertEqual(e.line, line, "\(e)", file: file, line: l)
            XCTAssertEqual(e.field, field, "\(e)", file: file, line: l)
            for p in parts { XCTAssertTrue(e.description.contains(p), "'\(e)' lacks '\(p)'", file: file, line: l) }
        }
    }

    func testAListOfObjectivesAndConstraints() throws {
        let s = try parse(Self.builtIn)
        XCTAssertEqual(s.objectives, [Objective(metric: "val_accuracy", direction: .maximize), Objective(metric: "model_bytes", direction: .minimize)])
        XCTAssertEqual(s.objective, s.objectives[0])
        XCTAssertEqual(s.constraints, [Constraint(metric: "latency_ms", max: 2.0)])
        XCTAssertTrue(s.isMultiObjective)
        XCTAssertEqual(s.objectiveSummary, "maximize val_accuracy, minimize model_bytes")
        XCTAssertEqual(s.constraintSummary, "latency_ms <= 2.0")
        // auto: multi-objective TPE.
        XCTAssertEqual(try s.makeSearchComponents().sampler.name, "tpe")
        XCTAssertEqual(s.autoChoice.sampler, "tpe")
        XCTAssertTrue(s.autoChoice.reason.contains("several objectives"))
        // A command's metrics are its own; a direction defaults as for one objective.
        let c = try parse(Self.command)
        XCTAssertEqual(c.directions, [.minimize, .minimize])
        XCTAssertEqual(c.metrics, ["val_loss", "latency_ms"])
        // One mapping is one objective, as before; one item is one objective too.
        let one = try parse(Self.command.replacingOccurrences(of: "  - {metric: latency_ms}\n", with: ""))
        XCTAssertFalse(one.isMultiObjective)
        XCTAssertEqual(one.objective, Objective(metric: "val_loss", direction: .minimize))
    }

    func testConstraintValuesAreOptunas() {
        let both = Constraint(metric: "m", max: 2, min: 1)
        XCTAssertEqual(both.values(1.5), [-0.5, -0.5])
        XCTAssertEqual(both.values(3), [1, -2])
        XCTAssertEqual(Constraint(metric: "m", min: 1).values(0.25), [0.75])
    }

    func testBadObjectivesAndConstraintsNameTheLineAndKey() {
        expectError(Self.command.replacingOccurrences(of: "objective:\n  - {metric: val_loss, direction: minimize}\n  - {metric: latency_ms}", with: "objective: []"),
                    line: 2, field: "objective", contains: ["list of objectives is empty", "{metric: NAME, direction: minimize|maximize}"])
        expectError(Self.command.replacingOccurrences(of: "{metric: latency_ms}", with: "{metric: val_loss, direction: maximize}"),
                    line: 4, field: "objective.1.metric", contains: ["'val_loss' is already an objective (item 0)"])
        expectError(Self.command.replacingOccurrences(of: "{metric: latency_ms}", with: "{metric: latency_ms, direction: smaller}"),
                    line: 4, field: "objective.1.direction", contains: ["'smaller' is not accepted", "minimize, maximize"])
        expectError(Self.command.replacingOccurrences(of: "{metric: latency_ms}", with: "{direction: minimize}"),
                    line: 4, field: "objective.1", contains: ["missing `objective.1.metric`"])
        expectError(Self.command.replacingOccurrences(of: "{metric: latency_ms}", with: "{metric: latency_ms, goal: low}"),
                    line: 4, field: "objective.1.goal", contains: ["unknown key", "metric, direction"])
        expectError(Self.command + "\nconstraints:\n  - {metric: latency_ms}", line: 9, field: "constraints.0",
                    contains: ["constraint on 'latency_ms' has no bound", "max", "min"])
        expectError(Self.command + "\nconstraints:\n  - {metric: latency_ms, max: 1, min: 2}", line: 9, field: "constraints.0.min",
                    contains: ["2.0 is above max 1.0"])
        expectError(Self.command + "\nconstraints:\n  - {metric: latency_ms, max: fast}", line: 9, field: "constraints.0.max",
                    contains: ["expected a number, got 'fast'"])
        expectError(Self.command + "\nconstraints:\n  - {metric: a, max: 1}\n  - {metric: a, min: 0}", line: 10, field: "constraints.1.metric",
                    contains: ["'a' already has a constraint"])
        expectError(Self.command + "\nconstraints: {metric: a, max: 1}", line: 8, field: "constraints", contains: ["expected a list"])
    }

    func testBuiltInMetricsAreChecked() {
        expectError(Self.builtIn.replacingOccurrences(of: "metric: model_bytes", with: "metric: model_size"), line: 5,
                    field: "objective.1.metric", contains: ["unknown metric 'model_size'", "model_bytes", "latency_ms", "val_accuracy"])
        expectError(Self.builtIn.replacingOccurrences(of: "{metric: latency_ms, max: 2.0}", with: "{metric: speed, max: 2.0}"), line: 7,
                    field: "constraints.0.metric", contains: ["unknown metric 'speed'"])
        // The first objective is the one reported each epoch.
        let swapped = Self.builtIn.replacingOccurrences(of: "  - {metric: val_accuracy, direction: maximize}\n  - {metric: model_bytes, direction: minimize}",
                                                        with: "  - {metric: model_bytes, direction: minimize}\n  - {metric: val_accuracy, direction: maximize}")
        expectError(swapped, line: 4, field: "objective.0.metric",
                    contains: ["'model_bytes' is known only after training", "put it first"])
    }

    func testSamplersAndSchedulersThatRankOneValueAreRefused() {
        expectError(Self.builtIn + "\nsampler: gp", line: 12, field: "sampler", contains: ["gp does not model constraints", "auto (multi-objective TPE), tpe, nsga2"])
        let constrainedOne = Self.command.replacingOccurrences(of: "  - {metric: latency_ms}\n", with: "") + "\nconstraints: [{metric: latency_ms, max: 1}]\nsampler: gp"
        expectError(constrainedOne, line: 8, field: "sampler", contains: ["gp does not model constraints", "with constraints"])
        for s in ["median", "{name: hyperband, reduction_factor: 3}"] {
            expectError(Self.command + "\nscheduler: \(s)", line: 8, field: "scheduler", contains: ["ranks trials by one value", "asha"])
        }
        XCTAssertNoThrow(try parse(Self.command + "\nscheduler: asha\nsampler: nsga2").makeSearchComponents())
        XCTAssertNoThrow(try parse(Self.command + "\nsampler: random").makeSearchComponents())
    }

    /// gp takes a list of objectives (one GP each) and is built as a multi-objective sampler.
    func testGPAcceptsSeveralObjectivesWithoutConstraints() throws {
        let spec = try parse(Self.command + "\nsampler: gp")
        XCTAssertEqual(spec.directions, [.minimize, .minimize])
        let components = try spec.makeSearchComponents()
        XCTAssertTrue(components.sampler is GPSampler)
        XCTAssertTrue(components.sampler is any MultiObjectiveSampler)
    }

    func testChangingAnObjectiveOrAConstraintIsAnotherSearch() throws {
        let s = try parse(Self.builtIn)
        let t = try parse(Self.builtIn.replacingOccurrences(of: "max: 2.0", with: "max: 3.0").replacingOccurrences(of: "metric: model_bytes", with: "metric: parameters"))
        XCTAssertEqual(s.differences(to: t), [
            "objective: maximize val_accuracy, minimize model_bytes → maximize val_accuracy, minimize parameters",
            "constraints: latency_ms <= 2.0 → latency_ms <= 3.0",
        ])
    }
}
