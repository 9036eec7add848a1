import XCTest
@testable import SweepRunner

final class TrialLineTests: XCTestCase {
    func testReportsAndFinal() throws {
        XCTAssertEqual(try TrialLine.parse(#"{"step": 3, "value": 0.5, "train_loss": 1.25}"#),
                       .report(step: 3, value: 0.5, extra: ["train_loss": 1.25]))
        XCTAssertEqual(try TrialLine.parse(#"{"value": -2}"#), .final(value: -2))
        XCTAssertEqual(try TrialLine.parse("   "), nil)
        XCTAssertEqual(try TrialLine.parse(#"{"value": "inf"}"#), .final(value: .infinity))
        // The final line's numeric extra keys are the trial's metrics; other values are not.
        XCTAssertEqual(try TrialLine.parse(#"{"value": 0.9, "latency_ms": 0.25, "model_bytes": 1024, "note": "x", "m": {"a": 1}}"#),
                       .final(value: 0.9, metrics: ["latency_ms": 0.25, "model_bytes": 1024]))
    }

    /// `{"resumed_from_epoch": K}` says where a trial continued (K a whole number from 0); with a
    /// `value` the line is a report or a final line as always.
    func testResumedLine() throws {
        XCTAssertEqual(try TrialLine.parse(#"{"resumed_from_epoch": 4}"#), .resumed(epoch: 4))
        XCTAssertEqual(try TrialLine.parse(#"{"resumed_from_epoch": 0}"#), .resumed(epoch: 0))
        XCTAssertEqual(try TrialLine.parse(#"{"resumed_from_epoch": 4, "value": 1}"#), .final(value: 1))
        for bad in [#"{"resumed_from_epoch": -1}"#, #"{"resumed_from_epoch": 1.5}"#, #"{"resumed_from_epoch": "3"}"#] {
            XCTAssertThrowsError(try TrialLine.parse(Substring(bad)), bad) { e in
                guard case TrialLine.ParseError.invalid = e else { return XCTFail("\(bad): \(e)") }
                XCTAssertTrue("\(e)".contains("resumed_from_epoch is not a whole number"), "\(e)")
            }
        }
    }

    /// A line may give the objectives by their metrics' names instead of `value`: read as their
    /// `values`, per epoch with a `step` or final; only when every objective's metric is a number
    /// there, and never for a study that names none (the built-in trials).
    func testObjectivesByTheirMetricsNames() throws {
        XCTAssertEqual(try TrialLine.parse(#"{"loss": 0.25}"#, objectives: ["loss"]), .final(value: nil, metrics: ["loss": 0.25]))
        XCTAssertEqual(try TrialLine.parse(#"{"step": 2, "loss": 0.5, "acc": 0.9, "note": "x"}"#, objectives: ["loss"]),
                       .report(step: 2, value: nil, extra: ["loss": 0.5, "acc": 0.9]))
        XCTAssertEqual(try TrialLine.parse(#"{"val_loss": 0.3, "latency_ms": 1.5}"#, objectives: ["val_loss", "latency_ms"]),
                       .final(value: nil, metrics: ["val_loss": 0.3, "latency_ms": 1.5]))
        XCTAssertEqual(try TrialLine.parse(#"{"loss": "inf"}"#, objectives: ["loss"]), .final(value: nil, metrics: ["loss": .infinity]))
        XCTAssertEqual(try TrialLine.parse(#"{"value": 1, "loss": 2}"#, objectives: ["loss"]), .final(value: 1, metrics: ["loss": 2]),
                       "a value wins as always")
        let others: [(String, [String])] = [
            (#"{"loss": "mse"}"#, ["loss"]), (#"{"loss": null}"#, ["loss"]), (#"{"accuracy": 0.3}"#, ["loss"]),
            (#"{"val_loss": 0.3}"#, ["val_loss", "latency_ms"]), (#"{"loss": 0.5}"#, []),
        ]
        for (other, objectives) in others {
            XCTAssertThrowsError(try TrialLine.parse(Substring(other), objectives: objectives), other) { e in
                guard case TrialLine.ParseError.notProtocol = e else { return XCTFail("\(other): \(e)") }
            }
        }
    }

    /// Lines that are not JSON objects with a `value` are not protocol lines (log lines unless
    /// strict); a protocol line with a wrong `value` or `step` is invalid in every mode.
    func testNotProtocolInvalidAndNaN() {
        for other in ["hello", "Loading...", "{not json", #"{"step": 1}"#, #"{"loss": 0.5}"#, "[1,2]", "{}"] {
            XCTAssertThrowsError(try TrialLine.parse(Substring(other)), other) { e in
                guard case TrialLine.ParseError.notProtocol = e else { return XCTFail("\(other): \(e)") }
            }
        }
        let invalid: [(String, String)] = [
            (#"{"step": -1, "value": 1}"#, "step is not a whole number"), (#"{"step": 1.5, "value": 1}"#, "step is not a whole number"),
            (#"{"step": "a", "value": 1}"#, "step is not a whole number"), (#"{"value": "abc"}"#, "value is not a number"),
            (#"{"value": true}"#, "value is not a number"), (#"{"value": [1]}"#, "value is not a number"),
            (#"{"step": 2, "value": {"acc": 1}}"#, "value is not a number"),
        ]
        for (bad, says) in invalid {
            XCTAssertThrowsError(try TrialLine.parse(Substring(bad)), bad) { e in
                guard case TrialLine.ParseError.invalid = e else { return XCTFail("\(bad): \(e)") }
                XCTAssertTrue("\(e)".contains(says), "\(e)")
            }
        }
        XCTAssertThrowsError(try TrialLine.parse(#"{"step": 2, "value": "nan"}"#)) { e in
            XCTAssertEqual(e as? TrialLine.ParseError, .notANumber(step: 2))
        }
        XCTAssertThrowsError(try TrialLine.parse(#"{"value": null}"#)) { e in
            XCTAssertEqual(e as? TrialLine.ParseError, .notANumber(step: nil))
        }
    }
}

final class TrialLinePythonTokensTests: XCTestCase {
    /// Python's json.dumps writes NaN and Infinity as bare tokens.
    func testPythonNonFiniteTokens() throws {
        XCTAssertEqual(try TrialLine.parse(#"{"step": 1, "value": Infinity}"#), .report(step: 1, value: .infinity, extra: [:]))
        XCTAssertEqual(try TrialLine.parse(#"{"value": -Infinity}"#), .final(value: -.infinity))
        XCTAssertThrowsError(try TrialLine.parse(#"{"value": NaN}"#)) { e in
            XCTAssertEqual(e as? TrialLine.ParseError, .notANumber(step: nil))
        }
    }

    /// Numbers are read exactly (replay compares stored values bit for bit).
    func testNumbersAreExact() throws {
        for x in [0.8194444444444444, 0.1 + 0.2, 1e-300, 123456.78901234567] {
            XCTAssertEqual(try TrialLine.parse(Substring("{\"value\": \(x)}")), .final(value: x))
        }
    }
}

/// A command's `{name}` placeholders, filled in one pass.
final class CommandPlaceholderTests: XCTestCase {
    func testPlaceholdersAreFilledOnceAndUnknownBracesStay() {
        let names = ["x": "0.5", "trial": "7", "kind": "{x}", "params.lr": "0.01"]
        XCTAssertEqual(StudyController.fillPlaceholders("--x={x}", names), "--x=0.5")
        XCTAssertEqual(StudyController.fillPlaceholders("{trial}-{x}{x}", names), "7-0.50.5")
        // A value is not searched again; a brace that starts no known name stays, and so does one never closed.
        XCTAssertEqual(StudyController.fillPlaceholders("{kind}", names), "{x}")
        XCTAssertEqual(StudyController.fillPlaceholders("{{x}} {y} {x", names), "{0.5} {y} {x")
        XCTAssertEqual(StudyController.fillPlaceholders("{params.lr}/{}", names), "0.01/{}")
        XCTAssertEqual(StudyController.fillPlaceholders("{\"value\": {x}}", names), "{\"value\": 0.5}")
        XCTAssertEqual(StudyController.fillPlaceholders("plain", names), "plain")
    }
}
