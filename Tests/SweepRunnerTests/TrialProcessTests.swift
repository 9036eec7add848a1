import Foundation
import XCTest
@testable import SweepRunner

/// The process pool's unit: protocol lines become events, limits and stops end the process group.
final class TrialProcessTests: XCTestCase {
    final class Collector: @unchecked Sendable {
        let cond = NSCondition()
        var events: [TrialEvent] = []
        func post(_ e: TrialEvent) { cond.lock(); events.append(e); cond.broadcast(); cond.unlock() }
        /// Waits for the `.exited` event (bounded) and returns everything received.
        func waitForExit(timeout: Double = 20) -> [TrialEvent] {
            cond.lock(); defer { cond.unlock() }
            let deadline = Date().addingTimeInterval(timeout)
            while !events.contains(where: { if case .exited = $0 { return true }; return false }) {
                if !cond.wait(until: deadline) { break }
            }
            return events
        }
    }

    func start(_ script: String, stdin: String = "", limits: TrialLimits = .init()) throws -> (TrialProcess, Collector) {
        let c = Collector()
        let p = try TrialProcess(key: 7, argv: ["/bin/sh", "-c", script], stdin: Data(stdin.utf8), env: ["SWEEP_X": "42"],
                                 limits: limits) { _, e in c.post(e) }
        return (p, c)
    }

    func exit(_ events: [TrialEvent]) -> (TrialExit, String)? {
        for e in events { if case .exited(let x, let tail) = e { return (x, tail) } }
        return nil
    }

    func testLinesStdinEnvironmentAndStderrTail() throws {
        let (_, c) = try start(#"read a; echo "{\"step\": 1, \"value\": $a}"; echo "to stderr $SWEEP_X" >&2; echo '{"value": 2.5}'"#, stdin: "0.25\n")
        let events = c.waitForExit()
        var lines: [TrialLine] = []
        for e in events { if case .line(let l) = e { lines.append(l) } }
        XCTAssertEqual(lines, [.report(step: 1, value: 0.25, extra: [:]), .final(value: 2.5)])
        let (x, tail) = try XCTUnwrap(exit(events))
        XCTAssertEqual(x, .exited(code: 0))
        XCTAssertEqual(tail, "to stderr 42\n")
    }

    /// Parameters larger than a pipe holds (64 KB) reach the trial whole: what the pipe does
    /// not take at once is written while the trial reads. Trials one after another reuse the
    /// reader thread of the one before.
    func testLargeStdinAndTrialsInARow() throws {
        let big = String(repeating: "x", count: 300_000) + "\n"
        let (_, c) = try start(#"n=$(wc -c); echo "{\"value\": $n}""#, stdin: big)
        let events = c.waitForExit()
        var lines: [TrialLine] = []
        for e in events { if case .line(let l) = e { lines.append(l) } }
        XCTAssertEqual(lines, [.final(value: Double(big.utf8.count))])
        XCTAssertEqual(exit(events)?.0, .exited(code: 0))
        let made = ReaderThreads.shared.threadsMade
        for i in 0..<20 {
            let (_, c) = try start(#"read a; echo "{\"value\": $a}""#, stdin: "\(i)\n")
            let events = c.waitForExit()
            XCTAssertTrue(events.contains(.line(.final(value: Double(i)))), "\(events)")
            XCTAssertEqual(exit(events)?.0, .exited(code: 0))
        }
        XCTAssertLessThanOrEqual(ReaderThreads.shared.threadsMade - made, 2, "the first trial's thread, or another when an exit raced the next start")
    }

    func testExitCodesAndSignals() throws {
        XCTAssertEqual(exit(try start("exit 3").1.waitForExit())?.0, .exited(code: 3))
        XCTAssertEqual(exit(try start("kill -SEGV $$").1.waitForExit())?.0, .signaled(signal: SIGSEGV))
    }

    /// A stop reaches the whole process group (a command's own children too), with SIGTERM even
    /// though the controller itself ignores SIGTERM, and SIGKILL after the grace period.
    func testStopSignalsTheGroupAndEscalates() throws {
        signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, SIG_DFL) }
        let marker = NSTemporaryDirectory() + "sweep-stop-\(UUID().uuidString)"
        let (p, c) = try start("sleep 30 & echo $! > \(marker); echo '{\"step\": 1, \"value\": 1}'; wait")
        while !FileManager.default.fileExists(atPath: marker) { usleep(10_000) }
        usleep(100_000)
        let child = Int32(try String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        p.stop()
        let (x, _) = try XCTUnwrap(exit(c.waitForExit()))
        XCTAssertEqual(x, .signaled(signal: SIGTERM))
        usleep(100_000)
        // Gone, or a zombie waiting for a reaper that is not ours.
        let stat = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
        let state = stat.split(separator: ")").last?.split(separator: " ").first.map(String.init) ?? "gone"
        XCTAssertTrue(state == "gone" || state == "Z", "the command's child got the signal too (state \(state))")

        let (q, d) = try start("trap '' TERM; echo '{\"step\": 1, \"value\": 1}'; while true; do sleep 0.05; done",
                               limits: .init(graceSeconds: 0.3))
        usleep(200_000)
        q.stop()
        XCTAssertEqual(exit(d.waitForExit())?.0, .signaled(signal: SIGKILL), "SIGKILL after the grace period")
    }

    func testGarbageNaNAndOutputCapAreViolations() throws {
        for (script, expected, strict) in [("echo hello", "not a protocol line", true), (#"echo '{"value": NaN}'"#, "NaN", false),
                                           (#"echo '{"value": "high"}'"#, "value is not a number", false),
                                           ("yes '{\"step\": 1, \"value\": 1}'", "more than", false), ("yes hello", "more than", false)] {
            let (_, c) = try start(script, limits: .init(outputBytes: 1 << 16, strictStdout: strict))
            let events = c.waitForExit()
            let reasons = events.compactMap { e -> String? in if case .violation(let r) = e { return r }; return nil }
            XCTAssertTrue(reasons.first?.contains(expected) == true, "\(script): \(reasons)")
            XCTAssertNotNil(exit(events))
        }
    }

    /// Not strict: ordinary stdout lines are log lines, kept in order with stderr in the tail;
    /// the protocol lines among them still count.
    func testLenientStdoutKeepsOtherLinesAsLog() throws {
        let script = #"echo Loading...; echo '{"step": 1, "value": 0.5}'; echo 'to stderr' >&2; sleep 0.1; echo '{"epoch": 1}'; printf '{"value": 0.75}'"#
        let (_, c) = try start(script, limits: .init(strictStdout: false))
        let events = c.waitForExit()
        var lines: [TrialLine] = []
        for e in events {
            if case .line(let l) = e { lines.append(l) }
            if case .violation(let r) = e { XCTFail("violation: \(r)") }
        }
        XCTAssertEqual(lines, [.report(step: 1, value: 0.5, extra: [:]), .final(value: 0.75)])
        let (x, tail) = try XCTUnwrap(exit(events))
        XCTAssertEqual(x, .exited(code: 0))
        XCTAssertTrue(tail.hasPrefix("Loading...\n"), tail)
        XCTAssertTrue(tail.hasSuffix("{\"epoch\": 1}\n"), tail)
        XCTAssertTrue(tail.contains("to stderr\n"), tail)
    }

    func testAMissingProgramIsAnError() {
        XCTAssertThrowsError(try TrialProcess(key: 1, argv: ["/no/such/program"], stdin: Data(), env: [:], limits: .init()) { _, _ in })
    }
}
