import Foundation
import PostgresNIO
import XCTest
import SweepTestSupport
@testable import SweepStorage

/// The store conformance suite on PostgreSQL: a new database per test on the tests' private server
/// (`PrivatePostgres`; skipped where PostgreSQL is not installed, failed under CI=true).
final class PostgresStoreConformanceTests: TrialStoreConformance {
    override func makeStore() throws -> any TrialStore {
        let url = try PrivatePostgres.shared().database()
        return try PostgresStore(PostgresLocation(url: url))
    }

    override func rows(_ sql: String, _ arguments: [Int64] = []) throws -> [[String?]] {
        try (store as! PostgresStore).pool.transaction(readOnly: true) { db in
            try db.query(sql, arguments).map { row in try row.row.map(Self.text) }
        }
    }

    /// A cell as the suite wants it: integers in decimal, floats as Swift prints a Double, times
    /// in Optuna's datetime text, anything else (text, enum labels) as its text.
    static func text(_ cell: PostgresCell) throws -> String? {
        guard var bytes = cell.bytes else { return nil }
        switch cell.dataType {
        case .int2, .int4, .int8: return String(try cell.decode(Int64.self))
        case .float4, .float8: return String(try cell.decode(Double.self))
        case .timestamp, .timestamptz: return OptunaEncoding.datetime(try cell.decode(Date.self))
        case .bool: return try cell.decode(Bool.self) ? "1" : "0"
        default: return bytes.readString(length: bytes.readableBytes)
        }
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
