import XCTest
import SweepCore
@testable import SweepSearch

/// A command's parameters keep the names written under `params:`; studies stored with the old
/// `params.` names are read under those.
final class CommandNamesTests: XCTestCase {
    static let text = """
    name: cmd
    objective: {metric: loss, direction: minimize}
    budget: {trials: 5, max_epochs: 3}
    command: [python3, train.py, --lr, "{lr}"]
    params:
      lr: {float: [1.0e-4, 0.1], log: true}
      opt: {choice: [sgd, momentum]}
      momentum: {float: [0.5, 0.99], when: {opt: [momentum]}}
      net:
        width: {int: [8, 64]}
        layers:
          repeat:
            count: {int: [1, 2]}
            layer: {units: {int: [4, 8]}}
      fixed: 3
    """

    func testParametersKeepTheirNames() throws {
        let s = try StudySpec.parse(Self.text, file: "s.yaml")
        XCTAssertEqual(Set(s.space.names), ["lr", "opt", "momentum", "net.width", "net.layers.count", "net.layers.0.units", "net.layers.1.units"])
        XCTAssertEqual(s.space["momentum"]?.conditions, [Condition(parent: "opt", values: [.string("momentum")])])
        // The spelling of conditions from before still reads.
        let old = try StudySpec.parse(Self.text.replacingOccurrences(of: "when: {opt:", with: "when: {params.opt:"), file: "s.yaml")
        XCTAssertEqual(old.space, s.space)
        // A mapping is required under `params:`.
        for bad in ["params: {float: [0, 1]}", "params: [1, 2]", "params: 3"] {
            let t = Self.text.components(separatedBy: "params:")[0] + bad
            XCTAssertThrowsError(try StudySpec.parse(t, file: "s.yaml"), bad) { e in
                XCTAssertEqual((e as? InputError)?.field, "params", "\(e)")
                XCTAssertTrue("\(e)".contains("expected a mapping of parameter names to ranges"), "\(e)")
            }
        }
    }

    /// The stored names win: a study stored with `params.lr` keeps reading and writing that.
    func testStoredLegacyNamesWin() throws {
        let s = try StudySpec.parse(Self.text, file: "s.yaml")
        let legacy: Set<String> = ["params.lr", "params.opt", "params.net.width", "params.net.layers.count", "params.net.layers.0.units"]
        let adopted = s.adoptingStoredNames(legacy)
        XCTAssertEqual(Set(adopted.space.names), Set(s.space.names.map { "params." + $0 }))
        XCTAssertEqual(adopted.space["params.momentum"]?.conditions, [Condition(parent: "params.opt", values: [.string("momentum")])])
        XCTAssertEqual(adopted.space["params.net.layers.1.units"]?.conditions.map(\.parent), ["params.net.layers.count"])
        // The template's markers follow, so values fill under the stored names.
        var values: [String: Double] = [:]
        for p in adopted.space.parameters where adopted.space.isActive(p, given: values) { values[p.name] = p.distribution.fromUnit(1) }
        let filled = try adopted.resolve(values)
        guard case .map(let pairs, _) = filled, case .map(let params, _)? = pairs.first(where: { $0.key == "params" })?.value else {
            return XCTFail("\(filled)")
        }
        XCTAssertEqual(params.first { $0.key == "lr" }?.value, .scalar("0.1", line: nil))
        // A study stored under the file's names, or with no trials yet, is left as it is.
        XCTAssertEqual(s.adoptingStoredNames(["lr", "opt"]).space, s.space)
        XCTAssertEqual(s.adoptingStoredNames([]).space, s.space)
        // Built-in sections never had the prefix.
        let builtin = try StudySpec.parse(SearchSpaceTests.yaml, file: "space.yaml")
        XCTAssertEqual(builtin.adoptingStoredNames(Set(builtin.space.names.map { "params." + $0 })).space, builtin.space)
    }
}
