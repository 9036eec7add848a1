import XCTest
import SweepCore

final class ShortenTests: XCTestCase {
    func testShortTextIsUnchanged() {
        XCTAssertEqual("exited with status 1".shortened(to: 40), "exited with status 1")
    }

    /// Long text keeps its beginning and end, cut between words, within the limit.
    func testCutsAtWordsKeepingBothEnds() {
        let words = (1...60).map { "word\($0)" }.joined(separator: " ")
        let text = "FileNotFoundError: " + words + " /data/train.csv"
        let s = text.shortened(to: 120)
        XCTAssertLessThanOrEqual(s.count, 120)
        XCTAssertTrue(s.hasPrefix("FileNotFoundError: word1 "), s)
        XCTAssertTrue(s.hasSuffix(" /data/train.csv"), s)
        let parts = s.components(separatedBy: " … ")
        XCTAssertEqual(parts.count, 2, s)
        for w in parts[0].split(separator: " ") + parts[1].split(separator: " ") {
            XCTAssertTrue(text.split(separator: " ").contains(w), "'\(w)' is a whole word of the text")
        }
    }

    /// One long word is cut where it must be.
    func testOneLongWord() {
        let s = String(repeating: "x", count: 300).shortened(to: 50)
        XCTAssertEqual(s.count, 50)
    }
}
