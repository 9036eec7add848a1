import Foundation
import SweepCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs trial jobs as processes on this machine (`TrialProcess`), under the `TrialExecutor`
/// contract. A job without a base environment of its own starts from this process's
/// environment as it was when the executor was made (read once, not for every trial).
public final class LocalProcessExecutor: TrialExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var processes: [Int64: TrialProcess] = [:]
    private let processEnvironment = ProcessInfo.processInfo.environment

    public init() {}

    public func start(_ job: TrialJob, onEvent: @escaping @Sendable (Int64, TrialEvent) -> Void) throws -> Int32? {
        if let folder = job.folder {
            do { try Self.makeFolder(folder) } catch {
                throw TrialStartFailure("its checkpoint folder could not be made: \(error)")
            }
        }
        // Holding the lock while the process starts keeps its exit (on its reader thread) from
        // being seen before it is registered.
        lock.lock(); defer { lock.unlock() }
        do {
            let p = try TrialProcess(key: job.id, argv: job.argv, stdin: job.stdin, env: job.env, baseEnvironment: job.baseEnvironment ?? processEnvironment,
                                     cwd: job.cwd, limits: job.limits) { [weak self] key, event in
                if case .exited = event { self?.forget(key) }
                onEvent(key, event)
            }
            processes[job.id] = p
            return p.pid
        } catch let e as TrialProcess.SpawnFailure {
            throw TrialStartFailure(e.description)
        }
    }

    private func forget(_ id: Int64) { lock.withLock { processes[id] = nil } }

    private func process(_ id: Int64) -> TrialProcess? { lock.withLock { processes[id] } }

    public func stop(_ id: Int64) { process(id)?.stop() }

    public func kill(_ id: Int64) { process(id)?.kill() }

    /// Kills the process group `pid` leads, if it still exists and is led by that process (a
    /// trial's group id is its pid).
    public func endLeftover(pid: Int32) {
        guard pid > 1, getpgid(pid) == pid else { return }
        Glibc.kill(-pid, SIGKILL)
    }

    /// Makes a trial's folder: one or two `mkdir`s when it is new and its grandparent exists (a
    /// first attempt of every trial but a study's first), else `Folders.create` (every parent,
    /// an existing folder, errors that name the path).
    static func makeFolder(_ path: String) throws {
        if mkdir(path, 0o755) == 0 { return }
        if errno == ENOENT, let slash = path.lastIndex(of: "/"), slash > path.startIndex,
           mkdir(String(path[..<slash]), 0o755) == 0, mkdir(path, 0o755) == 0 { return }
        try Folders.create(path)
    }
}
