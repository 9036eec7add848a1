import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepDaemon
import SweepRunner
import SweepSearch
import SweepStorage

/// `sweep status [STUDY]`: which searches run, their workers, trials per state, best so far.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show running and stored searches: state, trials per state, best so far.")
    @Argument(help: "Study name (default: every study).") var study: String?
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        let db = try openStore(store.db)
        if let study { _ = try findStudy(db, study, db: store.db) }
        let reports = try StudyStatusReport.all(db, named: study)
        let daemon = DaemonClient(db: store.db).health()
        if json {
            print(StudyStatusReport.json(reports))
            return
        }
        if let d = daemon {
            print("daemon pid \(d["pid"] ?? "?"): \(d["busy"] ?? 0) of \(d["workers"] ?? 0) workers busy")
        }
        if reports.isEmpty { print("no studies"); return }
        for o in reports {
            let counts = o.trials.sorted { $0.key < $1.key }.map { "\($0.key.lowercased()) \($0.value)" }.joined(separator: ", ")
            var line = "\(o.study): \(o.state), \(o.finished)/\(o.trialsTotal) finished"
            if !counts.isEmpty { line += " (\(counts))" }
            if let b = o.bestValue { line += ", best \(o.metric) \(String(format: "%.6g", b))" }
            if o.metrics.count > 1 { line += ", objectives \(o.metrics.joined(separator: ", ")) (the Pareto front: sweep leaderboard)" }
            if let pid = o.controllerPID { line += ", pid \(pid), \(o.workersBusy) workers busy" }
            if let why = o.stopReason { line += "; stopped: \(why)" }
            if o.state == "interrupted" { line += "; continues when a daemon starts (or \(suggest("resume", o.study, db: store.db)))" }
            if o.state == "stopped" { line += "; \(suggest("resume", o.study, db: store.db)) continues it" }
            print(line)
        }
    }
}

/// `sweep stop STUDY`: the search finishes cleanly; its running trials go back to the queue.
struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a running search cleanly (running trials are re-queued, not failed).")
    @Argument(help: "Study name.") var study: String
    @Option(parsing: .unconditional, help: "Seconds to wait for the search to stop.") var wait: Double = 60
    @OptionGroup var store: StoreOptions

    func run() throws {
        let db = try openStoreForWriting(store.db)
        let s = try findStudy(db, study, db: store.db)
        guard s.isRunning() else {
            // Nothing runs it: a stopped or finished study stays as it is; an interrupted one is
            // marked stopped, so no daemon takes it up again.
            if s.status == .running {
                try db.updateStudy(id: s.id, status: .stopped)
                print("stopped \(s.name) (it was interrupted; no daemon takes it up now); \(suggest("resume", s.name, db: store.db)) continues it")
            } else {
                print("study \(s.name) is already \(s.status.rawValue); nothing to stop")
            }
            return
        }
        // The daemon of this database runs it (among others): it stops this study only. Else (a
        // foreground search, a daemon elsewhere) the study is marked stopped in the store, which
        // its controller checks every second (`StudyController.tick`); no process is signalled.
        let client = DaemonClient(db: store.db)
        let asked = client.daemonPID() == nil ? nil : try? client.stop(study: s.name)
        if asked?.status != 202 {
            if let asked, asked.status != 409 { try checkAPI(asked, expect: 202) }
            try db.updateStudy(id: s.id, status: .stopped)
        }
        let deadline = Date().addingTimeInterval(wait)
        while Date() < deadline {
            if let now = try db.study(named: s.name), !now.isRunning() { break }
            usleep(50_000)
        }
        guard let now = try db.study(named: s.name), !now.isRunning() else {
            throw RuntimeFailure("study '\(s.name)' is still stopping after \(wait == wait.rounded() ? "\(Int(wait))" : "\(wait)") s: its run (pid \(s.controllerPID ?? 0)) ends once its trials have exited; \(suggest("status", s.name, db: store.db)) shows when it has")
        }
        let finished = try db.trials(studyID: s.id).filter { $0.record.state.isFinished }.count
        print("stopped \(s.name): \(finished) of \(now.trialsTotal) trials finished; \(suggest("resume", s.name, db: store.db)) continues it")
    }
}

/// `sweep resume STUDY`: runs a stopped or interrupted study on to its total, from the search
/// space and options stored with it.
struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a stopped or interrupted study (in the daemon, followed like `sweep start`).")
    @Argument(help: "Study name.") var study: String
    @OptionGroup var how: RunAgainOptions
    @OptionGroup var store: StoreOptions

    func run() throws {
        let db = try openStore(store.db)
        try runAgain(try findStudy(db, study, db: store.db), how, store: db, db: store.db)
    }
}

/// How `sweep resume` and `sweep retry` run a stored study again.
struct RunAgainOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Trial processes at once (default: as it was started).") var workers: Int?
    @Option(help: "Where data sets live (default: as it was started).") var dataDir: String?
    @Flag(help: "Return at once; the daemon runs the study.") var detach = false
    @Flag(help: "Run the study in this process (no daemon).") var foreground = false

    func validate() throws {
        if let m = RunOptions.workersProblem(workers) { throw ValidationError("--" + m) }
        if detach && foreground { throw ValidationError("--detach and --foreground cannot be used together") }
    }
}

/// Runs a stored study on to its total, as it was started: in the daemon (followed unless
/// `--detach`) or in this process; a study that already runs is followed. A study stopped a
/// moment ago whose run is still ending (`stopped`, its lease held) runs again once that run
/// has ended: the daemon waits for it, and so does a foreground run.
func runAgain(_ s: StudyRecord, _ how: RunAgainOptions, store: any TrialStore, db: String) throws {
    var s = s
    if s.isEnding() && how.foreground {
        let deadline = Date().addingTimeInterval(Daemon.endingWait)
        while s.isRunning() && Date() < deadline {
            usleep(50_000)
            s = try findStudy(store, s.name, db: db)
        }
        if s.isRunning() {
            throw RuntimeFailure("study '\(s.name)' is still ending its last run (pid \(s.controllerPID ?? 0)); resume it again in a moment")
        }
    }
    if s.isRunning() && s.status == .running {
        // Already running (in the daemon or a foreground search): follow it instead.
        if how.foreground {
            throw InputError(file: db, field: "STUDY", "study '\(s.name)' is already running (pid \(s.controllerPID ?? 0)); --foreground cannot run it a second time")
        }
        print("study \(s.name) is already running (pid \(s.controllerPID ?? 0))")
        if how.detach { return }
        try follow(store, db: db, study: s.name, seen: try finishedNumbers(store, study: s.name))
        return
    }
    if how.foreground {
        var d = try StudyDefinition(s, dbPath: db, trialExecutable: CommandLine.selfExecutable,
                                    dataDir: absolute(DataDirectory.resolve(how.dataDir)))
        if let workers = how.workers { d.options.workers = workers }
        if let dataDir = how.dataDir { d.options.dataDir = absolute(dataDir) }
        try d.options.keepEnvironment(d.spec.envKeep, from: ProcessInfo.processInfo.environment, file: s.spacePath)
        try runSearch(spec: d.spec, options: d.options)
        return
    }
    let request = ResumeRequest(workers: how.workers, dataDir: how.dataDir.map(absolute), env: ProcessInfo.processInfo.environment)
    let seen = how.detach ? [] : try finishedNumbers(store, study: s.name)
    let (client, r) = try daemonRequest(db: db) { try $0.resume(study: s.name, request) }
    try checkAPI(r, expect: 202)
    if how.detach {
        print("study \(s.name) runs in the daemon (pid \(client.daemonPID() ?? 0)); log \(client.paths.log)")
        return
    }
    try follow(store, db: db, study: s.name, seen: seen)
}

/// A study name as one URL path component.

/// `sweep logs STUDY [--trial N]`: what the trials said: states, reasons, stderr tails.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a study's log (--follow: as it grows), or one trial's parameters, reports, exit and stderr tail.")
    @Argument(help: "Study name.") var study: String
    @Option(parsing: .unconditional, help: "One trial's details.") var trial: Int?
    @Flag(name: [.customShort("f"), .long], help: "Keep printing new log lines and finished trials until the study's run ends.") var follow = false
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if follow && trial != nil { throw ValidationError("--follow shows the study's log; it cannot be used with --trial") }
    }

    func run() throws {
        let db = try openStore(store.db)
        let s = try findStudy(db, study, db: store.db)
        if let n = trial {
            guard let t = try db.trial(studyID: s.id, number: n) else {
                throw InputError(file: store.db, field: "--trial", "study '\(s.name)' has no trial \(n)")
            }
            let space = try storedSpec(s).space.adoptingStoredNames(Set(t.record.params.keys))
            print("trial \(n) of \(s.name): \(t.record.state.rawValue)\(t.record.value.map { ", value \($0)" } ?? "")")
            print("seed \(t.seed), attempts \(t.attempts)\(t.exitStatus.map { ", exit status \($0)" } ?? "")\(t.durationSeconds.map { String(format: ", %.1f s", $0) } ?? "")")
            let attrs = try db.trialSystemAttributes(trialID: t.trialID)
            if let k = attrs[TrialAttribute.resumedFromEpoch] {
                print("resumed from the checkpoint of epoch \(k) (attempt \(t.attempts))")
            }
            if let k = attrs[TrialAttribute.pausedAtEpoch] { print("paused at epoch \(k), waiting for a promotion") }
            if let d = attrs[TrialAttribute.pbtDonor], let e = attrs[TrialAttribute.pbtEpoch] {
                print("population-based training: started from trial \(d)'s checkpoint of epoch \(e)")
            }
            if let x = attrs[TrialAttribute.pbtExploited] {
                print("population-based training: exploited, continued by trial \(x)")
            } else if let e = attrs[TrialAttribute.pbtExploit].flatMap(TrialAttribute.pbtExploit(fromJSON:)) {
                print("population-based training: exploited at epoch \(e.epoch) for trial \(e.donor)'s checkpoint; "
                      + "the trial that continues it starts when the study runs again")
            }
            if let w = attrs[TrialAttribute.worker] {
                print("worker: \(w.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))")
            }
            if let r = t.reason { print("reason: \(r)") }
            // Stored when the trial finishes; a running trial's folder is where every attempt puts it.
            let folder = t.artifactDir ?? TrialFolder.trial(db: store.db, study: s.name, number: n)
            if FileManager.default.fileExists(atPath: folder) { print("artifacts: \(folder)") }
            print("parameters:")
            let ext = space.external(t.record.params)
            for p in space.parameters { if let v = ext[p.name] { print("  \(p.name) = \(v)") } }
            if !t.record.intermediate.isEmpty {
                print("reports (\(s.metric) per epoch):")
                for (step, v) in t.record.intermediate.sorted(by: { $0.key < $1.key }) { print("  \(step)  \(v)") }
            }
            if let tail = t.stderrTail, !tail.isEmpty { print("output (last 4 KB of stderr and of stdout lines that are not protocol lines):"); print(tail, terminator: tail.hasSuffix("\n") ? "" : "\n") }
            return
        }
        // The daemon's log lines about this study, then every trial's state.
        let daemonLog = DaemonPaths(db: store.db).log
        let matcher = StudyLogLines(study: s.name)
        var offset = 0
        if let data = FileManager.default.contents(atPath: daemonLog) {
            offset = data.count
            let lines = matcher.lines(in: data)
            if !lines.isEmpty {
                print("== \(daemonLog) (study=\(matcher.quoted))")
                for l in lines { print(l) }
                print("==")
            }
        }
        let (listed, firstCursor) = try db.trials(studyID: s.id, changedSince: nil)
        for t in listed { print(Self.line(t)) }
        guard follow else { return }
        // New log lines and trial states as they come, until the study's run ends; the daemon's
        // log has a line per finished trial of the studies it runs, so the store's are printed
        // only for a study another process runs (a foreground search).
        let inDaemon = s.controllerPID != nil && DaemonClient(db: store.db).daemonPID() == s.controllerPID
        var shown = Set(listed.filter { $0.record.state.isFinished }.map(\.record.number))
        var cursor = firstCursor
        let interrupt = SignalStopper { Glibc.exit(0) }
        defer { interrupt.cancel() }
        // Its end is signalled at once; the log and the trials are read at least every 0.5 s.
        let watch = try db.watchStudies()
        defer { watch.close() }
        while true {
            // Its end is its stored status (signalled; the lease is released a moment later); a
            // stopped study's run ends once its trials have exited (`stopping`: its lease held).
            let running = try db.study(named: s.name).map { $0.isRunning() && $0.status != .finished } ?? false
            if let h = FileHandle(forReadingAtPath: daemonLog) {
                try h.seek(toOffset: UInt64(offset))
                let data = h.readDataToEndOfFile()
                try? h.close()
                // Only whole lines; a partly written last line is read on the next poll.
                if let lastNewline = data.lastIndex(of: 10) {
                    let whole = data[data.startIndex...lastNewline]
                    offset += whole.count
                    for l in matcher.lines(in: Data(whole)) { print(l) }
                }
            }
            if !inDaemon {
                // Only the trials changed since the last poll (`shown` keeps each finished one to one line).
                let changed = try db.trials(studyID: s.id, changedSince: cursor)
                cursor = changed.cursor
                for t in changed.trials where t.record.state.isFinished && shown.insert(t.record.number).inserted { print(Self.line(t)) }
            }
            if !running { break }
            _ = watch.wait(timeout: 0.5)
        }
    }

    static func line(_ t: StoredTrial) -> String {
        var line = "trial \(t.record.number) \(t.record.state.rawValue.lowercased())"
        if let v = t.record.value { line += "  value \(v)" }
        if let e = t.epochsRun { line += "  epochs \(e)" }
        if let r = t.reason { line += "  (\(r))" }
        return line
    }
}

/// Picks a study's lines out of the daemon's log (`study=NAME` metadata, quoted when needed).
struct StudyLogLines {
    let quoted: String
    init(study: String) {
        quoted = study.contains(" ") || study.contains("\"") ? "\"" + study.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : study
    }
    func lines(in data: Data) -> [Substring] {
        String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.contains(" study=\(quoted) ") || $0.hasSuffix(" study=\(quoted)") }
    }
}
