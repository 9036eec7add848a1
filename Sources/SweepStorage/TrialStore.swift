import Foundation
import SweepCore
import SweepSearch

/// Where studies and trials live, in Optuna's RDB schema, so that `optuna.load_study(study_name:
/// ..., storage: URL)` and optuna-dashboard read Sweep's results unchanged. What Optuna has no
/// place for lives beside its tables, in `sweep_studies` and `sweep_trials`, keyed by Optuna's
/// ids (see `Schema`). `SQLiteStore` (one SQLite file) is one backend; the store conformance suite
/// (`TrialStoreConformance` in the tests) checks this contract against each.
///
/// Contract, for every backend:
/// - **Concurrency.** One store may be used from any number of threads, and several processes
///   (or hosts) may use the same database at once. Readers see only committed states and never
///   wait for writers; a write waits a bounded time for another writer.
/// - **One transaction per write method.** All of a method's effects become visible together, or,
///   when it throws, none does.
/// - **Idempotence.** Opening a database again applies no migration twice. `reportIntermediate`
///   for a step already reported overwrites it; `controllerHeartbeat` may be repeated freely (and
///   skips trials that are no longer running); `requeueTrial` of a WAITING trial does nothing;
///   `claimStudy` by the holder renews its claim; `releaseStudy` by another than the holder does
///   nothing; a second `adoptTrial`/`failEnqueuedTrial` of the same trial returns false and writes
///   nothing; `retryFailedTrials` queues each failed trial once.
/// - **What never changes.** A trial's number, parameters, seed and configuration once created
///   (or adopted); a finished trial (COMPLETE, PRUNED, FAIL): write methods refuse it, but for
///   `recordArtifacts`, which changes only Sweep's row. A study's name, directions, metrics,
///   sampler, scheduler and seed (only its trial total, status, run options, stop reason and
///   search-space file change, through `updateStudy`).
/// - **Trial numbers** are Optuna's: the count of earlier trials in the study, assigned inside the
///   creating transaction, so they are unique and dense from 0 whatever the number of writers
///   (Optuna's own included). A study's trials are never deleted but with the study (an
///   interrupted trial goes back to WAITING; a retried one stays FAIL beside its retry), so they
///   stay dense. Reads return trials by number.
/// - **Values** follow Optuna: one per objective (`trial_values` by objective index); an infinity
///   or NaN is stored as NULL plus its type and read back as itself; a COMPLETE trial whose values
///   are missing, of the wrong count or NaN is stored as FAIL; a PRUNED trial of one objective
///   keeps its last reported value (unless NaN), one of several none. Constraints are Optuna's
///   trial system attribute `constraints`. Times are UTC in Optuna's datetime text.
/// - **One controller per study.** `claimStudy` makes one process the study's controller through a
///   lease (an owner id and an expiry on the database's clock, so hosts' clocks do not matter); a
///   second owner is refused while the lease runs, and takes it over once it expired or when the
///   caller knows its holder is dead (see `claimStudy`).
/// - **Errors.** `InputError` naming `location` for a database that is not one or that a newer
///   Sweep or another Optuna schema wrote, for a study name already taken and for a study a live
///   controller holds; `RuntimeFailure` for an unknown study or trial id and a write to a trial
///   that is not running; `TrialNumberTaken` from `createTrial` (see there); the backend's own
///   error for I/O and for any write to a store opened for reading only.
public protocol TrialStore: AnyObject, Sendable {
    /// Where the store lives (a file path, a URL without its password), as errors name it.
    var location: String { get }

    // MARK: Studies

    /// Creates a study: Optuna's study and a direction row per objective (`objective` 0, 1, ...),
    /// its metric names (as Optuna's `study.set_metric_names` stores them) and Sweep's row (whose
    /// `metric` is the first), status `running`, with the options it runs with (`runOptionsJSON`,
    /// in the same transaction: a running study is never seen without them once its creator
    /// passed them). `directions` and `metrics` have the same count, at least one.
    func createStudy(name: String, directions: [Direction], metrics: [String], spacePath: String, spaceText: String,
                     samplerJSON: String, schedulerJSON: String, seed: UInt64, trialsTotal: Int, maxEpochs: Int?,
                     runOptionsJSON: String?) throws -> StudyRecord

    /// The Sweep study with this name (studies Optuna created in the same database are not Sweep's).
    func study(named name: String) throws -> StudyRecord?

    /// The Sweep study created last.
    func latestStudy() throws -> StudyRecord?

    /// Every Sweep study, oldest first, with its trial counts and best value.
    func studies() throws -> [StudySummary]

    /// The Sweep studies whose status is `running`, oldest first: their own rows only (no trial
    /// is read, so it costs the same whatever the studies hold). What a daemon sharing the
    /// database looks at each time it is woken (`watchStudies`) to join the studies it does not run.
    func runningStudies() throws -> [StudyRecord]

    /// Starts watching for changes of studies made by any process on any host (see `StudyWatch`);
    /// returns once the watch runs, so a change committed after it returns is never missed.
    /// Throws the backend's error when it cannot start (the database cannot be reached).
    func watchStudies() throws -> any StudyWatch

    /// Changes what may change in a study (see `StudyUpdate`).
    func updateStudy(id: Int64, _ update: StudyUpdate) throws

    /// The Sweep study with this id.
    func study(id: Int64) throws -> StudyRecord?

    /// Deletes a study as Optuna's `delete_study` does: its trials with everything they hold
    /// (parameters, values, reports, attributes, heartbeats, Sweep's rows), its attributes and
    /// directions, Sweep's row and the study, in one transaction. Refused (the `InputError` of
    /// `claimStudy`) while a controller's lease runs, unless its holder is `holderKnownDead`.
    /// Returns how many trials it had.
    @discardableResult
    func deleteStudy(id: Int64, holderKnownDead: String?) throws -> Int

    // MARK: Which process runs a study

    /// Makes `owner` (a `LeaseOwner` id, `host:pid:start`) the one controller of the study, so
    /// that two searches never run the same study's trials at once: a lease that ends
    /// `leaseSeconds` from now on the database's clock, renewed by `controllerHeartbeat`.
    /// Refused (an `InputError` naming the holder) while another owner's lease has not expired,
    /// unless that holder is `holderKnownDead`: a caller that can tell a holder has died (a
    /// process of its own host, killed with SIGKILL) takes its lease over at once instead of
    /// waiting for it to expire. The store never interprets owner ids.
    func claimStudy(id: Int64, owner: String, leaseSeconds: Double, holderKnownDead: String?) throws

    /// Renews `owner`'s lease of the study (to `leaseSeconds` from now, on the database's clock;
    /// nothing when another owner holds it), and refreshes the heartbeats of those of
    /// `runningTrials` that are still running and not claimed by another owner (Optuna's
    /// `trial_heartbeats`), in one transaction. A daemon that does not hold the lease calls it
    /// too, for the trials it runs.
    func controllerHeartbeat(studyID: Int64, owner: String, leaseSeconds: Double, runningTrials: [Int64]) throws

    /// Gives the study up (the end of a run); does nothing when `owner` does not hold it.
    func releaseStudy(id: Int64, owner: String) throws

    // MARK: Trials: writing

    /// Creates a RUNNING trial with the next number of its study: the trial row, its parameters
    /// (internal values with `Distribution.optunaJSON`), Sweep's row and a first heartbeat.
    /// `expectedNumber`: the number the caller derived the trial's seed from; when another writer
    /// (Optuna, `sweep enqueue`) took it first, nothing is written and `TrialNumberTaken` is thrown.
    /// `waiting`: created WAITING instead, for any daemon to claim (`claimWaitingTrial`): no start
    /// time, no heartbeat (`createWaitingTrial`).
    func createTrial(studyID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                     configJSON: String, workerPID: Int32?, expectedNumber: Int?, waiting: Bool) throws -> (trialID: Int64, number: Int)

    /// Records the value of a running trial at a step (an epoch), replacing an earlier report of
    /// that step, and refreshes the trial's heartbeat.
    /// `owner`: when given, the write is refused with `TrialNotOwned` unless `owner` claimed
    /// the trial (`claimWaitingTrial`) and still holds it (it was not requeued meanwhile).
    func reportIntermediate(trialID: Int64, step: Int, value: Double, owner: String?) throws

    /// Ends a running trial: its state, completion time, value, and what Sweep knows of its run.
    /// A FAIL trial's reason is also its user attribute `fail_reason`, where Optuna and
    /// optuna-dashboard show it.
    ///
    /// `values` are the objectives of a COMPLETE trial, one per study direction (Optuna's
    /// `trial_values` by objective index); missing ones, a wrong count or a NaN make the trial FAIL
    /// (as Optuna does). They are not used for PRUNED (a study of one objective stores the last
    /// reported value, unless NaN, as Optuna does; one of several stores none, as Optuna has no
    /// reports then) nor for FAIL (no value). `constraints`, when given, are stored as Optuna's
    /// constrained samplers store them: the trial system attribute `constraints`, a JSON list
    /// whose values are at most 0 when they hold. Returns the state stored. `owner`: as for
    /// `reportIntermediate` (a trial is never finished by a daemon it was taken from).
    @discardableResult
    func finishTrial(trialID: Int64, state: TrialState, values: [Double]?, constraints: [Double]?, exitStatus: Int32?, reason: String?,
                     stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?,
                     owner: String?) throws -> TrialState

    /// Puts a running trial back to WAITING, to be run again later with the same number,
    /// parameters, seed and configuration (`restartTrial`). Its reports and heartbeat are removed
    /// and its start time cleared, as for a trial Optuna enqueues. The trial is not deleted:
    /// numbers are counts of earlier trials, so a deleted trial would give its number twice.
    /// `owner`: as for `reportIntermediate`.
    func requeueTrial(trialID: Int64, owner: String?) throws

    /// Records the process (and process group) a RUNNING trial runs in, so that a later controller
    /// can end it if this one dies without stopping it.
    func setWorkerPID(trialID: Int64, pid: Int32) throws

    /// Starts a WAITING trial again (requeued, retried) or a RUNNING one whose controller is gone:
    /// RUNNING from now, with no reports, one more attempt.
    func restartTrial(trialID: Int64, workerPID: Int32?) throws

    /// Records where a trial's artifacts were written (replay, export). Only Sweep's own row
    /// changes: a finished trial's Optuna rows never do.
    func recordArtifacts(trialID: Int64, dir: String) throws

    // MARK: Trials: shared by several daemons (a leader creates them, any daemon runs them)

    /// Creates WAITING trials numbered `firstNumber`, `firstNumber + 1`, ... in one transaction,
    /// each as `createTrial` with `waiting` makes one. When `firstNumber` is not the study's next
    /// number (another writer took it), nothing is written and `TrialNumberTaken` is thrown.
    /// Returns their trial ids, in order.
    func createWaitingTrials(studyID: Int64, _ trials: [NewWaitingTrial], firstNumber: Int) throws -> [Int64]

    /// Takes the lowest-numbered WAITING trial of the study that has Sweep's row (its parameters
    /// and seed stored: made by `createWaitingTrial`, requeued, retried) and makes it RUNNING for
    /// `owner` in one transaction: started now, the reports of an earlier run removed, one more
    /// attempt (a trial's first start is attempt 1), `owner` recorded, `worker` (what Optuna and
    /// `sweep logs` show: `host:pid`) as the system attribute `sweep:worker`. Its start counts as
    /// its first heartbeat (no `trial_heartbeats` row: a trial shorter than the heartbeat interval
    /// never writes one).
    /// Never waits for another claimer and never gives one trial to two. nil when none waits.
    func claimWaitingTrial(studyID: Int64, owner: String, worker: String) throws -> StoredTrial?

    /// `finishTrial` of a trial `owner` runs, then, only once it is written, `claimWaitingTrial`
    /// of `studyID` for `owner`: the next trial of a worker that just finished one, in one round
    /// trip where the store can. Each part keeps its own contract; when the finish throws, no
    /// trial is claimed. Returns the state stored and the trial claimed (nil: none waits).
    func finishTrialAndClaim(trialID: Int64, state: TrialState, values: [Double]?, constraints: [Double]?, exitStatus: Int32?,
                             reason: String?, stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?,
                             owner: String, studyID: Int64, worker: String) throws -> (state: TrialState, claimed: StoredTrial?)

    /// Puts back to WAITING, as `requeueTrial` does, every RUNNING trial of the study with Sweep's
    /// row whose last heartbeat (its start, when none came since) is older than `staleSeconds` on
    /// the database's clock (the daemon that ran it stopped heart-beating: killed, its host or
    /// network gone). Returns their numbers.
    func requeueStaleTrials(studyID: Int64, staleSeconds: Double) throws -> [Int]

    // MARK: Trials: queued (Optuna's forms; see `enqueueTrial`)

    /// Adds a WAITING trial with these parameters (full names, external values) as Optuna's
    /// `study.enqueue_trial(params)` does — the system attribute `fixed_params` and no Sweep row —
    /// and returns its number. Values are not checked here (see `EnqueuedParams` in SweepRunner).
    func enqueueTrial(studyID: Int64, fixedParams: [String: ParamValue]) throws -> Int

    /// What a trial that Sweep does not own yet was given: its stored parameters (Optuna writes
    /// them for trials added with params, e.g. by `RetryFailedTrialCallback`), converted to external
    /// values by their own distributions, and its `fixed_params` (the stored parameters win, as
    /// in Optuna). `unreadable` says which could not be read (not a scalar, an unknown
    /// distribution): such a trial must not run.
    func givenParams(trialID: Int64) throws -> (values: [String: ParamValue], unreadable: [String])

    /// Takes over a WAITING trial Sweep does not own yet and starts it, in one transaction: its
    /// parameters (replacing any stored ones), Sweep's row with its seed and configuration,
    /// RUNNING from now, a first heartbeat. Returns false, writing nothing, when the trial is no
    /// longer WAITING or already Sweep's (another process took it first).
    func adoptTrial(trialID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                    configJSON: String) throws -> Bool

    /// Ends a WAITING trial Sweep does not own yet as FAIL without running it (its given
    /// parameters were refused), with Sweep's row holding its seed and the reason (also its
    /// `fail_reason` user attribute). Returns false, writing nothing, as `adoptTrial` does.
    func failEnqueuedTrial(trialID: Int64, seed: UInt64, reason: String) throws -> Bool

    /// Queues every FAIL trial of the study that was not retried yet again, as Optuna's
    /// `RetryFailedTrialCallback` does: a new WAITING trial with the failed trial's parameters
    /// (and distributions), user attributes (but its `fail_reason`) and system attributes, plus
    /// `failed_trial` (the first trial of the chain) and `retry_history` (the numbers retried so
    /// far, this one last). Sweep's row keeps the failed trial's seed and configuration, and its
    /// attempts, so the retry's first start counts one more. A trial Sweep did not run (no
    /// configuration: Optuna's, or one whose enqueued parameters were refused) is queued without
    /// Sweep's row, so a runner checks its parameters again. One transaction; returns the pairs
    /// (failed number, new number).
    func retryFailedTrials(studyID: Int64) throws -> [(failed: Int, retry: Int)]

    /// Sets (or, with `nil`, removes) a system attribute of a trial (Optuna's
    /// `trial_system_attributes`; `valueJSON` is the value as JSON). One transaction; setting the
    /// same value again changes nothing.
    func setTrialSystemAttribute(trialID: Int64, key: String, valueJSON: String?) throws

    // MARK: Trials: paused by a pausing scheduler

    /// Pauses a running trial (`Decision.pause`): WAITING, its reports and start time kept, its
    /// heartbeat, owner and process removed, and the system attribute `sweep:paused_at_epoch`
    /// (`TrialAttribute.pausedAtEpoch`: its last reported step) marking it paused, so Optuna reads
    /// an ordinary WAITING trial and `trials(studyID:)` gives `TrialRecord.isPaused`. A paused trial
    /// is never claimed by `claimWaitingTrial` nor run again by `restartTrial`'s callers: it
    /// waits for `resumePausedTrial` or `endPausedTrial`. `owner`: as for `reportIntermediate`.
    /// A trial that is not RUNNING is refused (`RuntimeFailure`).
    func pauseTrial(trialID: Int64, owner: String?) throws

    /// Resumes a paused trial (promoted): RUNNING from now with a heartbeat and `workerPID`, its
    /// reports kept (it continues from its checkpoint and reports the next steps), the pause
    /// marker removed. Its attempt count is unchanged: a promotion continues the same attempt.
    /// A trial that is not paused is refused (`RuntimeFailure`).
    func resumePausedTrial(trialID: Int64, workerPID: Int32?) throws

    /// Ends a paused trial PRUNED (no promotion will come any more) with its last reported value,
    /// as `finishTrial` stores a pruned trial, its completion time now and the pause marker
    /// removed. A trial that is not paused is refused (`RuntimeFailure`).
    func endPausedTrial(trialID: Int64) throws

    // MARK: Trials: reading

    /// A trial's system attributes, key to value as JSON.
    func trialSystemAttributes(trialID: Int64) throws -> [String: String]

    /// Sets user attributes of a trial (Optuna's `trial_user_attributes`, key to value as JSON),
    /// replacing those with the same keys. One transaction.
    func setTrialUserAttributes(trialID: Int64, _ attributes: [String: String]) throws

    /// A trial's user attributes, key to value as JSON.
    func trialUserAttributes(trialID: Int64) throws -> [String: String]

    /// The study's trials by number.
    func trials(studyID: Int64) throws -> [StoredTrial]

    /// The study's trials numbered `number` and above (those others added since a runner loaded
    /// the study: Optuna, `sweep enqueue`), by number.
    func trials(studyID: Int64, fromNumber number: Int) throws -> [StoredTrial]

    /// The study's finished trials (COMPLETE, PRUNED, FAIL) completed at or after `since` (all of
    /// them for nil), by number: what a follower of a running study has not seen yet.
    func finishedTrials(studyID: Int64, completedSince since: Date?) throws -> [StoredTrial]

    /// The study's trial with this number.
    func trial(studyID: Int64, number: Int) throws -> StoredTrial?

    /// The complete trial with the best value (the lowest number among equals).
    func bestTrial(studyID: Int64, direction: Direction) throws -> StoredTrial?

    // MARK: Trials: what changed since a reader's last read

    /// The study's trials changed after `cursor` (every trial for nil), by number, and the cursor
    /// to give next time; one snapshot, so a reader that replaces its copies of the returned
    /// trials and keeps the others holds exactly what `trials(studyID:)` would return now.
    /// "Changed" is any write to the rows a `StoredTrial` is read from (`trials`, `trial_params`,
    /// `trial_values`, `trial_intermediate_values`, `trial_system_attributes`, `sweep_trials`),
    /// by any writer, Optuna included: database triggers (migration `sweep-v7-trial-changes`)
    /// record them in `sweep_trial_changes`, one row per trial holding its last change. A trial
    /// is never missed; on PostgreSQL a trial already returned may come again (see
    /// `TrialChangeCursor`). A cursor is only meaningful to the store that returned it.
    func trials(studyID: Int64, changedSince cursor: TrialChangeCursor?) throws -> (trials: [StoredTrial], cursor: TrialChangeCursor)
}

/// A waiter's view of study changes (`TrialStore.watchStudies`), so that a daemon joins a new
/// study, and a follower sees a study end, at once instead of at its next poll.
/// - **Signalled** at least when a study is created and when its status, trial total or run
///   options change (`createStudy`, `updateStudy`: a study submitted, resumed, finished,
///   stopped), once committed, by any process on any host that writes through a `TrialStore`
///   (a raw SQL write is not signalled: the waiter's timeout finds it). A backend may signal
///   more often (other writes, or after a lost connection, when it cannot know what it missed):
///   a signal means "look again", never what changed, so a waiter reads what it needs after each.
/// - **Kept** until the next `wait`: a change committed between two waits is not lost.
/// - **Fallback.** A waiter still looks every few seconds (`wait`'s timeout): a signal can be
///   late while a lost connection is being opened again.
/// - `close()` ends the watch (and its connection); `wait` then returns false at once.
public protocol StudyWatch: AnyObject, Sendable {
    /// Waits until a signal came since the last `wait` returned (since the watch started, for the
    /// first) or `timeout` seconds passed; returns whether one came.
    func wait(timeout: Double) -> Bool

    /// Stops watching; idempotent.
    func close()
}

/// Where a reader of `trials(studyID:changedSince:)` stopped reading.
/// - **SQLite**: one writer at a time, so changes commit in the order of a counter each change
///   row takes (`seq`, the highest + 1): the cursor is the highest `seq` the reader's snapshot
///   held, and the next read returns the trials whose change has a higher one.
/// - **PostgreSQL**: transactions commit concurrently, so a counter is not enough (a change
///   numbered lower can commit after the reader saw a higher one). Each change row holds the id
///   of the transaction that wrote it last (`txid_current()`); the cursor is the `xmin` of the
///   reader's snapshot (`txid_snapshot_xmin`): every transaction with a lower id had ended when
///   the reader looked, so its changes were in what it read. A change the reader did not see
///   was made by a transaction running then or started later, whose id is at least that xmin:
///   the next read returns the trials whose change id is `>=` the cursor. Trials changed by a
///   transaction that was running at the last read but had committed before the snapshot come
///   again (harmless: the reader replaces them); a long transaction left open anywhere on the
///   server holds xmin back, and reads return more until it ends.
public struct TrialChangeCursor: Sendable, Hashable, CustomStringConvertible {
    /// `seq` (SQLite) or a transaction id (PostgreSQL), as above.
    public let position: Int64
    init(_ position: Int64) { self.position = position }
    public var description: String { "change \(position)" }
}

/// What `updateStudy` changes in a study: its trial total, its status, how it was started, why
/// its last run ended early and its search-space file (an edit that keeps its search). nil:
/// unchanged; the stop reason is cleared whenever the status changes and no reason is given.
public struct StudyUpdate: Sendable, Equatable {
    public var trialsTotal: Int?
    public var status: StudyStatus?
    public var runOptionsJSON: String?
    public var stopReason: String?
    public var spacePath: String?
    public var spaceText: String?

    public init(trialsTotal: Int? = nil, status: StudyStatus? = nil, runOptionsJSON: String? = nil, stopReason: String? = nil,
                spacePath: String? = nil, spaceText: String? = nil) {
        self.trialsTotal = trialsTotal; self.status = status; self.runOptionsJSON = runOptionsJSON
        self.stopReason = stopReason; self.spacePath = spacePath; self.spaceText = spaceText
    }
}

/// A write to a trial its caller no longer runs: it was requeued (its heartbeat went stale) and
/// perhaps claimed by another daemon. The caller drops the trial; nothing was written.
public struct TrialNotOwned: Error, CustomStringConvertible {
    public var trialID: Int64
    public var owner: String
    public init(trialID: Int64, owner: String) { self.trialID = trialID; self.owner = owner }
    public var description: String { "trial id \(trialID) is no longer run by \(owner)" }
}

/// A trial number another writer took before `createTrial` (see its `expectedNumber`).
public struct TrialNumberTaken: Error, CustomStringConvertible {
    public var number: Int
    public var description: String { "trial number \(number) was taken by another writer" }
}

/// The usual forms of the requirements (the defaults a protocol requirement cannot carry).
extension TrialStore {
    /// How long a controller's lease runs without a heartbeat (`controllerHeartbeat` renews it
    /// every few seconds): after that, another host takes the study over.
    public static var defaultLeaseSeconds: Double { 30 }

    public func updateStudy(id: Int64, trialsTotal: Int? = nil, status: StudyStatus? = nil, runOptionsJSON: String? = nil,
                            stopReason: String? = nil, spacePath: String? = nil, spaceText: String? = nil) throws {
        try updateStudy(id: id, StudyUpdate(trialsTotal: trialsTotal, status: status, runOptionsJSON: runOptionsJSON,
                                            stopReason: stopReason, spacePath: spacePath, spaceText: spaceText))
    }

    /// Deletes a study, taking over the lease of a holder this host knows is dead.
    @discardableResult
    public func deleteStudy(id: Int64) throws -> Int { try deleteStudy(id: id, holderKnownDead: try deadHolder(of: id)) }

    /// Claims the study for `owner` (this process by default), taking the lease of a holder this
    /// host knows is dead over at once (see `LeaseOwner.isKnownDead`).
    public func claimStudy(id: Int64, owner: LeaseOwner = .current, leaseSeconds: Double = Self.defaultLeaseSeconds) throws {
        try claimStudy(id: id, owner: owner.id, leaseSeconds: leaseSeconds, holderKnownDead: try deadHolder(of: id))
    }

    public func controllerHeartbeat(studyID: Int64, owner: LeaseOwner = .current, runningTrials: [Int64]) throws {
        try controllerHeartbeat(studyID: studyID, owner: owner.id, leaseSeconds: Self.defaultLeaseSeconds, runningTrials: runningTrials)
    }

    public func releaseStudy(id: Int64, owner: LeaseOwner = .current) throws { try releaseStudy(id: id, owner: owner.id) }

    /// The holder of the study's lease when this host can tell it is dead.
    private func deadHolder(of id: Int64) throws -> String? {
        guard let holder = try study(id: id)?.controllerOwner, LeaseOwner(id: holder)?.isKnownDead == true else { return nil }
        return holder
    }

    public func createTrial(studyID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                            configJSON: String, workerPID: Int32?, expectedNumber: Int? = nil) throws -> (trialID: Int64, number: Int) {
        try createTrial(studyID: studyID, params: params, seed: seed, configJSON: configJSON, workerPID: workerPID,
                        expectedNumber: expectedNumber, waiting: false)
    }

    /// Creates a WAITING trial with the next number, its parameters, seed and configuration, for
    /// any daemon to claim (see `createTrial`'s `waiting`).
    public func createWaitingTrial(studyID: Int64, params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64,
                                   configJSON: String, expectedNumber: Int?) throws -> (trialID: Int64, number: Int) {
        try createTrial(studyID: studyID, params: params, seed: seed, configJSON: configJSON, workerPID: nil,
                        expectedNumber: expectedNumber, waiting: true)
    }

    public func restartTrial(trialID: Int64) throws { try restartTrial(trialID: trialID, workerPID: nil) }

    /// Creates a study of one objective.
    public func createStudy(name: String, direction: Direction, metric: String, spacePath: String, spaceText: String,
                            samplerJSON: String, schedulerJSON: String, seed: UInt64, trialsTotal: Int, maxEpochs: Int?) throws -> StudyRecord {
        try createStudy(name: name, directions: [direction], metrics: [metric], spacePath: spacePath, spaceText: spaceText,
                        samplerJSON: samplerJSON, schedulerJSON: schedulerJSON, seed: seed, trialsTotal: trialsTotal, maxEpochs: maxEpochs,
                        runOptionsJSON: nil)
    }

    /// `finishTrialAndClaim` as its two parts, one after the other (a store with no faster way).
    public func finishTrialAndClaim(trialID: Int64, state: TrialState, values: [Double]?, constraints: [Double]?, exitStatus: Int32?,
                                    reason: String?, stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?,
                                    owner: String, studyID: Int64, worker: String) throws -> (state: TrialState, claimed: StoredTrial?) {
        let final = try finishTrial(trialID: trialID, state: state, values: values, constraints: constraints, exitStatus: exitStatus,
                                    reason: reason, stderrTail: stderrTail, epochsRun: epochsRun, durationSeconds: durationSeconds,
                                    artifactDir: artifactDir, owner: owner)
        return (final, try claimWaitingTrial(studyID: studyID, owner: owner, worker: worker))
    }

    /// Ends a running trial of a study of one objective (`value`: its objective), without constraints.
    @discardableResult
    public func finishTrial(trialID: Int64, state: TrialState, value: Double?, exitStatus: Int32?, reason: String?,
                            stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?) throws -> TrialState {
        try finishTrial(trialID: trialID, state: state, values: value.map { [$0] }, constraints: nil, exitStatus: exitStatus,
                        reason: reason, stderrTail: stderrTail, epochsRun: epochsRun, durationSeconds: durationSeconds, artifactDir: artifactDir)
    }

    public func reportIntermediate(trialID: Int64, step: Int, value: Double) throws {
        try reportIntermediate(trialID: trialID, step: step, value: value, owner: nil)
    }

    /// Ends a running trial no daemon claimed (`owner` unchecked).
    @discardableResult
    public func finishTrial(trialID: Int64, state: TrialState, values: [Double]?, constraints: [Double]?, exitStatus: Int32?, reason: String?,
                            stderrTail: String?, epochsRun: Int?, durationSeconds: Double?, artifactDir: String?) throws -> TrialState {
        try finishTrial(trialID: trialID, state: state, values: values, constraints: constraints, exitStatus: exitStatus, reason: reason,
                        stderrTail: stderrTail, epochsRun: epochsRun, durationSeconds: durationSeconds, artifactDir: artifactDir, owner: nil)
    }

    public func requeueTrial(trialID: Int64) throws { try requeueTrial(trialID: trialID, owner: nil) }
}

/// Keys of the trial system attributes Sweep writes (Optuna shows them in `system_attrs`).
public enum TrialAttribute {
    /// The epoch whose checkpoint the trial's last attempt continued from (a JSON integer;
    /// absent when it started from the beginning).
    public static let resumedFromEpoch = "sweep:resumed_from_epoch"

    /// The daemon that runs or ran the trial, `host:pid` (a JSON string), written when a daemon
    /// claims it (`claimWaitingTrial`).
    public static let worker = "sweep:worker"

    /// Every objective's value at each reported step, in a study of several objectives (Optuna's
    /// `trial_intermediate_values` holds one value per step: the first objective's): a JSON object
    /// of steps to lists, `{"1": [0.91, 5120.0], ...}`, read back as `TrialRecord.intermediateValues`.
    public static let intermediateValues = "sweep:intermediate_values"
    public static func intermediateValuesJSON(_ v: [Int: [Double]]) -> String {
        "{" + v.keys.sorted().map { "\"\($0)\": " + OptunaEncoding.jsonNumbers(v[$0]!) }.joined(separator: ", ") + "}"
    }
    /// Reads `intermediateValuesJSON`'s form (entries that are not a step and a list of numbers are left out).
    static func intermediateValues(json: String) -> [Int: [Double]] {
        var out: [Int: [Double]] = [:]
        for entry in json.split(separator: "]") {
            let parts = entry.split(separator: "[", maxSplits: 1)
            guard parts.count == 2, let step = Int(parts[0].filter(\.isNumber)), let xs = OptunaEncoding.numbers("[" + parts[1] + "]") else { continue }
            out[step] = xs
        }
        return out
    }

    /// The user attributes of a finished trial's metrics (the numeric extra keys of its final
    /// protocol line): `sweep:metric:NAME` → the number as JSON (Optuna shows them in `user_attrs`).
    public static let metricPrefix = "sweep:metric:"
    public static func metrics(_ m: [String: Double]) -> [String: String] {
        // Swift's shortest round-trip form (JSONSerialization on Linux rounds the last digit).
        Dictionary(uniqueKeysWithValues: m.map { (metricPrefix + $0.key, $0.value.isFinite ? "\($0.value)" : "null") })
    }
    /// The metrics among a trial's user attributes.
    public static func metrics(fromUserAttributes a: [String: String]) -> [String: Double] {
        var m: [String: Double] = [:]
        for (k, v) in a where k.hasPrefix(metricPrefix) { if let x = Double(v) { m[String(k.dropFirst(metricPrefix.count))] = x } }
        return m
    }
}
