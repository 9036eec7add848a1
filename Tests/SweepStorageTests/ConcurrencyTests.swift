import Foundation
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

/// Several writers and readers on one file. A separate `SQLiteStore` per thread stands for a
/// separate process (its own connections, SQLite's file locks between them).
final class ConcurrencyTests: StoreTestCase {
    /// Runs `body(i)` on `count` threads at once; returns the errors they threw.
    func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> [String] {
        let errors = Errors()
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            Thread.detachNewThread {
                do { try body(i) } catch { errors.add("\(error)") }
                group.leave()
            }
        }
        group.wait()
        return errors.all
    }

    func testOpeningANewFileFromSeveralProcessesAtOnce() {
        let path = dbPath
        XCTAssertEqual(onThreads(4) { _ in _ = try SQLiteStore(path: path) }, [])
    }

    func testTrialNumbersAreUniqueAndDenseUnderConcurrentWriters() throws {
        let shared = try SQLiteStore(path: dbPath)
        let study = try makeStudy(shared)
        let path = dbPath, perThread = 40
        let numbers = Errors()
        // Threads 0 and 1 share one store; threads 2 and 3 each open their own.
        let errors = onThreads(4) { i in
            let store = i < 2 ? shared : try SQLiteStore(path: path)
            for k in 0..<perThread {
                let (id, number) = try store.createTrial(studyID: study.id, params: [("x", Double(k), Self.distributionJSON.lr)],
                                                         seed: UInt64(k), configJSON: "{}", workerPID: Int32(i))
                numbers.add("\(number)")
                if k % 2 == 0 { try store.finishTrial(trialID: id, state: .complete, value: Double(k), exitStatus: 0, reason: nil,
                                                      stderrTail: nil, epochsRun: 1, durationSeconds: 0, artifactDir: nil) }
            }
        }
        XCTAssertEqual(errors, [])
        XCTAssertEqual(numbers.all.compactMap(Int.init).sorted(), Array(0..<(4 * perThread)))
        XCTAssertEqual(try shared.trials(studyID: study.id).map(\.record.number), Array(0..<(4 * perThread)))
    }

    func testReadersNeverFailWhileAWriterWrites() throws {
        let writer = try SQLiteStore(path: dbPath)
        let study = try makeStudy(writer)
        let path = dbPath
        let deadline = Date().addingTimeInterval(1)
        let reads = Errors(), inconsistencies = Errors()
        // Thread 0 writes whole trials; 1 reads through the writer's store, 2 and 3 through their own.
        let errors = onThreads(4) { i in
            if i == 0 {
                var k = 0
                while Date() < deadline {
                    let (id, _) = try writer.createTrial(studyID: study.id, params: [("x", Double(k), Self.distributionJSON.lr)],
                                                         seed: 0, configJSON: "{}", workerPID: nil)
                    for step in 0..<10 { try writer.reportIntermediate(trialID: id, step: step, value: Double(step)) }
                    try writer.finishTrial(trialID: id, state: .complete, value: Double(k), exitStatus: 0, reason: nil,
                                           stderrTail: nil, epochsRun: 10, durationSeconds: 0, artifactDir: nil)
                    k += 1
                }
                return
            }
            let store = i == 1 ? writer : try SQLiteStore(path: path)
            while Date() < deadline {
                let trials = try store.trials(studyID: study.id)
                _ = try store.studies()
                _ = try store.bestTrial(studyID: study.id, direction: .minimize)
                reads.add("")
                // A finish is one transaction: a complete trial is seen with its value and every report.
                for t in trials where t.record.state == .complete && (t.record.value == nil || t.record.intermediate.count != 10) {
                    inconsistencies.add("trial \(t.record.number)")
                }
            }
        }
        XCTAssertEqual(errors, [])
        XCTAssertEqual(inconsistencies.all, [])
        XCTAssertGreaterThan(reads.all.count, 10)
        XCTAssertGreaterThan(try writer.trials(studyID: study.id).count, 10)
    }
}

/// A list filled from several threads.
final class Errors: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
