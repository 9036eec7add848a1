import Foundation

/// Runs trial jobs and reports what happens to them; knows nothing of studies or the store.
///
/// Contract:
/// - `start` begins a job at once or throws `TrialStartFailure` (the program could not be
///   started: the trial's failure, not the controller's); it creates `job.folder` first.
///   Every started job later delivers its events to `onEvent`, on any thread, in the order they
///   happened: `.line` and `.violation` events, then exactly one `.exited`, the last.
/// - `stop` asks a job to end (SIGTERM for a process), then ends it after `limits.graceSeconds`;
///   `kill` ends it at once. Both are idempotent and do nothing for a job that already exited
///   (its id is never reused for another job's process).
/// - `endLeftover` ends a job an earlier executor on this machine started and lost (its
///   controller died), given the process id the store recorded; it does nothing when that
///   process is gone or is no longer the job's.
/// - Thread-safe: any method may be called from any thread.
public protocol TrialExecutor: AnyObject, Sendable {
    /// Starts `job`; returns the process id to record with the trial (nil when there is none).
    func start(_ job: TrialJob, onEvent: @escaping @Sendable (Int64, TrialEvent) -> Void) throws -> Int32?
    func stop(_ id: Int64)
    func kill(_ id: Int64)
    func endLeftover(pid: Int32)
}

/// One trial run: what to start and with what. `id` is the trial's store id, and the key of the
/// job's events.
public struct TrialJob: Sendable, Equatable {
    public var id: Int64
    public var argv: [String]
    /// Added to `baseEnvironment` (nil: the executor's own environment).
    public var env: [String: String]
    public var baseEnvironment: [String: String]?
    public var cwd: String?
    /// Written to the job's standard input, which is then closed.
    public var stdin: Data
    public var limits: TrialLimits
    /// A folder to create before the job starts (its checkpoints), nil for none.
    public var folder: String?

    public init(id: Int64, argv: [String], env: [String: String], baseEnvironment: [String: String]? = nil, cwd: String? = nil,
                stdin: Data, limits: TrialLimits, folder: String? = nil) {
        self.id = id; self.argv = argv; self.env = env; self.baseEnvironment = baseEnvironment; self.cwd = cwd
        self.stdin = stdin; self.limits = limits; self.folder = folder
    }
}

/// The limits a trial job runs under.
public struct TrialLimits: Sendable, Equatable {
    public var memoryMB: Int?
    public var outputBytes: Int
    public var graceSeconds: Double
    /// Whether a stdout line that is not a protocol line fails the trial (else it is kept as
    /// a log line with the stderr tail).
    public var strictStdout: Bool
    /// The study's objectives' metric names, which a protocol line may give instead of `value`
    /// (`TrialLine.parse`).
    public var objectives: [String]
    public init(memoryMB: Int? = nil, outputBytes: Int = 8 << 20, graceSeconds: Double = 5, strictStdout: Bool = true,
                objectives: [String] = []) {
        self.memoryMB = memoryMB; self.outputBytes = outputBytes; self.graceSeconds = graceSeconds; self.strictStdout = strictStdout
        self.objectives = objectives
    }
}

/// What a running job reports.
public enum TrialEvent: Sendable, Equatable {
    case line(TrialLine)
    /// The job broke the protocol or a limit; it is being killed. The trial fails with this reason.
    case violation(String)
    /// `stderrTail`: the last 4 KiB of stderr and of the stdout log lines, in arrival order.
    case exited(TrialExit, stderrTail: String)
}

/// How a trial job ended.
public enum TrialExit: Equatable, Sendable {
    case exited(code: Int32)
    case signaled(signal: Int32)
}

/// A job that could not be started (removed, misspelled or not executable program, a folder that
/// cannot be made): the trial fails with `description`.
public struct TrialStartFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
