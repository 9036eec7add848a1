import Foundation
import SweepCore
import SweepEngine
import SweepSearch
import SweepStorage

/// How a study is run, besides its search-space file: what `sweep start` was given. Stored with
/// the study (`StudyRecord.runOptionsJSON`, without the database and executable paths) so that
/// `sweep resume` or a restarted daemon runs it exactly as it was started.
public struct RunOptions: Sendable, Codable, Equatable {
    public var studyName: String?
    public var trials: Int?
    /// Trial processes of this study at once (in a daemon: at most this many of the pool's workers).
    public var workers: Int
    /// The worker counts the CLI and the API accept.
    public static let workerRange = 1...256

    /// "workers must be 1...256, got N" when `workers` is given and out of range, else nil; the
    /// CLI and the API prefix it with how they name the field.
    public static func workersProblem(_ workers: Int?) -> String? {
        guard let w = workers, !workerRange.contains(w) else { return nil }
        return "workers must be \(workerRange.lowerBound)...\(workerRange.upperBound), got \(w)"
    }
    public var sampler: String?
    public var scheduler: String?
    public var seed: UInt64?
    /// `--set key=value` overrides applied to the search-space file.
    public var overrides: [String]
    public var dataDir: String
    public var dbPath: String
    /// The program that runs built-in trials (`sweep` itself: `<executable> __trial`).
    public var trialExecutable: String
    public var memoryMB: Int?
    public var graceSeconds: Double
    /// The working directory of the `sweep start` that submitted the study: built-in trials run
    /// there, so a relative data path means what it meant where the user typed the command
    /// (and what `sweep check` and the preflight found), not the daemon's directory.
    public var workDir: String?
    /// The environment trials start with (default: this process's). A daemon runs each search
    /// with the environment of the `sweep start` that submitted it; it is not stored (it may hold
    /// secrets), so a study a restarted daemon takes up runs with the daemon's, plus
    /// `keptEnvironment` and the file's `env:`.
    public var environment: [String: String]? = nil
    /// The values of the file's `env_keep:` variables in the submitting shell: stored with the
    /// study and set for every trial of every later run.
    public var keptEnvironment: [String: String] = [:]

    /// Takes the values of `names` (the file's `env_keep:`) from `env`, the submitting shell's
    /// environment; a name `env` lacks keeps its stored value, and one with neither is refused.
    public mutating func keepEnvironment(_ names: [String], from env: [String: String], file: String) throws {
        for name in names {
            if let v = env[name] { keptEnvironment[name] = v; continue }
            guard keptEnvironment[name] != nil else {
                throw InputError(file: file, field: "env_keep", "'\(name)' is not set in the environment of this command; set it (export \(name)=...) or remove it from env_keep")
            }
        }
    }
    public init(studyName: String? = nil, trials: Int? = nil, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                sampler: String? = nil, scheduler: String? = nil, seed: UInt64? = nil, overrides: [String] = [], dataDir: String,
                dbPath: String, trialExecutable: String, memoryMB: Int? = nil, graceSeconds: Double = 5) {
        self.studyName = studyName; self.trials = trials; self.workers = workers; self.sampler = sampler; self.scheduler = scheduler
        self.seed = seed; self.overrides = overrides; self.dataDir = dataDir; self.dbPath = dbPath; self.trialExecutable = trialExecutable
        self.memoryMB = memoryMB; self.graceSeconds = graceSeconds
    }

    enum CodingKeys: String, CodingKey {
        case studyName = "study", trials, workers, sampler, scheduler, seed, overrides, dataDir = "data_dir", memoryMB = "memory_mb"
        case graceSeconds = "grace_seconds", keptEnvironment = "env_keep", workDir = "work_dir"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(studyName: try c.decodeIfPresent(String.self, forKey: .studyName), trials: try c.decodeIfPresent(Int.self, forKey: .trials),
                  workers: try c.decodeIfPresent(Int.self, forKey: .workers) ?? ProcessInfo.processInfo.activeProcessorCount,
                  sampler: try c.decodeIfPresent(String.self, forKey: .sampler), scheduler: try c.decodeIfPresent(String.self, forKey: .scheduler),
                  seed: try c.decodeIfPresent(UInt64.self, forKey: .seed), overrides: try c.decodeIfPresent([String].self, forKey: .overrides) ?? [],
                  dataDir: try c.decodeIfPresent(String.self, forKey: .dataDir) ?? "data", dbPath: "", trialExecutable: "",
                  memoryMB: try c.decodeIfPresent(Int.self, forKey: .memoryMB),
                  graceSeconds: try c.decodeIfPresent(Double.self, forKey: .graceSeconds) ?? 5)
        keptEnvironment = try c.decodeIfPresent([String: String].self, forKey: .keptEnvironment) ?? [:]
        workDir = try c.decodeIfPresent(String.self, forKey: .workDir)
    }

    /// The stored form (sorted keys; no database or executable path).
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(data: try! e.encode(self), encoding: .utf8)!
    }

    /// The options a study was started with, to run it again from `dbPath` with `trialExecutable`.
    public static func stored(_ study: StudyRecord, dbPath: String, trialExecutable: String, dataDir: String) -> RunOptions {
        var o = study.runOptionsJSON.flatMap { try? JSONDecoder().decode(RunOptions.self, from: Data($0.utf8)) }
            ?? RunOptions(dataDir: dataDir, dbPath: dbPath, trialExecutable: trialExecutable)
        o.studyName = study.name
        o.trials = study.trialsTotal
        o.dbPath = dbPath
        o.trialExecutable = trialExecutable
        return o
    }
}

/// What the runner tells its caller while a search runs.
public protocol RunObserver: AnyObject {
    func started(study: String, total: Int, already: Int)
    func trialFinished(number: Int, state: TrialState, value: Double?, reason: String?, progress: RunProgress)
    func tick(_ progress: RunProgress)
}

public struct RunProgress: Sendable {
    public var done: Int, total: Int, running: Int, pruned: Int, failed: Int
    public var best: Double?
    public var elapsed: Double
    public var eta: Double?
    /// Progress `elapsed` seconds after a run began with `already` trials finished; the ETA
    /// extrapolates the trials finished since.
    public init(done: Int, total: Int, running: Int, pruned: Int, failed: Int, best: Double?, elapsed: Double, already: Int) {
        self.done = done; self.total = total; self.running = running; self.pruned = pruned; self.failed = failed
        self.best = best; self.elapsed = elapsed
        let newlyDone = done - already
        eta = newlyDone > 0 ? elapsed / Double(newlyDone) * Double(max(total - done, 0)) : nil
    }

    /// A stored study's progress (what a follower of the daemon shows).
    public init(_ r: StudyStatusReport, elapsed: Double, already: Int) {
        self.init(done: r.finished, total: r.trialsTotal, running: r.trials[TrialState.running.rawValue] ?? 0,
                  pruned: r.trials[TrialState.pruned.rawValue] ?? 0, failed: r.trials[TrialState.fail.rawValue] ?? 0,
                  best: r.bestValue, elapsed: elapsed, already: already)
    }
}

/// Runs one study: proposes its trials (sampler), decides on their reports (scheduler) and writes
/// every event to the store as it happens. The trials run on a `TrialPool`: `run()` makes a pool
/// of its own (the foreground `sweep start`); a daemon adds several runners to one shared pool.
///
/// The runner keeps no state the store does not have: the trial history it hands the sampler and
/// the scheduler is the store's, mirrored in memory and updated with each write. Trials left
/// RUNNING or WAITING by an earlier run that died are run again first, with the same parameters
/// and seed, so a study ends with exactly its trial count.
///
/// Trials others add to the study (`sweep enqueue`, Optuna's `enqueue_trial`, `sweep retry`) are
/// picked up when it loads the study, before each new trial and with each heartbeat, so a study
/// running in the daemon sees them too. WAITING ones run before new samples: an enqueued trial
/// with its given parameters completed by the sampler (`EnqueuedParams`; refused values make it
/// FAIL with the reason, it never runs without them) and the seed of its number. They count
/// toward the total like any trial (as in Optuna's `optimize(n_trials)`); when the study already
/// has its total, the total grows to hold them. A RUNNING trial Sweep did not start (Optuna's
/// `study.ask()`) belongs to the process that asked for it: it is neither run nor counted.
///
/// Apart from `init`, `run()`, `stop()` and the read-only properties, a runner is used only on
/// its pool's thread.
public final class SearchRunner: @unchecked Sendable {
    public let spec: StudySpec
    public let options: RunOptions
    public let store: any TrialStore
    let sampler: Sampler
    let scheduler: Scheduler
    public private(set) var study: StudyRecord
    public private(set) var total: Int
    /// The study's trials as the sampler and scheduler see them; index = trial number (numbers
    /// are dense from 0). Updated with each write to the store.
    var records: [TrialRecord] = []
    var counts: [TrialState: Int] = [:]
    var best: Double?
    var running: [Int64: Running] = [:]         // by trial id
    var pending: [StoredTrial] = []
    /// Numbers of RUNNING trials Sweep did not start (see the type's comment).
    var foreign: Set<Int> = []
    var stopping = false
    /// Whether a stop marks the study `stopped` (a user's stop) or leaves it `running`, to be
    /// taken up again by the next daemon (a daemon's shutdown).
    var stopMarksStopped = true
    /// Why the run ended before the study reached its total, if it did: too many failures or the
    /// early failure rule (the study is `stopped`), or the time budget (it is `finished`).
    public private(set) var stopReason: String?
    /// The error that ended the run, if one did (the store failed).
    public internal(set) var failure: (any Error)?
    /// CPU time this process (the controller: sampler, scheduler, store, process pool) spent in
    /// `run()`, and the trials it started there.
    public private(set) var controllerCPUSeconds = 0.0
    var alreadyDone = 0
    /// Trials that finished in this run (not counting those finished before it began).
    public var trialsFinished: Int { finishedCount - alreadyDone }
    /// Reasons of this run's failed trials while none of its trials has succeeded (the early
    /// failure rule: see `earlyFailure`).
    var failuresBeforeSuccess: [String] = []
    var succeededThisRun = false
    var lastBeat = Date()
    /// Told of the run's progress (held weakly: the caller keeps it).
    public weak var observer: RunObserver?
    let started = Date()
    /// The queue of the pool this runner's trials run on (set by `TrialPool.add`).
    var events: EventQueue!

    struct Running {
        var number: Int
        var process: TrialProcess
        var finalValue: Double?
        /// The numeric extra keys of the final line (`TrialLine.final`).
        var metrics: [String: Double] = [:]
        var violation: String?
        var pruned = false
        var timedOut = false
    }

    /// Prepares a run of the study `spec` describes (created in the store if new). `store`: an
    /// open store to share (a daemon's); by default the runner opens `options.dbPath`.
    public init(spec: StudySpec, options: RunOptions, store: (any TrialStore)? = nil, observer: RunObserver? = nil) throws {
        var spec = options.applied(to: spec)
        self.options = options
        self.observer = observer
        let total = options.trials ?? spec.budget.trials
        self.total = total
        // Build everything that can reject the input before the store is touched.
        (sampler, scheduler) = try spec.makeSearchComponents(trials: total)
        self.store = try store ?? SQLiteStore(path: options.dbPath)
        let name = options.studyName ?? spec.name
        if let existing = try self.store.study(named: name) {
            let differences = Self.differences(existing: existing, spec: spec, options: options)
            guard differences.isEmpty else {
                throw InputError(file: spec.file, field: "--study", "study '\(name)' already exists with a different search (\(differences.joined(separator: "; "))); "
                                 + "run it as it was (file and flags) to continue the study, or choose another name with --study")
            }
            spec = spec.adoptingStoredNames(Set(try self.store.trials(studyID: existing.id).flatMap(\.record.params.keys)))
            study = existing   // its total and status change once this run holds it (begin())
        } else {
            try StudyName.check(name, file: options.studyName == nil ? spec.file : nil, field: options.studyName == nil ? "name" : "--study")
            try spec.checkSteps()   // a new study (an API submission; the CLI checked before)
            study = try self.store.createStudy(name: name, direction: spec.objective.direction, metric: spec.objective.metric,
                                               spacePath: spec.absoluteFile,
                                               spaceText: spec.text, samplerJSON: Self.json(spec.sampler),
                                               schedulerJSON: Self.json(spec.scheduler), seed: spec.seed, trialsTotal: total,
                                               maxEpochs: spec.budget.maxEpochs ?? 1)
        }
        self.spec = spec
    }

    static func json(_ c: ComponentSpec) -> String {
        String(data: try! JSONEncoder().encode(c), encoding: .utf8)!
    }

    var direction: Direction { spec.objective.direction }

    /// Runs until the study has `total` finished trials (or too many failures, or `stop()`), on a
    /// pool of `options.workers` trial processes of its own. Returns the study's trials.
    @discardableResult
    public func run() throws -> [StoredTrial] {
        let cpuAtStart = Self.cpuSeconds()
        let pool = TrialPool(workers: max(options.workers, 1))
        self.pool = pool
        try pool.add(self)
        pool.runUntilIdle()
        controllerCPUSeconds = Self.cpuSeconds() - cpuAtStart
        if let failure { throw failure }
        return try store.trials(studyID: study.id)
    }
    weak var pool: TrialPool?

    /// Asks the run to finish: no new trials; running ones are stopped and left to be run again.
    /// The study is marked `stopped`.
    public func stop() {
        pool?.stop(studyID: study.id)
    }

    // MARK: On the pool's thread

    /// Claims the study and loads its history (called by the pool when the runner is added).
    func begin() throws {
        try store.claimStudy(id: study.id, pid: getpid())
        lastBeat = Date()
        // The file as given this time (an edit that continues the study: comments, budget).
        try store.updateStudy(id: study.id, trialsTotal: total, status: .running, runOptionsJSON: options.json,
                              spacePath: spec.absoluteFile, spaceText: spec.text)
        study = try store.study(named: study.name) ?? study
        let stored = try store.trials(studyID: study.id)
        records = stored.map(\.record)
        precondition(records.enumerated().allSatisfy { $0.offset == $0.element.number }, "trial numbers are dense from 0")
        for r in records { count(r) }
        alreadyDone = finishedCount
        // Trials an earlier run left behind: run them again, same parameters and seed. A process
        // of theirs that outlived its controller (killed with SIGKILL) is ended first.
        queue(stored)
        for t in pending where t.record.state == .running { if let pid = t.workerPID { Self.endOrphan(pid) } }
        if try growTotalForWaitingTrials() { try store.updateStudy(id: study.id, trialsTotal: total) }
        observer?.started(study: study.name, total: total, already: finishedCount)
    }

    /// Sorts unfinished trials into those to run (`pending`) and those Sweep leaves alone.
    func queue(_ trials: [StoredTrial]) {
        for t in trials where !t.record.state.isFinished {
            if t.record.state == .waiting || t.ownedBySweep { pending.append(t) } else { foreign.insert(t.record.number) }
        }
    }

    /// Takes in the trials others added since the study was loaded (enqueued, retried, Optuna's),
    /// so the history stays the store's and WAITING ones run next. Returns whether it found any.
    @discardableResult
    func pickUpAddedTrials() throws -> Bool {
        let added = try store.trials(studyID: study.id, fromNumber: records.count)
        guard !added.isEmpty else { return false }
        for t in added {
            precondition(t.record.number == records.count, "trial numbers are dense from 0")
            records.append(t.record)
            count(t.record)
        }
        queue(added)
        if try growTotalForWaitingTrials() { try store.updateStudy(id: study.id, trialsTotal: total) }
        return true
    }

    /// The total grows to hold every trial that is to run (a study never leaves a trial WAITING);
    /// returns whether it grew.
    func growTotalForWaitingTrials() throws -> Bool {
        let needed = records.count - foreign.count
        guard !pending.isEmpty, needed > total else { return false }
        total = needed
        return true
    }

    /// Kills the process group `pid` leads, if it still exists and is led by that process (a trial
    /// started by a controller that died; its group id is its pid).
    static func endOrphan(_ pid: Int32) {
        guard pid > 1, getpgid(pid) == pid else { return }
        kill(-pid, SIGKILL)
    }

    var maxFailures: Int { spec.budget.maxFailures ?? Int.max }

    /// Whether the runner would start another trial if a worker were free.
    var wantsTrial: Bool {
        !stopping && failure == nil && (counts[.fail] ?? 0) < maxFailures && earlyFailure == nil && !pastDeadline
            && (!pending.isEmpty || records.count - foreign.count < total)
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
    var pastDeadline: Bool {
        guard let t = spec.budget.timeout else { return false }
        return Date().timeIntervalSince(started) >= t
    }

    /// Starts the next trial: one left behind by an earlier run or added by others, or a new one
    /// from the sampler.
    func launchNext() throws {
        try pickUpAddedTrials()
        guard !pending.isEmpty else { return try launchNew() }
        let t = pending.removeFirst()
        if t.ownedBySweep { try launch(rerun: t) } else { try launch(enqueued: t) }
    }

    /// Refreshes the controller's and the running trials' heartbeats when they are due.
    func beatIfDue() throws {
        guard Date().timeIntervalSince(lastBeat) > Self.heartbeatInterval else { return }
        try store.controllerHeartbeat(studyID: study.id, pid: getpid(), runningTrials: Array(running.keys))
        try pickUpAddedTrials()
        lastBeat = Date()
    }

    /// Stops the running trials; `markStopped`: the study ends `stopped` (else it stays `running`
    /// for the next daemon to take up).
    func requestStop(markStopped: Bool) {
        stopMarksStopped = markStopped
        stopping = true
        for r in running.values { r.process.stop() }
    }

    /// Ends the run: the study's status and stop reason are written and the claim released.
    func end() {
        let failed = counts[.fail] ?? 0
        if let failure {
            stopReason = "the controller failed: \(failure)"
        } else if failed >= maxFailures && finishedCount < total {
            stopReason = "\(failed) trials failed (max_failures: \(maxFailures)); see the reasons in the leaderboard"
        } else if let why = earlyFailure, finishedCount < total {
            stopReason = "the first \(Self.earlyFailureLimit) trials of this run all failed the same way: \(why)"
        }
        // The time budget ends a run as its trial count does: finished, with a note of why.
        let outOfTime = stopReason == nil && pastDeadline && finishedCount < total && !stopping
        if outOfTime {
            stopReason = "the time budget (budget.timeout: \(Self.seconds(spec.budget.timeout!))) ran out after \(trialsFinished) trials"
        }
        let status: StudyStatus = failure != nil || (stopping && !stopMarksStopped) ? .running
            : outOfTime ? .finished : stopping || stopReason != nil ? .stopped : .finished
        do {
            try store.updateStudy(id: study.id, trialsTotal: total, status: status, stopReason: stopReason)
            try store.releaseStudy(id: study.id, pid: getpid())
        } catch {
            if failure == nil { failure = error }
        }
        study = (try? store.study(named: study.name)) ?? study
    }

    /// How often the controller and its running trials say they are alive.
    public static let heartbeatInterval = 5.0

    /// User + system CPU seconds of this process so far.
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
    }

    func trialSeed(_ number: Int) -> UInt64 { SeedSequence.derive(spec.seed, SeedSequence.label("trial"), UInt64(number)) }

    func launchNew() throws {
        let number = records.count
        let values = sampler.suggest(space: spec.space, history: records, direction: direction, trialNumber: number, studySeed: spec.seed)
        let seed = trialSeed(number)
        let configJSON = try trialPayload(values, seed: seed)
        let id: Int64
        do {
            id = try store.createTrial(studyID: study.id, params: storedParams(values), seed: seed, configJSON: configJSON,
                                       workerPID: nil, expectedNumber: number).trialID
        } catch is TrialNumberTaken {
            // Another writer added a trial meanwhile: take it in, then start what comes next.
            return try launchNext()
        }
        records.append(TrialRecord(number: number, state: .running, params: values))
        try spawn(id: id, number: number, seed: seed, values: values, configJSON: configJSON)
    }

    /// Parameters in the store's form, in the space's order.
    func storedParams(_ values: [String: Double]) -> [(name: String, value: Double, distributionJSON: String)] {
        spec.space.parameters.compactMap { p in values[p.name].map { (name: p.name, value: $0, distributionJSON: p.distribution.optunaJSON) } }
    }

    /// A queued trial another process started first: it is theirs (see the type's comment).
    func taken(_ number: Int) {
        records[number].state = .running
        foreign.insert(number)
    }

    /// Starts a WAITING trial others added without Sweep's row (see the type's comment), or
    /// fails it with the reason its given parameters were refused.
    func launch(enqueued t: StoredTrial) throws {
        let number = t.record.number
        let seed = trialSeed(number)
        let given = try store.givenParams(trialID: t.trialID)
        var problem = given.unreadable.first
        var values: [String: Double] = [:]
        var configJSON = ""
        if problem == nil {
            do {
                let fixed = try EnqueuedParams.resolve(given.values, space: spec.space)
                let others = records.filter { $0.number != number }
                let proposal = sampler.suggest(space: spec.space, history: others, direction: direction, trialNumber: number, studySeed: spec.seed)
                var rng = SweepRandom(seed: SeedSequence.derive(seed, SeedSequence.label("enqueued")))
                values = EnqueuedParams.complete(fixed, proposal: proposal, space: spec.space, rng: &rng)
                configJSON = try trialPayload(values, seed: seed)
            } catch {
                problem = "\(error)"
            }
        }
        if let problem {
            let reason = "its enqueued parameters were refused: \(problem)"
            guard try store.failEnqueuedTrial(trialID: t.trialID, seed: seed, reason: reason) else {
                taken(number)
                return
            }
            recordFinished(number: number, state: .fail, value: nil, reason: reason)
            return
        }
        // Another process (Optuna's optimize) took it first: it is theirs.
        guard try store.adoptTrial(trialID: t.trialID, params: storedParams(values), seed: seed, configJSON: configJSON) else {
            taken(number)
            return
        }
        records[number] = TrialRecord(number: number, state: .running, params: values)
        try spawn(id: t.trialID, number: number, seed: seed, values: values, configJSON: configJSON)
    }

    /// Runs a requeued or interrupted trial again: its process continues from the trial's
    /// checkpoint when there is one (and says so, `TrialLine.resumed`).
    func launch(rerun t: StoredTrial) throws {
        try store.restartTrial(trialID: t.trialID)
        try store.setTrialSystemAttribute(trialID: t.trialID, key: TrialAttribute.resumedFromEpoch, valueJSON: nil)
        records[t.record.number] = TrialRecord(number: t.record.number, state: .running, params: t.record.params)
        try spawn(id: t.trialID, number: t.record.number, seed: t.seed, values: t.record.params, configJSON: t.configJSON,
                  attempt: t.attempts + 1)
    }

    /// The JSON the store keeps for a trial and the trial process reads: the full model value for
    /// built-in trials, the parameters for user commands.
    func trialPayload(_ values: [String: Double], seed: UInt64) throws -> String {
        if spec.command != nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(data: try encoder.encode(Self.commandParams(spec.space.external(values))), encoding: .utf8)!
        }
        let config = try spec.trialConfig(values, seed: seed)
        return String(data: try JSONEncoder().encode(config), encoding: .utf8)!
    }

    /// A user command's parameters by the names it knows: the keys under `params:` (stored as
    /// `params.<key>` by studies from before they kept their own names); parameters elsewhere in
    /// the file keep their full dotted names.
    static func commandParams(_ external: [String: ParamValue]) -> [String: ParamValue] {
        var out: [String: ParamValue] = [:]
        for (k, v) in external { out[k.hasPrefix("params.") ? String(k.dropFirst(7)) : k] = v }
        return out
    }

    /// A trial seed folded to 32 bits (both halves), for libraries that take no more
    /// (`numpy.random.seed`, `random_state`).
    static func seed32(_ seed: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: seed ^ (seed >> 32)) }

    /// The trial's folder beside the database (`TrialFolder`): the same for every attempt.
    func trialFolder(_ number: Int) -> String { TrialFolder.trial(db: options.dbPath, study: study.name, number: number) }

    /// Starts a trial's process. `seed`: the stored one (a retry keeps the failed trial's seed
    /// under its new number). `attempt`: which start of the trial this is, from 1.
    ///
    /// Every trial gets its folder (recorded as its artifact folder when it finishes) for its checkpoint: a
    /// built-in trial writes `checkpoint` there after every epoch and continues from it when run
    /// again; a command gets `checkpoints/` as `SWEEP_CHECKPOINT_DIR` and `SWEEP_ATTEMPT`.
    func spawn(id: Int64, number: Int, seed: UInt64, values: [String: Double], configJSON: String, attempt: Int = 1) throws {
        let argv: [String]
        var env = options.keptEnvironment.merging(spec.environment) { $1 }
        for (k, v) in ["SWEEP_TRIAL_NUMBER": "\(number)", "SWEEP_STUDY": study.name, "OPENBLAS_NUM_THREADS": "1"] { env[k] = v }
        let folder = trialFolder(number)
        let checkpoints = spec.command == nil ? folder : TrialFolder.commandCheckpoints(trialFolder: folder)
        do { try Folders.create(checkpoints) } catch {
            return try finishUnstarted(id: id, number: number, reason: "its checkpoint folder could not be made: \(error)")
        }
        if let command = spec.command {
            let external = spec.space.external(values)
            var names: [String: String] = ["trial": "\(number)", "seed": "\(seed)", "seed32": "\(Self.seed32(seed))",
                                           "max_epochs": spec.budget.maxEpochs.map { "\($0)" } ?? ""]
            for (k, v) in external { names[k] = v.description }
            for (k, v) in Self.commandParams(external) { names[k] = v.description }
            argv = command.map { arg in
                var a = arg
                for (k, v) in names { a = a.replacingOccurrences(of: "{\(k)}", with: v) }
                return a
            }
            env["SWEEP_PARAMS"] = configJSON
            env["SWEEP_SEED"] = "\(seed)"
            env["SWEEP_SEED32"] = "\(Self.seed32(seed))"
            if let e = spec.budget.maxEpochs { env["SWEEP_MAX_EPOCHS"] = "\(e)" }
            env["SWEEP_CHECKPOINT_DIR"] = checkpoints
            env["SWEEP_ATTEMPT"] = "\(attempt)"
        } else {
            argv = [options.trialExecutable, "__trial", "--metric", spec.objective.metric, "--data-dir", options.dataDir,
                    "--checkpoint", TrialFolder.checkpoint(trialFolder: folder)]
        }
        let limits = TrialProcess.Limits(timeout: spec.budget.trialTimeout, memoryMB: options.memoryMB, graceSeconds: options.graceSeconds,
                                         strictStdout: spec.command == nil || spec.stdoutProtocol == .strict)
        let events = self.events!
        // User commands run in the search-space file's folder, so relative paths in them work;
        // built-in trials where the study was submitted (relative data paths).
        let cwd = spec.command == nil ? options.workDir.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            : spec.commandDirectory
        let p: TrialProcess
        do {
            p = try TrialProcess(key: id, argv: argv, stdin: Data(configJSON.utf8), env: env, baseEnvironment: options.environment,
                                 cwd: cwd, limits: limits) { key, event in events.post(.trial(key, event)) }
        } catch let e as TrialProcess.SpawnFailure {
            // The program could not be started (removed, misspelled, not executable): the trial
            // fails with the reason; the early failure rule stops a run where every trial does.
            try finishUnstarted(id: id, number: number, reason: e.description)
            return
        }
        running[id] = Running(number: number, process: p)
        try store.setWorkerPID(trialID: id, pid: p.pid)
    }

    /// A trial whose process could not be started ends FAIL at once.
    func finishUnstarted(id: Int64, number: Int, reason: String) throws {
        let state = try store.finishTrial(trialID: id, state: .fail, value: nil, exitStatus: nil, reason: reason, stderrTail: "",
                                          epochsRun: 0, durationSeconds: 0, artifactDir: nil)
        recordFinished(number: number, state: state, value: nil, reason: reason)
    }

    func handle(_ key: Int64, _ event: TrialProcess.Event) throws {
        guard var r = running[key] else { return }
        switch event {
        case .line(.report(let step, let value, _)):
            // Reports a stopped trial printed before the stop reached it are not its results.
            if r.pruned || stopping { return }
            try store.reportIntermediate(trialID: key, step: step, value: value)
            records[r.number].intermediate[step] = value
            let decision = scheduler.decide(trial: records[r.number], all: records, direction: direction, studySeed: spec.seed)
            if decision != .continue {
                running[key]!.pruned = true
                r.process.stop()
            }
        case .line(.final(let value, let metrics)):
            r.finalValue = value
            r.metrics = metrics
            running[key] = r
        case .line(.resumed(let epoch)):
            if r.pruned || stopping { return }
            try store.setTrialSystemAttribute(trialID: key, key: TrialAttribute.resumedFromEpoch, valueJSON: "\(epoch)")
        case .violation(let reason):
            if r.violation == nil { r.violation = reason }
            running[key] = r
        case .exited(let exit, let tail):
            running[key] = nil
            try finish(key, r, exit: exit, stderrTail: tail)
        }
    }

    func finish(_ key: Int64, _ r: Running, exit: TrialExit, stderrTail: String) throws {
        var state: TrialState
        var value: Double? = nil
        var reason: String? = nil
        if stopping && !r.pruned {
            // Stopped: run again later with the same parameters and seed.
            try store.requeueTrial(trialID: key)
            records[r.number].state = .waiting
            return
        }
        let epochs = records[r.number].lastStep ?? 0
        if r.pruned {
            // Whatever the process did after the stop (a signal, a cut line) is not a failure.
            state = .pruned; value = records[r.number].lastValue
        } else if let v = r.violation {
            state = .fail; reason = v
        } else if r.timedOut {
            state = .fail; reason = "timed out after \(Self.seconds(spec.budget.trialTimeout ?? 0))"
        } else {
            switch exit {
            case .exited(0):
                if let f = r.finalValue { state = .complete; value = f }
                else { state = .fail; reason = "exited without printing a final {\"value\": ...} line" }
            case .exited(let code):
                state = .fail; reason = "exited with status \(code)"
                // The last line of stderr usually says why.
                if let line = stderrTail.split(separator: "\n").last(where: { !$0.allSatisfy(\.isWhitespace) }) {
                    reason! += ": " + String(line).trimmingCharacters(in: .whitespaces).shortened(to: 240)
                }
            case .signaled(let sig):
                state = .fail; reason = "killed by signal \(sig)\(sig == SIGKILL && options.memoryMB != nil ? " (memory limit?)" : "")"
            }
        }
        let duration = r.process.elapsed
        let folder = trialFolder(r.number)
        state = try store.finishTrial(trialID: key, state: state, value: value, exitStatus: exitCode(exit), reason: reason,
                              stderrTail: stderrTail, epochsRun: epochs, durationSeconds: duration, artifactDir: folder)
        // A finished trial is not run again: its built-in checkpoint (the size of the model and
        // its optimizer state) goes; a command's checkpoints are the user's and stay.
        if spec.command == nil { try? FileManager.default.removeItem(atPath: TrialFolder.checkpoint(trialFolder: folder)) }
        if state == .complete, !r.metrics.isEmpty { try store.setTrialUserAttributes(trialID: key, TrialAttribute.metrics(r.metrics)) }
        recordFinished(number: r.number, state: state, value: state == .fail ? nil : value, reason: reason)
    }

    /// Mirrors a finished trial in memory and tells the observer.
    func recordFinished(number: Int, state: TrialState, value: Double?, reason: String?) {
        records[number].state = state
        records[number].value = value
        count(records[number])
        if state == .fail { failuresBeforeSuccess.append(reason ?? "no reason") } else { succeededThisRun = true }
        observer?.trialFinished(number: number, state: state, value: value, reason: reason, progress: progress())
    }

    static func seconds(_ x: Double) -> String { x == x.rounded() ? "\(Int(x)) s" : "\(x) s" }

    func exitCode(_ e: TrialExit) -> Int32 {
        switch e { case .exited(let c): return c; case .signaled(let s): return 128 + s }
    }

    func checkTimeouts() {
        guard let limit = spec.budget.trialTimeout else { return }
        for (k, r) in running where !r.timedOut && r.process.elapsed > limit {
            running[k]!.timedOut = true
            r.process.kill()
        }
    }

    var finishedCount: Int { (counts[.complete] ?? 0) + (counts[.pruned] ?? 0) + (counts[.fail] ?? 0) }

    /// Counts a trial that reached a finished state, and keeps the best value.
    func count(_ r: TrialRecord) {
        guard r.state.isFinished else { return }
        counts[r.state, default: 0] += 1
        if r.state == .complete, let v = r.value, !v.isNaN, best.map({ v * direction.sign < $0 * direction.sign }) ?? true { best = v }
    }

    func progress() -> RunProgress {
        RunProgress(done: finishedCount, total: total, running: running.count, pruned: counts[.pruned] ?? 0,
                    failed: counts[.fail] ?? 0, best: best, elapsed: Date().timeIntervalSince(started), already: alreadyDone)
    }
}

/// What a pool's thread is woken by: a trial's event, or work handed to it by another thread.
enum PoolEvent {
    case trial(Int64, TrialProcess.Event)
    case perform(() -> Void)
}

/// A blocking queue of pool events (filled by the trial reader threads and by callers of the
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
