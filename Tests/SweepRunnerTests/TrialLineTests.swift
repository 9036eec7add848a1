import XCTest
@testable import SweepRunner

final class TrialLineTests: XCTestCase {
    func testReportsAndFinal() throws {
        XCTAssertEqual(try TrialLine.parse(#"{"step": 3, "value": 0.5, "train_loss": 1.25}"#),
                       .report(step: 3, value: 0.5, extra: ["train_loss": 1.25]))
        XCTAssertEqual(try TrialLine.parse(#"{"value": -2}"#), .final(value: -2))
        XCTAssertEqual(try TrialLine.parse("   "), nil)
        XCTAssertEqual(try TrialLine.parse(#"{"value": "inf"}"#), .final(value: .infinity))
    }

    func testGarbageAndNaN() {
        for bad in ["hello", "{not json", #"{"step": 1}"#, #"{"step": -1, "value": 1}"#, #"{"step": 1.5, "value": 1}"#, #"{"value": "abc"}"#, "[1,2]"] {
            XCTAssertThrowsError(try TrialLine.parse(Substring(bad)), bad) { e in
                guard case TrialLine.ParseError.garbage = e else { return XCTFail("\(bad): \(e)") }
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
