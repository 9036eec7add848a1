import Foundation
import XCTest
import SweepCore
import SweepSearch
import SweepStorage

/// The contract of `TrialStore.pauseTrial`, `resumePausedTrial` and `endPausedTrial`, for every
/// backend. Each backend's test class runs these through a `test...` method of its own (methods
/// of an extension cannot be overridden).
extension TrialStoreConformance {
    /// A paused trial is WAITING with its reports, start and marker; Optuna's rows say WAITING;
    /// it is not claimed; resuming keeps its reports and attempt; it reports on and finishes.
    func checkAPausedTrialKeepsItsReportsAndResumes() throws {
        let study = try makeStudy(store)
        let made = try newTrial(store, study, seed: 3)
        for (step, v) in [(1, 0.9), (2, 0.7)] { try store.reportIntermediate(trialID: made.trialID, step: step, value: v) }
        XCTAssertThrowsError(try store.pauseTrial(trialID: made.trialID, owner: "host-x:1:1")) { XCTAssertTrue($0 is TrialNotOwned, "\($0)") }
        try store.pauseTrial(trialID: made.trialID, owner: nil)
        var t = try XCTUnwrap(try store.trial(studyID: study.id, number: 0))
        XCTAssertEqual(t.record.state, .waiting)
        XCTAssertTrue(t.record.isPaused)
        XCTAssertEqual(t.record.intermediate, [1: 0.9, 2: 0.7])
        XCTAssertNotNil(t.datetimeStart, "a paused trial keeps its start")
        XCTAssertNil(t.datetimeComplete)
        XCTAssertTrue(try store.trials(studyID: study.id)[0].record.isPaused)
        XCTAssertEqual(try store.trialSystemAttributes(trialID: made.trialID)[TrialAttribute.pausedAtEpoch], "2")
        XCTAssertEqual(try value("SELECT state FROM trials WHERE trial_id = ?", [made.trialID]), "WAITING")
        XCTAssertNil(try value("SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?", [made.trialID]))
        XCTAssertNil(try store.claimWaitingTrial(studyID: study.id, owner: "host-a:1:1", worker: "host-a:1"), "a paused trial is not claimed")
        XCTAssertThrowsError(try store.reportIntermediate(trialID: made.trialID, step: 3, value: 0.1), "a paused trial does not report")
        XCTAssertThrowsError(try store.pauseTrial(trialID: made.trialID, owner: nil), "pausing twice is refused")

        try store.resumePausedTrial(trialID: made.trialID, workerPID: 42)
        t = try XCTUnwrap(try store.trial(studyID: study.id, number: 0))
        XCTAssertEqual(t.record.state, .running)
        XCTAssertFalse(t.record.isPaused)
        XCTAssertEqual(t.record.intermediate, [1: 0.9, 2: 0.7], "a resumed trial keeps its reports")
        XCTAssertEqual(t.attempts, 1, "a promotion continues the same attempt")
        XCTAssertEqual(t.workerPID, 42)
        XCTAssertNil(try store.trialSystemAttributes(trialID: made.trialID)[TrialAttribute.pausedAtEpoch])
        XCTAssertNotNil(try value("SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?", [made.trialID]))
        XCTAssertThrowsError(try store.resumePausedTrial(trialID: made.trialID, workerPID: nil), "a running trial is not resumed")
        try store.reportIntermediate(trialID: made.trialID, step: 3, value: 0.5)
        XCTAssertEqual(try finish(store, made.trialID, .complete, 0.5), .complete)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.record.intermediate, [1: 0.9, 2: 0.7, 3: 0.5])
    }

    /// A paused trial no one will promote ends PRUNED with its last value; only paused trials can.
    func checkAPausedTrialEndsPrunedWithItsLastValue() throws {
        let study = try makeStudy(store)
        let made = try newTrial(store, study)
        try store.reportIntermediate(trialID: made.trialID, step: 1, value: 0.8)
        try store.reportIntermediate(trialID: made.trialID, step: 3, value: 0.6)
        XCTAssertThrowsError(try store.endPausedTrial(trialID: made.trialID), "a running trial is not paused")
        try store.pauseTrial(trialID: made.trialID, owner: nil)
        try store.endPausedTrial(trialID: made.trialID)
        let t = try XCTUnwrap(try store.trial(studyID: study.id, number: 0))
        XCTAssertEqual(t.record.state, .pruned)
        XCTAssertEqual(t.record.value, 0.6)
        XCTAssertFalse(t.record.isPaused)
        XCTAssertNotNil(t.datetimeComplete)
        XCTAssertNil(try store.trialSystemAttributes(trialID: made.trialID)[TrialAttribute.pausedAtEpoch])
        XCTAssertThrowsError(try store.endPausedTrial(trialID: made.trialID), "a finished trial never changes")
        XCTAssertThrowsError(try store.resumePausedTrial(trialID: made.trialID, workerPID: nil))

        // A requeued trial is WAITING but not paused: neither resumed nor ended as one.
        let other = try newTrial(store, study)
        try store.requeueTrial(trialID: other.trialID)
        XCTAssertThrowsError(try store.resumePausedTrial(trialID: other.trialID, workerPID: nil))
        XCTAssertThrowsError(try store.endPausedTrial(trialID: other.trialID))
    }
}
