import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a trial ended, as the process pool saw it.
public enum TrialExit: Equatable, Sendable {
    case exited(code: Int32)
    case signaled(signal: Int32)
}

/// One running trial process: spawned with limits, its stdout parsed line by line into events,
/// its stderr kept as a tail. Thread-safe; events are delivered to `events`.
public final class TrialProcess: @unchecked Sendable {
    public struct Limits: Sendable {
        public var timeout: Double?
        public var memoryMB: Int?
        public var outputBytes: Int
        public var graceSeconds: Double
        public init(timeout: Double? = nil, memoryMB: Int? = nil, outputBytes: Int = 8 << 20, graceSeconds: Double = 5) {
            self.timeout = timeout; self.memoryMB = memoryMB; self.outputBytes = outputBytes; self.graceSeconds = graceSeconds
        }
    }

    public enum Event: Sendable {
        case line(TrialLine)
        /// The process broke the protocol or a limit; it is being killed. The trial fails with this reason.
        case violation(String)
        case exited(TrialExit, stderrTail: String)
    }

    public let key: Int64
    let process = Process()
    let limits: Limits
    let startedAt = Date()
    private let lock = NSLock()
    private var stderrTail = Data()
    private var stopRequested = false
    private var killScheduled = false
    private let onEvent: @Sendable (Int64, Event) -> Void
    private let done = DispatchGroup()

    public var pid: Int32 { process.processIdentifier }
    public var wasStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopRequested }

    /// Starts `argv` with `stdin` written to its standard input and `env` added to the environment.
    public init(key: Int64, argv: [String], stdin: Data, env: [String: String], cwd: String? = nil, limits: Limits,
                onEvent: @escaping @Sendable (Int64, Event) -> Void) throws {
        self.key = key; self.limits = limits; self.onEvent = onEvent
        if let mb = limits.memoryMB {
            // The shell applies the address-space limit to itself and then becomes the command.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -v \(mb * 1024) && exec \"$@\"", "sweep-trial"] + argv
        } else {
            process.executableURL = URL(fileURLWithPath: argv[0].contains("/") ? argv[0] : "/usr/bin/env")
            process.arguments = argv[0].contains("/") ? Array(argv.dropFirst()) : argv
        }
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        process.environment = environment
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        process.standardInput = inPipe; process.standardOutput = outPipe; process.standardError = errPipe
        try process.run()
        // stdin: write and close (a command that does not read it gets EOF, or SIGPIPE is ignored).
        let input = inPipe.fileHandleForWriting
        DispatchQueue.global().async {
            signal(SIGPIPE, SIG_IGN)
            try? input.write(contentsOf: stdin)
            try? input.close()
        }
        done.enter(); done.enter()
        let outHandle = outPipe.fileHandleForReading, errHandle = errPipe.fileHandleForReading
        Thread.detachNewThread { [self] in readStdout(outHandle); done.leave() }
        Thread.detachNewThread { [self] in readStderr(errHandle); done.leave() }
        Thread.detachNewThread { [self] in
            process.waitUntilExit()
            done.wait()
            let exit: TrialExit = process.terminationReason == .uncaughtSignal
                ? .signaled(signal: process.terminationStatus) : .exited(code: process.terminationStatus)
            lock.lock(); let tail = String(decoding: stderrTail, as: UTF8.self); lock.unlock()
            onEvent(key, .exited(exit, stderrTail: tail))
        }
    }

    private func readStdout(_ h: FileHandle) {
        var buffer = Data()
        var total = 0
        var violated = false
        while true {
            let chunk = h.availableData
            if chunk.isEmpty { break }
            if violated { continue }  // drain until EOF
            total += chunk.count
            if total > limits.outputBytes {
                violated = true
                violation("printed more than \(limits.outputBytes) bytes on stdout")
                continue
            }
            buffer.append(chunk)
            while let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                do {
                    if let parsed = try TrialLine.parse(Substring(line)) { onEvent(key, .line(parsed)) }
                } catch TrialLine.ParseError.notANumber(let step) {
                    violated = true
                    violation(step.map { "reported NaN at step \($0)" } ?? "reported NaN as its final value")
                    break
                } catch {
                    violated = true
                    violation("printed something that is not a protocol line: \(line.prefix(120))")
                    break
                }
            }
        }
        if !violated, !buffer.isEmpty {
            let line = String(decoding: buffer, as: UTF8.self)
            if let parsed = try? TrialLine.parse(Substring(line)) { onEvent(key, .line(parsed)) }
            else if !line.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                violation("printed something that is not a protocol line: \(line.prefix(120))")
            }
        }
    }

    private func readStderr(_ h: FileHandle) {
        while true {
            let chunk = h.availableData
            if chunk.isEmpty { break }
            lock.lock()
            stderrTail.append(chunk)
            if stderrTail.count > 4096 { stderrTail = stderrTail.suffix(4096) }
            lock.unlock()
        }
    }

    private func violation(_ reason: String) {
        onEvent(key, .violation(reason))
        kill()
    }

    /// Asks the trial to stop (SIGTERM), then kills it (SIGKILL) after the grace period.
    public func stop() {
        lock.lock()
        let first = !stopRequested
        stopRequested = true
        lock.unlock()
        guard first, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGTERM)
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + limits.graceSeconds) { [weak self] in
            guard let self, self.process.isRunning else { return }
            Glibc.kill(pid, SIGKILL)
        }
    }

    /// Kills the trial at once.
    public func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    public var elapsed: Double { Date().timeIntervalSince(startedAt) }
}
