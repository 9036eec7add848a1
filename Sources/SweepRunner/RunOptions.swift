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
    /// The earlier studies whose trials are this study's prior observations (`--warm-start`,
    /// `sweep fork`), with the priors taken from them when the study was created (see
    /// `WarmStartSources`); nil without a warm start.
    public var warmStart: WarmStart.Selection? = nil

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
        case warmStart = "warm_start"
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
        warmStart = try c.decodeIfPresent(WarmStart.Selection.self, forKey: .warmStart)
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
