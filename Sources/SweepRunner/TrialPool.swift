import Foundation
import SweepCore
import SweepStorage

/// A fixed number of worker slots shared by the studies added to it.
///
/// Contract:
/// - One thread runs the pool (`runUntilIdle` or `runUntilShutdown`); every runner method is
///   called on that thread. `add`, `stop`, `shutdown` and `snapshot` may be called from any thread.
/// - Fair share: when a worker is free it goes to the study, among those that want a trial, with
///   the fewest trials running; ties go to the one that was served longest ago. A study never runs
///   more trials at once than its own `options.workers`.
/// - A study whose store writes fail ends alone (`SearchRunner.failure`); the pool and the other
///   studies go on. A crash, hang or garbage in a trial is that trial's failure only.
/// - `shutdown` stops every study's running trials and re-queues them; the studies stay `running`
///   in the store, so the next daemon takes them up again.
public final class TrialPool: @unchecked Sendable {
    public let workers: Int
    let events = EventQueue()
    /// Active runners by study id, and the order they were served in (pool thread only).
    private var runners: [Int64: SearchRunner] = [:]
    private var lastServed: [Int64: Int] = [:]
    private var serveCounter = 0
    private var owner: [Int64: SearchRunner] = [:]   // trial id -> its runner
    private var shuttingDown = false
    /// Called on the pool's thread when a study's run ends (finished, stopped or failed).
    public var onEnd: (@Sendable (SearchRunner) -> Void)?

    private let snapshotLock = NSLock()
    private var lastSnapshot = Snapshot(workers: 0, busy: 0, running: [:])

    /// What the pool is doing now: for readers on other threads.
    public struct Snapshot: Sendable, Equatable {
        public var workers: Int
        public var busy: Int
        /// Running trials by study name.
        public var running: [String: Int]
    }

    public init(workers: Int) {
        self.workers = max(workers, 1)
        lastSnapshot.workers = self.workers
    }

    /// Adds a runner before the pool runs (a foreground search), on the caller's thread: it
    /// claims its study and loads the history; a refused claim is thrown.
    public func add(_ runner: SearchRunner) throws {
        runner.events = events
        runner.pool = self
        try admit(runner)
    }

    /// Adds a runner while the pool runs (a daemon), from any thread: the claim and the history
    /// load happen on the pool's thread, then `completion` gets nil or the error that refused it.
    public func submit(_ runner: SearchRunner, completion: @escaping @Sendable ((any Error)?) -> Void) {
        runner.events = events
        runner.pool = self
        events.post(.perform { [self] in
            do { try admit(runner); completion(nil) } catch { completion(error) }
        })
    }

    private func admit(_ runner: SearchRunner) throws {
        if shuttingDown { throw RuntimeFailure("the daemon is shutting down") }
        if runners[runner.study.id] != nil {
            throw RuntimeFailure("study '\(runner.study.name)' is already running in this pool")
        }
        try runner.begin()
        runners[runner.study.id] = runner
        lastServed[runner.study.id] = -1
        publish()
    }

    /// Stops one study (user's stop: it ends `stopped`; its running trials are re-queued).
    /// Returns false when no such study runs here.
    @discardableResult
    public func stop(studyID: Int64) -> Bool {
        let found = snapshotLock.withLock { activeIDs.contains(studyID) }
        events.post(.perform { [self] in runners[studyID]?.requestStop(markStopped: true) })
        return found
    }

    /// Stops everything and returns from `runUntilShutdown` once the running trials are stopped.
    public func shutdown() {
        events.post(.perform { [self] in
            shuttingDown = true
            for r in runners.values { r.requestStop(markStopped: false) }
        })
    }

    /// Whether the study runs in this pool now.
    public func isActive(studyID: Int64) -> Bool { snapshotLock.withLock { activeIDs.contains(studyID) } }

    public func snapshot() -> Snapshot { snapshotLock.withLock { lastSnapshot } }

    private var activeIDs: Set<Int64> = []

    /// Runs until no study is left (a foreground search).
    public func runUntilIdle() { loop(untilIdle: true) }

    /// Runs until `shutdown()` has stopped every study (a daemon).
    public func runUntilShutdown() { loop(untilIdle: false) }

    private func loop(untilIdle: Bool) {
        while true {
            fill()
            endFinished()
            if runners.isEmpty && (untilIdle || shuttingDown) && owner.isEmpty { break }
            for r in runners.values { guard r.failure == nil else { continue }; do { try r.beatIfDue() } catch { fail(r, error) } }
            if let event = events.next(timeout: 0.5) {
                switch event {
                case .perform(let work): work()
                case .trial(let key, let e):
                    guard let r = owner[key] else { break }
                    if case .exited = e { owner[key] = nil }
                    do { try r.handle(key, e) } catch { fail(r, error) }
                }
            } else {
                for r in runners.values { r.observer?.tick(r.progress()) }
            }
            for r in runners.values { r.checkTimeouts() }
            publish()
        }
        publish()
    }

    /// Hands free workers to the studies that want trials, fewest running first.
    private func fill() {
        while owner.count < workers {
            let candidates = runners.values.filter { $0.wantsTrial && $0.running.count < max($0.options.workers, 1) }
            guard let next = candidates.min(by: { a, b in
                a.running.count != b.running.count ? a.running.count < b.running.count
                    : lastServed[a.study.id]! < lastServed[b.study.id]!
            }) else { return }
            serveCounter += 1
            lastServed[next.study.id] = serveCounter
            let before = Set(next.running.keys)
            do {
                try next.launchNext()
            } catch {
                fail(next, error)
                continue
            }
            for id in next.running.keys where !before.contains(id) { owner[id] = next }
        }
    }

    /// A store write failed: the study stops here (its trials are stopped and re-queued when
    /// they exit); the pool goes on.
    private func fail(_ r: SearchRunner, _ error: any Error) {
        if r.failure == nil { r.failure = error }
        r.requestStop(markStopped: false)
    }

    /// Ends the runs that have nothing running and nothing more to start.
    private func endFinished() {
        for (id, r) in runners where r.running.isEmpty && !r.wantsTrial {
            r.end()
            runners[id] = nil
            lastServed[id] = nil
            publish()
            onEnd?(r)
        }
    }

    private func publish() {
        var byStudy: [String: Int] = [:]
        for r in runners.values { byStudy[r.study.name] = r.running.count }
        let snap = Snapshot(workers: workers, busy: owner.count, running: byStudy)
        let ids = Set(runners.keys)
        snapshotLock.withLock { lastSnapshot = snap; activeIDs = ids }
    }
}
