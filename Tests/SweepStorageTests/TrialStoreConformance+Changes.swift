import Foundation
import GRDB
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

/// The contract of `trials(studyID:changedSince:)` for every backend. Requirements declared in an
/// extension cannot be overridden, so these are `check...` methods each backend's class runs from
/// a `test...` method of its own (`ChangesConformanceSuiteTests` checks that every one does).
extension TrialStoreConformance {
    /// Runs SQL on the store's database as another writer would (Optuna's own statements).
    func writeAsAnotherWriter(_ sql: String, _ arguments: [Int64]) throws {
        if let s = store as? SQLiteStore {
            try s.pool.write { db in try db.execute(sql: sql, arguments: StatementArguments(arguments)) }
        } else if let p = store as? PostgresStore {
            try p.pool.transaction { db in _ = try db.execute(sql, arguments) }
        } else {
            throw XCTSkip("\(type(of: store!)) takes no SQL")
        }
    }

    /// Each read returns exactly the trials written since the last one, by any writer (Sweep's
    /// methods, Optuna's forms, raw SQL as Optuna writes it), none of another study; a reader that
    /// replaces its copies with them holds what a full read returns.
    func checkChangesSinceACursorAreTheTrialsWrittenSince() throws {
        let study = try makeStudy(store), other = try makeStudy(store, name: "other")
        let t0 = try newTrial(store, study), t1 = try newTrial(store, study)
        let o0 = try newTrial(store, other)
        var mirror: [Int: StoredTrial] = [:]
        var cursor: TrialChangeCursor? = nil
        func read(_ expected: [Int], _ what: String, line: UInt = #line) throws {
            let (changed, next) = try store.trials(studyID: study.id, changedSince: cursor)
            XCTAssertEqual(changed.map(\.record.number), expected, what, line: line)
            for t in changed { mirror[t.record.number] = t }
            XCTAssertEqual(mirror.keys.sorted().map { mirror[$0]! }, try store.trials(studyID: study.id), what, line: line)
            cursor = next
        }
        try read([0, 1], "a first read returns every trial")
        try read([], "nothing written")
        try store.reportIntermediate(trialID: t1.trialID, step: 1, value: 0.5)
        try read([1], "a report")
        try finish(store, t0.trialID, .complete, 0.25)
        try read([0], "a result")
        try store.setTrialSystemAttribute(trialID: t1.trialID, key: TrialAttribute.intermediateValues, valueJSON: #"{"1": [0.5, 2.0]}"#)
        try read([1], "a system attribute")
        try store.setTrialSystemAttribute(trialID: t1.trialID, key: TrialAttribute.intermediateValues, valueJSON: nil)
        try read([1], "a system attribute removed")
        try store.reportIntermediate(trialID: o0.trialID, step: 1, value: 0.5)
        try finish(store, o0.trialID, .fail, nil, reason: "boom")
        try read([], "another study's trials")
        let enqueued = try store.enqueueTrial(studyID: study.id, fixedParams: ["lr": .double(0.01)])
        try read([enqueued], "a trial enqueued as Optuna does")
        try store.requeueTrial(trialID: t1.trialID)
        try read([1], "a requeue")
        try store.recordArtifacts(trialID: t0.trialID, dir: "/tmp/a")
        try read([0], "Sweep's row of a finished trial")
        // Optuna finishing the enqueued trial itself: its own statements, on its own tables.
        let e = try XCTUnwrap(try store.trial(studyID: study.id, number: enqueued)).trialID
        try writeAsAnotherWriter("UPDATE trials SET state = 'RUNNING' WHERE trial_id = ?", [e])
        try read([enqueued], "Optuna's state change")
        try writeAsAnotherWriter("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, 'lr', 0.01, '{}')", [e])
        try read([enqueued], "Optuna's parameter")
        try writeAsAnotherWriter("INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, 0, 0.9, 'FINITE')", [e])
        try read([enqueued], "Optuna's report")
        try writeAsAnotherWriter("INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, 0.125, 'FINITE')", [e])
        try read([enqueued], "Optuna's value")
        XCTAssertEqual(mirror[enqueued]?.record.value, 0.125)
        try store.deleteStudy(id: other.id)
        try read([], "a study deleted")
        XCTAssertEqual(try value("SELECT count(*) FROM sweep_trial_changes WHERE study_id = ?", [other.id]), "0", "its changes went with it")
    }

    /// Writers on several connections at once, each transaction changing several trials, while a
    /// reader follows them by cursor: once they are done, one more read leaves the reader with
    /// every trial as stored (on PostgreSQL a transaction with a lower id often commits after one
    /// with a higher id here).
    func checkChangesOfConcurrentWritersAreNeverLost() throws {
        let study = try makeStudy(store)
        let store = self.store!
        let errors = ErrorList()
        let done = DispatchSemaphore(value: 0)
        let writers = 4, perWriter = 8
        DispatchQueue.global().async {
            DispatchQueue.concurrentPerform(iterations: writers) { w in
                do {
                    for i in 0..<perWriter {
                        let t = try store.createTrial(studyID: study.id, params: [], seed: UInt64(w * 100 + i), configJSON: "{}", workerPID: nil)
                        for step in 0..<3 { try store.reportIntermediate(trialID: t.trialID, step: step, value: Double(step)) }
                        try store.finishTrial(trialID: t.trialID, state: .complete, value: Double(w), exitStatus: 0, reason: nil, stderrTail: nil,
                                              epochsRun: 3, durationSeconds: nil, artifactDir: nil)
                    }
                } catch { errors.append(error) }
            }
            done.signal()
        }
        var mirror: [Int: StoredTrial] = [:]
        var cursor: TrialChangeCursor? = nil
        var reads = 0
        func read() throws {
            let (changed, next) = try store.trials(studyID: study.id, changedSince: cursor)
            for t in changed { mirror[t.record.number] = t }
            cursor = next
            reads += 1
        }
        while done.wait(timeout: .now() + .milliseconds(5)) == .timedOut { try read() }
        try read()
        XCTAssertEqual(errors.all.map { "\($0)" }, [])
        let all = try store.trials(studyID: study.id)
        XCTAssertEqual(all.count, writers * perWriter)
        XCTAssertEqual(mirror.keys.sorted().map { mirror[$0]! }, all, "after \(reads) reads")
    }
}

/// Each backend's conformance class runs every `check...` of the conformance extensions
/// (`TrialStoreConformance+Changes.swift`, `TrialStoreConformance+Pause.swift`,
/// `TrialStoreConformance+Watch.swift`).
final class ChangesConformanceSuiteTests: XCTestCase {
    func testEveryBackendRunsTheExtensionContracts() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        func names(_ file: String, _ pattern: String) throws -> Set<String> {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let regex = try NSRegularExpression(pattern: pattern)
            return Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
                String(text[Range($0.range(at: 1), in: text)!])
            })
        }
        let changes = try names("TrialStoreConformance+Changes.swift", #"\n    func (check\w+)\(\)"#)
        let pause = try names("TrialStoreConformance+Pause.swift", #"\n    func (check\w+)\(\)"#)
        let watch = try names("TrialStoreConformance+Watch.swift", #"\n    func (check\w+)\(\)"#)
        XCTAssertEqual(changes.count, 2)
        XCTAssertEqual(pause.count, 2)
        XCTAssertEqual(watch.count, 2)
        let contract = changes.union(pause).union(watch)
        let backends = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix("StoreConformanceTests.swift") }
        XCTAssertTrue(backends.contains("PostgresStoreConformanceTests.swift"), "\(backends)")
        for file in backends {
            XCTAssertEqual(contract.subtracting(try names(file, #"try (check\w+)\(\)"#)).sorted(), [], "\(file) does not run these")
        }
    }
}
