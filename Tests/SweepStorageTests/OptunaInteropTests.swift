import Foundation
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

/// Optuna itself reads a study Sweep wrote (Tests/python/check_optuna_store.py). Skipped when
/// `import optuna` fails.
final class OptunaInteropTests: StoreTestCase {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/check_optuna_store.py").path

    static let optunaImports = (try? python(["-c", "import optuna"]))?.status == 0

    static func python(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Skips without optuna, except under CI (`CI=true`), where scripts/test installs it: there a
    /// missing package fails the test.
    func requireOptuna() throws {
        guard !Self.optunaImports else { return }
        if ProcessInfo.processInfo.environment["CI"] == "true" { throw RuntimeFailure("python3 cannot import optuna under CI") }
        throw XCTSkip("python3 cannot import optuna")
    }

    func testSweepAddsItsStudiesToAFileOptunaCreated() throws {
        try requireOptuna()
        let made = try Self.python(["-c", "import optuna, sys; optuna.create_study(study_name='theirs', storage='sqlite:///' + sys.argv[1])", dbPath])
        XCTAssertEqual(made.status, 0, made.stderr)
        let store = try SQLiteStore(path: dbPath)
        XCTAssertNil(try store.study(named: "theirs"))          // not a Sweep study
        assertInputError(dbPath, "'theirs' already exists") { _ = try makeStudy(store, name: "theirs") }
        let mine = try makeStudy(store, name: "mine")
        let id = try newTrial(store, mine).trialID
        try finish(store, id, .complete, 0.5)
        let run = try Self.python(["-c", "import optuna, sys; print(optuna.load_study(study_name='mine', storage='sqlite:///' + sys.argv[1]).best_value)", dbPath])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "0.5\n")
    }

    func testOptunaLoadsWhatSweepWrote() throws {
        try requireOptuna()
        let store = try SQLiteStore(path: dbPath)
        let study = try makeStudy(store, name: "interop", direction: .minimize)
        // (lr, units, activation index, reports, end, value)
        let plan: [(Double, Int, Int, [Double], TrialState?, Double?)] = [
            (0.01, 4, 1, [0.9, 0.5, 0.3], .complete, 0.25),
            (0.001, 2, 0, [0.8, 0.7], .pruned, nil),
            (0.05, 8, 2, [1.5], .fail, nil),
            (0.002, 3, 2, [0.6, 0.2, 0.1], .complete, 0.1),
            (0.02, 1, 0, [.nan, .infinity], .complete, .infinity),
            (0.003, 6, 1, [0.4], nil, nil),         // left running
            (0.004, 7, 2, [0.9], .waiting, nil),    // requeued
        ]
        for (lr, units, act, reports, end, value) in plan {
            let (id, _) = try store.createTrial(studyID: study.id, params: params(lr, units, act), seed: 3, configJSON: "{}", workerPID: nil)
            for (step, v) in reports.enumerated() { try store.reportIntermediate(trialID: id, step: step, value: v) }
            if end == .waiting { try store.requeueTrial(trialID: id) }
            else if let end { try finish(store, id, end, value, reason: end == .fail ? "exited with status 1: out of memory" : nil) }
        }

        let run = try Self.python([Self.script, dbPath, "interop"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)

        XCTAssertEqual(seen["schema_differences"] as? [String], [])
        let versions = seen["versions"] as? [String: Any]
        XCTAssertEqual(versions?["sweep"] as? NSDictionary, versions?["optuna"] as? NSDictionary)
        XCTAssertEqual(seen["direction"] as? String, "MINIMIZE")
        // The metric's name on optuna-dashboard's axes (Optuna's `study.set_metric_names`).
        XCTAssertEqual(seen["metric_names"] as? [String], ["val_loss"])
        let best = try XCTUnwrap(seen["best"] as? [String: Any])
        XCTAssertEqual(best["number"] as? Int, 3)
        XCTAssertEqual(best["value"] as? Double, 0.1)
        XCTAssertEqual(best["params"] as? NSDictionary, ["lr": 0.002, "units": 3, "activation": "gelu"] as NSDictionary)

        let trials = try XCTUnwrap(seen["trials"] as? [[String: Any]])
        XCTAssertEqual(trials.map { $0["number"] as? Int }, Array(0..<7))
        XCTAssertEqual(trials.map { $0["state"] as? String }, ["COMPLETE", "PRUNED", "FAIL", "COMPLETE", "COMPLETE", "RUNNING", "WAITING"])
        XCTAssertEqual(trials.map { t in t["value"].map { $0 is NSNull ? "none" : "\($0)" } }, ["0.25", "0.7", "none", "0.1", "inf", "none", "none"])
        XCTAssertEqual(trials[0]["params"] as? NSDictionary, ["lr": 0.01, "units": 4, "activation": "tanh"] as NSDictionary)
        // A failed trial's reason, where optuna-dashboard shows it; other trials have none.
        XCTAssertEqual(trials.map { $0["user_attrs"] as? NSDictionary }, [[:], [:], ["fail_reason": "exited with status 1: out of memory"], [:], [:], [:], [:]])
        XCTAssertEqual(trials[1]["intermediate"] as? NSDictionary, ["0": 0.8, "1": 0.7] as NSDictionary)
        XCTAssertEqual(trials[4]["intermediate"] as? NSDictionary, ["0": "nan", "1": "inf"] as NSDictionary)
        XCTAssertEqual(trials[6]["intermediate"] as? NSDictionary, [:] as NSDictionary)
        XCTAssertEqual(trials.map { $0["has_start"] as? Bool }, [true, true, true, true, true, true, false])
        XCTAssertEqual(trials.map { $0["has_complete"] as? Bool }, [true, true, true, true, true, false, false])

        // Optuna writing to the file: it runs the WAITING trial with its stored parameters, then a new one.
        let rerun = try XCTUnwrap(seen["rerun"] as? [String: Any])
        XCTAssertEqual(rerun["number"] as? Int, 6)
        XCTAssertEqual(rerun["state"] as? String, "COMPLETE")
        XCTAssertEqual(rerun["params"] as? NSDictionary, ["lr": 0.004, "units": 7, "activation": "gelu"] as NSDictionary)
        XCTAssertEqual(seen["appended_number"] as? Int, 7)
    }

    /// Optuna reads Sweep's queue forms as its own: an enqueued trial's fixed_params, a retry as
    /// RetryFailedTrialCallback records one (and runs it with the failed trial's parameters), a
    /// deleted study as gone.
    func testOptunaSeesEnqueuedRetriedAndDeletedStudies() throws {
        try requireOptuna()
        let store = try SQLiteStore(path: dbPath)
        let study = try makeStudy(store, name: "q")
        let failed = try store.createTrial(studyID: study.id, params: params(0.03, 5, 2), seed: 8, configJSON: "{}", workerPID: nil)
        try finish(store, failed.trialID, .fail, nil, reason: "boom")
        _ = try store.retryFailedTrials(studyID: study.id)
        _ = try store.enqueueTrial(studyID: study.id, fixedParams: ["lr": .double(0.004), "activation": .string("relu")])
        let gone = try makeStudy(store, name: "gone")
        _ = try newTrial(store, gone)
        try store.deleteStudy(id: gone.id)

        let run = try Self.python(["-c", """
            import json, sys, optuna
            from optuna.storages import RetryFailedTrialCallback as R
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            storage = "sqlite:///" + sys.argv[1]
            study = optuna.load_study(study_name="q", storage=storage)
            retry, queued = study.trials[1], study.trials[2]
            out = {"retry": [retry.state.name, R.retried_trial_number(retry), R.retry_history(retry), retry.params],
                   "queued": [queued.state.name, queued.system_attrs.get("fixed_params")],
                   "studies": sorted(s.study_name for s in optuna.get_all_study_summaries(storage))}
            def objective(trial):
                return trial.suggest_float("lr", 1e-4, 1e-1, log=True) + trial.suggest_int("units", 1, 8)
            study.optimize(objective, n_trials=2)   # Optuna runs the queued trials first
            out["ran"] = [study.trials[1].params, study.trials[2].params.get("lr")]
            print(json.dumps(out, sort_keys=True))
            """, dbPath])
        XCTAssertEqual(run.status, 0, run.stderr)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
        XCTAssertEqual(seen["retry"] as? NSArray, ["WAITING", 0, [0], ["lr": 0.03, "units": 5, "activation": "gelu"]] as NSArray)
        XCTAssertEqual(seen["queued"] as? NSArray, ["WAITING", ["lr": 0.004, "activation": "relu"]] as NSArray)
        XCTAssertEqual(seen["studies"] as? [String], ["q"])
        let ran = try XCTUnwrap(seen["ran"] as? [Any])
        XCTAssertEqual(ran[0] as? NSDictionary, ["lr": 0.03, "units": 5, "activation": "gelu"] as NSDictionary)
        XCTAssertEqual(ran[1] as? Double, 0.004)
    }
}
