import Foundation
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

/// Optuna reads a trial a pausing scheduler paused as an ordinary WAITING trial with its reports,
/// and one ended while paused as PRUNED with its last value.
final class OptunaPausedTrialTests: StoreTestCase {
    func testOptunaReadsPausedAndEndedTrials() throws {
        guard OptunaInteropTests.optunaImports else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw RuntimeFailure("python3 cannot import optuna under CI") }
            throw XCTSkip("python3 cannot import optuna")
        }
        let store = try SQLiteStore(path: dbPath)
        let study = try makeStudy(store, name: "paused", direction: .minimize)
        for _ in 0..<2 {
            let (id, _) = try store.createTrial(studyID: study.id, params: params(0.01, 4, 1), seed: 3, configJSON: "{}", workerPID: nil)
            try store.reportIntermediate(trialID: id, step: 1, value: 0.5)
            try store.pauseTrial(trialID: id, owner: nil)
        }
        try store.endPausedTrial(trialID: try XCTUnwrap(try store.trial(studyID: study.id, number: 1)).trialID)
        let run = try OptunaInteropTests.python(["-c", """
            import optuna, sys, json
            s = optuna.load_study(study_name='paused', storage='sqlite:///' + sys.argv[1])
            print(json.dumps([[t.state.name, t.intermediate_values.get(1), t.value, t.system_attrs.get('sweep:paused_at_epoch')] for t in s.trials]))
            """, dbPath])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                       #"[["WAITING", 0.5, null, 1], ["PRUNED", 0.5, 0.5, null]]"#)
    }
}
