import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepDaemon
import SweepRunner
import SweepSearch
import SweepStorage

/// `sweep serve`: the daemon in the foreground of this process.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon of a database: searches as a service, its JSON API on a Unix socket beside it.",
        discussion: """
            Each database has its own daemon: for results/sweep.db the socket is results/sweep.sock and the log \
            results/logs/sweep.daemon.log (for r.db: r.sock, logs/r.daemon.log). SIGTERM or Ctrl-C shuts it down \
            cleanly: running trials are stopped and re-queued, and the next daemon continues their studies. \
            `sweep start` starts a daemon by itself when none runs (with --idle-timeout 600).
            """)
    @Option(parsing: .unconditional, help: "Trial processes at once, shared by every search (default: the number of cores).") var workers: Int?
    @Option(help: "Also serve the API on HTTP: PORT or HOST:PORT (loopback unless --token is given).") var http: String?
    @Option(help: "The HTTP API's bearer token (at least 16 characters; default: random, in results/<db>.daemon.token).") var token: String?
    @Option(help: "Read the HTTP token from this file.") var tokenFile: String?
    @Option(parsing: .unconditional, help: "Exit after this many seconds with no search running and no request.") var idleTimeout: Double?
    @Option(help: "Where data sets live, for searches that do not say.") var dataDir: String?
    @Flag(help: "Also write the log to stderr.") var verbose = false
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if let m = RunOptions.workersProblem(workers) { throw ValidationError("--" + m) }
        if let t = idleTimeout, !(t > 0) { throw ValidationError("--idle-timeout must be a positive number of seconds") }
        if token != nil && tokenFile != nil { throw ValidationError("--token and --token-file cannot be used together") }
        if (token != nil || tokenFile != nil) && http == nil { throw ValidationError("--token needs --http") }
    }

    func run() throws {
        var token = self.token
        if let f = tokenFile {
            guard let text = try? String(contentsOfFile: f, encoding: .utf8) else { throw InputError(file: f, field: "--token-file", "cannot read the file") }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let config = DaemonConfig(dbPath: absolute(store.db), workers: workers ?? ProcessInfo.processInfo.activeProcessorCount,
                                  trialExecutable: CommandLine.selfExecutable, dataDir: absolute(DataDirectory.resolve(dataDir)),
                                  http: http, token: token, idleTimeout: idleTimeout, echoLog: verbose)
        let daemon = try Daemon(config: config)
        print("sweep daemon pid \(getpid()): \(daemon.paths.db), socket \(daemon.paths.socket), log \(daemon.paths.log)")
        if http != nil && token == nil { print("HTTP token in \(daemon.paths.token)") }
        fflush(stdout)
        let done = DispatchSemaphore(value: 0)
        let failure = Box()
        Task {
            do { try await daemon.run() } catch { failure.error = error }
            done.signal()
        }
        done.wait()
        if let e = failure.error { throw e }
    }

    final class Box: @unchecked Sendable { var error: (any Error)? }
}

/// `sweep shutdown`: stops the daemon of a database cleanly.
struct Shutdown: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the daemon cleanly (running trials are re-queued; its searches continue when a daemon starts again).")
    @Option(parsing: .unconditional, help: "Seconds to wait for it to exit.") var wait: Double = 60
    @OptionGroup var store: StoreOptions

    func run() throws {
        let client = DaemonClient(db: store.db)
        guard let pid = client.daemonPID() else { print("no daemon runs for \(client.paths.db)"); return }
        let r = try client.shutdown()
        guard r.status == 202 else { throw RuntimeFailure("the daemon refused to shut down: \(r.body)") }
        let deadline = Date().addingTimeInterval(wait)
        while client.daemonPID() != nil && Date() < deadline { usleep(50_000) }
        guard client.daemonPID() == nil else { throw RuntimeFailure("the daemon (pid \(pid)) did not exit within \(Int(wait)) s") }
        print("daemon pid \(pid) stopped")
    }
}

/// The daemon of `db`, started detached (surviving this terminal) when none runs.
func ensureDaemon(db: String, workers: Int?) throws -> DaemonClient {
    let client = DaemonClient(db: db)
    if client.health() != nil { return client }
    let paths = client.paths
    if let r = try? client.request("GET", "/v1/health", timeout: 5), r.status == 421 {
        throw InputError(file: paths.db, field: "--db",
                         "another database's daemon answers on \(paths.socket) (its file name differs only in its extension); rename one of the two databases")
    }
    try Folders.create(paths.results + "/logs", field: "--db")
    // An auto-started daemon exits when idle (SWEEP_DAEMON_IDLE_TIMEOUT seconds, default 600).
    let idle = ProcessInfo.processInfo.environment["SWEEP_DAEMON_IDLE_TIMEOUT"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 600
    // A URL goes to the daemon in its environment (SWEEP_DB), so its password is not on a command line.
    var args = [CommandLine.selfExecutable, "serve", "--idle-timeout", "\(idle)"]
    if PostgresLocation.isURL(db) { setenv("SWEEP_DB", db, 1) } else { args += ["--db", paths.db] }
    if let workers { args += ["--workers", "\(workers)"] }
    let out = paths.startLog
    let pid = try spawnDetached(argv: args, logPath: out)
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        if client.health() != nil {
            FileHandle.standardError.write("started the sweep daemon (pid \(pid)); log \(paths.log)\n".data(using: .utf8)!)
            return client
        }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            // It exited: another daemon may have won the race for the lock; else say why.
            if client.health() != nil { return client }
            let tail = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").suffix(5).joined(separator: "\n")
            throw RuntimeFailure("the daemon could not start:\n\(tail)")
        }
        usleep(50_000)
    }
    throw RuntimeFailure("the daemon (pid \(pid)) did not answer within 20 s; see \(out)")
}

/// Sends `call` to the daemon of `db` (started if none runs). A daemon that is just shutting
/// down (its idle timeout: it answers 503) is waited for and replaced, once.
func daemonRequest(db: String, _ call: (DaemonClient) throws -> APIResponse) throws -> (DaemonClient, APIResponse) {
    for attempt in 0..<2 {
        let client = try ensureDaemon(db: db, workers: nil)
        let r: APIResponse
        do { r = try call(client) } catch is DaemonUnavailable where attempt == 0 {
            waitForExit(client); continue
        }
        if r.status == 503 && attempt == 0 { waitForExit(client); continue }
        return (client, r)
    }
    throw RuntimeFailure("the daemon kept shutting down; start one with `sweep serve`")
}

private func waitForExit(_ client: DaemonClient) {
    let deadline = Date().addingTimeInterval(30)
    while client.daemonPID() != nil && Date() < deadline { usleep(50_000) }
}

/// How often a follower looks at a running study without a signal: for the trials that finish
/// (a trial's write signals nothing on PostgreSQL), and in case a signal was lost.
let followInterval = 0.1

/// Turns a refused API request into the CLI's errors (exit 2 for bad input, 1 otherwise).
func checkAPI(_ r: APIResponse, expect: Int) throws {
    guard r.status != expect else { return }
    let message = ((try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any])?["error"] as? String ?? r.body
    if (400..<500).contains(r.status) { throw InputError(message) }
    throw RuntimeFailure("the daemon answered \(r.status): \(message)")
}

/// Follows a study the daemon runs until it ends: a line per finished trial, a progress line on a
/// terminal, the leaderboard at the end. Ctrl-C stops following, not the search. `seen`: the
/// trials that had finished before (not printed). It looks when the store signals a study change
/// (`watchStudies`: the study's end is seen at once) and otherwise every `followInterval`; a look
/// reads the study's row and only the trials changed since the last look
/// (`trials(studyID:changedSince:)`: no clock is compared, so trials finished by hosts whose
/// clocks differ are not missed), and keeps its own copy of them for the counts and the final
/// leaderboard, so it costs the database little however large the study or the database.
func follow(_ store: any TrialStore, db: String, study name: String, seen initial: Set<Int>) throws {
    // Before the first read, so that an end committed after it is signalled.
    let watch = try store.watchStudies()
    defer { watch.close() }
    guard var study = try store.study(named: name) else { throw RuntimeFailure("study '\(name)' is not in \(db)") }
    let interrupt = SignalStopper {
        FileHandle.standardError.write("\nstopped following; study \(name) goes on in the daemon (\(suggest("status", name, db: db)), \(suggest("stop", name, db: db)))\n".data(using: .utf8)!)
        exit(0)
    }
    defer { interrupt.cancel() }
    let printer = ProgressPrinter()
    let began = Date()
    var seen = initial
    var cursor: TrialChangeCursor? = nil
    // Every trial as last read: the first read is of all of them, the later ones of those changed
    // since, so this is the study's trials as a full read would give them.
    var trials: [Int: StoredTrial] = [:]
    print("study \(name): \(seen.count) of \(study.trialsTotal) trials finished so far; following it in the daemon (Ctrl-C stops following, not the search)")
    while true {
        // The study first: a trial finishing between the two reads is printed on the next look.
        guard let now = try store.study(id: study.id) else { break }
        study = now
        let changed = try store.trials(studyID: study.id, changedSince: cursor)
        cursor = changed.cursor
        for t in changed.trials { trials[t.record.number] = t }
        let report = StudyStatusReport(study: study, trials: trials.values.lazy.map(\.record))
        for t in changed.trials.filter({ $0.record.state.isFinished })
            .sorted(by: { ($0.datetimeComplete ?? .distantPast, $0.record.number) < ($1.datetimeComplete ?? .distantPast, $1.record.number) }) {
            guard seen.insert(t.record.number).inserted else { continue }
            printer.trialFinished(number: t.record.number, state: t.record.state, value: t.record.value, reason: t.reason,
                                  progress: RunProgress(report, elapsed: Date().timeIntervalSince(began), already: initial.count))
        }
        // Its end is its stored status (the lease is released a moment later); a stopped study's
        // run ends once its trials have exited and gone back to the queue.
        if report.state != "running" && report.state != "stopping" { break }
        printer.tick(RunProgress(report, elapsed: Date().timeIntervalSince(began), already: initial.count))
        _ = watch.wait(timeout: followInterval)
    }
    printer.finish()
    let spec = try storedSpec(study)
    print("")
    // The last look read the trials after the study's end was stored: none changes after it.
    let final = trials.values.sorted { $0.record.number < $1.record.number }
    print(Leaderboard(trials: final, space: spec.space, study: study).table(top: 10, study: study.name, metric: study.metric))
    switch study.status {
    case .finished:
        if let why = study.stopReason { print("finished: \(why)") }
        try checkSomeTrialSucceeded(final, study: study.name, db: db)
    case .stopped:
        if let why = study.stopReason {
            throw RuntimeFailure("the search stopped: \(why)\nfix the cause, then \(suggest("resume", study.name, db: db)) continues it")
        }
        try checkSomeTrialSucceeded(final, study: study.name, db: db)
        print("stopped: \(suggest("resume", study.name, db: db)) continues the study")
    case .running:
        let daemonAlive = DaemonClient(db: db).daemonPID() != nil
        if let why = study.stopReason {
            throw RuntimeFailure("the daemon ended this study's run: \(why)\nit continues when a daemon starts again or with \(suggest("resume", study.name, db: db)); the daemon's log: \(DaemonPaths(db: db).log)")
        }
        throw RuntimeFailure(daemonAlive
            ? "the daemon ended this study's run without a reason; see its log \(DaemonPaths(db: db).log); \(suggest("resume", study.name, db: db)) continues it"
            : "the daemon stopped before the study ended; it continues when a daemon starts again (\(suggest("resume", study.name, db: db)))")
    }
}
