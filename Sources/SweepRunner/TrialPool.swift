import Foundation
import SweepCore
import SweepStorage
#if canImport(Glibc)
import Glibc
#endif

/// A fixed number of worker slots shared by the studies added to it: drives their
/// `StudyController`s and runs their jobs on a `TrialExecutor`.
///
/// Contract:
/// - One thread runs the pool (`run`, `runUntilIdle` or `runUntilShutdown`); every controller
///   method is called on that thread, with the pool's clock. Once free workers have their jobs,
///   each controller writes the results it held for a claim that did not come
///   (`writeHeldFinishes`) and may prepare the next jobs (`prepareJobs`) while those run. `add`, `submit`, `stop`,
///   `signalAddedTrials`, `shutdown` and `snapshot` may be called from any thread.
/// - Fair share: when a worker is free it goes to the study, among those that want a trial, with
///   the fewest trials running; ties go to the one that was served longest ago. A study never runs
///   more trials at once than its own `options.workers`.
/// - A study whose store writes fail ends alone (`StudyController.failure`); the pool and the
///   other studies go on. A crash, hang or garbage in a trial is that trial's failure only.
/// - `shutdown` stops every study's running trials and re-queues them; the studies stay `running`
///   in the store, so the next daemon takes them up again.
public final class TrialPool: @unchecked Sendable {
    public let workers: Int
    let executor: any TrialExecutor
    /// Whose claim the studies run under: this process.
    let owner = LeaseOwner.current
    private let events = EventQueue()
    /// Active controllers by study id, and the order they were served in (pool thread only).
    private var controllers: [Int64: StudyController] = [:]
    private var lastServed: [Int64: Int] = [:]
    private var serveCounter = 0
    private var owners: [Int64: StudyController] = [:]   // job (trial) id -> its controller
    /// Seconds each `nextJob` that gave a job took, by study (the sampler, its store writes and,
    /// in a shared study, the claim): what `nextJobSeconds(studyID:)` reports at the run's end.
    private var nextJobTimes: [Int64: [Double]] = [:]
    private var shuttingDown = false
    /// Called on the pool's thread when a study's run ends (finished, stopped or failed).
    public var onEnd: (@Sendable (StudyController) -> Void)?

    private let snapshotLock = NSLock()
    private var lastSnapshot = Snapshot(workers: 0, busy: 0, running: [:])
    private var activeIDs: Set<Int64> = []
    /// Of those, the ones whose run is ending (stopping: no new trials, its running ones stopped),
    /// and the stops asked that the pool's thread has not taken in yet.
    private var endingIDs: Set<Int64> = []
    private var stopsAsked: Set<Int64> = []

    /// What the pool is doing now: for readers on other threads.
    public struct Snapshot: Sendable, Equatable {
        public var workers: Int
        public var busy: Int
        /// Running trials by study name.
        public var running: [String: Int]
    }

    public init(workers: Int, executor: any TrialExecutor = LocalProcessExecutor()) {
        self.workers = max(workers, 1)
        self.executor = executor
        lastSnapshot.workers = self.workers
    }

    /// Adds a controller before the pool runs (a foreground search), on the caller's thread: it
    /// claims its study and loads the history; a refused claim is thrown.
    public func add(_ c: StudyController) throws {
        try admit(c)
    }

    /// Adds a controller while the pool runs (a daemon), from any thread: the claim and the
    /// history load happen on the pool's thread, then `completion` gets nil or the error that
    /// refused it.
    public func submit(_ c: StudyController, completion: @escaping @Sendable ((any Error)?) -> Void) {
        events.post(.perform { [self] in
            do { try admit(c); completion(nil) } catch { completion(error) }
        })
    }

    private func admit(_ c: StudyController) throws {
        if shuttingDown { throw PoolShuttingDown() }
        if controllers[c.study.id] != nil {
            throw StudyBusy("study '\(c.study.name)' is already running in this pool")
        }
        for pid in try c.begin(owner: owner, now: Date()) { executor.endLeftover(pid: pid) }
        controllers[c.study.id] = c
        lastServed[c.study.id] = -1
        publish()
    }

    /// Runs one study on this pool until its run ends (a foreground search); returns the CPU
    /// seconds this process spent on it (the controller, the store and the executor) and throws
    /// the error that ended it, if one did.
    @discardableResult
    public func run(_ c: StudyController) throws -> Double {
        let cpuAtStart = Self.cpuSeconds()
        try add(c)
        runUntilIdle()
        if let failure = c.failure { throw failure }
        return Self.cpuSeconds() - cpuAtStart
    }

    /// Stops one study (user's stop: it ends `stopped`; its running trials are re-queued).
    /// Returns false when no such study runs here.
    @discardableResult
    public func stop(studyID: Int64) -> Bool {
        // Ending from now on for `isEnding`, before the pool's thread takes the stop in.
        let found = snapshotLock.withLock {
            if activeIDs.contains(studyID) { stopsAsked.insert(studyID) }
            return activeIDs.contains(studyID)
        }
        events.post(.perform { [self] in
            if let c = controllers[studyID] { perform(c.stopAskedByUser()) }
            snapshotLock.withLock { _ = stopsAsked.remove(studyID) }
        })
        return found
    }

    /// Tells a study's controller that others added trials to it (see
    /// `StudyController.signalAddedTrials`).
    public func signalAddedTrials(studyID: Int64) {
        events.post(.perform { [self] in controllers[studyID]?.signalAddedTrials() })
    }

    /// Stops everything and returns from `runUntilShutdown` once the running trials are stopped.
    public func shutdown() {
        events.post(.perform { [self] in
            shuttingDown = true
            for c in controllers.values { perform(c.requestStop(markStopped: false)) }
        })
    }

    /// Whether the study runs in this pool now.
    public func isActive(studyID: Int64) -> Bool { snapshotLock.withLock { activeIDs.contains(studyID) } }

    /// Whether the study runs in this pool now and its run is ending (a stop was asked, here or
    /// through the store); as of the pool's last turn.
    public func isEnding(studyID: Int64) -> Bool {
        snapshotLock.withLock { activeIDs.contains(studyID) && (endingIDs.contains(studyID) || stopsAsked.contains(studyID)) }
    }

    public func snapshot() -> Snapshot { snapshotLock.withLock { lastSnapshot } }

    /// Runs until no study is left (a foreground search).
    public func runUntilIdle() { loop(untilIdle: true) }

    /// Runs until `shutdown()` has stopped every study (a daemon).
    public func runUntilShutdown() { loop(untilIdle: false) }

    private func loop(untilIdle: Bool) {
        while true {
            fill()
            let prepared = Date()
            for c in controllers.values { c.writeHeldFinishes(now: prepared) }
            for c in controllers.values where c.failure == nil { c.prepareJobs(now: prepared) }
            endFinished()
            if controllers.isEmpty && (untilIdle || shuttingDown) && owners.isEmpty { break }
            // A shared study's trials are claimed, not handed over: an idle worker looks often;
            // busy ones wait for their jobs' events (and the ticks).
            let claiming = owners.count < workers ? controllers.values.filter(\.shared).map(\.claimWait).min() : nil
            if let event = events.next(timeout: claiming ?? 0.5) {
                switch event {
                case .perform(let work): work()
                case .trial(let id, let e):
                    guard let c = owners[id] else { break }
                    if case .exited = e { owners[id] = nil }
                    do { perform(try c.handle(id, e, now: Date())) } catch { fail(c, error) }
                }
            } else {
                let now = Date()
                for c in controllers.values { c.observer?.tick(c.progress(now: now)) }
            }
            let now = Date()
            for c in controllers.values where c.failure == nil {
                do { perform(try c.tick(now: now)) } catch { fail(c, error) }
            }
            publish()
        }
        publish()
    }

    /// Hands free workers to the studies that want trials, fewest running first.
    private func fill() {
        let now = Date()
        while owners.count < workers {
            let candidates = controllers.values.filter { $0.wantsTrial(now: now) && $0.running.count < max($0.options.workers, 1) }
            guard let next = candidates.min(by: { a, b in
                a.running.count != b.running.count ? a.running.count < b.running.count
                    : lastServed[a.study.id]! < lastServed[b.study.id]!
            }) else { return }
            serveCounter += 1
            lastServed[next.study.id] = serveCounter
            do {
                let asked = DispatchTime.now().uptimeNanoseconds
                guard let job = try next.nextJob(now: now) else { continue }
                nextJobTimes[next.study.id, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - asked) * 1e-9)
                start(job, of: next, now: now)
            } catch {
                fail(next, error)
            }
        }
    }

    /// Starts a job on the executor; one that cannot start fails its trial (the controller's
    /// early failure rule stops a study where every one does).
    private func start(_ job: TrialJob, of c: StudyController, now: Date) {
        let events = self.events
        do {
            let pid = try executor.start(job) { id, event in events.post(.trial(id, event)) }
            owners[job.id] = c
            try c.jobStarted(job.id, pid: pid)
        } catch let e as TrialStartFailure {
            do { try c.jobNotStarted(job.id, reason: e.description, now: now) } catch { fail(c, error) }
        } catch {
            fail(c, error)
        }
    }

    private func perform(_ actions: [JobAction]) {
        for a in actions {
            switch a {
            case .stop(let id): executor.stop(id)
            case .kill(let id): executor.kill(id)
            }
        }
    }

    /// A store write failed: the study stops here (its trials are stopped and re-queued when
    /// they exit); the pool goes on.
    private func fail(_ c: StudyController, _ error: any Error) {
        perform(c.fail(error))
    }

    /// Ends the runs that have nothing running and nothing more to start.
    private func endFinished() {
        let now = Date()
        for (id, c) in controllers {
            let over: Bool
            do { over = try c.isOver(now: now) } catch { fail(c, error); over = c.running.isEmpty }
            guard over else { continue }
            c.end(now: now)
            controllers[id] = nil
            lastServed[id] = nil
            publish()
            onEnd?(c)
            nextJobTimes[id] = nil
        }
    }

    /// The seconds each job of the study's current run took to get (see `nextJobTimes`); on the
    /// pool's thread only, e.g. in `onEnd`.
    public func nextJobSeconds(studyID: Int64) -> [Double] { nextJobTimes[studyID] ?? [] }

    private func publish() {
        var byStudy: [String: Int] = [:]
        for c in controllers.values { byStudy[c.study.name] = c.running.count }
        let snap = Snapshot(workers: workers, busy: owners.count, running: byStudy)
        let ids = Set(controllers.keys)
        let ending = Set(controllers.filter { $0.value.stopping }.keys)
        snapshotLock.withLock { lastSnapshot = snap; activeIDs = ids; endingIDs = ending }
    }

    /// User + system CPU seconds of this process so far.
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
    }
}

/// A study refused because another controller runs it (in this pool, or one holding its claim).
public struct StudyBusy: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A study refused because the pool is shutting down (a daemon about to exit).
public struct PoolShuttingDown: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the daemon is shutting down" }
}

/// What a pool's thread is woken by: a job's event, or work handed to it by another thread.
enum PoolEvent {
    case trial(Int64, TrialEvent)
    case perform(() -> Void)
}

/// A blocking queue of pool events (filled by the executor's threads and by callers of the
/// pool, drained by the pool's thread).
final class EventQueue: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [PoolEvent] = []

    func post(_ e: PoolEvent) {
        cond.lock(); items.append(e); cond.signal(); cond.unlock()
    }

    func next(timeout: Double) -> PoolEvent? {
        cond.lock(); defer { cond.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while items.isEmpty { if !cond.wait(until: deadline) { return nil } }
        return items.removeFirst()
    }
}
