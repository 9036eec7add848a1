import XCTest
import SweepCore
@testable import SweepSearch

/// `StudySpec.differences(to:)`: which edits of a search-space file continue its study.
final class StudyCompareTests: XCTestCase {
    static let base = SearchSpaceTests.yaml

    func differences(_ edit: (String) -> String) throws -> [String] {
        let a = try StudySpec.parse(Self.base, file: "space.yaml")
        let b = try StudySpec.parse(edit(Self.base), file: "moved/space.yaml")
        return a.differences(to: b)
    }

    func testTable() throws {
        func replace(_ a: String, _ b: String) -> (String) -> String {
            { text in XCTAssertTrue(text.contains(a), a); return text.replacingOccurrences(of: a, with: b) }
        }
        // nil: the edit continues the study; else the differences, in order.
        let cases: [(what: String, edit: (String) -> String, expected: [String])] = [
            ("a comment", { "# tuned on Tuesday\n" + $0 + "  # last line" }, []),
            ("flow to block style, other quotes", replace("optimizer: {choice: [sgd, momentum, adam]}", "optimizer:\n    choice: ['sgd', \"momentum\", adam]"), []),
            ("keys reordered", replace("sampler: tpe\nscheduler: {name: asha, reduction_factor: 3}", "scheduler: {reduction_factor: 3, name: asha}\nsampler: tpe"), []),
            ("budget.trials", replace("trials: 12", "trials: 40"), []),
            ("max_failures, trial_timeout", replace("trials: 12", "trials: 12, max_failures: 3, trial_timeout: 60"), []),
            ("the name", replace("name: demo", "name: other"), []),
            ("a range", replace("[1.0e-4, 1.0e-1]", "[1.0e-3, 1.0e-1]"),
             ["parameter training.learning_rate: float [0.0001, 0.1] log → float [0.001, 0.1] log"]),
            ("a step", replace("step: 0.1", "step: 0.05"),
             ["parameter model.layers.{0,1,2}.dropout: float [0, 0.5] step 0.1 → float [0, 0.5] step 0.05"]),
            ("a choice added", replace("[16, 32, 64]", "[16, 32, 64, 128]"),
             ["parameter training.batch_size: choice [16, 32, 64] → choice [16, 32, 64, 128]"]),
            ("a parameter fixed", replace("batch_size: {choice: [16, 32, 64]}", "batch_size: 32"),
             ["parameter training.batch_size: choice [16, 32, 64] → (none)", "training.batch_size: parameter training.batch_size → 32"]),
            ("a parameter added", replace("  batch_size:", "  weight_decay: {float: [0.0, 0.01]}\n  batch_size:"),
             ["parameter training.weight_decay: (none) → float [0, 0.01]", "training.weight_decay: (none) → parameter training.weight_decay"]),
            ("a condition", replace("when: {training.optimizer: [momentum]}", "when: {training.optimizer: [momentum, sgd]}"),
             ["parameter training.momentum: when training.optimizer in [momentum] → when training.optimizer in [momentum, sgd]"]),
            ("a fixed value in a repeated layer", replace("type: dense", "type: dense\n        batchnorm: true"),
             ["model.layers.{0,1,2}.batchnorm: (none) → true"]),
            ("the data set", replace("dataset: {name: digits}", "dataset: {name: digits, split_seed: 3}"),
             ["dataset.split_seed: (none) → 3"]),
            ("the objective", replace("metric: val_accuracy, direction: maximize", "metric: val_loss, direction: minimize"),
             ["objective: maximize val_accuracy → minimize val_loss"]),
            ("the sampler", replace("sampler: tpe", "sampler: {name: tpe, candidates: 48}"), ["sampler: tpe → tpe (candidates 48)"]),
            ("the scheduler", replace("reduction_factor: 3", "reduction_factor: 2"),
             ["scheduler: asha (reduction_factor 3) → asha (reduction_factor 2)"]),
            ("the seed", replace("seed: 7", "seed: 8"), ["seed: 7 → 8"]),
            ("max_epochs", replace("max_epochs: 4", "max_epochs: 8"), ["budget.max_epochs: 4 → 8"]),
        ]
        for c in cases {
            XCTAssertEqual(try differences(c.edit), c.expected, c.what)
        }
        // Fewer repeated layers: the count, the last layer's parameters and the conditions of
        // the layer that is now last, and the template's list of items.
        let fewer = try differences(replace("count: {int: [1, 3]}", "count: {int: [1, 2]}"))
        XCTAssertEqual(fewer.first, "parameter model.layers.count: int [1, 3] → int [1, 2]")
        XCTAssertTrue(fewer.contains("parameter model.layers.2.units: int [16, 256] log → (none)"), "\(fewer)")
        XCTAssertTrue(fewer.contains("parameter model.layers.1.units: when model.layers.count in [2, 3] → when model.layers.count in [2]"), "\(fewer)")
        XCTAssertEqual(fewer.count, 8, "\(fewer)")
        XCTAssertTrue(fewer.last?.hasPrefix("model.layers: [{") == true, "\(fewer)")
    }

    /// The same change to every repeated layer is one line; different changes stay apart.
    func testGroupsRepeatedItems() {
        XCTAssertEqual(StudySpec.groupingIndices([
            "parameter a.0.u: x → y", "parameter a.1.u: x → y", "parameter a.2.u: x → z", "b.0.c.1: p → q", "seed: 1 → 2", "parameter a.3.u: x → y",
            "m.l.0.d: parameter m.l.0.d → 0.1", "m.l.1.d: parameter m.l.1.d → 0.1",
        ]), ["parameter a.{0,1,3}.u: x → y", "parameter a.2.u: x → z", "b.0.c.1: p → q", "seed: 1 → 2", "m.l.{0,1}.d: parameter m.l.{0,1}.d → 0.1"])
    }

    /// Command studies: the command, fixed `params:` values and the parameters count; the
    /// protocol and the budget's trials do not.
    func testCommandStudies() throws {
        let text = CommandNamesTests.text
        let a = try StudySpec.parse(text, file: "s.yaml")
        func diff(_ from: String, _ to: String) throws -> [String] {
            XCTAssertTrue(text.contains(from), from)
            return a.differences(to: try StudySpec.parse(text.replacingOccurrences(of: from, with: to), file: "s.yaml"))
        }
        XCTAssertEqual(try diff("trials: 5", "trials: 50"), [])
        XCTAssertEqual(try diff("name: cmd", "name: cmd\nprotocol: strict"), [])
        XCTAssertEqual(try diff("train.py", "train2.py"), ["command: python3 train.py --lr {lr} → python3 train2.py --lr {lr}"])
        XCTAssertEqual(try diff("fixed: 3", "fixed: 4"), ["params.fixed: 3 → 4"])
        XCTAssertEqual(try diff("[sgd, momentum]", "[sgd, momentum, adam]"), ["parameter opt: choice [sgd, momentum] → choice [sgd, momentum, adam]"])
        XCTAssertEqual(try diff("width: {int: [8, 64]}", "width: {int: [8, 32]}"), ["parameter net.width: int [8, 64] → int [8, 32]"])
    }
}
