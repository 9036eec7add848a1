import Foundation
import GRDB
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

/// Trials queued in Optuna's forms: enqueued (fixed_params), taken over or failed by a runner.
final class QueueTests: StoreTestCase {
    func testAnEnqueuedTrialIsWaitingWithFixedParamsAndNoSweepRow() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        _ = try newTrial(store, study)
        let number = try store.enqueueTrial(studyID: study.id, fixedParams: ["lr": .double(0.02), "activation": .string("relu")])
        XCTAssertEqual(number, 1)
        let t = try XCTUnwrap(try store.trial(studyID: study.id, number: 1))
        XCTAssertEqual(t.record.state, .waiting)
        XCTAssertFalse(t.ownedBySweep)
        XCTAssertTrue(try store.trial(studyID: study.id, number: 0)!.ownedBySweep)
        XCTAssertNil(t.datetimeStart)
        try store.pool.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT value_json FROM trial_system_attributes WHERE trial_id = ? AND key = 'fixed_params'",
                                               arguments: [t.trialID]), #"{"activation":"relu","lr":0.02}"#)
        }
        let given = try store.givenParams(trialID: t.trialID)
        XCTAssertEqual(given.values, ["lr": .double(0.02), "activation": .string("relu")])
        XCTAssertEqual(given.unreadable, [])
        XCTAssertEqual(try store.trials(studyID: study.id, fromNumber: 1).map(\.record.number), [1])
        XCTAssertEqual(try newTrial(store, study).number, 2, "numbers stay dense")
    }

    func testGivenParamsMergeStoredParametersAndSayWhatIsUnreadable() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let number = try store.enqueueTrial(studyID: study.id, fixedParams: ["lr": .double(0.5)])
        let id = try store.trial(studyID: study.id, number: number)!.trialID
        try store.pool.write { db in
            // As Optuna's add_trial writes parameters: internal values with their own distributions.
            try db.execute(sql: "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, 'lr', 0.01, ?), (?, 'activation', 2, ?)",
                           arguments: [id, Self.distributionJSON.lr, id, Self.distributionJSON.activation])
            try db.execute(sql: #"UPDATE trial_system_attributes SET value_json = '{"lr": 0.5, "units": [1, 2], "depth": null}' WHERE trial_id = ?"#,
                           arguments: [id])
        }
        let given = try store.givenParams(trialID: id)
        XCTAssertEqual(given.values, ["lr": .double(0.01), "activation": .string("gelu")], "stored parameters win, as in Optuna")
        XCTAssertEqual(given.unreadable, ["fixed parameter 'depth' is not a number, string or boolean",
                                          "fixed parameter 'units' is not a number, string or boolean"])
    }

    func testAdoptingStartsTheTrialOnceAndFailingRecordsTheReason() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let a = try store.trial(studyID: study.id, number: try store.enqueueTrial(studyID: study.id, fixedParams: ["units": .int(3)]))!
        XCTAssertTrue(try store.adoptTrial(trialID: a.trialID, params: params(0.01, 3, 0), seed: 99, configJSON: #"{"x":1}"#))
        XCTAssertFalse(try store.adoptTrial(trialID: a.trialID, params: params(0.01, 3, 0), seed: 99, configJSON: "{}"), "already Sweep's")
        let adopted = try store.trial(studyID: study.id, number: a.record.number)!
        XCTAssertEqual(adopted.record.state, .running)
        XCTAssertEqual(adopted.record.params, ["lr": 0.01, "units": 3, "activation": 0])
        XCTAssertEqual(adopted.seed, 99)
        XCTAssertEqual(adopted.configJSON, #"{"x":1}"#)
        XCTAssertEqual(adopted.attempts, 1)
        XCTAssertTrue(adopted.ownedBySweep)
        XCTAssertNotNil(adopted.datetimeStart)
        try finish(store, a.trialID, .complete, 0.5)

        let b = try store.trial(studyID: study.id, number: try store.enqueueTrial(studyID: study.id, fixedParams: ["units": .int(99)]))!
        XCTAssertTrue(try store.failEnqueuedTrial(trialID: b.trialID, seed: 5, reason: "'units' = 99 is not an integer in [1, 8]"))
        XCTAssertFalse(try store.failEnqueuedTrial(trialID: b.trialID, seed: 5, reason: "again"))
        let failed = try store.trial(studyID: study.id, number: b.record.number)!
        XCTAssertEqual(failed.record.state, .fail)
        XCTAssertEqual(failed.reason, "'units' = 99 is not an integer in [1, 8]")
        XCTAssertEqual(failed.seed, 5)
        XCTAssertNotNil(failed.datetimeComplete)
        try store.pool.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT value_json FROM trial_user_attributes WHERE trial_id = ? AND key = 'fail_reason'",
                                               arguments: [b.trialID]), #""'units' = 99 is not an integer in [1, 8]""#)
        }
        // A trial another process started (Optuna's ask) is not taken over.
        let c = try store.trial(studyID: study.id, number: try store.enqueueTrial(studyID: study.id, fixedParams: [:]))!
        try store.pool.write { db in try db.execute(sql: "UPDATE trials SET state = 'RUNNING' WHERE trial_id = ?", arguments: [c.trialID]) }
        XCTAssertFalse(try store.adoptTrial(trialID: c.trialID, params: [], seed: 1, configJSON: "{}"))
        XCTAssertFalse(try store.failEnqueuedTrial(trialID: c.trialID, seed: 1, reason: "x"))
    }

    func testCreatingATrialWhoseNumberWasTakenWritesNothing() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        _ = try store.enqueueTrial(studyID: study.id, fixedParams: [:])
        XCTAssertThrowsError(try store.createTrial(studyID: study.id, params: params(0.01, 1, 0), seed: 1, configJSON: "{}", workerPID: nil,
                                                   expectedNumber: 0)) { XCTAssertTrue($0 is SweepStore.NumberTaken, "\($0)") }
        XCTAssertEqual(try store.trials(studyID: study.id).count, 1)
        XCTAssertEqual(try store.createTrial(studyID: study.id, params: params(0.01, 1, 0), seed: 1, configJSON: "{}", workerPID: nil,
                                             expectedNumber: 1).number, 1)
    }

    // MARK: Retry and delete

    func testRetryQueuesEachFailedTrialOnceInOptunasForm() throws {
        let store = try SweepStore(path: dbPath)
        let study = try makeStudy(store)
        let failed = try store.createTrial(studyID: study.id, params: params(0.02, 6, 1), seed: 1234, configJSON: #"{"c":1}"#, workerPID: nil)
        try finish(store, failed.trialID, .fail, nil, reason: "boom")
        try finish(store, try newTrial(store, study).trialID, .complete, 0.5)
        let refused = try store.trial(studyID: study.id, number: try store.enqueueTrial(studyID: study.id, fixedParams: ["units": .int(99)]))!
        XCTAssertTrue(try store.failEnqueuedTrial(trialID: refused.trialID, seed: 5, reason: "out of range"))

        let queued = try store.retryFailedTrials(studyID: study.id)
        XCTAssertEqual(queued.map(\.failed), [0, 2])
        XCTAssertEqual(queued.map(\.retry), [3, 4])
        let retry = try store.trial(studyID: study.id, number: 3)!
        XCTAssertEqual(retry.record.state, .waiting)
        XCTAssertEqual(retry.record.params, ["lr": 0.02, "units": 6, "activation": 1])
        XCTAssertEqual(retry.seed, 1234)
        XCTAssertEqual(retry.configJSON, #"{"c":1}"#)
        XCTAssertTrue(retry.ownedBySweep)
        XCTAssertNil(retry.reason)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.record.state, .fail, "the failed trial stays as it was")
        // One Sweep never ran is queued for a runner to check again, with what it was given.
        let again = try store.trial(studyID: study.id, number: 4)!
        XCTAssertFalse(again.ownedBySweep)
        XCTAssertEqual(try store.givenParams(trialID: again.trialID).values, ["units": .int(99)])
        try store.pool.read { db in
            let attrs = try Row.fetchAll(db, sql: "SELECT key, value_json FROM trial_system_attributes WHERE trial_id = ? ORDER BY key",
                                         arguments: [retry.trialID]).map { "\($0["key"] as String)=\($0["value_json"] as String)" }
            XCTAssertEqual(attrs, ["failed_trial=0", "retry_history=[0]"])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM trial_user_attributes WHERE trial_id = ?", arguments: [retry.trialID]), 0)
        }
        // Retried already: nothing more, until the retry fails in its turn.
        XCTAssertEqual(try store.retryFailedTrials(studyID: study.id).count, 0)
        try store.restartTrial(trialID: retry.trialID)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 3)?.attempts, 2, "one more attempt")
        try finish(store, retry.trialID, .fail, nil, reason: "boom again")
        XCTAssertEqual(try store.retryFailedTrials(studyID: study.id).map(\.failed), [3])
        try store.pool.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: """
                SELECT a.value_json FROM trial_system_attributes a JOIN trials t ON t.trial_id = a.trial_id
                WHERE t.number = 5 AND a.key = 'retry_history'
                """), "[0,3]")
        }
    }

    func testDeleteRemovesEveryRowOfTheStudyAndNoOther() throws {
        let store = try SweepStore(path: dbPath)
        let gone = try makeStudy(store, name: "gone")
        let kept = try makeStudy(store, name: "kept")
        for s in [gone, kept] {
            let t = try newTrial(store, s)
            try store.reportIntermediate(trialID: t.trialID, step: 0, value: 1)
            try finish(store, t.trialID, .fail, nil, reason: "x")
            _ = try newTrial(store, s)
            _ = try store.enqueueTrial(studyID: s.id, fixedParams: ["lr": .double(0.01)])
        }
        func rows() throws -> [String: Int] {
            try store.pool.read { db in
                var n: [String: Int] = [:]
                for table in ["studies", "study_directions", "study_system_attributes", "sweep_studies", "trials", "trial_params",
                              "trial_intermediate_values", "trial_user_attributes", "trial_system_attributes", "trial_heartbeats", "sweep_trials"] {
                    n[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)")
                }
                return n
            }
        }
        let before = try rows()
        // Its controller alive (this process): refused.
        try store.claimStudy(id: gone.id, pid: getppid())
        assertInputError(dbPath, "is being run by process") { try store.deleteStudy(id: gone.id) }
        try store.releaseStudy(id: gone.id, pid: getppid())
        XCTAssertEqual(try store.deleteStudy(id: gone.id), 3)
        XCTAssertNil(try store.study(named: "gone"))
        XCTAssertEqual(try store.trials(studyID: kept.id).count, 3)
        XCTAssertEqual(try rows(), before.mapValues { $0 / 2 }, "the other study's rows are all there")
    }
}
