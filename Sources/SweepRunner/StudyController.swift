import Foundation
import SweepCore
import SweepEngine
import SweepSearch
import SweepStorage

/// The decisions of one study's run: turns the stored history into the next trial jobs (the
/// sampler), and each job's events into store writes and decisions (the scheduler, the early
/// failure rule, the budget, timeouts, stops). It starts no process, owns no thread and reads no
/// clock: a `TrialPool` hands it free workers, runs its jobs on a `TrialExecutor`, passes it the
/// jobs' events and the time, and carries out the `JobAction`s it returns. So its rules can be
/// tested as tables of events and expected decisions (`ControllerDecisionTests`).
///
/// The controller keeps no state the store does not have: the trial history it hands the sampler
/// and the scheduler is the store's, mirrored in memory and updated with each write. Trials left
/// RUNNING or WAITING by an earlier run that died are run again first, with the same parameters
/// and seed, so a study ends with exactly its trial count.
///
/// Trials others add to the study (`sweep enqueue`, Optuna's `enqueue_trial`, `sweep retry`) are
/// picked up when it loads the study, with each heartbeat, when told of them
/// (`signalAddedTrials`), when a trial number it meant to use was taken, and before the run
/// ends. WAITING ones run before new samples: an enqueued trial with its given parameters
/// completed by the sampler (`EnqueuedParams`; refused values make it FAIL with the reason, it
/// never runs without them) and the seed of its number. They count toward the total like any
/// trial (as in Optuna's `optimize(n_trials)`); when the study already has its total, the total
/// grows to hold them. A RUNNING trial Sweep did not start (Optuna's `study.ask()`) belongs to
/// the process that asked for it: it is neither run nor counted.
///
/// Apart from `init` and the read-only properties, a controller is used on one thread (its pool's).
public final class StudyController: @unchecked Sendable {
    /// The study's definition, resolved once (`StudyDefinition`): the file with the overrides,
    /// sampler, scheduler and seed it runs with.
    public let spec: StudySpec
    public let options: RunOptions
    public let store: any TrialStore
    let sampler: Sampler
    let scheduler: Scheduler
    public internal(set) var study: StudyRecord
    public internal(set) var total: Int
    /// The study's trials as the sampler and scheduler see them; index = trial number (numbers
    /// are dense from 0). Updated with each write to the store.
    var records: [TrialRecord] = []
    /// Prior observations from earlier studies (`WarmStart`, numbered −n...−1): the sampler sees
    /// them before `records`; they are not trials of this study.
    let priors: [TrialRecord]
    /// What the sampler proposes from.
    var samplerHistory: [TrialRecord] { priors.isEmpty ? records : priors + records }
    var counts: [TrialState: Int] = [:]
    var best: Double?
    /// This run's jobs, by trial id.
    var running: [Int64: RunningTrial] = [:]
    var pending: [StoredTrial] = []
    /// Exploited trials whose continuation from a donor starts next (`StudyController+Pausing`).
    var exploits: [Exploit] = []
    /// Numbers of RUNNING trials Sweep did not start (see the type's comment).
    var foreign: Set<Int> = []
    var stopping = false
    /// Whether a stop marks the study `stopped` (a user's stop) or leaves it `running`, to be
    /// taken up again by the next daemon (a daemon's shutdown).
    var stopMarksStopped = true
    /// Whether a user's stop wrote the study's `stopped` when it was asked (`stopAskedByUser`).
    var statusWrittenOnStop = false
    /// Whether others were said to have added trials since the last look (`signalAddedTrials`).
    var addedSignalled = false
    /// Why the run ended before the study reached its total, if it did: too many failures or the
    /// early failure rule (the study is `stopped`), or the time budget (it is `finished`).
    public internal(set) var stopReason: String?
    /// The error that ended the run, if one did (the store failed, see `fail`).
    public internal(set) var failure: (any Error)?
    var alreadyDone = 0
    /// Trials that finished in this run (not counting those finished before it began).
    public var trialsFinished: Int { finishedCount - alreadyDone }
    /// Reasons of this run's failed trials while none of its trials has succeeded (the early
    /// failure rule: see `earlyFailure`).
    var failuresBeforeSuccess: [String] = []
    var succeededThisRun = false
    /// When the run began and when the controller last said it was alive (pool time).
    var startedAt = Date.distantPast
    var lastBeat = Date.distantPast
    var lastStopCheck = Date.distantPast
    /// Who holds the study's claim for this run (set by `begin`).
    var owner: LeaseOwner = .current
    /// Told of the run's progress (held weakly: the caller keeps it).
    public weak var observer: RunObserver?
    /// Each parameter's distribution as Optuna stores it, written with every trial.
    lazy var distributionJSONs: [String: String] = Dictionary(spec.space.parameters.map { ($0.name, $0.distribution.optunaJSON) },
                                                                 uniquingKeysWith: { first, _ in first })
    /// `<db folder>/<study>`: the trials' folders are in it.
    let studyFolder: String

    // A study several daemons run (see StudyController+Shared.swift).
    /// Whether this run shares the study with other daemons (set before the run begins).
    public var shared = false
    public var sharedTiming = SharedTiming.fromEnvironment()
    /// Whether this daemon holds the study's lease (samples its trials).
    public internal(set) var leading = false
    var lastRefresh = Date.distantPast
    /// Below this number the leader's view holds no trial waiting that others claimed (see
    /// `markClaimedBelow`); 0 after each read.
    var claimedFloor = 0
    /// When the leader last read the trials changed in the store to top its queue up (pool time).
    var lastChangesRead = Date.distantPast
    /// The study's trials as the store last gave them (index = number), kept current by reading
    /// only the trials changed since `changeCursor` (`trials(studyID:changedSince:)`).
    var mirror: [StoredTrial] = []
    var changeCursor: TrialChangeCursor?
    /// When a claim last found no WAITING trial (nil: since the last reload, none did).
    var idleSince: Date?
    /// Claims in a row that found no WAITING trial (see `claimWait`).
    var emptyClaims = 0
    /// Whether the run stops because the store says the study no longer runs.
    var stoppedThroughStore = false
    /// Results whose write failed (the database unreachable), written again with the next ticks.
    var unwritten: [(Int64, RunningTrial, TrialExit, String)] = []
    /// Results held for the next claim, which writes them in its round trip (see `finish`).
    var heldFinishes: [FinishedResult] = []
    /// Reports whose write failed, likewise (trial id, step, value), written before any result.
    var unreported: [(Int64, Int, Double)] = []
    /// The last store error a shared run met and will meet again at its next tick (for the log).
    public internal(set) var storeTrouble: (any Error)?
    /// The owner a shared run's trial writes are made as (nil: unchecked, one controller per study).
    var writer: String? { shared ? owner.id : nil }

    struct RunningTrial {
        var number: Int
        var startedAt: Date
        var finalValue: Double?
        /// The numeric extra keys of the final line (`TrialLine.final`).
        var metrics: [String: Double] = [:]
        /// The numeric extra keys of the last epoch report (objectives reported per epoch only).
        var lastReport: [String: Double] = [:]
        var violation: String?
        var pruned = false
        var timedOut = false
        /// The scheduler paused it: stored paused when its process ends.
        var paused = false
        /// Reports below this step are the history a promoted trial reports again: not new.
        var reportsFrom = 0
        /// PBT exploited it: a trial continues it from this donor once it ended.
        var exploit: Exploit?
    }

    /// Prepares a run of the study `spec` describes (created in the store if new). `store`: an
    /// open store to share (a daemon's); by default the controller opens `options.dbPath`.
    public init(spec: StudySpec, options: RunOptions, store: (any TrialStore)? = nil, observer: RunObserver? = nil) throws {
        var spec = options.applied(to: spec)
        var options = options
        self.observer = observer
        let total = options.trials ?? spec.budget.trials
        self.total = total
        // Build everything that can reject the input before the store is touched.
        (sampler, scheduler) = try spec.makeSearchComponents(trials: total)
        self.store = try store ?? openStore(location: options.dbPath)
        let name = options.studyName ?? spec.name
        if let existing = try self.store.study(named: name) {
            let differences = Self.differences(existing: existing, spec: spec, options: options)
            guard differences.isEmpty else {
                throw InputError(file: spec.file, field: "--study", "study '\(name)' already exists with a different search (\(differences.joined(separator: "; "))); "
                                 + "run it as it was (file and flags) to continue the study, or choose another name with --study")
            }
            spec = spec.adoptingStoredNames(Set(try self.store.trials(studyID: existing.id).flatMap(\.record.params.keys)))
            options.warmStart = try Self.storedWarmStart(existing, given: options.warmStart, spec: spec, store: self.store)
            study = existing   // its total and status change once this run holds it (begin())
        } else {
            try StudyName.check(name, file: options.studyName == nil ? spec.file : nil, field: options.studyName == nil ? "name" : "--study")
            try spec.checkSteps()   // a new study (an API submission; the CLI checked before)
            if let w = options.warmStart, w.priors == nil {
                options.warmStart!.priors = try WarmStartSources.priors(w.studies, store: self.store, spec: spec, study: name).priors
            }
            study = try self.store.createStudy(name: name, directions: spec.directions, metrics: spec.metrics,
                                               spacePath: spec.absoluteFile,
                                               spaceText: spec.text, samplerJSON: Self.json(spec.sampler),
                                               schedulerJSON: Self.json(spec.scheduler), seed: spec.seed, trialsTotal: total,
                                               maxEpochs: spec.budget.maxEpochs ?? 1,
                                               // With the study: the priors are part of its definition, and
                                               // the daemons sharing a database run it as stored.
                                               runOptionsJSON: options.json)
        }
        self.spec = spec
        self.options = options
        priors = WarmStart.records(options.warmStart?.priors ?? [])
        if PostgresLocation.isURL(options.dbPath) { try TrialFolder.checkArtifactsRoot() }
        studyFolder = TrialFolder.study(db: options.dbPath, study: study.name)
    }

    /// The warm start of an existing study: the stored one (with its priors) when `given` is nil
    /// or names the same studies; a different one is refused (the priors are part of the study).
    static func storedWarmStart(_ existing: StudyRecord, given: WarmStart.Selection?, spec: StudySpec,
                                store: any TrialStore) throws -> WarmStart.Selection? {
        var stored = RunOptions.stored(existing, dbPath: "", trialExecutable: "", dataDir: "").warmStart
        if let given, given.studies != stored?.studies {
            let was = stored.map { "from \($0.studies.joined(separator: ", "))" } ?? "without a warm start"
            throw InputError(field: "--warm-start", "study '\(existing.name)' was started \(was); its priors are part of the study: "
                             + "continue it without --warm-start, or start a new study with --study")
        }
        // A study created by a run that died before it stored its priors takes them now.
        if let s = stored, s.priors == nil {
            stored!.priors = try WarmStartSources.priors(s.studies, store: store, spec: spec, study: existing.name).priors
        }
        return stored
    }

    static func json(_ c: ComponentSpec) -> String {
        String(data: try! JSONEncoder().encode(c), encoding: .utf8)!
    }

    var direction: Direction { spec.objective.direction }

    /// The sampler's proposal for trial `number` from `history`: with several objectives or
    /// constraints through `MultiObjectiveSampler` (`StudySpec` refuses the samplers that are not).
    func suggest(history: [TrialRecord], number: Int) -> [String: Double] {
        if let mo = sampler as? MultiObjectiveSampler, spec.isMultiObjective || !spec.constraints.isEmpty {
            return mo.suggest(space: spec.space, history: history, directions: spec.directions, trialNumber: number, studySeed: spec.seed)
        }
        return sampler.suggest(space: spec.space, history: history, direction: direction, trialNumber: number, studySeed: spec.seed)
    }

    // MARK: Beginning and ending a run

    /// Claims the study for `owner` and loads its history. Returns the process ids of jobs an
    /// earlier run left RUNNING (its controller died): the executor ends them before they run
    /// again. A claim another live controller holds is refused with `StudyBusy`.
    func begin(owner: LeaseOwner, now: Date) throws -> [Int32] {
        if shared {
            try beginShared(owner: owner, now: now)
            return []
        }
        // The store refuses a held claim with an `InputError` (its contract), and only that.
        do { try store.claimStudy(id: study.id, owner: owner) } catch let e as InputError { throw StudyBusy(e.description) }
        self.owner = owner
        startedAt = now
        lastBeat = now
        lastStopCheck = now
        // The file as given this time (an edit that continues the study: comments, budget).
        try store.updateStudy(id: study.id, trialsTotal: total, status: .running, runOptionsJSON: options.json,
                              spacePath: spec.absoluteFile, spaceText: spec.text)
        study = try store.study(named: study.name) ?? study
        let stored = try store.trials(studyID: study.id)
        guard stored.enumerated().allSatisfy({ $0.offset == $0.element.record.number }) else {
            throw RuntimeFailure("study '\(study.name)': the store's trial numbers are not dense from 0")
        }
        records = stored.map(\.record)
        for r in records { count(r) }
        alreadyDone = finishedCount
        // Trials an earlier run left behind: run them again, same parameters and seed.
        queue(stored)
        exploits = try unfinishedExploits(stored)
        let leftovers = pending.filter { $0.record.state == .running }.compactMap(\.workerPID)
        if try growTotalForWaitingTrials() { try store.updateStudy(id: study.id, trialsTotal: total) }
        observer?.started(study: study.name, total: total, already: finishedCount)
        return leftovers
    }

    /// Ends the run: the study's status and stop reason are written and the claim released.
    func end(now: Date) {
        if shared { return endShared(now: now) }
        let status = closing(now: now, complete: finishedCount >= total, otherwise: .finished)
        do {
            try store.updateStudy(id: study.id, trialsTotal: total, status: status, stopReason: stopReason)
            try store.releaseStudy(id: study.id, owner: owner)
        } catch {
            if failure == nil { failure = error }
        }
        study = (try? store.study(named: study.name)) ?? study
    }

    /// The status a run ends the study with, and why it ended before the study held its total (set
    /// in `stopReason`): the controller failed (left `running`, to be taken up again), too many
    /// failures, the early failure rule (`stopped`), the time budget (`finished`, with a note);
    /// a stop asked by a user is `stopped`, a daemon's shutdown leaves it `running`. `complete`:
    /// whether the study holds its total; `otherwise`: the status of a run that ended for none of
    /// these reasons. One rule for a run alone and for a shared run's leader.
    func closing(now: Date, complete: Bool, otherwise: StudyStatus) -> StudyStatus {
        let failed = counts[.fail] ?? 0
        if let failure {
            stopReason = "the controller failed: \(failure)"
        } else if failed >= maxFailures && !complete {
            stopReason = "\(failed) trials failed (max_failures: \(maxFailures)); see the reasons in the leaderboard"
        } else if let why = earlyFailure, !complete {
            stopReason = "the first \(Self.earlyFailureLimit) trials of this run all failed the same way: \(why)"
        }
        // The time budget ends a run as its trial count does: finished, with a note of why.
        let outOfTime = stopReason == nil && pastDeadline(now) && !complete && !stopping
        if outOfTime {
            stopReason = "the time budget (budget.timeout: \(Self.seconds(spec.budget.timeout!))) ran out after \(trialsFinished) trials"
        }
        return failure != nil || (stopping && !stopMarksStopped) ? .running
            : outOfTime ? .finished : stopping || stopReason != nil ? .stopped : otherwise
    }

    /// Whether the run is over: nothing running and nothing more to start, even after a last look
    /// for trials others added (which then run first).
    func isOver(now: Date) throws -> Bool {
        if shared { return isSharedRunOver(now: now) }
        guard running.isEmpty && !wantsTrial(now: now) else { return false }
        guard !stopping, failure == nil else { return true }
        if try pickUpAddedTrials() && wantsTrial(now: now) { return false }
        // No trial runs or may start and none is due for promotion: no paused trial ever will be.
        try endPausedTrials(now: now)
        return true
    }

    // MARK: Deciding

    var maxFailures: Int { spec.budget.maxFailures ?? Int.max }

    /// Whether the controller would start another trial if a worker were free.
    func wantsTrial(now: Date) -> Bool {
        if shared { return wantsSharedTrial(now: now) }
        return mayStartTrials(now: now) && (!pending.isEmpty || records.count - foreign.count < total || addedSignalled || promotionDue != nil)
    }

    /// Whether the run may still start trials: not stopping or failed, not ended by its failures
    /// (`maxFailures`, the early failure rule) or its time budget.
    func mayStartTrials(now: Date) -> Bool {
        !stopping && failure == nil && (counts[.fail] ?? 0) < maxFailures && earlyFailure == nil && !pastDeadline(now)
    }

    /// How many failures in a row, before any success, stop a run when they all failed the same way.
    public static let earlyFailureLimit = 5

    /// The early failure rule: when the first `earlyFailureLimit` trials of a run all fail for the
    /// same reason (numbers aside) and none succeeded, the run stops with that reason instead of
    /// failing the whole budget the same way (a typo in a path, a missing package).
    var earlyFailure: String? {
        guard !succeededThisRun, failuresBeforeSuccess.count >= Self.earlyFailureLimit else { return nil }
        let first = failuresBeforeSuccess.prefix(Self.earlyFailureLimit)
        let shape = Self.reasonShape(first.first!)
        return first.allSatisfy { Self.reasonShape($0) == shape } ? first.first! : nil
    }

    /// A reason with its numbers masked, so "trial 3 ... line 12" and "trial 4 ... line 12" match.
    static func reasonShape(_ reason: String) -> String {
        reason.replacingOccurrences(of: "[0-9]+", with: "#", options: .regularExpression)
    }

    /// The study's wall-clock budget (`budget.timeout`) for this run: past it no trial starts.
    func pastDeadline(_ now: Date) -> Bool {
        guard let t = spec.budget.timeout else { return false }
        return now.timeIntervalSince(startedAt) >= t
    }

    /// Says that others may have added trials to the study (an enqueue through the API): they
    /// are picked up before the next trial starts.
    public func signalAddedTrials() { addedSignalled = true }

    /// The next trial's job: one left behind by an earlier run or added by others, or a new one
    /// from the sampler; its trial is RUNNING in the store. nil when the trial it took ended
    /// without a job (its enqueued parameters were refused, another process took it first).
    func nextJob(now: Date) throws -> TrialJob? {
        if shared { return nextSharedJob(now: now) }
        if addedSignalled {
            addedSignalled = false
            try pickUpAddedTrials()
        }
        guard !pending.isEmpty else {
            // A paused trial due for promotion before any new trial (`StudyController+Pausing`).
            if let number = promotionDue { return try promote(number, now: now) }
            guard records.count - foreign.count < total else { return nil }
            if !exploits.isEmpty { return try exploitTrial(exploits.removeFirst(), now: now) }
            return try newTrial(now: now)
        }
        let t = pending.removeFirst()
        return t.ownedBySweep ? try rerun(t, now: now) : try adopt(enqueued: t, now: now)
    }

    /// Work done ahead of the next `nextJob`s, after the pool started the jobs it could: a
    /// shared study's leader tops up its queue of WAITING trials (`prepareSharedJobs`). Nothing
    /// for a study run by one controller.
    func prepareJobs(now: Date) {
        if shared { prepareSharedJobs(now: now) }
    }

    /// The executor started `id`'s job as process `pid`: stored for a later run of the study to
    /// end it if this one dies (`begin`'s leftovers). Not in a shared study: no other daemon can
    /// end a process of this host, and one that dies leaves its trials to the heartbeats.
    func jobStarted(_ id: Int64, pid: Int32?) throws {
        guard let pid, !shared else { return }
        try store.setWorkerPID(trialID: id, pid: pid)
    }

    /// The executor could not start `id`'s job: the trial ends FAIL at once with the reason; the
    /// early failure rule stops a run where every trial does.
    func jobNotStarted(_ id: Int64, reason: String, now: Date) throws {
        guard let r = running.removeValue(forKey: id) else { return }
        let state = try store.finishTrial(trialID: id, state: .fail, value: nil, exitStatus: nil, reason: reason, stderrTail: "",
                                          epochsRun: 0, durationSeconds: 0, artifactDir: nil)
        recordFinished(number: r.number, state: state, value: nil, reason: reason, now: now)
    }

    /// Takes in one event of `id`'s job; returns what to do to the study's jobs.
    func handle(_ id: Int64, _ event: TrialEvent, now: Date) throws -> [JobAction] {
        guard var r = running[id] else { return [] }
        switch event {
        case .line(.report(let step, let reported, let extra)):
            // Reports a stopped trial printed before the stop reached it are not its results, nor
            // those a promoted trial reports again from its checkpoint.
            if r.pruned || r.paused || stopping || step < r.reportsFrom { return [] }
            let (first, all) = ObjectiveValues.report(value: reported, extra: extra, objectives: spec.objectives)
            guard let value = first else {
                if r.violation == nil {
                    running[id]!.violation = "reported step \(step) without the objective '\(spec.objective.metric)' (a \"value\", or \"values\": {\"\(spec.objective.metric)\": ...})"
                }
                return [.kill(id)]
            }
            running[id]!.lastReport = extra
            do {
                try store.reportIntermediate(trialID: id, step: step, value: value, owner: writer)
            } catch is TrialNotOwned {
                // Requeued (this daemon was silent too long) and perhaps run by another: not ours.
                running[id] = nil
                return [.kill(id)]
            } catch where shared {
                storeTrouble = error   // the database is unreachable: written again with the next ticks
                unreported.append((id, step, value))
                return []
            }
            records[r.number].intermediate[step] = value
            if spec.isMultiObjective, let all {
                records[r.number].intermediateValues[step] = all
                try store.setTrialSystemAttribute(trialID: id, key: TrialAttribute.intermediateValues,
                                                  valueJSON: TrialAttribute.intermediateValuesJSON(records[r.number].intermediateValues))
            }
            let decision: Decision
            if spec.isMultiObjective, let asha = scheduler as? ASHAScheduler {
                decision = asha.decide(trial: records[r.number], all: records, directions: spec.directions, studySeed: spec.seed)
            } else {
                decision = scheduler.decide(trial: records[r.number], all: records, direction: direction, studySeed: spec.seed)
            }
            switch decision {
            case .continue:
                break
            case .stop:
                running[id]!.pruned = true
                return [.stop(id)]
            case .pause:
                // A built-in trial exits by itself after this epoch (`--pause-at`); a command is stopped.
                running[id]!.paused = true
                return spec.command == nil ? [] : [.stop(id)]
            case .exploit(let donor):
                // Stored before the trial ends, so a run that stops first still continues it.
                try store.setTrialSystemAttribute(trialID: id, key: TrialAttribute.pbtExploit,
                                                  valueJSON: TrialAttribute.pbtExploitJSON(donor: donor, epoch: step))
                running[id]!.pruned = true
                running[id]!.exploit = Exploit(exploitedID: id, donor: donor, epoch: step)
                return [.stop(id)]
            }
        case .line(.final(let value, let metrics)):
            r.finalValue = value
            r.metrics = metrics
            running[id] = r
        case .line(.resumed(let epoch)):
            if r.pruned || stopping || r.reportsFrom > 0 { return [] }
            try store.setTrialSystemAttribute(trialID: id, key: TrialAttribute.resumedFromEpoch, valueJSON: "\(epoch)")
        case .violation(let reason):
            if r.violation == nil { r.violation = reason }
            running[id] = r
        case .exited(let exit, let tail):
            running[id] = nil
            do {
                // After its reports: a result whose reports are not all written waits for them.
                if shared && unreported.contains(where: { $0.0 == id }) { throw StoreBehind() }
                try finish(id, r, exit: exit, stderrTail: tail, now: now, hold: true)
            } catch is TrialNotOwned {
            } catch where shared {
                storeTrouble = error
                unwritten.append((id, r, exit, tail))   // written again with the next ticks
            }
        }
        return []
    }

    /// The jobs past the trial timeout (`budget.trial_timeout`): killed; their trials FAIL.
    func timedOut(now: Date) -> [JobAction] {
        guard let limit = spec.budget.trialTimeout else { return [] }
        var actions: [JobAction] = []
        for (id, r) in running where !r.timedOut && now.timeIntervalSince(r.startedAt) > limit {
            running[id]!.timedOut = true
            actions.append(.kill(id))
        }
        return actions.sorted()
    }

    /// Asks the run to finish: no new trials; the running ones are stopped and put back to
    /// WAITING when they exit. `markStopped`: the study ends `stopped` (a user's stop), else it
    /// stays `running` for the next daemon to take up (a shutdown).
    func requestStop(markStopped: Bool) -> [JobAction] {
        stopMarksStopped = markStopped
        stopping = true
        return running.keys.sorted().map { .stop($0) }
    }

    /// A user's stop: `requestStop(markStopped: true)`, with the study marked `stopped` in the
    /// store at once rather than when the run ends. The other daemons of a shared study stop
    /// within a reload, and a study that is `stopped` while its lease is still held reads as a
    /// run that is ending, which a resume waits for (`Daemon`, `runAgain`), not one that runs.
    /// Should the write fail, the run's end writes the status as it would have.
    func stopAskedByUser() -> [JobAction] {
        if !stopping || stopMarksStopped {
            do {
                try store.updateStudy(id: study.id, status: .stopped)
                study.status = .stopped
                statusWrittenOnStop = true
            } catch {}
        }
        return requestStop(markStopped: true)
    }

    /// A store write failed: the study stops here (its jobs are stopped, and their trials put
    /// back to WAITING when they exit); the study stays `running` for a later run.
    func fail(_ error: any Error) -> [JobAction] {
        if failure == nil { failure = error }
        return requestStop(markStopped: false)
    }

    /// What is due at `now` besides events: the heartbeat (which also picks up the trials others
    /// added), a look at whether a stop was asked through the store, and the trial timeouts.
    func tick(now: Date) throws -> [JobAction] {
        if shared { return sharedTick(now: now) }
        if now.timeIntervalSince(lastBeat) > Self.heartbeatInterval {
            try store.controllerHeartbeat(studyID: study.id, owner: owner, runningTrials: running.keys.sorted())
            try pickUpAddedTrials()
            lastBeat = now
        }
        if !stopping && now.timeIntervalSince(lastStopCheck) >= Self.stopCheckInterval {
            lastStopCheck = now
            // `sweep stop` of a study no daemon of its machine runs (a foreground search, a daemon
            // elsewhere) marks it stopped in the store; its controller stops within a second.
            if try store.study(named: study.name)?.status != .running { return requestStop(markStopped: true) }
        }
        return timedOut(now: now)
    }

    /// How often the controller and its running trials say they are alive.
    public static let heartbeatInterval = 5.0
    /// How often the controller looks for a stop asked through the store.
    public static let stopCheckInterval = 1.0

    func progress(now: Date) -> RunProgress {
        RunProgress(done: finishedCount, total: total, running: running.count, pruned: counts[.pruned] ?? 0,
                    failed: counts[.fail] ?? 0, best: best, elapsed: now.timeIntervalSince(startedAt), already: alreadyDone)
    }
}

/// What a controller asks the pool to do to one of its study's jobs (by trial id).
public enum JobAction: Equatable, Comparable, Sendable {
    /// Ask it to end (the scheduler pruned it, or the run stops), then end it after the grace period.
    case stop(Int64)
    /// End it at once (it ran past the trial timeout).
    case kill(Int64)
}
