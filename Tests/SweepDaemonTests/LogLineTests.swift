import Foundation
import Logging
import XCTest
@testable import SweepDaemon

/// The daemon log's line format: a UTC timestamp with milliseconds, the level, the label, the
/// message, then `key=value` metadata sorted by key, values with spaces or quotes quoted.
final class LogLineTests: XCTestCase {
    func testALineHasTheTimestampLevelLabelMessageAndQuotedMetadata() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("daemon.log").path
        let sink = try FileLogHandler.Sink(path: path, echo: false)
        let logger = Logger(label: "sweep") { FileLogHandler(label: $0, sink: sink) }
        logger.info("trial finished", metadata: ["trial": "7", "study": "my study", "reason": #"said "no""#, "empty": ""])
        let line = try String(contentsOfFile: path, encoding: .utf8)
        let stamp = String(line.prefix(24))
        XCTAssertNotNil(stamp.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression), stamp)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let when = try XCTUnwrap(formatter.date(from: stamp))
        XCTAssertLessThan(abs(when.timeIntervalSinceNow), 60)
        XCTAssertEqual(String(line.dropFirst(25)),
                       #"info [sweep] trial finished empty="" reason="said \"no\"" study="my study" trial=7"# + "\n")
    }
}
