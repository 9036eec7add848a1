import Foundation
import XCTest
import SweepCore
import SweepSearch
import SweepStorage

/// The contract of `TrialStore` (its doc comment) as tests, for every backend: a backend's test
/// class subclasses this one and overrides `makeStore()` (a new, empty database per test),
/// `rows(_:_:)` (a query on its tables, to check Optuna's row forms, which Optuna reads from every
/// backend) and, if it needs to, `tearDownWithError()`; it also overrides each `test...` method
/// with a call to `super` (SwiftPM's test discovery on Linux finds only the methods a class
/// declares; see `SQLiteStoreConformanceTests`; `ConformanceSuiteTests` checks that a file named
/// `*StoreConformanceTests.swift` overrides them all). The base class runs nothing itself (it skips).
class TrialStoreConformance: StoreFixtureCase {
    /// The store under test, new for each test.
    var store: (any TrialStore)!

    /// A new store on an empty database. Overridden by each backend's subclass.
    func makeStore() throws -> any TrialStore {
        throw XCTSkip("TrialStoreConformance runs through a backend's subclass")
    }

    /// The rows of a read-only SQL query on Optuna's and Sweep's tables (`?` for the arguments),
    /// each column as text (nil for NULL; integers in decimal, floats as Swift prints a Double).
    func rows(_ sql: String, _ arguments: [Int64] = []) throws -> [[String?]] {
        throw XCTSkip("\(type(of: self)) does not read rows")
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        store = try makeStore()
    }

    override func tearDownWithError() throws {
        store = nil
        try super.tearDownWithError()
    }

    /// The first column of the first row of a query.
    func value(_ sql: String, _ arguments: [Int64] = []) throws -> String? {
        try rows(sql, arguments).first?.first ?? nil
    }

    // MARK: Studies

    func testStudyRoundTripAndNamesAreUnique() throws {
        let created = try makeStudy(store, direction: .maximize)
        XCTAssertEqual(try store.study(named: "study"), created)
        XCTAssertEqual(created.direction, .maximize)
        XCTAssertEqual(created.seed, 7)
        XCTAssertEqual(created.maxEpochs, 10)
        XCTAssertEqual(created.status, .running)
        XCTAssertEqual(created.spaceText, "training:\n  learning_rate: {float: [1.0e-4, 1.0e-1], log: true}\n")
        XCTAssertLessThan(abs(created.createdAt.timeIntervalSinceNow), 60)
        XCTAssertEqual(try value("SELECT direction FROM study_directions WHERE study_id = ?", [created.id]), "MAXIMIZE")
        assertInputError(store.location, "'study' already exists") { _ = try makeStudy(store) }
        XCTAssertNil(try store.study(named: "other"))

        let later = try makeStudy(store, name: "later")
        XCTAssertEqual(try store.latestStudy()?.id, later.id)
        try store.updateStudy(id: created.id, trialsTotal: 30, status: .finished)
        let updated = try store.study(named: "study")!
        XCTAssertEqual(updated.trialsTotal, 30)
        XCTAssertEqual(updated.status, .finished)
        XCTAssertEqual(updated.spaceText, created.spaceText, "what is not given is unchanged")
        XCTAssertThrowsError(try store.updateStudy(id: 999, status: .stopped))
    }

    func testStopReasonIsClearedWhenTheStatusChangesWithoutOne() throws {
        let study = try makeStudy(store)
        try store.updateStudy(id: study.id, status: .stopped, stopReason: "5 trials failed")
        XCTAssertEqual(try store.study(named: "study")?.stopReason, "5 trials failed")
        try store.updateStudy(id: study.id, trialsTotal: 40)
        XCTAssertEqual(try store.study(named: "study")?.stopReason, "5 trials failed", "kept while the status stays")
        try store.updateStudy(id: study.id, status: .running, runOptionsJSON: #"{"workers":2}"#, spacePath: "b.yaml", spaceText: "x: 1\n")
        let s = try XCTUnwrap(try store.study(named: "study"))
        XCTAssertNil(s.stopReason)
        XCTAssertEqual(s.status, .running)
        XCTAssertEqual(s.spacePath, "b.yaml")
        XCTAssertEqual(s.spaceText, "x: 1\n")
        XCTAssertEqual(s.trialsTotal, 40)
    }

    func testStudySummariesCountStatesAndKeepTheBest() throws {
        let study = try makeStudy(store)
        for value in [3.0, 1.0, 2.0] { try finish(store, try newTrial(store, study).trialID, .complete, value) }
        try finish(store, try newTrial(store, study).trialID, .fail, nil)
        _ = try newTrial(store, study)
        let other = try makeStudy(store, name: "empty")
        let summaries = try store.studies()
        XCTAssertEqual(summaries.map(\.name), ["study", "empty"])
        XCTAssertEqual(summaries[0].counts, [.complete: 3, .fail: 1, .running: 1])
        XCTAssertEqual(summaries[0].bestValue, 1.0)
        XCTAssertEqual(summaries[1].id, other.id)
        XCTAssertEqual(summaries[1].count(.complete), 0)
        XCTAssertNil(summaries[1].bestValue)
    }

    // MARK: Trials

    func testCreateReportFinishRoundTrip() throws {
        let study = try makeStudy(store)
        let seed = UInt64.max - 12   // above Int64.max
        let (id, number) = try store.createTrial(studyID: study.id, params: params(0.003, 5, 2), seed: seed,
                                                 configJSON: #"{"layers":[64]}"#, workerPID: 4242)
        XCTAssertEqual(number, 0)
        let running = try store.trial(studyID: study.id, number: 0)!
        XCTAssertEqual(running.record.state, .running)
        XCTAssertNotNil(running.datetimeStart)
        XCTAssertNil(running.datetimeComplete)
        XCTAssertEqual(running.workerPID, 4242)

        try store.reportIntermediate(trialID: id, step: 0, value: 0.9)
        try store.reportIntermediate(trialID: id, step: 1, value: 0.8)
        try store.reportIntermediate(trialID: id, step: 1, value: 0.6)   // a step again: replaced
        try store.reportIntermediate(trialID: id, step: 2, value: 0.5)
        let state = try store.finishTrial(trialID: id, state: .complete, value: 0.45, exitStatus: 0, reason: nil,
                                          stderrTail: "done\n", epochsRun: 3, durationSeconds: 1.5, artifactDir: "/tmp/a")
        XCTAssertEqual(state, .complete)

        let t = try store.trials(studyID: study.id)
        XCTAssertEqual(t.count, 1)
        XCTAssertEqual(t[0].trialID, id)
        XCTAssertEqual(t[0].record, TrialRecord(number: 0, state: .complete, params: ["lr": 0.003, "units": 5, "activation": 2],
                                                value: 0.45, intermediate: [0: 0.9, 1: 0.6, 2: 0.5]))
        XCTAssertEqual(t[0].seed, seed)
        XCTAssertEqual(t[0].configJSON, #"{"layers":[64]}"#)
        XCTAssertEqual(t[0].exitStatus, 0)
        XCTAssertEqual(t[0].stderrTail, "done\n")
        XCTAssertEqual(t[0].epochsRun, 3)
        XCTAssertEqual(t[0].durationSeconds, 1.5)
        XCTAssertEqual(t[0].artifactDir, "/tmp/a")
        XCTAssertEqual(t[0].attempts, 1)
        let start = try XCTUnwrap(t[0].datetimeStart), end = try XCTUnwrap(t[0].datetimeComplete)
        XCTAssertLessThanOrEqual(start, end)
        XCTAssertLessThan(abs(end.timeIntervalSinceNow), 60)

        // Optuna's form of the rows.
        XCTAssertEqual(try value("SELECT state FROM trials WHERE trial_id = ?", [id]), "COMPLETE")
        let datetime = try XCTUnwrap(try value("SELECT datetime_start FROM trials WHERE trial_id = ?", [id]))
        XCTAssertNotNil(datetime.range(of: #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$"#, options: .regularExpression), datetime)
        XCTAssertEqual(try value("SELECT distribution_json FROM trial_params WHERE trial_id = ? AND param_name = 'activation'", [id]),
                       Self.activation.optunaJSON)
        XCTAssertEqual(try value("SELECT COUNT(*) FROM trial_heartbeats WHERE trial_id = ?", [id]), "1")
        XCTAssertEqual(try store.bestTrial(studyID: study.id, direction: .minimize)?.trialID, id)

        try store.recordArtifacts(trialID: id, dir: "/tmp/b")   // a finished trial's Sweep row may change
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.artifactDir, "/tmp/b")
        XCTAssertThrowsError(try store.recordArtifacts(trialID: 999, dir: "/tmp/c"))
    }

    /// A follower asks only for trials finished since its last look; running ones never show.
    func testFinishedTrialsSinceACutoff() throws {
        let study = try makeStudy(store)
        let a = try newTrial(store, study)
        _ = try newTrial(store, study)   // stays RUNNING
        let c = try newTrial(store, study)
        _ = try finish(store, a.trialID, .complete, 1.0)
        XCTAssertEqual(try store.finishedTrials(studyID: study.id, completedSince: nil).map(\.record.number), [0])
        usleep(20_000)
        let cutoff = Date()
        usleep(20_000)
        _ = try finish(store, c.trialID, .fail, nil, reason: "boom")
        XCTAssertEqual(try store.finishedTrials(studyID: study.id, completedSince: cutoff).map(\.record.number), [2])
        XCTAssertEqual(try store.finishedTrials(studyID: study.id, completedSince: nil).map(\.record.number), [0, 2])
    }

    func testNumbersCountTrialsPerStudy() throws {
        let a = try makeStudy(store, name: "a"), b = try makeStudy(store, name: "b")
        XCTAssertEqual(try newTrial(store, a).number, 0)
        XCTAssertEqual(try newTrial(store, b).number, 0)
        XCTAssertEqual(try newTrial(store, a).number, 1)
        XCTAssertEqual(try store.trials(studyID: a.id).map(\.record.number), [0, 1])
        XCTAssertEqual(try store.trials(studyID: a.id, fromNumber: 1).map(\.record.number), [1])
        XCTAssertNil(try store.trial(studyID: a.id, number: 2))
        XCTAssertThrowsError(try store.createTrial(studyID: 999, params: [], seed: 0, configJSON: "{}", workerPID: nil))
    }

    /// Writers on several threads (standing for processes and hosts) get unique, dense numbers.
    func testConcurrentWritersGetDenseNumbers() throws {
        let study = try makeStudy(store)
        let store = self.store!
        let errors = ErrorList()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<10 {
                do { _ = try store.createTrial(studyID: study.id, params: [], seed: 1, configJSON: "{}", workerPID: nil) } catch {
                    errors.append(error)
                }
            }
        }
        XCTAssertEqual(errors.all.map { "\($0)" }, [])
        XCTAssertEqual(try store.trials(studyID: study.id).map(\.record.number), Array(0..<40))
    }

    func testCreatingATrialWhoseNumberWasTakenWritesNothing() throws {
        let study = try makeStudy(store)
        _ = try store.enqueueTrial(studyID: study.id, fixedParams: [:])
        XCTAssertThrowsError(try store.createTrial(studyID: study.id, params: params(0.01, 1, 0), seed: 1, configJSON: "{}", workerPID: nil,
                                                   expectedNumber: 0)) { XCTAssertTrue($0 is TrialNumberTaken, "\($0)") }
        XCTAssertEqual(try store.trials(studyID: study.id).count, 1)
        XCTAssertEqual(try store.createTrial(studyID: study.id, params: params(0.01, 1, 0), seed: 1, configJSON: "{}", workerPID: nil,
                                             expectedNumber: 1).number, 1)
    }

    func testAParameterIsAFiniteInternalValue() throws {
        let study = try makeStudy(store)
        XCTAssertThrowsError(try store.createTrial(studyID: study.id, params: params(.nan, 1, 0), seed: 1, configJSON: "{}", workerPID: nil))
        XCTAssertEqual(try store.trials(studyID: study.id), [], "nothing written")
    }

    func testBestTrialFollowsTheDirection() throws {
        let study = try makeStudy(store)
        for value in [2.0, -.infinity, 5.0, 1.0] { try finish(store, try newTrial(store, study).trialID, .complete, value) }
        try finish(store, try newTrial(store, study).trialID, .pruned, nil)
        XCTAssertEqual(try store.bestTrial(studyID: study.id, direction: .minimize)?.record.number, 1)
        XCTAssertEqual(try store.bestTrial(studyID: study.id, direction: .maximize)?.record.number, 2)
        XCTAssertNil(try store.bestTrial(studyID: try makeStudy(store, name: "empty").id, direction: .minimize))
    }

    func testNaNAndInfinitiesFollowOptuna() throws {
        let study = try makeStudy(store)
        let a = try newTrial(store, study).trialID
        try store.reportIntermediate(trialID: a, step: 0, value: .nan)
        try store.reportIntermediate(trialID: a, step: 1, value: .infinity)
        try store.reportIntermediate(trialID: a, step: 2, value: -.infinity)
        XCTAssertEqual(try finish(store, a, .complete, .infinity), .complete)
        let b = try newTrial(store, study).trialID
        XCTAssertEqual(try finish(store, b, .complete, .nan, reason: "diverged"), .fail)
        let c = try newTrial(store, study).trialID
        XCTAssertEqual(try finish(store, c, .complete, nil), .fail)
        let d = try newTrial(store, study).trialID          // pruned, last report NaN: no value
        try store.reportIntermediate(trialID: d, step: 0, value: 0.5)
        try store.reportIntermediate(trialID: d, step: 1, value: .nan)
        XCTAssertEqual(try finish(store, d, .pruned, 123), .pruned)
        let e = try newTrial(store, study).trialID          // pruned: the last report is its value
        try store.reportIntermediate(trialID: e, step: 3, value: 0.7)
        try store.reportIntermediate(trialID: e, step: 1, value: 0.2)
        XCTAssertEqual(try finish(store, e, .pruned, 123), .pruned)

        let t = try store.trials(studyID: study.id)
        XCTAssertTrue(t[0].record.intermediate[0]!.isNaN)
        XCTAssertEqual(t[0].record.intermediate[1], .infinity)
        XCTAssertEqual(t[0].record.intermediate[2], -.infinity)
        XCTAssertEqual(t[0].record.value, .infinity)
        XCTAssertEqual(t[1].record.state, .fail)
        XCTAssertNil(t[1].record.value)
        XCTAssertEqual(t[1].reason, "diverged; the objective value is NaN")
        XCTAssertEqual(t[2].reason, "no objective value was reported")
        XCTAssertNil(t[3].record.value)
        XCTAssertEqual(t[4].record.value, 0.7)

        // Optuna's form: NULL plus the value's type.
        let values = try rows("SELECT v.value, v.value_type FROM trial_values v JOIN trials t ON t.trial_id = v.trial_id WHERE t.study_id = ? ORDER BY t.number",
                              [study.id])
        XCTAssertEqual(values.count, 2)
        XCTAssertEqual(values.first, [nil, "INF_POS"])
        XCTAssertEqual(values.last?.last, "FINITE")
        XCTAssertEqual(values.last?.first.flatMap { $0.flatMap(Double.init) }, 0.7)
        let reports = try rows("SELECT intermediate_value, intermediate_value_type FROM trial_intermediate_values WHERE trial_id = ? ORDER BY step", [a])
        XCTAssertEqual(reports.map { $0[1] }, ["NAN", "INF_POS", "INF_NEG"])
        XCTAssertTrue(reports.allSatisfy { $0[0] == nil })
    }

    func testAFailedTrialsReasonIsAUserAttribute() throws {
        let study = try makeStudy(store)
        let failed = try newTrial(store, study).trialID
        try finish(store, failed, .fail, nil, reason: "exited with status 1: no module named \"torch\" in /opt/x")
        let nan = try newTrial(store, study).trialID
        XCTAssertEqual(try finish(store, nan, .complete, .nan), .fail)
        let done = try newTrial(store, study).trialID
        try finish(store, done, .complete, 0.5)
        let attribute = "SELECT value_json FROM trial_user_attributes WHERE trial_id = ? AND key = 'fail_reason'"
        XCTAssertEqual(try value(attribute, [failed]), #""exited with status 1: no module named \"torch\" in /opt/x""#)
        XCTAssertEqual(try value(attribute, [nan]), #""the objective value is NaN""#)
        XCTAssertEqual(try rows("SELECT key FROM trial_user_attributes WHERE trial_id = ?", [done]).count, 0)
    }

    func testAFinishedTrialNeverChanges() throws {
        let study = try makeStudy(store)
        let id = try newTrial(store, study).trialID
        try store.reportIntermediate(trialID: id, step: 0, value: 1)
        try finish(store, id, .complete, 1)
        let before = try store.trials(studyID: study.id)
        XCTAssertThrowsError(try store.reportIntermediate(trialID: id, step: 1, value: 2)) { e in
            XCTAssertTrue("\(e)".contains("trial 0 of study 'study' is COMPLETE"), "\(e)")
        }
        XCTAssertThrowsError(try finish(store, id, .fail, nil))
        XCTAssertThrowsError(try store.requeueTrial(trialID: id))
        XCTAssertThrowsError(try store.restartTrial(trialID: id))
        XCTAssertThrowsError(try store.reportIntermediate(trialID: 999, step: 0, value: 1))
        // A late heartbeat is not an error.
        try store.controllerHeartbeat(studyID: study.id, runningTrials: [id])
        XCTAssertEqual(try store.trials(studyID: study.id), before)
    }

    func testRequeueKeepsTheTrialAndRestartRunsItAgain() throws {
        let study = try makeStudy(store)
        let first = try newTrial(store, study, seed: 11)
        try store.reportIntermediate(trialID: first.trialID, step: 0, value: 0.5)
        try store.requeueTrial(trialID: first.trialID)
        try store.requeueTrial(trialID: first.trialID)       // already waiting: nothing happens
        var t = try store.trial(studyID: study.id, number: 0)!
        XCTAssertEqual(t.record.state, .waiting)
        XCTAssertEqual(t.record.intermediate, [:])
        XCTAssertEqual(t.record.params["units"], 4)
        XCTAssertEqual(t.seed, 11)
        XCTAssertNil(t.datetimeStart)
        XCTAssertEqual(try newTrial(store, study).number, 1)   // numbers stay dense

        try store.restartTrial(trialID: first.trialID, workerPID: 77)
        t = try store.trial(studyID: study.id, number: 0)!
        XCTAssertEqual(t.record.state, .running)
        XCTAssertEqual(t.attempts, 2)
        XCTAssertEqual(t.workerPID, 77)
        XCTAssertNotNil(t.datetimeStart)
        try store.setWorkerPID(trialID: first.trialID, pid: 78)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.workerPID, 78)
        try store.reportIntermediate(trialID: first.trialID, step: 0, value: 0.4)
        try finish(store, first.trialID, .complete, 0.3)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.record.value, 0.3)
    }

    // MARK: Trials shared by several daemons

    /// A leader's WAITING trials carry their parameters and seed; claims take them lowest number
    /// first, each once, even from many claimers at a time, and say who runs them.
    func testWaitingTrialsAreClaimedOnceEachInNumberOrder() throws {
        let study = try makeStudy(store)
        let first = try store.createWaitingTrial(studyID: study.id, params: params(0.01, 4, 0), seed: 21, configJSON: "{\"a\":1}",
                                                 expectedNumber: 0)
        XCTAssertEqual(first.number, 0)
        XCTAssertThrowsError(try store.createWaitingTrial(studyID: study.id, params: [], seed: 1, configJSON: "{}", expectedNumber: 0)) {
            XCTAssertTrue($0 is TrialNumberTaken, "\($0)")
        }
        var t = try XCTUnwrap(try store.trial(studyID: study.id, number: 0))
        XCTAssertEqual(t.record.state, .waiting)
        XCTAssertNil(t.datetimeStart)
        XCTAssertNil(try value("SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?", [first.trialID]))
        _ = try store.enqueueTrial(studyID: study.id, fixedParams: [:])   // not Sweep's yet: never claimed
        let claimed = try XCTUnwrap(try store.claimWaitingTrial(studyID: study.id, owner: "host-a:1:1", worker: "host-a:1"))
        XCTAssertEqual(claimed.trialID, first.trialID)
        XCTAssertEqual(claimed.record.state, .running)
        XCTAssertEqual(claimed.record.params["units"], 4)
        XCTAssertEqual(claimed.seed, 21)
        XCTAssertEqual(claimed.configJSON, "{\"a\":1}")
        XCTAssertEqual(claimed.attempts, 1, "a first start is attempt 1")
        XCTAssertEqual(claimed.owner, "host-a:1:1")
        XCTAssertNotNil(claimed.datetimeStart)
        XCTAssertEqual(try store.trialSystemAttributes(trialID: first.trialID)[TrialAttribute.worker], "\"host-a:1\"")
        // Its start is its first heartbeat: no row until the owner's next heartbeat, and not stale.
        XCTAssertNil(try value("SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?", [first.trialID]))
        XCTAssertEqual(try store.requeueStaleTrials(studyID: study.id, staleSeconds: 30), [])
        XCTAssertNil(try store.claimWaitingTrial(studyID: study.id, owner: "host-b:2:2", worker: "host-b:2"))
        t = try XCTUnwrap(try store.trial(studyID: study.id, number: 1))
        XCTAssertEqual(t.record.state, .waiting, "an enqueued trial without Sweep's row is left to the leader")

        // Many claimers at once: every trial exactly once.
        for n in 0..<24 {
            _ = try store.createWaitingTrial(studyID: study.id, params: params(0.01, n, 0), seed: UInt64(n), configJSON: "{}", expectedNumber: nil)
        }
        let store = self.store!
        let errors = ErrorList()
        let lock = NSLock()
        var got: [Int] = []
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            while true {
                do {
                    guard let c = try store.claimWaitingTrial(studyID: study.id, owner: "host-\(k):\(k):1", worker: "host-\(k):\(k)") else { break }
                    lock.withLock { got.append(c.record.number) }
                } catch { errors.append(error); break }
            }
        }
        XCTAssertEqual(errors.all.map { "\($0)" }, [])
        XCTAssertEqual(got.sorted(), Array(2..<26))
    }

    /// A leader's batch of WAITING trials: numbered in order from the number it expected, each
    /// with its parameters (in the order given), seed and configuration, all or nothing; claimed
    /// in number order.
    func testWaitingTrialsCreatedTogether() throws {
        let study = try makeStudy(store)
        XCTAssertEqual(try store.createWaitingTrials(studyID: study.id, [], firstNumber: 0), [])
        let batch = [NewWaitingTrial(params: params(0.01, 4, 0), seed: 7, configJSON: "{\"a\":0}"),
                     NewWaitingTrial(params: params(0.02, 8, 1), seed: 8, configJSON: "{\"a\":1}"),
                     NewWaitingTrial(params: [], seed: 9, configJSON: "{}")]
        let ids = try store.createWaitingTrials(studyID: study.id, batch, firstNumber: 0)
        XCTAssertEqual(ids.count, 3)
        XCTAssertEqual(ids, ids.sorted(), "trial ids follow the numbers")
        for (n, id) in ids.enumerated() {
            let t = try XCTUnwrap(try store.trial(studyID: study.id, number: n))
            XCTAssertEqual(t.trialID, id)
            XCTAssertEqual(t.record.state, .waiting)
            XCTAssertEqual(t.seed, batch[n].seed)
            XCTAssertEqual(t.configJSON, batch[n].configJSON)
            XCTAssertEqual(t.attempts, 1)
            XCTAssertNil(t.datetimeStart)
            XCTAssertEqual(t.record.params, Dictionary(uniqueKeysWithValues: batch[n].params.map { ($0.name, $0.value) }))
            XCTAssertEqual(try rows("SELECT param_name FROM trial_params WHERE trial_id = ? ORDER BY param_id", [id]).map { $0[0]! },
                           batch[n].params.map(\.name), "Optuna's param order is the order given")
        }
        XCTAssertNil(try value("SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?", [ids[0]]))
        // The next number follows the batch; a batch from a taken number writes nothing.
        XCTAssertThrowsError(try store.createWaitingTrials(studyID: study.id, batch, firstNumber: 2)) {
            XCTAssertTrue($0 is TrialNumberTaken, "\($0)")
        }
        XCTAssertThrowsError(try store.createWaitingTrials(studyID: study.id, [NewWaitingTrial(params: params(.nan, 1, 0), seed: 1, configJSON: "{}")],
                                                          firstNumber: 3))
        XCTAssertEqual(try store.trials(studyID: study.id).count, 3)
        _ = try store.enqueueTrial(studyID: study.id, fixedParams: [:])   // number 3, not claimable
        XCTAssertEqual(try store.createWaitingTrials(studyID: study.id, [batch[0]], firstNumber: 4).count, 1)

        var numbers: [Int] = []
        while let t = try store.claimWaitingTrial(studyID: study.id, owner: "host-a:1:1", worker: "host-a:1") {
            numbers.append(t.record.number)
            XCTAssertEqual(t.seed, t.record.number == 4 ? 7 : batch[t.record.number].seed)
        }
        XCTAssertEqual(numbers, [0, 1, 2, 4])
    }

    /// A worker's finish and its next claim in one call: the finish as `finishTrial` writes it
    /// (one statement or not), then the lowest WAITING trial for the same owner; a finish the
    /// store refuses claims nothing.
    func testAFinishAndTheNextClaimInOneCall() throws {
        let study = try makeStudy(store)
        let a = "host-a:1:1", b = "host-b:2:2"
        for n in 0..<3 {
            _ = try store.createWaitingTrial(studyID: study.id, params: params(0.01, n + 1, 0), seed: UInt64(30 + n), configJSON: "{\"n\":\(n)}",
                                             expectedNumber: n)
        }
        func finishAndClaim(_ id: Int64, _ state: TrialState, _ values: [Double]?, reason: String? = nil,
                            owner: String = a) throws -> (state: TrialState, claimed: StoredTrial?) {
            try store.finishTrialAndClaim(trialID: id, state: state, values: values, constraints: nil, exitStatus: state == .fail ? 1 : 0,
                                          reason: reason, stderrTail: "tail", epochsRun: 2, durationSeconds: 1.5, artifactDir: "/t/\(id)",
                                          owner: owner, studyID: study.id, worker: "host-a:1")
        }
        let first = try XCTUnwrap(try store.claimWaitingTrial(studyID: study.id, owner: a, worker: "host-a:1"))

        var answer = try finishAndClaim(first.trialID, .complete, [0.5])
        XCTAssertEqual(answer.state, .complete)
        var t = try XCTUnwrap(try store.trial(studyID: study.id, number: 0))
        XCTAssertEqual(t.record.state, .complete)
        XCTAssertEqual(t.record.value, 0.5)
        XCTAssertEqual(t.exitStatus, 0)
        XCTAssertEqual(t.durationSeconds, 1.5)
        XCTAssertEqual(t.artifactDir, "/t/\(first.trialID)")
        let second = try XCTUnwrap(answer.claimed)
        XCTAssertEqual(second.record.number, 1)
        XCTAssertEqual(second.record.state, .running)
        XCTAssertEqual(second.record.params["units"], 2)
        XCTAssertEqual(second.seed, 31)
        XCTAssertEqual(second.configJSON, "{\"n\":1}")
        XCTAssertEqual(second.attempts, 1)
        XCTAssertEqual(second.owner, a)
        XCTAssertNotNil(second.datetimeStart)
        XCTAssertEqual(try store.trialSystemAttributes(trialID: second.trialID)[TrialAttribute.worker], "\"host-a:1\"")

        answer = try finishAndClaim(second.trialID, .fail, nil, reason: "exited with status 1")
        XCTAssertEqual(answer.state, .fail)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 1)?.reason, "exited with status 1")
        let third = try XCTUnwrap(answer.claimed)
        XCTAssertEqual(third.record.number, 2)

        // A finish not made in one statement (the last report is the PRUNED trial's value); none waits.
        try store.reportIntermediate(trialID: third.trialID, step: 0, value: 0.8, owner: a)
        answer = try finishAndClaim(third.trialID, .pruned, nil)
        XCTAssertEqual(answer.state, .pruned)
        XCTAssertNil(answer.claimed)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 2)?.record.value, 0.8)

        // Refused finishes claim nothing: another owner's trial, a finished one.
        for n in 3..<5 {
            _ = try store.createWaitingTrial(studyID: study.id, params: params(0.01, n, 0), seed: 1, configJSON: "{}", expectedNumber: n)
        }
        let fourth = try XCTUnwrap(try store.claimWaitingTrial(studyID: study.id, owner: a, worker: "host-a:1"))
        XCTAssertThrowsError(try finishAndClaim(fourth.trialID, .complete, [0.1], owner: b)) { XCTAssertTrue($0 is TrialNotOwned, "\($0)") }
        XCTAssertThrowsError(try finishAndClaim(first.trialID, .complete, [0.1]))
        XCTAssertEqual(try store.trials(studyID: study.id).map(\.record.state), [.complete, .fail, .pruned, .running, .waiting])
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.record.value, 0.5)

        // A wrong count of values makes the trial FAIL (as `finishTrial`), and the claim follows.
        answer = try finishAndClaim(fourth.trialID, .complete, [0.1, 0.2])
        XCTAssertEqual(answer.state, .fail)
        XCTAssertEqual(answer.claimed?.record.number, 4)
    }

    /// A claimed trial's start is its first heartbeat: stale once it is older than `staleSeconds`
    /// with no heartbeat since, kept alive by its owner's.
    func testAClaimedTrialIsStaleFromItsStartWithoutAHeartbeat() throws {
        let study = try makeStudy(store)
        let owner = "host-a:1:1"
        for n in 0..<2 {
            _ = try store.createWaitingTrial(studyID: study.id, params: params(0.02, 8, 1), seed: 5, configJSON: "{}", expectedNumber: n)
        }
        let kept = try XCTUnwrap(try store.claimWaitingTrial(studyID: study.id, owner: owner, worker: "host-a:1"))
        _ = try XCTUnwrap(try store.claimWaitingTrial(studyID: study.id, owner: owner, worker: "host-a:1"))
        XCTAssertEqual(try store.requeueStaleTrials(studyID: study.id, staleSeconds: 30), [])
        usleep(400_000)
        try store.controllerHeartbeat(studyID: study.id, owner: owner, leaseSeconds: 30, runningTrials: [kept.trialID])
        XCTAssertEqual(try store.requeueStaleTrials(studyID: study.id, staleSeconds: 0.3), [1])
        XCTAssertEqual(try store.trials(studyID: study.id).map(\.record.state), [.running, .waiting])
    }

    /// A trial whose daemon stopped heart-beating goes back to WAITING with its parameters and
    /// seed; the daemon it was taken from can no longer report, finish, requeue or keep it alive.
    func testAStaleTrialIsRequeuedAndItsOldOwnerCannotFinishIt() throws {
        let study = try makeStudy(store)
        let a = "host-a:1:1", b = "host-b:2:2"
        let made = try store.createWaitingTrial(studyID: study.id, params: params(0.02, 8, 1), seed: 5, configJSON: "{}", expectedNumber: 0)
        let fresh = try store.createTrial(studyID: study.id, params: [], seed: 1, configJSON: "{}", workerPID: nil)   // heart-beating
        _ = try store.claimWaitingTrial(studyID: study.id, owner: a, worker: "host-a:1")
        try store.reportIntermediate(trialID: made.trialID, step: 0, value: 0.7, owner: a)
        XCTAssertEqual(try store.requeueStaleTrials(studyID: study.id, staleSeconds: 30), [])
        usleep(400_000)
        try store.controllerHeartbeat(studyID: study.id, owner: b, leaseSeconds: 30, runningTrials: [made.trialID, fresh.trialID])
        XCTAssertEqual(try store.requeueStaleTrials(studyID: study.id, staleSeconds: 0.3), [0],
                       "another owner's heartbeat does not keep a trial alive; its own owner-less trial does")
        var t = try XCTUnwrap(try store.trial(studyID: study.id, number: 0))
        XCTAssertEqual(t.record.state, .waiting)
        XCTAssertEqual(t.record.params["units"], 8)
        XCTAssertEqual(t.seed, 5)
        XCTAssertEqual(t.record.intermediate, [:])
        XCTAssertNil(t.owner)
        for owner in [a, b] {   // not running for anyone now
            XCTAssertThrowsError(try store.reportIntermediate(trialID: made.trialID, step: 1, value: 0.1, owner: owner)) {
                XCTAssertTrue($0 is TrialNotOwned, "\($0)")
            }
        }
        t = try XCTUnwrap(try store.claimWaitingTrial(studyID: study.id, owner: b, worker: "host-b:2"))
        XCTAssertEqual(t.attempts, 2)
        XCTAssertEqual(try store.trialSystemAttributes(trialID: made.trialID)[TrialAttribute.worker], "\"host-b:2\"")
        // The daemon it was taken from: refused, nothing written.
        XCTAssertThrowsError(try store.reportIntermediate(trialID: made.trialID, step: 0, value: 9, owner: a)) { XCTAssertTrue($0 is TrialNotOwned) }
        XCTAssertThrowsError(try store.finishTrial(trialID: made.trialID, state: .complete, values: [9], constraints: nil, exitStatus: 0, reason: nil, stderrTail: nil,
                                                   epochsRun: 1, durationSeconds: 1, artifactDir: nil, owner: a)) { XCTAssertTrue($0 is TrialNotOwned) }
        XCTAssertThrowsError(try store.requeueTrial(trialID: made.trialID, owner: a)) { XCTAssertTrue($0 is TrialNotOwned) }
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.record.state, .running)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 0)?.record.intermediate, [:])
        try store.reportIntermediate(trialID: made.trialID, step: 0, value: 0.5, owner: b)
        XCTAssertEqual(try store.finishTrial(trialID: made.trialID, state: .complete, values: [0.25], constraints: nil, exitStatus: 0, reason: nil, stderrTail: nil,
                                             epochsRun: 1, durationSeconds: 1, artifactDir: nil, owner: b), .complete)
        t = try XCTUnwrap(try store.trial(studyID: study.id, number: 0))
        XCTAssertEqual(t.record.value, 0.25)
        XCTAssertEqual(t.attempts, 2)
        XCTAssertEqual(try store.requeueStaleTrials(studyID: study.id, staleSeconds: 0), [1], "only running trials")
    }

    // MARK: Several objectives and constraints

    func testSeveralObjectivesAreStoredAsOptunaStoresThem() throws {
        let study = try store.createStudy(name: "mo", directions: [.maximize, .minimize], metrics: ["val_accuracy", "model_bytes"],
                                          spacePath: "s.yaml", spaceText: "", samplerJSON: "{}", schedulerJSON: "{}", seed: 1,
                                          trialsTotal: 4, maxEpochs: 2, runOptionsJSON: #"{"workers":2}"#)
        XCTAssertEqual(study.runOptionsJSON, #"{"workers":2}"#, "stored with the study")
        XCTAssertEqual(study.directions, [.maximize, .minimize])
        XCTAssertEqual(study.metrics, ["val_accuracy", "model_bytes"])
        XCTAssertEqual(study.direction, .maximize)
        XCTAssertEqual(study.metric, "val_accuracy")
        XCTAssertTrue(study.isMultiObjective)
        XCTAssertEqual(try store.study(named: "mo"), study)
        XCTAssertEqual(try rows("SELECT objective, direction FROM study_directions WHERE study_id = ? ORDER BY objective", [study.id]),
                       [["0", "MAXIMIZE"], ["1", "MINIMIZE"]])
        XCTAssertEqual(try value("SELECT value_json FROM study_system_attributes WHERE study_id = ? AND key = 'study:metric_names'", [study.id]),
                       #"["val_accuracy","model_bytes"]"#)
        XCTAssertThrowsError(try store.createStudy(name: "bad", directions: [.minimize], metrics: ["a", "b"], spacePath: "", spaceText: "",
                                                   samplerJSON: "{}", schedulerJSON: "{}", seed: 1, trialsTotal: 1, maxEpochs: 1,
                                                   runOptionsJSON: nil))

        func finish(_ state: TrialState, _ values: [Double]?, _ constraints: [Double]?) throws -> (Int64, TrialState) {
            let id = try newTrial(store, study).trialID
            try store.reportIntermediate(trialID: id, step: 1, value: 0.5)
            return (id, try store.finishTrial(trialID: id, state: state, values: values, constraints: constraints, exitStatus: 0,
                                              reason: nil, stderrTail: nil, epochsRun: 1, durationSeconds: 1, artifactDir: nil))
        }
        let (a, sa) = try finish(.complete, [0.9, 4096], [-0.5, 0.25])
        let (b, sb) = try finish(.complete, [0.8, .infinity], nil)
        let (c, sc) = try finish(.complete, [0.7], nil)             // one value for two objectives
        let (d, sd) = try finish(.complete, [.nan, 10], nil)
        let (e, se) = try finish(.pruned, nil, nil)                 // several objectives: a pruned trial keeps no value
        XCTAssertEqual([sa, sb, sc, sd, se], [.complete, .complete, .fail, .fail, .pruned])
        XCTAssertEqual(try rows("SELECT objective, value, value_type FROM trial_values WHERE trial_id = ? ORDER BY objective", [a]),
                       [["0", "0.9", "FINITE"], ["1", "4096.0", "FINITE"]])
        XCTAssertEqual(try rows("SELECT objective, value, value_type FROM trial_values WHERE trial_id = ? ORDER BY objective", [b]),
                       [["0", "0.8", "FINITE"], ["1", nil, "INF_POS"]])
        for id in [c, d, e] { XCTAssertEqual(try value("SELECT COUNT(*) FROM trial_values WHERE trial_id = ?", [id]), "0") }
        XCTAssertEqual(try value("SELECT value_json FROM trial_system_attributes WHERE trial_id = ? AND key = 'constraints'", [a]), "[-0.5, 0.25]")
        XCTAssertEqual(try value("SELECT value_json FROM trial_user_attributes WHERE trial_id = ? AND key = 'fail_reason'", [c]),
                       #""reported 1 values for a study of 2 objectives""#)

        let t = try store.trials(studyID: study.id)
        XCTAssertEqual(t[0].record.values, [0.9, 4096])
        XCTAssertEqual(t[0].record.value, 0.9)
        XCTAssertEqual(t[0].record.constraints, [-0.5, 0.25])
        XCTAssertEqual(t[0].record.violation, 0.25)
        XCTAssertEqual(t[1].record.values, [0.8, .infinity])
        XCTAssertNil(t[1].record.constraints)
        XCTAssertNil(t[4].record.values)
        XCTAssertEqual(t[4].record.intermediate, [1: 0.5])
    }

    func testPerEpochVectorsAndOptunasConstraintFormsReadBack() throws {
        let study = try makeStudy(store)
        let id = try newTrial(store, study).trialID
        try store.reportIntermediate(trialID: id, step: 1, value: 0.5)
        try store.setTrialSystemAttribute(trialID: id, key: TrialAttribute.intermediateValues,
                                          valueJSON: TrialAttribute.intermediateValuesJSON([1: [0.5, 100], 2: [0.25, .nan]]))
        // Optuna's constrained samplers write the list with json.dumps (NaN as a bare token).
        try store.setTrialSystemAttribute(trialID: id, key: "constraints", valueJSON: "[1.5, NaN, -Infinity]")
        // Optuna 5's trial.set_constraint("size", -2.0): one named value.
        try store.setTrialSystemAttribute(trialID: id, key: "constraints:size", valueJSON: "-2.0")
        let r = try XCTUnwrap(try store.trial(studyID: study.id, number: 0)).record
        XCTAssertEqual(r.intermediateValues[1], [0.5, 100])
        XCTAssertEqual(r.intermediateValues[2]?.first, 0.25)
        XCTAssertTrue(r.intermediateValues[2]![1].isNaN)
        XCTAssertEqual(r.constraints?.count, 4)
        XCTAssertEqual(r.constraints?.first, 1.5)
        XCTAssertEqual(r.constraints?.last, -2.0)
        XCTAssertEqual(r.violation, .infinity)
        XCTAssertEqual(r.intermediate, [1: 0.5])   // Optuna's intermediate values stay the first objective's
    }

    // MARK: Which process runs a study

    func testOneControllerPerStudy() throws {
        let study = try makeStudy(store)
        let a = "host-a:100:1", b = "host-b:200:2"
        try store.claimStudy(id: study.id, owner: a, leaseSeconds: 30, holderKnownDead: nil)
        try store.claimStudy(id: study.id, owner: a, leaseSeconds: 30, holderKnownDead: nil)   // the holder renews
        let held = try XCTUnwrap(try store.study(id: study.id))
        XCTAssertEqual(held.controllerOwner, a)
        XCTAssertTrue(held.controllerLeaseLive)
        XCTAssertTrue(held.isRunning())
        XCTAssertEqual(held.controllerPID, 100)
        XCTAssertEqual(held.controllerHost, "host-a")
        // Another owner is refused while the lease runs, naming the holder...
        XCTAssertThrowsError(try store.claimStudy(id: study.id, owner: b, leaseSeconds: 30, holderKnownDead: nil)) { e in
            XCTAssertTrue("\(e)".contains("is being run by process 100 on host-a"), "\(e)")
        }
        // ... unless its caller knows that holder is dead (that holder only).
        XCTAssertThrowsError(try store.claimStudy(id: study.id, owner: b, leaseSeconds: 30, holderKnownDead: "host-a:100:0"))
        try store.claimStudy(id: study.id, owner: b, leaseSeconds: 30, holderKnownDead: a)
        XCTAssertEqual(try store.study(id: study.id)?.controllerOwner, b)
        try store.releaseStudy(id: study.id, owner: a)   // not the holder: nothing happens
        XCTAssertEqual(try store.study(id: study.id)?.controllerOwner, b)
        try store.releaseStudy(id: study.id, owner: b)
        XCTAssertNil(try store.study(id: study.id)?.controllerOwner)
        XCTAssertFalse(try store.study(id: study.id)!.isRunning())
        XCTAssertThrowsError(try store.claimStudy(id: 999, owner: a, leaseSeconds: 30, holderKnownDead: nil))
    }

    /// A lease ends on the database's clock unless its holder's heartbeats renew it; a heartbeat
    /// of another owner renews nothing.
    func testALeaseExpiresUnlessRenewed() throws {
        let study = try makeStudy(store)
        let a = "host-a:100:1", b = "host-b:200:2"
        try store.claimStudy(id: study.id, owner: a, leaseSeconds: 0.4, holderKnownDead: nil)
        try store.controllerHeartbeat(studyID: study.id, owner: b, leaseSeconds: 30, runningTrials: [])
        usleep(600_000)
        XCTAssertFalse(try store.study(id: study.id)!.controllerLeaseLive)
        XCTAssertFalse(try store.study(id: study.id)!.isRunning())
        try store.claimStudy(id: study.id, owner: b, leaseSeconds: 0.4, holderKnownDead: nil)   // expired: anyone takes it
        try store.controllerHeartbeat(studyID: study.id, owner: b, leaseSeconds: 30, runningTrials: [])
        usleep(600_000)
        XCTAssertTrue(try store.study(id: study.id)!.controllerLeaseLive, "renewed by its holder")
        XCTAssertThrowsError(try store.claimStudy(id: study.id, owner: a, leaseSeconds: 30, holderKnownDead: nil))
    }

    /// The usual claim (`claimStudy(id:)`, this process) takes over at once the lease of a
    /// process of this host that has ended, and never a live one's.
    func testAHolderThisHostKnowsIsDeadIsTakenOverAtOnce() throws {
        let study = try makeStudy(store)
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run(); gone.waitUntilExit()
        let host = ProcessInfo.processInfo.hostName
        let dead = LeaseOwner(host: host, pid: gone.processIdentifier, token: "1")
        XCTAssertTrue(dead.isKnownDead)
        try store.claimStudy(id: study.id, owner: dead.id, leaseSeconds: 30, holderKnownDead: nil)
        XCTAssertFalse(try store.study(id: study.id)!.isRunning(), "its lease runs, but this host knows it is dead")
        try store.claimStudy(id: study.id)
        XCTAssertEqual(try store.study(id: study.id)?.controllerOwner, LeaseOwner.current.id)
        try store.releaseStudy(id: study.id)
        // A live process of this host (our parent): refused; the same pid with another start: dead.
        let parent = LeaseOwner(host: host, pid: getppid(), token: String(ProcessLiveness.startTime(getppid()) ?? 0))
        XCTAssertFalse(parent.isKnownDead)
        XCTAssertTrue(LeaseOwner(host: host, pid: getppid(), token: "12345678901").isKnownDead, "a reused pid")
        XCTAssertFalse(LeaseOwner(host: "elsewhere", pid: gone.processIdentifier, token: "1").isKnownDead)
        try store.claimStudy(id: study.id, owner: parent.id, leaseSeconds: 30, holderKnownDead: nil)
        XCTAssertThrowsError(try store.claimStudy(id: study.id)) { e in
            XCTAssertTrue("\(e)".contains("is being run by process \(getppid()) on \(host)"), "\(e)")
        }
        assertInputError(store.location, "is being run by process") { try store.deleteStudy(id: study.id) }
    }

    func testControllerHeartbeatsRefreshRunningTrials() throws {
        let study = try makeStudy(store)
        try store.claimStudy(id: study.id)
        let running = try newTrial(store, study), done = try newTrial(store, study)
        try finish(store, done.trialID, .complete, 1)
        let beat = "SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?"
        let before = (running: try value(beat, [running.trialID]), done: try value(beat, [done.trialID]))
        usleep(20_000)
        try store.controllerHeartbeat(studyID: study.id, runningTrials: [running.trialID, done.trialID])
        XCTAssertNotEqual(try value(beat, [running.trialID]), before.running)
        XCTAssertEqual(try value(beat, [done.trialID]), before.done, "a finished trial never changes")
    }

    func testUserAndSystemAttributesAreOptunas() throws {
        let study = try makeStudy(store)
        let id = try newTrial(store, study).trialID
        try store.setTrialUserAttributes(trialID: id, ["sweep:metric:latency_ms": "1.5", "note": #""x""#])
        try store.setTrialUserAttributes(trialID: id, ["sweep:metric:latency_ms": "2.5"])   // replaced
        XCTAssertEqual(try store.trialUserAttributes(trialID: id), ["sweep:metric:latency_ms": "2.5", "note": #""x""#])
        try store.setTrialSystemAttribute(trialID: id, key: "k", valueJSON: "[1]")
        XCTAssertEqual(try store.trialSystemAttributes(trialID: id), ["k": "[1]"])
        try store.setTrialSystemAttribute(trialID: id, key: "k", valueJSON: nil)
        XCTAssertEqual(try store.trialSystemAttributes(trialID: id), [:])
        XCTAssertEqual(try value("SELECT value_json FROM trial_user_attributes WHERE trial_id = ? AND key = 'note'", [id]), #""x""#)
    }

    // MARK: Queued trials (Optuna's forms)

    func testAnEnqueuedTrialIsWaitingWithFixedParamsAndNoSweepRow() throws {
        let study = try makeStudy(store)
        _ = try newTrial(store, study)
        let number = try store.enqueueTrial(studyID: study.id, fixedParams: ["lr": .double(0.02), "activation": .string("relu")])
        XCTAssertEqual(number, 1)
        let t = try XCTUnwrap(try store.trial(studyID: study.id, number: 1))
        XCTAssertEqual(t.record.state, .waiting)
        XCTAssertFalse(t.ownedBySweep)
        XCTAssertTrue(try store.trial(studyID: study.id, number: 0)!.ownedBySweep)
        XCTAssertNil(t.datetimeStart)
        XCTAssertEqual(try value("SELECT value_json FROM trial_system_attributes WHERE trial_id = ? AND key = 'fixed_params'", [t.trialID]),
                       #"{"activation":"relu","lr":0.02}"#)
        let given = try store.givenParams(trialID: t.trialID)
        XCTAssertEqual(given.values, ["lr": .double(0.02), "activation": .string("relu")])
        XCTAssertEqual(given.unreadable, [])
        XCTAssertEqual(try store.trials(studyID: study.id, fromNumber: 1).map(\.record.number), [1])
        XCTAssertEqual(try newTrial(store, study).number, 2, "numbers stay dense")
    }

    func testAdoptingStartsTheTrialOnceAndFailingRecordsTheReason() throws {
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
        XCTAssertEqual(try value("SELECT value_json FROM trial_user_attributes WHERE trial_id = ? AND key = 'fail_reason'", [b.trialID]),
                       #""'units' = 99 is not an integer in [1, 8]""#)
        XCTAssertFalse(try store.adoptTrial(trialID: b.trialID, params: [], seed: 1, configJSON: "{}"), "a finished trial is not taken over")
    }

    func testRetryQueuesEachFailedTrialOnceInOptunasForm() throws {
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
        XCTAssertEqual(try rows("SELECT key, value_json FROM trial_system_attributes WHERE trial_id = ? ORDER BY key", [retry.trialID]),
                       [["failed_trial", "0"], ["retry_history", "[0]"]])
        XCTAssertEqual(try value("SELECT COUNT(*) FROM trial_user_attributes WHERE trial_id = ?", [retry.trialID]), "0")
        // Retried already: nothing more, until the retry fails in its turn.
        XCTAssertEqual(try store.retryFailedTrials(studyID: study.id).count, 0)
        try store.restartTrial(trialID: retry.trialID)
        XCTAssertEqual(try store.trial(studyID: study.id, number: 3)?.attempts, 2, "one more attempt")
        try finish(store, retry.trialID, .fail, nil, reason: "boom again")
        let next = try store.retryFailedTrials(studyID: study.id)
        XCTAssertEqual(next.map(\.failed), [3])
        let nextID = try XCTUnwrap(try store.trial(studyID: study.id, number: next[0].retry)).trialID
        XCTAssertEqual(try value("SELECT value_json FROM trial_system_attributes WHERE trial_id = ? AND key = 'retry_history'", [nextID]), "[0,3]")
    }

    func testDeleteRemovesEveryRowOfTheStudyAndNoOther() throws {
        let gone = try makeStudy(store, name: "gone")
        let kept = try makeStudy(store, name: "kept")
        for s in [gone, kept] {
            let t = try newTrial(store, s)
            try store.reportIntermediate(trialID: t.trialID, step: 0, value: 1)
            try finish(store, t.trialID, .fail, nil, reason: "x")
            _ = try newTrial(store, s)
            _ = try store.enqueueTrial(studyID: s.id, fixedParams: ["lr": .double(0.01)])
        }
        func counts() throws -> [String: String?] {
            var n: [String: String?] = [:]
            for table in ["studies", "study_directions", "study_system_attributes", "sweep_studies", "trials", "trial_params",
                          "trial_intermediate_values", "trial_user_attributes", "trial_system_attributes", "trial_heartbeats", "sweep_trials"] {
                n[table] = try value("SELECT COUNT(*) FROM \(table)")
            }
            return n
        }
        let before = try counts()
        // Its controller's lease runs: refused.
        try store.claimStudy(id: gone.id, owner: "host-a:100:1", leaseSeconds: 30, holderKnownDead: nil)
        assertInputError(store.location, "is being run by process") { try store.deleteStudy(id: gone.id) }
        try store.releaseStudy(id: gone.id, owner: "host-a:100:1")
        XCTAssertEqual(try store.deleteStudy(id: gone.id), 3)
        XCTAssertNil(try store.study(named: "gone"))
        XCTAssertEqual(try store.trials(studyID: kept.id).count, 3)
        XCTAssertEqual(try counts(), before.mapValues { $0.flatMap(Int.init).map { String($0 / 2) } }, "the other study's rows are all there")
    }
}

/// Errors collected from several threads.
final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func append(_ e: any Error) { lock.lock(); errors.append(e); lock.unlock() }
    var all: [any Error] { lock.lock(); defer { lock.unlock() }; return errors }
}

/// Each backend's conformance class runs the whole contract: it overrides every test of
/// `TrialStoreConformance` (read from the sources, as test discovery would miss a forgotten one).
final class ConformanceSuiteTests: XCTestCase {
    func testEveryBackendRunsTheWholeContract() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        func tests(_ file: URL, overriding: Bool) throws -> Set<String> {
            let whole = try String(contentsOf: file, encoding: .utf8)
            let text = whole.components(separatedBy: "\nfinal class ConformanceSuiteTests")[0]
            let pattern = overriding ? #"override func (test\w+)\(\)"# : #"\n    func (test\w+)\(\)"#
            let regex = try NSRegularExpression(pattern: pattern)
            return Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
                String(text[Range($0.range(at: 1), in: text)!])
            })
        }
        let contract = try tests(folder.appendingPathComponent("TrialStoreConformance.swift"), overriding: false)
        XCTAssertGreaterThan(contract.count, 10)
        let backends = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix("StoreConformanceTests.swift") }
        XCTAssertTrue(backends.contains("SQLiteStoreConformanceTests.swift"), "\(backends)")
        for file in backends {
            let run = try tests(folder.appendingPathComponent(file), overriding: true)
            XCTAssertEqual(contract.subtracting(run).sorted(), [], "\(file) does not run these contract tests")
        }
    }
}
