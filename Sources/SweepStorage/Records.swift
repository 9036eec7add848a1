import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SweepSearch
import SweepCore

/// Where a study stands: `running` while a search works on it, `stopped` when a search was
/// interrupted (running it again continues), `finished` when it reached its trial count.
public enum StudyStatus: String, Sendable, Codable, CaseIterable {
    case running, stopped, finished
}

/// A Sweep study: Optuna's `studies` row with its direction, and Sweep's `sweep_studies` row.
public struct StudyRecord: Sendable, Equatable {
    /// Optuna's `study_id`.
    public var id: Int64
    public var name: String
    public var direction: Direction
    public var metric: String
    public var spacePath: String
    /// The search-space file's text as submitted (the study can be re-run from it alone).
    public var spaceText: String
    public var samplerJSON: String
    public var schedulerJSON: String
    public var seed: UInt64
    public var trialsTotal: Int
    public var maxEpochs: Int?
    public var createdAt: Date
    public var updatedAt: Date
    public var status: StudyStatus
    /// The holder of the study's controller lease (a `LeaseOwner` id), if any claimed it (see
    /// `TrialStore.claimStudy`); a lease whose process died stays until it expires or the next
    /// controller takes it over.
    public var controllerOwner: String? = nil
    /// Whether that lease had not expired when the study was read (on the database's clock).
    public var controllerLeaseLive: Bool = false
    /// How the study was started (JSON of the runner's `RunOptions`), so it can be run again
    /// by another process; nil for studies written before Sweep stored it.
    public var runOptionsJSON: String? = nil
    /// Why the study's last run ended before its total (too many failures), if it did.
    public var stopReason: String? = nil
    /// Every objective's direction, in order (Optuna's `study_directions`); `direction` is the first.
    public var directions: [Direction] = []
    /// Every objective's metric, in order (Optuna's `study:metric_names`); `metric` is the first.
    public var metrics: [String] = []

    /// Several objectives: trials are ranked by Pareto fronts.
    public var isMultiObjective: Bool { directions.count > 1 }

    /// The process and host of the lease's holder.
    public var controllerPID: Int32? { controllerOwner.flatMap(LeaseOwner.init(id:))?.pid }
    public var controllerHost: String? { controllerOwner.flatMap(LeaseOwner.init(id:))?.host }

    /// Whether a live controller runs the study: its lease runs, and its holder is not a process
    /// of this host that has ended.
    public func isRunning() -> Bool {
        guard controllerLeaseLive, let owner = controllerOwner else { return false }
        return LeaseOwner(id: owner)?.isKnownDead != true
    }

    /// Whether its last run is ending: a user stopped it (or it finished) and the run still holds
    /// the lease while its trials exit (`sweep status`: `stopping`). A resume waits for the lease.
    public func isEnding() -> Bool { status != .running && isRunning() }
}

/// One line of a study list.
public struct StudySummary: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var direction: Direction
    public var metric: String
    public var status: StudyStatus
    public var trialsTotal: Int
    /// Trials per state; states without trials are absent.
    public var counts: [TrialState: Int]
    /// The best objective among complete trials.
    public var bestValue: Double?
    public var createdAt: Date

    public func count(_ state: TrialState) -> Int { counts[state] ?? 0 }
}

/// A trial as stored: the snapshot samplers and schedulers see (`record`) and what Sweep keeps to
/// explain and replay it. Trials written by Optuna itself or queued with `sweep enqueue` (no Sweep
/// row yet: `ownedBySweep` false) have seed 0 and an empty `configJSON`.
public struct StoredTrial: Sendable, Equatable {
    /// Optuna's `trial_id` (unique in the file; `record.number` is unique in the study).
    public var trialID: Int64
    public var record: TrialRecord
    public var datetimeStart: Date?
    public var datetimeComplete: Date?
    public var seed: UInt64
    /// The full model value the trial runs (what the trial process reads).
    public var configJSON: String
    /// How many times the trial was started (restarts after a requeue count).
    public var attempts: Int
    public var workerPID: Int32?
    public var exitStatus: Int32?
    /// Why the trial failed or was pruned, in words.
    public var reason: String?
    public var stderrTail: String?
    public var epochsRun: Int?
    public var durationSeconds: Double?
    public var artifactDir: String?
    /// Whether Sweep created or took over the trial (it has its `sweep_trials` row: its seed and
    /// configuration are known).
    public var ownedBySweep: Bool
    /// The owner id (`LeaseOwner`) of the daemon that claimed the trial (`claimWaitingTrial`),
    /// while it runs it; nil for a trial no daemon claimed.
    public var owner: String?

    public init(trialID: Int64, record: TrialRecord, datetimeStart: Date? = nil, datetimeComplete: Date? = nil,
                seed: UInt64, configJSON: String, attempts: Int = 1, workerPID: Int32? = nil, exitStatus: Int32? = nil,
                reason: String? = nil, stderrTail: String? = nil, epochsRun: Int? = nil, durationSeconds: Double? = nil,
                artifactDir: String? = nil, ownedBySweep: Bool = true, owner: String? = nil) {
        self.trialID = trialID; self.record = record; self.datetimeStart = datetimeStart; self.datetimeComplete = datetimeComplete
        self.seed = seed; self.configJSON = configJSON; self.attempts = attempts; self.workerPID = workerPID
        self.exitStatus = exitStatus; self.reason = reason; self.stderrTail = stderrTail; self.epochsRun = epochsRun
        self.durationSeconds = durationSeconds; self.artifactDir = artifactDir; self.ownedBySweep = ownedBySweep
        self.owner = owner
    }
}

/// A WAITING trial to create (`TrialStore.createWaitingTrials`): its parameters (internal values
/// with `Distribution.optunaJSON`), seed and configuration.
public struct NewWaitingTrial: Sendable {
    public var params: [(name: String, value: Double, distributionJSON: String)]
    public var seed: UInt64
    public var configJSON: String

    public init(params: [(name: String, value: Double, distributionJSON: String)], seed: UInt64, configJSON: String) {
        self.params = params; self.seed = seed; self.configJSON = configJSON
    }
}
