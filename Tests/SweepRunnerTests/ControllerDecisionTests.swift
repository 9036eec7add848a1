import Foundation
import XCTest
import SweepCore
import SweepSearch
import SweepStorage
@testable import SweepRunner

/// The controller's decisions as tables of events → expected decisions and store states, with no
/// process started: the controller is driven directly (its pool's part played by the test, with
/// its own clock) or through a pool on a `FakeExecutor`.
final class ControllerDecisionTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    func controller(_ body: String, trials: Int = 10, db: String? = nil) throws -> StudyController {
        try commandStudy("table", trials: trials, workers: 2, db: db ?? TempFolder.dir() + "/r.db", body)
    }

    func states(_ c: StudyController) throws -> [TrialState] { try c.store.trials(studyID: c.study.id).map(\.record.state) }

    /// Five failures of one shape stop the run with that reason; a success before the fifth
    /// keeps it going.
    func testEarlyFailureRule() throws {
        let table: [(exits: [Int32], stops: Bool)] = [([1, 1, 1, 1, 1], true), ([1, 1, 1, 1, 0], false), ([1, 1, 1, 1, 2], true)]
        for row in table {
            let c = try controller("", trials: 20)
            XCTAssertEqual(try c.begin(owner: .current, now: t0), [])
            for (i, code) in row.exits.enumerated() {
                XCTAssertTrue(c.wantsTrial(now: t0), "row \(row), trial \(i)")
                let job = try XCTUnwrap(try c.nextJob(now: t0))
                if code == 0 { _ = try c.handle(job.id, .line(.final(value: 1)), now: t0) }
                XCTAssertEqual(try c.handle(job.id, .exited(.exited(code: code), stderrTail: "ModuleNotFoundError: trial \(i)\n"), now: t0), [])
            }
            // Reasons that differ only in numbers ("status 1", "status 2", "trial 3") are one shape.
            XCTAssertEqual(c.wantsTrial(now: t0), !row.stops, "\(row)")
            XCTAssertEqual(try c.isOver(now: t0), row.stops, "\(row)")
            guard row.stops else { continue }
            c.end(now: t0)
            XCTAssertEqual(c.study.status, .stopped)
            XCTAssertEqual(c.study.stopReason, "the first 5 trials of this run all failed the same way: exited with status 1: ModuleNotFoundError: trial 0")
        }
    }

    /// A controller that died leaves RUNNING trials; the next run ends their leftover processes
    /// and runs them again first: same trial, parameters and seed, one more attempt.
    func testLostJobsAreRunAgainWithTheSameParametersAndSeed() throws {
        let first = try controller("", trials: 3)
        // A claim by a process that no longer exists (a controller killed with SIGKILL).
        _ = try first.begin(owner: LeaseOwner(host: ProcessInfo.processInfo.hostName, pid: 999_999, token: "1"), now: t0)
        let a = try XCTUnwrap(try first.nextJob(now: t0)), b = try XCTUnwrap(try first.nextJob(now: t0))
        try first.jobStarted(a.id, pid: 4242)
        try first.jobStarted(b.id, pid: 4243)
        // The dead run's controller is never ended; a new one takes the study over.
        let second = try controller("", trials: 3, db: first.options.dbPath)
        XCTAssertEqual(try second.begin(owner: .current, now: t0).sorted(), [4242, 4243])
        for lost in [a, b] {
            let again = try XCTUnwrap(try second.nextJob(now: t0))
            XCTAssertEqual(again.id, lost.id)
            for key in ["SWEEP_PARAMS", "SWEEP_SEED", "SWEEP_TRIAL_NUMBER"] { XCTAssertEqual(again.env[key], lost.env[key], key) }
            XCTAssertEqual(lost.env["SWEEP_ATTEMPT"], "1")
            XCTAssertEqual(again.env["SWEEP_ATTEMPT"], "2")
        }
        let fresh = try XCTUnwrap(try second.nextJob(now: t0))
        XCTAssertEqual(fresh.env["SWEEP_TRIAL_NUMBER"], "2")
        XCTAssertFalse(second.wantsTrial(now: t0))
        XCTAssertEqual(try states(second), [.running, .running, .running])
        XCTAssertEqual(try second.store.trials(studyID: second.study.id).map(\.attempts), [2, 2, 1])
    }

    /// A stop (the user's, or a daemon's shutdown) stops every job; their trials go back to
    /// WAITING when they exit, whatever their exit; the study ends `stopped` or stays `running`.
    func testStopRequeuesRunningTrials() throws {
        for markStopped in [true, false] {
            let c = try controller("")
            _ = try c.begin(owner: .current, now: t0)
            let a = try XCTUnwrap(try c.nextJob(now: t0)), b = try XCTUnwrap(try c.nextJob(now: t0))
            XCTAssertEqual(c.requestStop(markStopped: markStopped), [.stop(a.id), .stop(b.id)])
            XCTAssertFalse(c.wantsTrial(now: t0))
            // A report printed before the stop reached the job is not its result.
            XCTAssertEqual(try c.handle(a.id, .line(.report(step: 1, value: 0.5, extra: [:])), now: t0), [])
            _ = try c.handle(a.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
            XCTAssertFalse(try c.isOver(now: t0))
            _ = try c.handle(b.id, .exited(.exited(code: 0), stderrTail: ""), now: t0)
            XCTAssertTrue(try c.isOver(now: t0))
            c.end(now: t0)
            XCTAssertEqual(try states(c), [.waiting, .waiting])
            XCTAssertTrue(try c.store.trials(studyID: c.study.id).allSatisfy { $0.record.intermediate.isEmpty })
            XCTAssertEqual(c.study.status, markStopped ? .stopped : .running)
        }
    }

    /// `sweep stop` of a study no local daemon runs marks it stopped in the store; the
    /// controller's next tick (a second later) stops its jobs.
    func testStopAskedThroughTheStore() throws {
        let c = try controller("")
        _ = try c.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertEqual(try c.tick(now: t0.addingTimeInterval(1.5)), [])
        try c.store.updateStudy(id: c.study.id, status: .stopped)
        XCTAssertEqual(try c.tick(now: t0.addingTimeInterval(2)), [])   // not looked yet
        XCTAssertEqual(try c.tick(now: t0.addingTimeInterval(2.6)), [.stop(a.id)])
        _ = try c.handle(a.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
        c.end(now: t0.addingTimeInterval(3))
        XCTAssertEqual(c.study.status, .stopped)
        XCTAssertEqual(try states(c), [.waiting])
    }

    /// `budget.trial_timeout`: a job past it is killed once; its trial fails with the reason.
    /// `budget.timeout`: no trial starts past it, and the study ends finished with a note.
    func testTimeouts() throws {
        let c = try controller("", trials: 5)
        let spec = try StudySpec.parse("""
            name: timeouts
            objective: {metric: loss, direction: minimize}
            command: [/bin/true]
            params: {x: {float: [0, 1]}}
            budget: {trials: 5, trial_timeout: 10, timeout: 60}
            """, file: c.spec.file)
        let t = try StudyController(spec: spec, options: c.options)
        _ = try t.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try t.nextJob(now: t0))
        let b = try XCTUnwrap(try t.nextJob(now: t0.addingTimeInterval(5)))
        let table: [(after: Double, actions: [JobAction])] = [(9, []), (10.5, [.kill(a.id)]), (12, [])]
        for row in table { XCTAssertEqual(t.timedOut(now: t0.addingTimeInterval(row.after)), row.actions, "at \(row.after) s") }
        _ = try t.handle(a.id, .exited(.signaled(signal: 9), stderrTail: ""), now: t0.addingTimeInterval(10.6))
        _ = try t.handle(b.id, .line(.final(value: 0.25)), now: t0.addingTimeInterval(14))
        _ = try t.handle(b.id, .exited(.exited(code: 0), stderrTail: ""), now: t0.addingTimeInterval(14.5))
        XCTAssertEqual(t.timedOut(now: t0.addingTimeInterval(30)), [])
        let trials = try t.store.trials(studyID: t.study.id)
        XCTAssertEqual(trials.map(\.record.state), [.fail, .complete])
        XCTAssertEqual(trials[0].reason, "timed out after 10 s")
        XCTAssertEqual(trials[1].durationSeconds ?? 0, 9.5, accuracy: 1e-6)
        XCTAssertTrue(t.wantsTrial(now: t0.addingTimeInterval(59.9)))
        XCTAssertFalse(t.wantsTrial(now: t0.addingTimeInterval(60)))
        XCTAssertTrue(try t.isOver(now: t0.addingTimeInterval(60)))
        t.end(now: t0.addingTimeInterval(60))
        XCTAssertEqual(t.study.status, .finished)
        XCTAssertEqual(t.study.stopReason, "the time budget (budget.timeout: 60 s) ran out after 2 trials")
    }

    /// The scheduler's decision on a report becomes a stop of that job; the trial ends PRUNED
    /// with its last report, whatever the stopped process does.
    func testSchedulerStopsAJob() throws {
        let c = try controller("scheduler: {name: median, min_trials: 1, warmup_epochs: 0}")
        _ = try c.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try c.nextJob(now: t0))
        let rows: [(TrialEvent, [JobAction])] = [
            (.line(.report(step: 1, value: 1.0, extra: [:])), []), (.line(.final(value: 1.0)), []),
            (.exited(.exited(code: 0), stderrTail: ""), []),
        ]
        for (e, expected) in rows { XCTAssertEqual(try c.handle(a.id, e, now: t0), expected, "\(e)") }
        let b = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertEqual(try c.handle(b.id, .line(.report(step: 1, value: 0.5, extra: [:])), now: t0), [])
        XCTAssertEqual(try c.handle(b.id, .line(.report(step: 2, value: 3.0, extra: [:])), now: t0), [])   // no reference at step 2
        let d = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertEqual(try c.handle(d.id, .line(.report(step: 1, value: 5.0, extra: [:])), now: t0), [.stop(d.id)])
        XCTAssertEqual(try c.handle(d.id, .line(.report(step: 2, value: 0.1, extra: [:])), now: t0), [])   // after the stop: ignored
        _ = try c.handle(d.id, .exited(.signaled(signal: 15), stderrTail: ""), now: t0)
        let trial = try XCTUnwrap(try c.store.trial(studyID: c.study.id, number: 2))
        XCTAssertEqual(trial.record.state, .pruned)
        XCTAssertEqual(trial.record.value, 5.0)
        XCTAssertEqual(trial.record.intermediate, [1: 5.0])
    }

    /// A job the executor cannot start fails its trial at once with the executor's reason.
    func testJobThatCannotStartFailsItsTrial() throws {
        let c = try controller("")
        _ = try c.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try c.nextJob(now: t0))
        try c.jobNotStarted(a.id, reason: "cannot start 'x': No such file or directory", now: t0)
        XCTAssertTrue(c.running.isEmpty)
        XCTAssertEqual(try c.store.trials(studyID: c.study.id).map(\.reason), ["cannot start 'x': No such file or directory"])
    }

    /// Trials enqueued while the study runs are picked up when signalled (not before every
    /// trial), and run before new samples; one enqueued after the last trial still runs.
    func testAddedTrialsArePickedUpWhenSignalledAndBeforeTheEnd() throws {
        let c = try controller("", trials: 1)
        _ = try c.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertFalse(c.wantsTrial(now: t0))
        _ = try c.store.enqueueTrial(studyID: c.study.id, fixedParams: ["x": .double(0.5)])
        XCTAssertFalse(c.wantsTrial(now: t0))   // not read yet
        c.signalAddedTrials()
        XCTAssertTrue(c.wantsTrial(now: t0))
        let queued = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertEqual(queued.env["SWEEP_TRIAL_NUMBER"], "1")
        XCTAssertEqual(queued.env["SWEEP_PARAMS"], #"{"x":0.5}"#)
        XCTAssertEqual(c.total, 2)
        for j in [a, queued] { _ = try c.handle(j.id, .exited(.exited(code: 1), stderrTail: ""), now: t0) }
        // Enqueued after the last trial started, unsignalled: the look before the end finds it.
        _ = try c.store.enqueueTrial(studyID: c.study.id, fixedParams: ["x": .double(0.25)])
        XCTAssertFalse(try c.isOver(now: t0))
        let late = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertEqual(late.env["SWEEP_TRIAL_NUMBER"], "2")
        _ = try c.handle(late.id, .exited(.exited(code: 1), stderrTail: ""), now: t0)
        XCTAssertTrue(try c.isOver(now: t0))
    }
}

/// An executor whose jobs run only in the test: they start at once and end when the test says.
final class FakeExecutor: TrialExecutor, @unchecked Sendable {
    private let cond = NSCondition()
    private var sinks: [Int64: @Sendable (Int64, TrialEvent) -> Void] = [:]
    private(set) var started: [TrialJob] = []
    private(set) var stopped: [Int64] = []
    /// Jobs running now by study, and the most each study had at once.
    private(set) var running: [String: Set<Int64>] = [:]
    private(set) var peak: [String: Int] = [:]

    func start(_ job: TrialJob, onEvent: @escaping @Sendable (Int64, TrialEvent) -> Void) throws -> Int32? {
        cond.lock(); defer { cond.broadcast(); cond.unlock() }
        let study = job.env["SWEEP_STUDY"]!
        sinks[job.id] = onEvent
        started.append(job)
        running[study, default: []].insert(job.id)
        peak[study] = max(peak[study] ?? 0, running[study]!.count)
        return nil
    }

    /// Stopped jobs keep running until `endStopped` (a trial that takes its time to exit).
    var stopsLinger = false

    func stop(_ id: Int64) {
        let linger = cond.withLock { stopped.append(id); cond.broadcast(); return stopsLinger }
        if !linger { end(id, .exited(.signaled(signal: 15), stderrTail: "")) }
    }

    /// Ends the jobs that were stopped and still run.
    func endStopped() {
        for id in cond.withLock({ stopped }) { end(id, .exited(.signaled(signal: 15), stderrTail: "")) }
    }
    func kill(_ id: Int64) { end(id, .exited(.signaled(signal: 9), stderrTail: "")) }
    func endLeftover(pid: Int32) {}

    /// Ends a running job with a final value.
    func complete(_ id: Int64, value: Double) {
        let sink = cond.withLock { sinks[id] }
        sink?(id, .line(.final(value: value)))
        end(id, .exited(.exited(code: 0), stderrTail: ""))
    }

    private func end(_ id: Int64, _ e: TrialEvent) {
        cond.lock()
        guard let sink = sinks.removeValue(forKey: id) else { cond.unlock(); return }
        for k in running.keys { running[k]!.remove(id) }
        cond.broadcast()
        cond.unlock()
        sink(id, e)
    }

    /// Waits until `count` jobs have started in all; returns them.
    func waitForStarted(_ count: Int, timeout: Double = 10) -> [TrialJob] {
        cond.lock(); defer { cond.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while started.count < count { if !cond.wait(until: deadline) { break } }
        return started
    }

    /// Waits until a job runs; returns the oldest running one (nil after `timeout`).
    func waitForRunning(timeout: Double = 10) -> Int64? {
        cond.lock(); defer { cond.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while running.values.allSatisfy(\.isEmpty) { if !cond.wait(until: deadline) { return nil } }
        return running.values.flatMap { $0 }.min()
    }
}

/// A controller of a study of `/bin/true` trials (the executor in these tests never runs them)
/// in the database `db`; `body`: more of its search-space file.
func commandStudy(_ name: String, trials: Int, workers: Int, db: String, _ body: String = "") throws -> StudyController {
    let dir = (db as NSString).deletingLastPathComponent
    let spec = try StudySpec.parse("""
        name: \(name)
        objective: {metric: loss, direction: minimize}
        command: [/bin/true]
        params: {x: {float: [0, 1]}}
        sampler: random
        budget: {trials: \(trials)}
        \(body)
        """, file: dir + "/space.yaml")
    return try StudyController(spec: spec, options: RunOptions(workers: workers, dataDir: dir, dbPath: db, trialExecutable: "/bin/false"))
}

enum TempFolder {
    /// A new empty folder under the temporary directory.
    static func dir() -> String {
        let dir = NSTemporaryDirectory() + "sweep-decisions-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// What the pool says of a study whose run is ending (the daemon's resume waits for such a run).
final class PoolEndingTests: XCTestCase {
    /// A stop asked makes the run ending at once (before the pool's thread takes it in), it stays
    /// ending while its stopped jobs still run, and the study is no longer active once they exit.
    func testAStoppedRunIsEndingUntilItsJobsHaveExited() throws {
        let db = TempFolder.dir() + "/e.db"
        let fake = FakeExecutor()
        fake.stopsLinger = true
        let pool = TrialPool(workers: 2, executor: fake)
        let c = try commandStudy("e", trials: 10, workers: 2, db: db)
        try pool.add(c)
        let thread = Thread { pool.runUntilIdle() }
        thread.start()
        XCTAssertEqual(fake.waitForStarted(2).count, 2)
        XCTAssertTrue(pool.isActive(studyID: c.study.id))
        XCTAssertFalse(pool.isEnding(studyID: c.study.id))
        XCTAssertTrue(pool.stop(studyID: c.study.id))
        XCTAssertTrue(pool.isEnding(studyID: c.study.id), "ending from the stop on")
        var deadline = Date().addingTimeInterval(10)
        while fake.stopped.count < 2 && Date() < deadline { usleep(5_000) }
        XCTAssertEqual(fake.stopped.count, 2, "the pool took the stop in")
        usleep(50_000)
        XCTAssertTrue(pool.isActive(studyID: c.study.id) && pool.isEnding(studyID: c.study.id), "its stopped jobs still run")
        fake.endStopped()
        deadline = Date().addingTimeInterval(10)
        while !thread.isFinished && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(thread.isFinished)
        XCTAssertFalse(pool.isActive(studyID: c.study.id))
        XCTAssertFalse(pool.isEnding(studyID: c.study.id))
        XCTAssertEqual(c.study.status, .stopped)
    }
}

/// Fair share between studies, through a pool on the fake executor.
final class PoolFairShareTests: XCTestCase {
    /// Two studies on 3 workers: a free worker goes to the study with the fewest running (ties:
    /// the one served longest ago), never beyond a study's own `workers`; every trial completes.
    func testFreeWorkersGoToTheStudyWithFewestRunning() throws {
        let db = TempFolder.dir() + "/f.db"
        let fake = FakeExecutor()
        let pool = TrialPool(workers: 3, executor: fake)
        let a = try commandStudy("a", trials: 6, workers: 3, db: db), b = try commandStudy("b", trials: 6, workers: 1, db: db)
        try pool.add(a)
        try pool.add(b)
        let thread = Thread { pool.runUntilIdle() }
        thread.start()
        // The first fill: a, b, then a (b is at its own limit of 1).
        let jobs = fake.waitForStarted(3)
        XCTAssertEqual(jobs.map { $0.env["SWEEP_STUDY"]! }.sorted(), ["a", "a", "b"])
        // Completing jobs one at a time: each freed worker is refilled; b never runs two at once.
        for _ in 0..<12 {
            guard let next = fake.waitForRunning() else { XCTFail("no job runs"); break }
            fake.complete(next, value: 1)
        }
        let deadline = Date().addingTimeInterval(10)
        while !thread.isFinished && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(thread.isFinished)
        XCTAssertEqual(fake.peak["b"], 1)
        for c in [a, b] {
            XCTAssertEqual(try c.store.trials(studyID: c.study.id).map(\.record.state), Array(repeating: .complete, count: 6))
            XCTAssertEqual(c.study.status, .finished)
        }
    }
}
