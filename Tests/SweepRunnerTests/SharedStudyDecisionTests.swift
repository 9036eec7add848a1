import Foundation
import XCTest
import SweepCore
import SweepSearch
import SweepStorage
@testable import SweepRunner

/// A study several daemons run (`StudyController.shared`) as tables of events → decisions: two
/// controllers with different owners on one database (SQLite's writer transaction plays
/// PostgreSQL's row locks), driven by the test, no process started. Leases and heartbeats are on
/// the database's clock, so the tests wait real time (a lease of 1 s).
final class SharedStudyDecisionTests: XCTestCase {
    let a = LeaseOwner(host: "host-a", pid: 101, token: "1"), b = LeaseOwner(host: "host-b", pid: 202, token: "2")

    func daemon(_ db: String, trials: Int, lease: Double = 2, body: String = "") throws -> StudyController {
        let c = try commandStudy("shared", trials: trials, workers: 2, db: db, body)
        c.shared = true
        c.sharedTiming = .init(leaseSeconds: lease)
        return c
    }

    /// A job's trial number, from its environment.
    func number(_ job: TrialJob) -> Int { Int(job.env["SWEEP_TRIAL_NUMBER"]!)! }

    /// A job prints its result and exits; the pool's turn ends with no claim of this study (the
    /// result held for one is written: `writeHeldFinishes`).
    func complete(_ c: StudyController, _ job: TrialJob, _ value: Double) throws {
        XCTAssertEqual(try c.handle(job.id, .line(.final(value: value)), now: Date()), [])
        XCTAssertEqual(try c.handle(job.id, .exited(.exited(code: 0), stderrTail: ""), now: Date()), [])
        c.writeHeldFinishes(now: Date())
    }

    /// A result is held for the worker's next claim, which writes it in the same call
    /// (`finishTrialAndClaim`); with no claim in the pool's turn it is written after the turn. A
    /// failure is written at once, for the failure rules.
    func testAResultIsWrittenWithTheNextClaimOrAfterThePoolsTurn() throws {
        let db = TempFolder.dir() + "/r.db"
        let leader = try daemon(db, trials: 3)
        _ = try leader.begin(owner: a, now: Date())
        let state = { (n: Int) in try leader.store.trial(studyID: leader.study.id, number: n)?.record.state }
        let j0 = try XCTUnwrap(try leader.nextJob(now: Date()))
        leader.prepareJobs(now: Date())
        XCTAssertEqual(try leader.handle(j0.id, .line(.final(value: 0.5)), now: Date()), [])
        XCTAssertEqual(try leader.handle(j0.id, .exited(.exited(code: 0), stderrTail: ""), now: Date()), [])
        XCTAssertEqual(try state(0), .running, "held for the next claim")
        XCTAssertFalse(try leader.isOver(now: Date()))
        let j1 = try XCTUnwrap(try leader.nextJob(now: Date()))
        XCTAssertEqual(number(j1), 1)
        XCTAssertEqual(try state(0), .complete)
        XCTAssertEqual(try leader.store.trial(studyID: leader.study.id, number: 0)?.record.value, 0.5)
        XCTAssertEqual(try state(1), .running)
        XCTAssertEqual(leader.progress(now: Date()).done, 1)
        XCTAssertEqual(leader.best, 0.5)

        XCTAssertEqual(try leader.handle(j1.id, .line(.final(value: 0.25)), now: Date()), [])
        XCTAssertEqual(try leader.handle(j1.id, .exited(.exited(code: 0), stderrTail: ""), now: Date()), [])
        leader.writeHeldFinishes(now: Date())   // no claim came in the pool's turn
        XCTAssertEqual(try state(1), .complete)
        XCTAssertEqual(leader.best, 0.25)

        let j2 = try XCTUnwrap(try leader.nextJob(now: Date()))
        XCTAssertEqual(try leader.handle(j2.id, .exited(.exited(code: 3), stderrTail: "no such file\n"), now: Date()), [])
        XCTAssertEqual(try state(2), .fail, "a failure is not held")
        _ = try leader.tick(now: Date().addingTimeInterval(10))
        XCTAssertTrue(try leader.isOver(now: Date()))
    }

    /// The leader samples into a short queue; both daemons claim from it; the budget is exact;
    /// each trial says which daemon ran it; only the leader marks the study finished.
    func testTheLeaderQueuesTrialsAndEveryDaemonRunsThem() throws {
        let db = TempFolder.dir() + "/r.db"
        let leader = try daemon(db, trials: 6), worker = try daemon(db, trials: 6)
        XCTAssertEqual(try leader.begin(owner: a, now: Date()), [])
        XCTAssertEqual(try worker.begin(owner: b, now: Date()), [])
        XCTAssertTrue(leader.leading)
        XCTAssertFalse(worker.leading)
        XCTAssertNil(try worker.nextJob(now: Date()), "nothing waits yet, and a worker does not sample")
        XCTAssertFalse(worker.wantsTrial(now: Date()), "no claim again for claimRetry")
        XCTAssertTrue(leader.wantsTrial(now: Date()))
        let j0 = try XCTUnwrap(try leader.nextJob(now: Date()))
        XCTAssertEqual(number(j0), 0)
        // Queue: max(running + 1, 2) = 2 WAITING created; the leader took the first.
        XCTAssertEqual(try leader.store.trials(studyID: leader.study.id).map(\.record.state), [.running, .waiting])
        _ = try worker.tick(now: Date().addingTimeInterval(5))   // its next reload
        XCTAssertTrue(worker.wantsTrial(now: Date()))
        let j1 = try XCTUnwrap(try worker.nextJob(now: Date()))
        XCTAssertEqual(number(j1), 1)
        XCTAssertNil(try worker.nextJob(now: Date()))
        XCTAssertFalse(worker.wantsTrial(now: Date()), "no asking again for claimRetry")
        var done = 0
        var jobs = [(leader, j0), (worker, j1)]
        while let (c, job) = jobs.popLast() {
            try complete(c, job, Double(number(job)))
            done += 1
            for d in [leader, worker] {
                _ = try d.tick(now: Date().addingTimeInterval(Double(5 * done)))
                if d.wantsTrial(now: Date()), let next = try d.nextJob(now: Date()) { jobs.insert((d, next), at: 0) }
            }
        }
        let trials = try leader.store.trials(studyID: leader.study.id)
        XCTAssertEqual(trials.map(\.record.number), Array(0..<6))
        XCTAssertEqual(trials.map(\.record.state), Array(repeating: .complete, count: 6))
        XCTAssertEqual(trials.map(\.record.value), (0..<6).map(Double.init))
        XCTAssertEqual(Set(trials.map(\.attempts)), [1])
        XCTAssertEqual(Set(trials.compactMap(\.owner)), [a.id, b.id], "both daemons ran trials")
        XCTAssertEqual(try leader.store.trialSystemAttributes(trialID: j1.id)[TrialAttribute.worker], "\"host-b:202\"")
        for d in [worker, leader] {
            _ = try d.tick(now: Date().addingTimeInterval(100))
            XCTAssertTrue(try d.isOver(now: Date()))
        }
        worker.end(now: Date())
        XCTAssertEqual(try leader.store.study(id: leader.study.id)?.status, .running, "a worker does not write the status")
        leader.end(now: Date())
        XCTAssertEqual(leader.study.status, .finished)
        XCTAssertNil(leader.study.controllerOwner)
    }

    /// A free worker of the leader claims a trial its queue holds, without sampling first; the
    /// queue is topped up after the job started (`prepareJobs`), to twice the running trials + 1.
    func testTheLeaderClaimsFromItsQueueAndTopsItUpAfterTheJobStarted() throws {
        let db = TempFolder.dir() + "/r.db"
        let leader = try daemon(db, trials: 8)
        XCTAssertEqual(try leader.begin(owner: a, now: Date()), [])
        let states = { try leader.store.trials(studyID: leader.study.id).map(\.record.state) }
        let j0 = try XCTUnwrap(try leader.nextJob(now: Date()))
        XCTAssertEqual(try states(), [.running, .waiting], "an empty queue is filled before the first claim")
        leader.prepareJobs(now: Date())
        XCTAssertEqual(try states(), [.running, .waiting, .waiting, .waiting], "topped up to 2 x 1 running + 1")
        let j1 = try XCTUnwrap(try leader.nextJob(now: Date()))
        XCTAssertEqual(number(j1), 1)
        XCTAssertEqual(try states(), [.running, .running, .waiting, .waiting], "claimed from the queue: nothing sampled on the way")
        try complete(leader, j0, 0)
        leader.prepareJobs(now: Date())
        XCTAssertEqual(try states(), [.complete, .running, .waiting, .waiting, .waiting], "2 x 1 running + 1")
        leader.prepareJobs(now: Date())
        XCTAssertEqual(try states().count, 5, "a full queue is left as it is")
        try complete(leader, j1, 1)
    }

    /// Claims take the lowest-numbered trial: when the leader claims trial n, the trials below n
    /// its view holds as waiting were claimed by others; it counts them as running and tops its
    /// queue up to their depth without reading the study (before, it read the study after each
    /// claim once others claimed, a third of its time at 2 daemons).
    func testTheLeaderCountsTheTrialsBelowItsClaimAsOthersClaims() throws {
        let db = TempFolder.dir() + "/r.db"
        let leader = try daemon(db, trials: 30), worker = try daemon(db, trials: 30)
        let t0 = Date()
        _ = try leader.begin(owner: a, now: t0)
        _ = try worker.begin(owner: b, now: t0)
        let states = { try leader.store.trials(studyID: leader.study.id).map(\.record.state) }
        let j0 = try XCTUnwrap(try leader.nextJob(now: t0))
        leader.prepareJobs(now: t0)   // queue: 1, 2, 3
        let w1 = try XCTUnwrap(try worker.nextJob(now: t0)), w2 = try XCTUnwrap(try worker.nextJob(now: t0))
        XCTAssertEqual([number(w1), number(w2)], [1, 2])
        XCTAssertEqual(leader.records.map(\.state), [.running, .waiting, .waiting, .waiting], "not read since")
        let j3 = try XCTUnwrap(try leader.nextJob(now: t0))
        XCTAssertEqual(number(j3), 3)
        XCTAssertEqual(leader.records.map(\.state), [.running, .running, .running, .running], "1 and 2: claimed by others")
        leader.prepareJobs(now: t0)   // within `queueReadInterval` of its last read: no read
        XCTAssertEqual(try states(), [.running, .running, .running, .running] + Array(repeating: .waiting, count: 9), "2 x 4 running + 1")
        for (c, j, v) in [(leader, j0, 0.0), (worker, w1, 1), (worker, w2, 2), (leader, j3, 3)] { try complete(c, j, v) }
    }

    /// The rules that end a run before its total end a shared study's run as they end a run
    /// alone: the leader marks the study stopped with the early failure rule's reason (before,
    /// it left the study `running` without a reason, and the daemons took it up again).
    func testTheLeaderStopsTheStudyByTheEarlyFailureRule() throws {
        let db = TempFolder.dir() + "/r.db"
        let leader = try daemon(db, trials: 12)
        XCTAssertEqual(try leader.begin(owner: a, now: Date()), [])
        for i in 0..<StudyController.earlyFailureLimit {
            let job = try XCTUnwrap(try leader.nextJob(now: Date()), "trial \(i)")
            XCTAssertEqual(try leader.handle(job.id, .exited(.exited(code: 1), stderrTail: "ModuleNotFoundError: trial \(i)\n"), now: Date()), [])
        }
        XCTAssertFalse(leader.wantsTrial(now: Date()))
        XCTAssertTrue(try leader.isOver(now: Date()))
        leader.end(now: Date())
        XCTAssertEqual(leader.study.status, .stopped)
        XCTAssertEqual(leader.study.stopReason, "the first 5 trials of this run all failed the same way: exited with status 1: ModuleNotFoundError: trial 0")
        XCTAssertNil(leader.study.controllerOwner)
    }

    /// A daemon that does not lead claims the leader's queued trials without reading the study:
    /// the trials queued since its last read are numbers in its view (WAITING, no parameters)
    /// until its next reload, which replaces them with what the store holds.
    func testAWorkerClaimsWithoutReadingTheStudyAndItsReloadCatchesUp() throws {
        let db = TempFolder.dir() + "/r.db"
        let leader = try daemon(db, trials: 6), worker = try daemon(db, trials: 6)
        _ = try leader.begin(owner: a, now: Date())
        _ = try worker.begin(owner: b, now: Date())
        let j0 = try XCTUnwrap(try leader.nextJob(now: Date()))
        leader.prepareJobs(now: Date())   // queue: 1, 2, 3
        XCTAssertEqual(worker.records.count, 0, "the worker read the study before anything was queued")
        let j2: TrialJob
        do {
            let j1 = try XCTUnwrap(try leader.nextJob(now: Date()))
            XCTAssertEqual(number(j1), 1)
            j2 = try XCTUnwrap(try worker.nextJob(now: Date()))
            XCTAssertEqual(number(j2), 2)
            XCTAssertEqual(worker.records.map(\.state), [.waiting, .waiting, .running], "numbers only, until its reload")
            XCTAssertEqual(worker.records[2].params, try leader.store.trial(studyID: leader.study.id, number: 2)?.record.params)
            XCTAssertEqual(worker.records[0].params, [:])
            try complete(leader, j0, 0)
            try complete(leader, j1, 1)
        }
        _ = try worker.tick(now: Date().addingTimeInterval(5))   // its reload
        let stored = try leader.store.trials(studyID: leader.study.id).map(\.record)
        XCTAssertEqual(worker.records.map(\.state), stored.map(\.state))
        XCTAssertEqual(worker.records.map(\.params), stored.map(\.params))
        XCTAssertEqual(worker.records.prefix(3).map(\.state), [.complete, .complete, .running])
        try complete(worker, j2, 2)
    }

    /// A study is stored with the options it runs with as it is created, before any run begins:
    /// the daemons sharing the database skip a running study without them (taking it for one its
    /// creator is beginning), so one whose creator died in between was skipped for good.
    func testAStudyIsStoredWithItsRunOptionsBeforeItsRunBegins() throws {
        let db = TempFolder.dir() + "/r.db"
        let creator = try daemon(db, trials: 2)
        let stored = try XCTUnwrap(try creator.store.study(named: creator.study.name))
        XCTAssertEqual(stored.status, .running)
        XCTAssertEqual(stored.runOptionsJSON, creator.options.json)
    }

    /// A user's stop asked of a daemon that does not lead marks the study `stopped` at once: the
    /// leader stops at its next reload, without waiting for that daemon's trials to exit. Its
    /// end writes no status, so a resume made meanwhile (once the leader's run let go of the
    /// lease) is not undone by a trial that took long to exit.
    func testAStopThroughAWorkerStopsTheLeaderAtOnceAndItsEndUndoesNoResume() throws {
        let db = TempFolder.dir() + "/r.db"
        let leader = try daemon(db, trials: 6), worker = try daemon(db, trials: 6)
        _ = try leader.begin(owner: a, now: Date())
        _ = try worker.begin(owner: b, now: Date())
        let j0 = try XCTUnwrap(try leader.nextJob(now: Date()))
        _ = try worker.tick(now: Date().addingTimeInterval(5))
        let j1 = try XCTUnwrap(try worker.nextJob(now: Date()))
        XCTAssertEqual(worker.stopAskedByUser(), [.stop(j1.id)])
        XCTAssertEqual(try worker.store.study(id: worker.study.id)?.status, .stopped, "written when asked")
        XCTAssertEqual(try leader.tick(now: Date().addingTimeInterval(10)), [.stop(j0.id)], "the leader's next reload")
        _ = try leader.handle(j0.id, .exited(.signaled(signal: 15), stderrTail: ""), now: Date())
        XCTAssertTrue(try leader.isOver(now: Date()))
        leader.end(now: Date())
        XCTAssertEqual(leader.study.status, .stopped)
        XCTAssertNil(leader.study.controllerOwner, "the lease a resume waits for is let go")
        try leader.store.updateStudy(id: leader.study.id, status: .running)   // a resume through another daemon
        _ = try worker.handle(j1.id, .exited(.signaled(signal: 15), stderrTail: ""), now: Date())
        XCTAssertTrue(try worker.isOver(now: Date()))
        worker.end(now: Date())
        XCTAssertEqual(try worker.store.study(id: worker.study.id)?.status, .running, "the resume stands")
        XCTAssertEqual(try worker.store.trials(studyID: worker.study.id).filter { $0.record.state == .running }, [])
    }

    /// The leader dies holding a trial: once its lease and the trial's heartbeat are stale, the
    /// other daemon leads, puts the trial back to WAITING and runs it again (same parameters and
    /// seed, attempt 2); the dead daemon's late result is refused and changes nothing.
    func testWhenTheLeaderDiesAnotherLeadsAndRunsItsTrialAgain() throws {
        let db = TempFolder.dir() + "/r.db"
        let dead = try daemon(db, trials: 2, lease: 1), survivor = try daemon(db, trials: 2, lease: 1)
        _ = try dead.begin(owner: a, now: Date())
        let lost = try XCTUnwrap(try dead.nextJob(now: Date()))
        _ = try survivor.begin(owner: b, now: Date())
        XCTAssertFalse(survivor.leading)
        _ = try survivor.tick(now: Date().addingTimeInterval(1))
        let other = try XCTUnwrap(try survivor.nextJob(now: Date()))
        XCTAssertEqual(number(other), 1)
        usleep(1_300_000)   // the dead daemon says nothing for longer than the lease
        _ = try survivor.tick(now: Date().addingTimeInterval(2))   // heartbeat: it leads and requeues
        XCTAssertTrue(survivor.leading)
        XCTAssertEqual(try survivor.store.trial(studyID: survivor.study.id, number: 0)?.record.state, .waiting)
        XCTAssertEqual(try survivor.store.trial(studyID: survivor.study.id, number: 1)?.record.state, .running,
                       "its own trial heart-beats")
        _ = try survivor.tick(now: Date().addingTimeInterval(3))
        let again = try XCTUnwrap(try survivor.nextJob(now: Date()))
        XCTAssertEqual(again.id, lost.id)
        for key in ["SWEEP_PARAMS", "SWEEP_SEED", "SWEEP_TRIAL_NUMBER"] { XCTAssertEqual(again.env[key], lost.env[key], key) }
        XCTAssertEqual(again.env["SWEEP_ATTEMPT"], "2")
        // The dead daemon's job ends after all: its report kills nothing of the other's, its result is dropped.
        XCTAssertEqual(try dead.handle(lost.id, .line(.report(step: 0, value: 9, extra: [:])), now: Date()), [.kill(lost.id)])
        try complete(dead, lost, 99)
        XCTAssertEqual(try survivor.store.trial(studyID: survivor.study.id, number: 0)?.record.state, .running)
        try complete(survivor, again, 0.5)
        try complete(survivor, other, 1.5)
        let trials = try survivor.store.trials(studyID: survivor.study.id)
        XCTAssertEqual(trials.map(\.record.value), [0.5, 1.5])
        XCTAssertEqual(trials.map(\.attempts), [2, 1])
        _ = try survivor.tick(now: Date().addingTimeInterval(10))
        XCTAssertTrue(try survivor.isOver(now: Date()))
        survivor.end(now: Date())
        XCTAssertEqual(survivor.study.status, .finished)
    }
}
