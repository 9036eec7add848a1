import CSweepSpawn
import Foundation
import SweepCore
#if canImport(Glibc)
import Glibc
#endif

/// One running trial process (`LocalProcessExecutor`'s job): spawned with limits as the leader
/// of its own process group, its stdout parsed line by line into events, its stderr (and, unless
/// strict, the stdout lines that are not protocol lines) kept as a tail. One thread per running
/// trial (`ReaderThreads`: kept for the next trial once this one is reaped) polls both pipes and
/// then reaps the process. Thread-safe; events are delivered to `onEvent`, the last one always
/// `.exited`.
public final class TrialProcess: @unchecked Sendable {
    public let key: Int64
    public let pid: Int32
    let limits: TrialLimits
    private let lock = NSLock()
    private var stderrTail = Data()
    private var stopRequested = false
    private var reaped = false
    private let onEvent: @Sendable (Int64, TrialEvent) -> Void

    /// The program could not be started (the trial's failure, not the controller's).
    public struct SpawnFailure: Error, CustomStringConvertible {
        public var program: String
        public var errno: Int32
        public var cwd: String?
        public var description: String {
            let where_ = program.contains("/") ? (program.hasPrefix("/") || cwd == nil ? "" : " (relative to \(cwd!))") : " (searched on PATH)"
            return "cannot start '\(program)'\(where_): \(String(cString: strerror(errno)))"
        }
    }

    /// Starts `argv` with `stdin` written to its standard input and `env` added to the environment
    /// (`baseEnvironment`, by default this process's).
    public init(key: Int64, argv: [String], stdin: Data, env: [String: String], baseEnvironment: [String: String]? = nil,
                cwd: String? = nil, limits: TrialLimits, onEvent: @escaping @Sendable (Int64, TrialEvent) -> Void) throws {
        self.key = key; self.limits = limits; self.onEvent = onEvent
        var args = argv
        if let mb = limits.memoryMB {
            // The shell applies the address-space limit to itself and then becomes the command.
            args = ["/bin/sh", "-c", "ulimit -v \(mb * 1024) && exec \"$@\"", "sweep-trial"] + argv
        }
        var environment = baseEnvironment ?? ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        let envStrings = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0, inFD: Int32 = -1, outFD: Int32 = -1, errFD: Int32 = -1
        let rc = withCStrings(args) { cArgs in
            withCStrings(envStrings) { cEnv in
                if let cwd { return cwd.withCString { sweep_spawn(args[0], cArgs, cEnv, $0, &pid, &inFD, &outFD, &errFD) } }
                return sweep_spawn(args[0], cArgs, cEnv, nil, &pid, &inFD, &outFD, &errFD)
            }
        }
        guard rc == 0 else { throw SpawnFailure(program: argv[0], errno: rc, cwd: cwd) }
        self.pid = pid
        let (stdinFD, stdoutFD, stderrFD, childPID) = (inFD, outFD, errFD, pid)
        // stdin: written and closed (a command that does not read it gets EOF; EPIPE is ignored),
        // here when the new pipe takes it all at once (it holds 64 KB), else on a queue.
        signal(SIGPIPE, SIG_IGN)
        let blocking = fcntl(stdinFD, F_GETFL)
        _ = fcntl(stdinFD, F_SETFL, blocking | O_NONBLOCK)
        let written = Self.write(stdin, from: 0, to: stdinFD)
        if written == nil || written == stdin.count {
            close(stdinFD)
        } else {
            _ = fcntl(stdinFD, F_SETFL, blocking)
            DispatchQueue.global().async {
                _ = Self.write(stdin, from: written!, to: stdinFD)
                close(stdinFD)
            }
        }
        ReaderThreads.shared.run { [self] in
            pump(outFD: stdoutFD, errFD: stderrFD)
            close(stdoutFD); close(stderrFD)
            var status: Int32 = 0
            while waitpid(childPID, &status, 0) < 0 && errno == EINTR {}
            lock.lock(); reaped = true; let tail = String(decoding: stderrTail, as: UTF8.self); lock.unlock()
            let exit: TrialExit = (status & 0x7f) != 0 ? .signaled(signal: status & 0x7f) : .exited(code: (status >> 8) & 0xff)
            onEvent(key, .exited(exit, stderrTail: tail))
        }
    }

    /// Writes `data` from `offset` on to `fd` until it is all written or the pipe is full
    /// (`EAGAIN`); the offset reached, or nil when the reader is gone or another error ended it.
    private static func write(_ data: Data, from offset: Int, to fd: Int32) -> Int? {
        data.withUnsafeBytes { raw in
            var offset = offset
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno == EAGAIN ? offset : nil
                }
                offset += n
            }
            return offset
        }
    }

    /// Reads both pipes until both reach end of file.
    private func pump(outFD: Int32, errFD: Int32) {
        var fds = [pollfd(fd: outFD, events: Int16(POLLIN), revents: 0), pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)]
        var out = StdoutParser()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds.contains(where: { $0.fd >= 0 }) {
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 { if errno == EINTR { continue }; break }
            for i in 0..<fds.count where fds[i].fd >= 0 && fds[i].revents != 0 {
                let got = read(fds[i].fd, &buffer, buffer.count)
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { fds[i].fd = -1; continue }
                if i == 0 { consume(&out, buffer[0..<got]) } else { appendStderr(buffer[0..<got]) }
            }
        }
        finishStdout(&out)
    }

    private func appendStderr<C: Collection<UInt8>>(_ chunk: C) {
        lock.lock()
        stderrTail.append(contentsOf: chunk)
        if stderrTail.count > 4096 { stderrTail = stderrTail.suffix(4096) }
        lock.unlock()
    }

    struct StdoutParser {
        var buffer = Data()
        var total = 0
        var violated = false
    }

    private func consume(_ p: inout StdoutParser, _ chunk: ArraySlice<UInt8>) {
        if p.violated { return }  // drain until EOF
        p.total += chunk.count
        if p.total > limits.outputBytes {
            p.violated = true
            violation("printed more than \(limits.outputBytes) bytes on stdout")
            return
        }
        p.buffer.append(contentsOf: chunk)
        while let nl = p.buffer.firstIndex(of: 10) {
            let line = String(decoding: p.buffer[p.buffer.startIndex..<nl], as: UTF8.self)
            p.buffer.removeSubrange(p.buffer.startIndex...nl)
            if !handle(line) { p.violated = true; return }
        }
    }

    private func finishStdout(_ p: inout StdoutParser) {
        guard !p.violated, !p.buffer.isEmpty else { return }
        _ = handle(String(decoding: p.buffer, as: UTF8.self))
    }

    /// One stdout line: an event, a log line, or a violation (false).
    private func handle(_ line: String) -> Bool {
        do {
            if let parsed = try TrialLine.parse(Substring(line), objectives: limits.objectives) { onEvent(key, .line(parsed)) }
        } catch TrialLine.ParseError.notProtocol where !limits.strictStdout {
            appendStderr(Data((line + "\n").utf8))
        } catch {
            violation("\(error)")
            return false
        }
        return true
    }

    private func violation(_ reason: String) {
        onEvent(key, .violation(reason))
        kill()
    }

    /// Sends a signal to the trial's process group, unless the trial was already reaped (its pid
    /// may then belong to another process).
    private func signalGroup(_ sig: Int32) {
        lock.lock(); defer { lock.unlock() }
        if !reaped { Glibc.kill(-pid, sig) }
    }

    /// Asks the trial to stop (SIGTERM to its process group), then kills the group (SIGKILL)
    /// after the grace period.
    public func stop() {
        lock.lock()
        let first = !stopRequested
        stopRequested = true
        lock.unlock()
        guard first else { return }
        signalGroup(SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + limits.graceSeconds) { [self] in signalGroup(SIGKILL) }
    }

    /// Kills the trial's process group at once.
    public func kill() { signalGroup(SIGKILL) }

}

/// The threads that read and reap trial processes (`TrialProcess`). A thread that is done with
/// one trial waits for the next one (up to `idleSeconds`, then it ends), so a trial that starts
/// while another has just ended takes that thread instead of creating one: as many threads as
/// trials run at once.
final class ReaderThreads: @unchecked Sendable {
    static let shared = ReaderThreads()
    static let idleSeconds = 60.0
    private let condition = NSCondition()
    private var tasks: [@Sendable () -> Void] = []
    /// Threads waiting for a task.
    private var idle = 0
    /// Threads made so far (for the tests).
    private(set) var threadsMade = 0

    func run(_ task: @escaping @Sendable () -> Void) {
        condition.lock()
        tasks.append(task)
        // More tasks waiting than threads to take them: one more thread.
        let more = tasks.count > idle
        if more { threadsMade += 1 } else { condition.signal() }
        condition.unlock()
        if more { Thread.detachNewThread { [self] in work() } }
    }

    private func work() {
        condition.lock()
        while true {
            if !tasks.isEmpty {
                let task = tasks.removeFirst()
                condition.unlock()
                task()
                condition.lock()
                continue
            }
            idle += 1
            let deadline = Date().addingTimeInterval(Self.idleSeconds)
            var timedOut = false
            while tasks.isEmpty && !timedOut { timedOut = !condition.wait(until: deadline) }
            idle -= 1
            if tasks.isEmpty { break }
        }
        condition.unlock()
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Starts `argv` detached (a new session, output appended to `logPath`) and returns its pid: a
/// search that survives the terminal that started it.
public func spawnDetached(argv: [String], logPath: String) throws -> Int32 {
    var pid: pid_t = 0
    let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
    let rc = withCStrings(argv) { a in withCStrings(env) { e in sweep_spawn_detached(argv[0], a, e, logPath, &pid) } }
    guard rc == 0 else { throw RuntimeFailure("cannot start \(argv[0]) (log \(logPath)): \(String(cString: strerror(rc)))") }
    return pid
}
