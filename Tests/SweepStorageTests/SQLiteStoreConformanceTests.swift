import Foundation
import GRDB
import XCTest
@testable import SweepStorage

/// The store conformance suite on SQLite: a new file in a fresh folder per test.
final class SQLiteStoreConformanceTests: TrialStoreConformance {
    var folder = ""

    override func makeStore() throws -> any TrialStore {
        folder = NSTemporaryDirectory() + "sweep-conformance-\(UUID().uuidString)"
        return try SQLiteStore(path: folder + "/sweep.db")
    }

    override func rows(_ sql: String, _ arguments: [Int64] = []) throws -> [[String?]] {
        try (store as! SQLiteStore).pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                row.databaseValues.map { v -> String? in
                    switch v.storage {
                    case .null: nil
                    case .int64(let i): String(i)
                    case .double(let d): String(d)
                    case .string(let s): s
                    case .blob(let b): String(decoding: b, as: UTF8.self)
                    }
                }
            }
        }
    }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        if !folder.isEmpty { try? FileManager.default.removeItem(atPath: folder) }
    }

    // Trials paused by a pausing scheduler (TrialStoreConformance+Pause.swift).
    func testAPausedTrialKeepsItsReportsAndResumes() throws { try checkAPausedTrialKeepsItsReportsAndResumes() }
    func testAPausedTrialEndsPrunedWithItsLastValue() throws { try checkAPausedTrialEndsPrunedWithItsLastValue() }

    // The contract (SwiftPM's test discovery on Linux finds only the test methods a class declares).
    override func testStudyRoundTripAndNamesAreUnique() throws { try super.testStudyRoundTripAndNamesAreUnique() }
    override func testStopReasonIsClearedWhenTheStatusChangesWithoutOne() throws { try super.testStopReasonIsClearedWhenTheStatusChangesWithoutOne() }
    override func testStudySummariesCountStatesAndKeepTheBest() throws { try super.testStudySummariesCountStatesAndKeepTheBest() }
    override func testCreateReportFinishRoundTrip() throws { try super.testCreateReportFinishRoundTrip() }
    override func testFinishedTrialsSinceACutoff() throws { try super.testFinishedTrialsSinceACutoff() }
    override func testNumbersCountTrialsPerStudy() throws { try super.testNumbersCountTrialsPerStudy() }
    override func testConcurrentWritersGetDenseNumbers() throws { try super.testConcurrentWritersGetDenseNumbers() }
    override func testCreatingATrialWhoseNumberWasTakenWritesNothing() throws { try super.testCreatingATrialWhoseNumberWasTakenWritesNothing() }
    override func testAParameterIsAFiniteInternalValue() throws { try super.testAParameterIsAFiniteInternalValue() }
    override func testBestTrialFollowsTheDirection() throws { try super.testBestTrialFollowsTheDirection() }
    override func testNaNAndInfinitiesFollowOptuna() throws { try super.testNaNAndInfinitiesFollowOptuna() }
    override func testAFailedTrialsReasonIsAUserAttribute() throws { try super.testAFailedTrialsReasonIsAUserAttribute() }
    override func testAFinishedTrialNeverChanges() throws { try super.testAFinishedTrialNeverChanges() }
    override func testRequeueKeepsTheTrialAndRestartRunsItAgain() throws { try super.testRequeueKeepsTheTrialAndRestartRunsItAgain() }
    override func testWaitingTrialsAreClaimedOnceEachInNumberOrder() throws { try super.testWaitingTrialsAreClaimedOnceEachInNumberOrder() }
    override func testWaitingTrialsCreatedTogether() throws { try super.testWaitingTrialsCreatedTogether() }
    override func testAFinishAndTheNextClaimInOneCall() throws { try super.testAFinishAndTheNextClaimInOneCall() }
    override func testAClaimedTrialIsStaleFromItsStartWithoutAHeartbeat() throws { try super.testAClaimedTrialIsStaleFromItsStartWithoutAHeartbeat() }
    override func testAStaleTrialIsRequeuedAndItsOldOwnerCannotFinishIt() throws { try super.testAStaleTrialIsRequeuedAndItsOldOwnerCannotFinishIt() }
    override func testSeveralObjectivesAreStoredAsOptunaStoresThem() throws { try super.testSeveralObjectivesAreStoredAsOptunaStoresThem() }
    override func testPerEpochVectorsAndOptunasConstraintFormsReadBack() throws { try super.testPerEpochVectorsAndOptunasConstraintFormsReadBack() }
    override func testOneControllerPerStudy() throws { try super.testOneControllerPerStudy() }
    override func testALeaseExpiresUnlessRenewed() throws { try super.testALeaseExpiresUnlessRenewed() }
    override func testAHolderThisHostKnowsIsDeadIsTakenOverAtOnce() throws { try super.testAHolderThisHostKnowsIsDeadIsTakenOverAtOnce() }
    override func testControllerHeartbeatsRefreshRunningTrials() throws { try super.testControllerHeartbeatsRefreshRunningTrials() }
    override func testUserAndSystemAttributesAreOptunas() throws { try super.testUserAndSystemAttributesAreOptunas() }
    override func testAnEnqueuedTrialIsWaitingWithFixedParamsAndNoSweepRow() throws { try super.testAnEnqueuedTrialIsWaitingWithFixedParamsAndNoSweepRow() }
    override func testAdoptingStartsTheTrialOnceAndFailingRecordsTheReason() throws { try super.testAdoptingStartsTheTrialOnceAndFailingRecordsTheReason() }
    override func testRetryQueuesEachFailedTrialOnceInOptunasForm() throws { try super.testRetryQueuesEachFailedTrialOnceInOptunasForm() }
    override func testDeleteRemovesEveryRowOfTheStudyAndNoOther() throws { try super.testDeleteRemovesEveryRowOfTheStudyAndNoOther() }

    // Running studies and the study watch (TrialStoreConformance+Watch.swift).
    func testRunningStudiesAreTheRunningOnesOldestFirst() throws { try checkRunningStudiesAreTheRunningOnesOldestFirst() }
    func testStudyChangesWakeAWatch() throws { try checkStudyChangesWakeAWatch() }

    // What changed since a cursor (TrialStoreConformance+Changes.swift).
    func testChangesSinceACursorAreTheTrialsWrittenSince() throws { try checkChangesSinceACursorAreTheTrialsWrittenSince() }
    func testChangesOfConcurrentWritersAreNeverLost() throws { try checkChangesOfConcurrentWritersAreNeverLost() }
}
