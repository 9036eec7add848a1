import Foundation
import XCTest
import SweepCore
@testable import SweepSearch

/// Errors in `--set key=value` name the argument, not a line of the file.
final class OverrideErrorTests: XCTestCase {
    func testErrorsInOverridesNameTheArgument() {
        let cases: [(set: String, field: String, says: String)] = [
            ("training.lr=0.1", "training.lr", "unknown key; accepted here:"),
            ("training.learning_rate={float: [0.5, 0.1]}", "training.learning_rate", "low 0.5 is above high 0.1"),
            ("training.batch_size.x=1", "training.batch_size.x", "unknown key"),
            ("seed=abc", "seed", "expected a whole number"),
            ("name.x=1", "name.x", "cannot set a key inside a plain value"),
            ("budget={trials: 0}", "budget.trials", "out of range"),
            ("training.learning_rate={float: [1, 2]", "", "not valid YAML"),
            ("model.layers.repeat.count={int: [3, 1]}", "model.layers.count", "low 3 is above high 1"),
            ("model.layers.repeat.layer.units={int: [0, 4]}", "model.layers.0.units", "out of range"),
        ]
        for c in cases {
            XCTAssertThrowsError(try StudySpec.parse(SearchSpaceTests.yaml, file: "space.yaml", overrides: [c.set]), c.set) { e in
                guard let e = e as? InputError else { return XCTFail("\(c.set): not an InputError: \(e)") }
                XCTAssertEqual(e.file, "--set \(c.set)", c.set)
                XCTAssertNil(e.line, "\(c.set): \(e)")
                if !c.field.isEmpty { XCTAssertEqual(e.field, c.field, "\(c.set): \(e)") }
                XCTAssertTrue(e.description.hasPrefix("--set \(c.set)"), e.description)
                XCTAssertTrue(e.description.contains(c.says), "'\(e)' lacks '\(c.says)'")
            }
        }
    }

    /// A step larger than its range, given by --set, is refused naming the argument.
    func testAStepFromAnOverrideNamesTheArgument() throws {
        let set = "model.layers.repeat.count={int: [1, 3], step: 5}"
        let spec = try StudySpec.parse(SearchSpaceTests.yaml, file: "space.yaml", overrides: [set])
        XCTAssertEqual(spec.overrides, [set])
        XCTAssertThrowsError(try spec.checkSteps()) { e in
            XCTAssertEqual("\(e)", "--set \(set): 'model.layers.count': step 5 is larger than the range [1, 3]: the value would never vary; use a step of at most 2")
        }
    }

    /// An error elsewhere in the file still names the file and its line, overrides or not; a
    /// later `--set` of the same key is the one named.
    func testOtherErrorsStillNameTheFile() {
        let text = SearchSpaceTests.yaml.replacingOccurrences(of: "  batch_size:", with: "  batchsize:")
        XCTAssertThrowsError(try StudySpec.parse(text, file: "space.yaml", overrides: ["training.learning_rate=0.01"])) { e in
            XCTAssertEqual(e as? InputError, InputError(file: "space.yaml", line: 21, field: "training.batchsize",
                                                        (e as? InputError)?.message ?? ""))
        }
        XCTAssertThrowsError(try StudySpec.parse(SearchSpaceTests.yaml, file: "space.yaml", overrides: ["seed=1", "seed=x"])) { e in
            XCTAssertEqual((e as? InputError)?.file, "--set seed=x")
        }
        XCTAssertEqual(try StudySpec.parse(SearchSpaceTests.yaml, file: "space.yaml", overrides: ["seed=5"]).seed, 5)
    }
}
