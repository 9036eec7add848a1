import XCTest
import SweepCore
@testable import SweepSearch

/// `scheduler: {name: asha|hyperband, mode: stop|promote}` and `scheduler: {name: pbt, ...}` in
/// search-space files: what they build and how bad values are refused.
final class PausingSchedulerSpecTests: XCTestCase {
    static let base = """
    name: pause
    dataset: {name: digits}
    objective: {metric: val_accuracy, direction: maximize}
    budget: {trials: 8, max_epochs: 9}
    model:
      layers:
        - {type: dense, units: {int: [8, 64]}}
    """

    func build(_ scheduler: String) throws -> Scheduler {
        try StudySpec.parse(Self.base + "\nscheduler: \(scheduler)", file: "p.yaml").makeSearchComponents().scheduler
    }

    func expectError(_ scheduler: String, field: String, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try build(scheduler), file: file, line: line) { e in
            guard let e = e as? InputError else { return XCTFail("not an InputError: \(e)", file: file, line: line) }
            XCTAssertEqual(e.file, "p.yaml", file: file, line: line)
            XCTAssertEqual(e.field, field, "\(e)", file: file, line: line)
            for p in parts { XCTAssertTrue(e.description.contains(p), "'\(e)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func testModesAndPBTAreBuilt() throws {
        let table: [(String, String, ASHAScheduler.Mode?)] = [
            ("asha", "asha", .stop),
            ("{name: asha, mode: stop}", "asha", .stop),
            ("{name: asha, mode: promote, reduction_factor: 2}", "asha", .promote),
            ("{name: hyperband, mode: promote}", "hyperband", .promote),
            ("{name: hyperband}", "hyperband", .stop),
        ]
        for (text, name, mode) in table {
            let s = try build(text)
            XCTAssertEqual(s.name, name, text)
            if let a = s as? ASHAScheduler { XCTAssertEqual(a.mode, mode, text) }
            if let h = s as? HyperbandScheduler { XCTAssertEqual(h.mode, mode, text) }
        }
        let pbt = try XCTUnwrap(try build("{name: pbt, interval: 3, quantile: 0.5, resample_probability: 0.1, min_population: 3}") as? PBTScheduler)
        XCTAssertEqual([pbt.interval, pbt.maxResource, pbt.minPopulation], [3, 9, 3])
        XCTAssertEqual([pbt.quantile, pbt.resampleProbability], [0.5, 0.1])
        let defaults = try XCTUnwrap(try build("{name: pbt, interval: 2}") as? PBTScheduler)
        XCTAssertEqual([defaults.quantile, defaults.resampleProbability], [0.25, 0.25])
        XCTAssertEqual(defaults.minPopulation, 4)
    }

    func testBadValuesNameTheField() {
        expectError("{name: asha, mode: pause}", field: "scheduler.mode", contains: ["unknown mode 'pause'", "stop, promote"])
        expectError("{name: asha, mode: 1}", field: "scheduler.mode", contains: ["unknown mode '1'"])
        expectError("{name: median, mode: promote}", field: "scheduler.mode", contains: ["unknown option of median"])
        expectError("{name: pbt, mode: promote, interval: 2}", field: "scheduler.mode", contains: ["unknown option of pbt", "interval, quantile"])
        expectError("pbt", field: "scheduler.interval", contains: ["pbt needs `interval`"])
        expectError("{name: pbt, interval: 9}", field: "scheduler.interval", contains: ["below max_epochs 9"])
        expectError("{name: pbt, interval: 0}", field: "scheduler.interval", contains: ["at least 1"])
        expectError("{name: pbt, interval: 1.5}", field: "scheduler.interval", contains: ["whole number"])
        expectError("{name: pbt, interval: 2, quantile: 0.6}", field: "scheduler.quantile", contains: ["at most 0.5"])
        expectError("{name: pbt, interval: 2, resample_probability: 2}", field: "scheduler.resample_probability", contains: ["from 0 to 1"])
        expectError("{name: pbt, interval: 2, min_population: 1}", field: "scheduler.min_population", contains: ["at least 2"])
        expectError("{name: pbt, interval: 2, grace_period: 1}", field: "scheduler.grace_period", contains: ["unknown option of pbt"])
    }

    func testSeveralObjectivesRefusePromoteAndPBT() throws {
        let mo = ObjectivesSpecTests.builtIn
        for (s, field) in [("{name: asha, mode: promote}", "scheduler.mode"), ("{name: pbt, interval: 2}", "scheduler")] {
            XCTAssertThrowsError(try StudySpec.parse(mo + "\nscheduler: \(s)", file: "mo.yaml"), s) { e in
                XCTAssertEqual((e as? InputError)?.field, field, "\(e)")
                XCTAssertTrue("\(e)".contains("one value"), "\(e)")
            }
        }
        XCTAssertNoThrow(try StudySpec.parse(mo + "\nscheduler: {name: asha, mode: stop}", file: "mo.yaml"))
    }

    func testCommandsRefusePBT() {
        let command = "name: c\ncommand: [/bin/true]\nparams: {x: {float: [0, 1]}}\nbudget: {trials: 8, max_epochs: 9}\n"
        XCTAssertThrowsError(try StudySpec.parse(command + "scheduler: {name: pbt, interval: 2}", file: "c.yaml")) {
            XCTAssertEqual(($0 as? InputError)?.field, "scheduler", "\($0)")
            XCTAssertTrue("\($0)".contains("needs built-in trials"), "\($0)")
        }
        XCTAssertNoThrow(try StudySpec.parse(command + "scheduler: {name: asha, mode: promote}", file: "c.yaml").makeSearchComponents())
    }

    func testTheModeIsStoredAndReadBack() throws {
        let spec = try StudySpec.parse(Self.base + "\nscheduler: {name: asha, mode: promote}", file: "p.yaml")
        let json = try JSONEncoder().encode(spec.scheduler)
        XCTAssertEqual(try JSONDecoder().decode(ComponentSpec.self, from: json), spec.scheduler)
        XCTAssertEqual(spec.scheduler.summary, "asha (mode promote)")
        // A study stored before words existed reads back the same, and is stored the same.
        let old = #"{"name":"asha","options":{"min_epochs":1}}"#
        let read = try JSONDecoder().decode(ComponentSpec.self, from: Data(old.utf8))
        XCTAssertEqual(read, ComponentSpec(name: "asha", options: ["min_epochs": 1]))
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(read), as: UTF8.self).contains("words"))
    }
}
