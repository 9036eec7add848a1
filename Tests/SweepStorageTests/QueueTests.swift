import Foundation
import GRDB
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

/// Trials queued in Optuna's forms: enqueued (fixed_params), taken over or failed by a runner.
final class QueueTests: StoreTestCase {
    func testGivenParamsMergeStoredParametersAndSayWhatIsUnreadable() throws {
        let store = try SQLiteStore(path: dbPath)
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

    /// A trial another process started (Optuna's ask) is not taken over.
    func testATrialOptunaStartedIsNotTakenOver() throws {
        let store = try SQLiteStore(path: dbPath)
        let study = try makeStudy(store)
        let c = try store.trial(studyID: study.id, number: try store.enqueueTrial(studyID: study.id, fixedParams: [:]))!
        try store.pool.write { db in try db.execute(sql: "UPDATE trials SET state = 'RUNNING' WHERE trial_id = ?", arguments: [c.trialID]) }
        XCTAssertFalse(try store.adoptTrial(trialID: c.trialID, params: [], seed: 1, configJSON: "{}"))
        XCTAssertFalse(try store.failEnqueuedTrial(trialID: c.trialID, seed: 1, reason: "x"))
        XCTAssertEqual(try store.trial(studyID: study.id, number: c.record.number)?.ownedBySweep, false)
    }
}
