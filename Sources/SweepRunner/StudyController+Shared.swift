import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// A study run by several daemons at once (a PostgreSQL database; `shared`): every daemon's
/// controller runs trials of the study, one of them (the **leader**, holding the study's lease)
/// also samples them.
/// - The leader keeps a short queue of WAITING trials (`createWaitingTrials`: parameters, seed and
///   configuration stored; the sampler sees the running and waiting ones in its history) about
///   twice as deep as the trials running in the whole study (`queueDepth`), until the study holds
///   its total. It tops the queue up after its jobs started (`prepareJobs`), off a free worker's
///   path, knowing its depth from its claims (`markClaimedBelow`); it adopts trials others enqueue, and
///   puts back to WAITING the trials whose daemon stopped heart-beating (`requeueStaleTrials`,
///   same parameters and seed).
/// - Every controller (the leader's too) takes its jobs with `claimWaitingTrial`, writes reports
///   and results as their owner (a trial taken from it is dropped, never finished twice:
///   `TrialNotOwned`) and decides on the reports the store holds (the scheduler sees every
///   daemon's), reading the trials changed since its last read every `SharedTiming.refresh`
///   seconds into a mirror of the study's trials (`reload`): a read costs what changed, not
///   the study's size.
/// - A controller that does not lead tries to take the lease with each heartbeat, so when the
///   leader dies another daemon leads within `SharedTiming.leaseSeconds`, from the stored history.
/// - A store error (a database restart) fails nothing: the tick that met it is tried again
///   later; a trial's result whose write failed is written again with the next ticks.
/// - The run is over when every trial of the study is finished (or it is stopped); only the
///   leader writes the study's status (a stop asked of any daemon marks it `stopped`).
extension StudyController {
    /// The times of a shared run: the lease (leader and trials: a daemon silent this long is
    /// taken as gone), the heartbeat and the reloads. `SWEEP_LEASE_SECONDS` sets the lease
    /// (default 15 s); the heartbeat is a fifth of it.
    public struct SharedTiming: Sendable, Equatable {
        public var leaseSeconds: Double
        public var heartbeat: Double { max(leaseSeconds / 5, 0.1) }
        public var refresh: Double { min(1, heartbeat) }
        public init(leaseSeconds: Double = 15) { self.leaseSeconds = leaseSeconds }

        /// From `SWEEP_LEASE_SECONDS` (a positive number of seconds), else the default.
        public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> SharedTiming {
            guard let s = env["SWEEP_LEASE_SECONDS"].flatMap(Double.init), s > 0, s.isFinite else { return SharedTiming() }
            return SharedTiming(leaseSeconds: s)
        }
    }

    /// What a daemon's workers show Optuna as the trial's `sweep:worker`: `host:pid`.
    var workerLabel: String { "\(owner.host):\(owner.pid)" }

    /// How many WAITING trials the leader keeps: about two per trial running in the study (one
    /// per worker of every daemon), at least `minQueue`. Its view of who claimed what is as old as
    /// its last reload: with one per worker, other daemons found the queue empty (a 100-trial
    /// study of 0.2 s trials on two daemons of 2 workers: 86/14; with two, 66/34).
    static func queueDepth(runningInStudy: Int) -> Int { max(2 * runningInStudy + 1, minQueue) }
    static let minQueue = 2

    // MARK: Beginning

    /// `begin` of a shared run: tries to lead; never refuses (another daemon's lease makes this
    /// one a worker of the study); re-runs nothing by itself (trials left RUNNING by a daemon
    /// that died go back to WAITING when their heartbeats are stale).
    func beginShared(owner: LeaseOwner, now: Date) throws {
        try Self.refuseInSharedRun(spec)
        self.owner = owner
        startedAt = now; lastBeat = now; lastStopCheck = now; lastRefresh = now
        leading = tryToLead()
        if leading {
            try store.updateStudy(id: study.id, trialsTotal: total, status: .running, runOptionsJSON: options.json,
                                  spacePath: spec.absoluteFile, spaceText: spec.text)
        }
        try reload()
        alreadyDone = finishedCount
        observer?.started(study: study.name, total: total, already: finishedCount)
    }

    /// Takes the study's lease, or renews it; false when another live daemon holds it (one of
    /// this host that ended is known dead: its lease is taken at once).
    func tryToLead() -> Bool {
        let dead = study.controllerOwner.flatMap { LeaseOwner(id: $0)?.isKnownDead == true ? $0 : nil }
        do {
            try store.claimStudy(id: study.id, owner: owner.id, leaseSeconds: sharedTiming.leaseSeconds, holderKnownDead: dead)
            return true
        } catch {
            return false
        }
    }

    /// Reloads the study and its trials (every daemon writes them): the trials changed since the
    /// last reload into `mirror` (all of them the first time), then from it the history, the
    /// counts, the total, and which WAITING trials others enqueued (the leader adopts those).
    func reload() throws {
        if let s = try store.study(id: study.id) { study = s; total = max(total, s.trialsTotal) }
        try readChanges()
    }

    /// The trials part of `reload`: the trials changed since the last read into `mirror`, and
    /// what is derived from it. The leader reads them before it tops its queue up (others' claims
    /// since: the queue's real depth), a daemon when it claimed a trial newer than its mirror.
    func readChanges() throws {
        let (changed, cursor) = try store.trials(studyID: study.id, changedSince: changeCursor)
        try Self.merge(changed, into: &mirror, study: study.name)
        changeCursor = cursor
        let stored = mirror
        records = stored.map(\.record)
        counts = [:]; best = nil
        for r in records { count(r) }
        claimedFloor = 0
        pending = stored.filter { $0.record.state == .waiting && !$0.ownedBySweep }
        foreign = Set(stored.filter { $0.record.state == .running && !$0.ownedBySweep }.map(\.record.number))
        idleSince = nil
        if leading, try growTotalForWaitingTrials() { try store.updateStudy(id: study.id, trialsTotal: total) }
    }

    /// Replaces the copies of the changed trials (by number) in `out`; new ones must follow on
    /// densely (trial numbers are dense from 0 and a new trial is always a change). In place: the
    /// mirror is as large as the study. After an error `out` may hold some of the changes; the
    /// cursor was not moved, so the next reload gives them again.
    static func merge(_ changed: [StoredTrial], into out: inout [StoredTrial], study: String) throws {
        for t in changed.sorted(by: { $0.record.number < $1.record.number }) {
            let n = t.record.number
            if n < out.count { out[n] = t } else if n == out.count { out.append(t) } else {
                throw RuntimeFailure("study '\(study)': the store's trial numbers are not dense from 0 (trial \(n) after \(out.count))")
            }
        }
    }

    // MARK: Deciding

    /// Whether every trial of the study is finished (nothing waits, nothing runs anywhere).
    var studyComplete: Bool {
        records.count - foreign.count >= total && records.allSatisfy { $0.state.isFinished || foreign.contains($0.number) }
    }

    /// `wantsTrial` of a shared run: whether to try a claim now (the leader also samples then).
    func wantsSharedTrial(now: Date) -> Bool {
        guard mayStartTrials(now: now) else { return false }
        // Claims are cheap: after one that found nothing, again `claimWait` later (the leader
        // and the requeueing of stale trials add WAITING trials at any time).
        if let idle = idleSince { return now.timeIntervalSince(idle) >= claimWait }
        return true
    }

    /// How long a daemon whose claim found nothing waits before it claims again: `claimRetryFirst`
    /// after one empty claim, twice as long after each further one, at most `claimRetry` (also
    /// after a store error). A claim that finds a trial starts over: a daemon whose queue ran
    /// dry for a moment (the leader was sampling) claims again soon; an idle one polls slowly.
    var claimWait: Double { min(Self.claimRetryFirst * Double(1 << min(max(emptyClaims - 1, 0), 8)), Self.claimRetry) }
    static let claimRetry = 0.2
    static let claimRetryFirst = 0.005

    /// `nextJob` of a shared run: the leader first tops its queue up; then any daemon claims the
    /// lowest WAITING trial. nil (and no asking again for `claimRetry`, or until the next reload)
    /// when none waits or the store cannot be reached.
    func nextSharedJob(now: Date) -> TrialJob? {
        do { return try claimJob(now: now) } catch {
            storeTrouble = error
            idleSince = now
            emptyClaims = 8   // the longest wait
            return nil
        }
    }

    func claimJob(now: Date) throws -> TrialJob? {
        // The leader's queue is topped up after its last claim's job started (`prepareJobs`): a
        // trial it holds is claimed at once. It fills the queue first only when it knows of none,
        // and again when the claim found none (others took what it knew of).
        if leading {
            if let job = try adoptEnqueued(now: now) { return job }
            if !records.contains(where: { $0.state == .waiting }) {
                writeHeldFinishes(now: now)   // the sampler sees them
                if let job = try refillQueue(now: now) { return job }
            }
        }
        var claimed = try claimWithHeldFinish(now: now)
        if claimed == nil && leading {
            if let job = try refillQueue(now: now) { return job }
            claimed = try store.claimWaitingTrial(studyID: study.id, owner: owner.id, worker: workerLabel)
        }
        guard let t = claimed else {
            idleSince = now
            emptyClaims += 1
            return nil
        }
        emptyClaims = 0
        if t.record.number >= records.count {
            if leading {
                try readChanges()
            } else {
                // Trials the leader queued since this daemon's last read: known by number until
                // the next reload (`SharedTiming.refresh`), which is soon enough for what a daemon
                // that does not sample decides from them (the scheduler, the study's end); not a
                // read of the study for every claim.
                while records.count <= t.record.number { records.append(TrialRecord(number: records.count, state: .waiting, params: [:])) }
            }
        }
        records[t.record.number] = TrialRecord(number: t.record.number, state: .running, params: t.record.params)
        if leading { markClaimedBelow(t.record.number) }
        return job(id: t.trialID, number: t.record.number, seed: t.seed, values: t.record.params, configJSON: t.configJSON,
                   attempt: t.attempts, now: now)
    }

    /// The claim, with the result held for it (see `finish`) written first in the same round
    /// trip (`finishTrialAndClaim`). A result the store refuses to write is met as in `handle`;
    /// when that is because the trial was taken from this daemon, the claim is made alone.
    func claimWithHeldFinish(now: Date) throws -> StoredTrial? {
        guard !heldFinishes.isEmpty else { return try store.claimWaitingTrial(studyID: study.id, owner: owner.id, worker: workerLabel) }
        let f = heldFinishes.removeFirst()
        let answer: (state: TrialState, claimed: StoredTrial?)
        do {
            answer = try store.finishTrialAndClaim(trialID: f.id, state: f.state, values: f.values, constraints: f.objectives?.constraints,
                                                   exitStatus: Self.exitCode(f.exit), reason: f.reason, stderrTail: f.stderrTail,
                                                   epochsRun: f.epochs, durationSeconds: f.duration, artifactDir: trialFolder(f.run.number),
                                                   owner: owner.id, studyID: study.id, worker: workerLabel)
        } catch {
            finishFailed(f, error)
            guard error is TrialNotOwned else { throw error }
            return try store.claimWaitingTrial(studyID: study.id, owner: owner.id, worker: workerLabel)
        }
        try finished(f, stored: answer.state, now: now)
        return answer.claimed
    }

    /// A claim takes the lowest-numbered claimable trial: once this daemon took `number`, the
    /// trials below it its view holds as waiting (Sweep's, not paused) were claimed by others.
    /// The leader counts them as running (its queue's depth; the sampler sees both alike) until
    /// its next read says more, instead of reading the study after each claim.
    func markClaimedBelow(_ number: Int) {
        guard claimedFloor < number else { return }
        let enqueued = Set(pending.map(\.record.number))
        for i in claimedFloor..<min(number, records.count)
        where records[i].state == .waiting && !records[i].isPaused && !enqueued.contains(i) {
            records[i].state = .running
        }
        claimedFloor = number
    }

    /// The leader reads the trials changed since its last read (others' claims and enqueued
    /// trials), then tops its queue up; a trial others enqueued is returned to run first.
    func refillQueue(now: Date) throws -> TrialJob? {
        try readChanges()
        lastChangesRead = now
        if let job = try adoptEnqueued(now: now) { return job }
        try topUpQueue()
        return nil
    }

    /// `prepareJobs` of a shared run: the leader tops its queue up when its view of it is short
    /// (after its own claims), so the next free worker, here or on another daemon, claims at once
    /// instead of waiting for the sampler. A store error is met again later, as in `sharedTick`.
    func prepareSharedJobs(now: Date) {
        guard leading, mayStartTrials(now: now), queueShortfall > 0 else { return }
        do {
            // The queue's depth follows its claims (`markClaimedBelow`); others' results, for
            // the sampler, are read at most every `queueReadInterval`.
            if now.timeIntervalSince(lastChangesRead) >= Self.queueReadInterval {
                try readChanges()
                lastChangesRead = now
            }
            try topUpQueue()
        } catch {
            storeTrouble = error
        }
    }

    /// How old the leader's view of others' results may be when it tops its queue up after its
    /// own claims (`prepareSharedJobs`): a trial of a few milliseconds does not make it read the
    /// study every time; any claim that found nothing reads it at once.
    static let queueReadInterval = 0.05

    /// The leader runs a trial others enqueued (Optuna's form) itself: it completes its
    /// parameters (`adopt`). nil when none is left.
    func adoptEnqueued(now: Date) throws -> TrialJob? {
        while !pending.isEmpty {
            if let job = try adopt(enqueued: pending.removeFirst(), now: now) { return job }
        }
        return nil
    }

    /// How many WAITING trials the leader's view of its queue lacks to be `queueDepth` deep (0
    /// once the study holds its total).
    var queueShortfall: Int {
        guard records.count - foreign.count < total else { return 0 }
        var waiting = 0, running = 0
        for r in records {
            if r.state == .waiting { waiting += 1 } else if r.state == .running { running += 1 }
        }
        return max(Self.queueDepth(runningInStudy: running) - waiting, 0)
    }

    /// Creates WAITING trials until the queue is `queueDepth` deep or the study holds its total:
    /// the sampler proposes them one after the other (each sees those before it as running, its
    /// constant liar), then they are written together (`createWaitingTrials`: one round trip).
    func topUpQueue() throws {
        while case let count = min(queueShortfall, total - (records.count - foreign.count)), count > 0 {
            let first = records.count
            // The sampler's history, made once for the batch: queued trials are as good as running.
            var history = priors
            history.reserveCapacity(priors.count + records.count + count)
            for r in records { history.append(r.state == .waiting ? TrialRecord(number: r.number, state: .running, params: r.params) : r) }
            var trials: [NewWaitingTrial] = []
            for number in first..<(first + count) {
                let values = suggest(history: history, number: number)
                let seed = trialSeed(number)
                trials.append(NewWaitingTrial(params: storedParams(values), seed: seed, configJSON: try trialPayload(values, seed: seed)))
                history.append(TrialRecord(number: number, state: .running, params: values))
            }
            do {
                _ = try store.createWaitingTrials(studyID: study.id, trials, firstNumber: first)
            } catch is TrialNumberTaken {
                try reload()   // another writer numbered it: take its trials in, then go on
                continue
            }
            for r in history[(priors.count + first)...] { records.append(TrialRecord(number: r.number, state: .waiting, params: r.params)) }
        }
    }

    /// `tick` of a shared run: the heartbeat (lease, trials; the leader requeues stale trials,
    /// the others try to lead), the reload, a stop asked through the store, results not yet
    /// written, timeouts. A store error is met again at the next tick, never the run's end.
    func sharedTick(now: Date) -> [JobAction] {
        do {
            if now.timeIntervalSince(lastBeat) >= sharedTiming.heartbeat {
                try store.controllerHeartbeat(studyID: study.id, owner: owner.id, leaseSeconds: sharedTiming.leaseSeconds,
                                              runningTrials: running.keys.sorted())
                let led = leading
                leading = tryToLead()
                // A daemon that starts to lead samples from the study as stored, not from its
                // view between reloads.
                if leading && !led { try readChanges() }
                if leading { _ = try store.requeueStaleTrials(studyID: study.id, staleSeconds: sharedTiming.leaseSeconds) }
                lastBeat = now
            }
            try retryUnwritten(now: now)
            if now.timeIntervalSince(lastRefresh) >= sharedTiming.refresh {
                try reload()
                lastRefresh = now
                // Stopped (or finished) through the store, by a user or the leader: this run's end
                // writes nothing of the study's status.
                if !stopping && study.status != .running {
                    stoppedThroughStore = true
                    return requestStop(markStopped: false)
                }
            }
        } catch {
            storeTrouble = error
        }
        return timedOut(now: now)
    }

    /// `isOver` of a shared run: nothing of this daemon's runs and the study is complete, stopped,
    /// or this run stopped.
    func isSharedRunOver(now: Date) -> Bool {
        guard running.isEmpty, heldFinishes.isEmpty, unwritten.isEmpty, unreported.isEmpty else { return false }
        return stopping || failure != nil || studyComplete || study.status != .running
            || (counts[.fail] ?? 0) >= maxFailures || earlyFailure != nil || pastDeadline(now)
    }

    /// `end` of a shared run: the leader writes the study's status (finished once every trial
    /// is); any daemon marks it stopped on a user's stop; the lease is released.
    func endShared(now: Date) {
        do {
            if stoppedThroughStore {
                if leading { try store.releaseStudy(id: study.id, owner: owner.id) }
            } else if leading {
                let status = closing(now: now, complete: studyComplete, otherwise: studyComplete ? .finished : .running)
                try store.updateStudy(id: study.id, trialsTotal: total, status: status, stopReason: stopReason)
                try store.releaseStudy(id: study.id, owner: owner.id)
            } else if stopping && stopMarksStopped && !statusWrittenOnStop {
                // Only if the write when the stop was asked failed: written again now, it could undo
                // a resume made since through another daemon (this one holds no lease to wait on).
                try store.updateStudy(id: study.id, status: .stopped)
            }
        } catch {
            if failure == nil { failure = error }
        }
        study = (try? store.study(id: study.id)) ?? study
    }

    /// Writes the results whose write failed (a lost connection) again. Dropped: a trial taken
    /// from this daemon meanwhile, and one already finished (the write that failed had committed
    /// before its connection was cut).
    func retryUnwritten(now: Date) throws {
        while let (id, step, value) = unreported.first {
            do { try store.reportIntermediate(trialID: id, step: step, value: value, owner: owner.id) } catch is TrialNotOwned {}
            if let r = running[id] { records[r.number].intermediate[step] = value }
            unreported.removeFirst()
        }
        while let (id, r, exit, tail) = unwritten.first {
            let stored = try store.trial(studyID: study.id, number: r.number)
            if let stored, stored.trialID == id, stored.record.state == .running, stored.owner == owner.id {
                do { try finish(id, r, exit: exit, stderrTail: tail, now: now) } catch is TrialNotOwned {}
            }
            unwritten.removeFirst()
        }
    }
}

/// A result not written because reports of its trial are still to be written (see `unreported`).
struct StoreBehind: Error {}
