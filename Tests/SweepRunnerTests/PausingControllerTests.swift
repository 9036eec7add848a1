import Foundation
import XCTest
import SweepCore
import SweepSearch
import SweepStorage
@testable import SweepRunner

/// How the controller runs pausing schedulers (`StudyController+Pausing`), as tables of events →
/// decisions and store states, with no process started.
final class PausingControllerTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    func commandStudy(_ scheduler: String, trials: Int, maxEpochs: Int, db: String? = nil) throws -> StudyController {
        let db = db ?? TempFolder.dir() + "/p.db"
        let spec = try StudySpec.parse("""
            name: pausing
            objective: {metric: loss, direction: minimize}
            command: [/bin/true]
            params: {x: {float: [0, 1]}}
            sampler: random
            budget: {trials: \(trials), max_epochs: \(maxEpochs)}
            scheduler: \(scheduler)
            """, file: (db as NSString).deletingLastPathComponent + "/space.yaml")
        return try StudyController(spec: spec, options: RunOptions(workers: 4, dataDir: "/tmp", dbPath: db, trialExecutable: "/bin/false"))
    }

    func stored(_ c: StudyController) throws -> [StoredTrial] { try c.store.trials(studyID: c.study.id) }

    func report(_ c: StudyController, _ id: Int64, _ step: Int, _ value: Double) throws -> [JobAction] {
        try c.handle(id, .line(.report(step: step, value: value, extra: [:])), now: t0)
    }

    /// Promotion-mode ASHA (η = 2, milestones 1 and 2 of 4 epochs): every trial pauses at a
    /// milestone, the best ⌊n/2⌋ are resumed first (reports again below the pause ignored), and
    /// those no one will promote end PRUNED with their last value when nothing else can run.
    func testPromoteModeTable() throws {
        let c = try commandStudy("{name: asha, mode: promote, reduction_factor: 2}", trials: 4, maxEpochs: 4)
        _ = try c.begin(owner: .current, now: t0)
        var jobs: [TrialJob] = []
        for _ in 0..<4 { jobs.append(try XCTUnwrap(try c.nextJob(now: t0))) }
        XCTAssertNil(try c.nextJob(now: t0), "the budget is used")
        // (trial, value at epoch 1): each pauses (a command is stopped), and is stored paused.
        for (i, v) in [0.4, 0.1, 0.3, 0.2].enumerated() {
            XCTAssertEqual(try report(c, jobs[i].id, 1, v), [.stop(jobs[i].id)], "trial \(i)")
            XCTAssertEqual(try c.handle(jobs[i].id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0), [])
        }
        XCTAssertEqual(try stored(c).map(\.record.isPaused), [true, true, true, true])
        XCTAssertEqual(try stored(c).map(\.record.state), [.waiting, .waiting, .waiting, .waiting])

        // (promoted trial, its reports, pauses again) in order.
        let table: [(number: Int, reports: [(Int, Double)], pauses: Bool)] = [
            (1, [(1, 0.1), (2, 0.05)], true),           // best at rung 1; reports epoch 1 again (ignored)
            (3, [(1, 0.2), (2, 0.15)], true),           // second best at rung 1
            (1, [(2, 0.05), (3, 0.04), (4, 0.03)], false),   // best of 2 at rung 2: trains to the end
        ]
        for row in table {
            XCTAssertTrue(c.wantsTrial(now: t0), "\(row.number)")
            let job = try XCTUnwrap(try c.nextJob(now: t0))
            XCTAssertEqual(job.env["SWEEP_TRIAL_NUMBER"], "\(row.number)")
            XCTAssertEqual(job.env["SWEEP_ATTEMPT"], "1", "a promotion continues the same attempt")
            XCTAssertEqual(try stored(c)[row.number].record.state, .running)
            var actions: [JobAction] = []
            for (step, v) in row.reports { actions += try report(c, job.id, step, v) }
            XCTAssertEqual(actions, row.pauses ? [.stop(job.id)] : [], "\(row.number)")
            if !row.pauses { _ = try c.handle(job.id, .line(.final(value: 0.03)), now: t0) }
            _ = try c.handle(job.id, .exited(row.pauses ? .signaled(signal: 15) : .exited(code: 0), stderrTail: ""), now: t0)
        }
        XCTAssertFalse(c.wantsTrial(now: t0))
        XCTAssertTrue(try c.isOver(now: t0))
        let end = try stored(c)
        XCTAssertEqual(end.map(\.record.state), [.pruned, .complete, .pruned, .pruned])
        XCTAssertEqual(end.map(\.record.value), [0.4, 0.03, 0.3, 0.15])
        XCTAssertEqual(end[1].record.intermediate, [1: 0.1, 2: 0.05, 3: 0.04, 4: 0.03], "epochs 1...4, each once")
        XCTAssertEqual(end.map(\.attempts), [1, 1, 1, 1])
        c.end(now: t0)
        XCTAssertEqual(c.study.status, .finished)
    }

    /// A stop leaves paused trials paused; the next run does not rerun them from scratch but
    /// promotes them, and its end prunes those left.
    func testPausedTrialsOutliveARun() throws {
        let c = try commandStudy("{name: asha, mode: promote, reduction_factor: 2}", trials: 2, maxEpochs: 4)
        _ = try c.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try c.nextJob(now: t0)), b = try XCTUnwrap(try c.nextJob(now: t0))
        _ = try report(c, a.id, 1, 0.5)
        _ = try c.handle(a.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
        XCTAssertEqual(c.requestStop(markStopped: true), [.stop(b.id)])
        _ = try c.handle(b.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
        XCTAssertTrue(try c.isOver(now: t0))
        c.end(now: t0)
        XCTAssertEqual(try stored(c).map(\.record.isPaused), [true, false])
        XCTAssertEqual(try stored(c).map(\.record.state), [.waiting, .waiting])

        let again = try commandStudy("{name: asha, mode: promote, reduction_factor: 2}", trials: 2, maxEpochs: 4, db: c.options.dbPath)
        _ = try again.begin(owner: .current, now: t0)
        let rerun = try XCTUnwrap(try again.nextJob(now: t0))
        XCTAssertEqual(rerun.env["SWEEP_TRIAL_NUMBER"], "1", "the requeued trial runs again; the paused one waits")
        XCTAssertEqual(rerun.env["SWEEP_RESUME_EPOCH"], "0", "its reports went with the requeue")
        XCTAssertNil(try again.nextJob(now: t0), "one value at rung 1: nobody is promoted yet")
        _ = try report(again, rerun.id, 1, 0.2)
        _ = try again.handle(rerun.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
        let promoted = try XCTUnwrap(try again.nextJob(now: t0))
        XCTAssertEqual(promoted.env["SWEEP_TRIAL_NUMBER"], "1", "the better of two at rung 1")
        XCTAssertEqual(promoted.env["SWEEP_RESUME_EPOCH"], "1", "it continues after its pause epoch")
        _ = try report(again, promoted.id, 2, 0.1)
        _ = try again.handle(promoted.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
        XCTAssertTrue(try again.isOver(now: t0))
        XCTAssertEqual(try stored(again).map(\.record.state), [.pruned, .pruned])
        XCTAssertEqual(try stored(again).map(\.record.value), [0.5, 0.1])
    }

    /// PBT: a bottom-quantile trial at an interval epoch ends PRUNED and a new trial continues
    /// its place from the donor's checkpoint at that epoch, with the lineage stored.
    func pbtStudy(db: String) throws -> StudyController {
        let spec = try StudySpec.parse("""
            name: pbt
            dataset: {name: digits}
            objective: {metric: val_accuracy, direction: maximize}
            sampler: random
            budget: {trials: 3, max_epochs: 4}
            scheduler: {name: pbt, interval: 2, quantile: 0.5, min_population: 2}
            model:
              layers:
                - {type: dense, units: {int: [8, 64]}}
            training:
              learning_rate: {float: [0.001, 0.1], log: true}
            """, file: (db as NSString).deletingLastPathComponent + "/space.yaml")
        return try StudyController(spec: spec, options: RunOptions(workers: 2, dataDir: "/tmp", dbPath: db, trialExecutable: "/bin/false"))
    }

    func testExploitStartsATrialFromTheDonorsCheckpoint() throws {
        let c = try pbtStudy(db: TempFolder.dir() + "/pbt.db")
        _ = try c.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try c.nextJob(now: t0)), b = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertEqual(Array(a.argv.suffix(2)), ["--keep-epochs", "2"])
        // The donor's copy of epoch 2, as its worker keeps it (`--keep-epochs`).
        let donorCopy = TrialFolder.checkpoint(trialFolder: c.trialFolder(0)) + ".epoch-2"
        try FileManager.default.createDirectory(atPath: c.trialFolder(0), withIntermediateDirectories: true)
        try "donor".write(toFile: donorCopy, atomically: true, encoding: .utf8)

        XCTAssertEqual(try report(c, a.id, 1, 0.5) + report(c, a.id, 2, 0.9), [], "alone at epoch 2: no population yet")
        XCTAssertEqual(try report(c, b.id, 1, 0.4), [])
        XCTAssertEqual(try report(c, b.id, 2, 0.3), [.stop(b.id)], "the worse half is exploited")
        _ = try c.handle(b.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
        XCTAssertEqual(try stored(c)[1].record.state, .pruned)

        let child = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertEqual(child.env["SWEEP_TRIAL_NUMBER"], "2")
        let start = StudyController.startCheckpoint(trialFolder: c.trialFolder(2))
        XCTAssertEqual(Array(child.argv.suffix(4)), ["--keep-epochs", "2", "--start-from", start])
        XCTAssertEqual(try String(contentsOfFile: start, encoding: .utf8), "donor")
        let trials = try stored(c)
        XCTAssertEqual(trials[2].record.params["model.layers.0.units"], trials[0].record.params["model.layers.0.units"],
                       "the model's shape is the donor's")
        XCTAssertNotEqual(trials[2].record.params["training.learning_rate"], trials[0].record.params["training.learning_rate"])
        let attrs = try c.store.trialSystemAttributes(trialID: child.id)
        XCTAssertEqual(attrs[TrialAttribute.pbtDonor], "0")
        XCTAssertEqual(attrs[TrialAttribute.pbtEpoch], "2")
        XCTAssertEqual(try c.store.trialSystemAttributes(trialID: b.id)[TrialAttribute.pbtExploited], "2")
        XCTAssertNil(try c.nextJob(now: t0), "the child counts toward the total")
    }

    /// A run that stops after an exploited trial ended but before its continuation exists (the
    /// daemon killed in between) creates the continuation first when the study runs again.
    func testAnExploitOutlivesARunStoppedBeforeItsContinuation() throws {
        let db = TempFolder.dir() + "/pbt.db"
        let c = try pbtStudy(db: db)
        _ = try c.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try c.nextJob(now: t0)), b = try XCTUnwrap(try c.nextJob(now: t0))
        let donorCopy = TrialFolder.checkpoint(trialFolder: c.trialFolder(0)) + ".epoch-2"
        try FileManager.default.createDirectory(atPath: c.trialFolder(0), withIntermediateDirectories: true)
        try "donor".write(toFile: donorCopy, atomically: true, encoding: .utf8)
        _ = try report(c, a.id, 1, 0.5) + report(c, a.id, 2, 0.9) + report(c, b.id, 1, 0.4)
        XCTAssertEqual(try report(c, b.id, 2, 0.3), [.stop(b.id)])
        _ = try c.handle(b.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
        XCTAssertEqual(try c.store.trialSystemAttributes(trialID: b.id)[TrialAttribute.pbtExploit], #"{"donor": 0, "epoch": 2}"#)
        // The controller is gone here: no end(), no nextJob(); trial 0 is still RUNNING.

        let again = try pbtStudy(db: db)
        _ = try again.begin(owner: .current, now: t0)
        let rerun = try XCTUnwrap(try again.nextJob(now: t0))
        XCTAssertEqual(rerun.env["SWEEP_TRIAL_NUMBER"], "0", "the trial left RUNNING runs again first")
        let child = try XCTUnwrap(try again.nextJob(now: t0))
        XCTAssertEqual(child.env["SWEEP_TRIAL_NUMBER"], "2", "then the continuation, before any new trial")
        let start = StudyController.startCheckpoint(trialFolder: again.trialFolder(2))
        XCTAssertEqual(Array(child.argv.suffix(2)), ["--start-from", start])
        XCTAssertEqual(try String(contentsOfFile: start, encoding: .utf8), "donor")
        XCTAssertEqual(try again.store.trialSystemAttributes(trialID: child.id)[TrialAttribute.pbtDonor], "0")
        XCTAssertEqual(try again.store.trialSystemAttributes(trialID: b.id)[TrialAttribute.pbtExploited], "2")
        XCTAssertNil(try again.nextJob(now: t0), "three trials: the continuation counted once")

        // Once it exists, a third run creates no second one.
        let third = try pbtStudy(db: db)
        _ = try third.begin(owner: .current, now: t0)
        XCTAssertEqual(try Set([third.nextJob(now: t0), third.nextJob(now: t0)].map { $0?.env["SWEEP_TRIAL_NUMBER"] }), ["0", "2"],
                       "the two RUNNING trials run again; nothing new")
        XCTAssertEqual(try stored(third).count, 3)
    }

    /// A continuation keeps what shapes the donor's checkpoint (`model.*`, the optimizer) and
    /// only the parameters active under it.
    func testAContinuationKeepsWhatShapesTheCheckpoint() throws {
        let spec = try StudySpec.parse("""
            name: c
            dataset: {name: digits}
            objective: {metric: val_accuracy, direction: maximize}
            model:
              layers:
                - {type: dense, units: {int: [8, 64]}}
            training:
              optimizer: {choice: [sgd, momentum]}
              momentum: {float: [0.5, 0.99], when: {training.optimizer: [momentum]}}
              learning_rate: {float: [0.001, 0.1], log: true}
            """, file: "c.yaml")
        let donor = ["model.layers.0.units": 16.0, "training.optimizer": 1, "training.momentum": 0.9, "training.learning_rate": 0.01]
        let table: [(explored: [String: Double], expected: [String: Double])] = [
            (["model.layers.0.units": 40, "training.optimizer": 1, "training.momentum": 0.8, "training.learning_rate": 0.012],
             ["model.layers.0.units": 16, "training.optimizer": 1, "training.momentum": 0.8, "training.learning_rate": 0.012]),
            // Explored to sgd (no momentum): the donor's optimizer stays, and with it a momentum.
            (["model.layers.0.units": 16, "training.optimizer": 0, "training.learning_rate": 0.008],
             ["model.layers.0.units": 16, "training.optimizer": 1, "training.momentum": 0.9, "training.learning_rate": 0.008]),
        ]
        for row in table {
            XCTAssertEqual(StudyController.continuation(of: donor, explored: row.explored, space: spec.space), row.expected)
        }
    }

    /// Several daemons sharing a study refuse pausing schedulers; commands refuse PBT.
    func testSharedRunsAndCommandsRefuseWhatTheyCannotDo() throws {
        for s in ["{name: asha, mode: promote}", "{name: hyperband, mode: promote}"] {
            let c = try commandStudy(s, trials: 2, maxEpochs: 9)
            XCTAssertThrowsError(try StudyController.refuseInSharedRun(c.spec)) {
                XCTAssertEqual(($0 as? InputError)?.field, "scheduler", "\($0)")
                XCTAssertTrue("\($0)".contains("several daemons"), "\($0)")
            }
            c.shared = true
            XCTAssertThrowsError(try c.begin(owner: .current, now: t0), s)
        }
        XCTAssertNoThrow(try StudyController.refuseInSharedRun(try commandStudy("{name: asha, mode: stop}", trials: 2, maxEpochs: 9).spec))
        XCTAssertThrowsError(try commandStudy("{name: pbt, interval: 2}", trials: 2, maxEpochs: 9)) {
            XCTAssertTrue("\($0)".contains("needs built-in trials"), "\($0)")
        }
    }
}
