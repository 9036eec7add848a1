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
            if let pid = o.controllerPID { line += ", pid \(pid), \(o.workersBusy) workers busy" }
            if let why = o.stopReason { line += "; stopped: \(why)" }
            if o.state == "interrupted" { line += "; continues when a daemon starts (or `sweep resume \(o.study)`)" }
            if o.state == "stopped" { line += "; `sweep resume \(o.study)` continues it" }
            print(line)
        }
    }
}

/// `sweep stop STUDY`: the search finishes cleanly; its running trials go back to the queue.
struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a running search cleanly (running trials are re-queued, not failed).")
    @Argument(help: "Study name.") var study: String
    @Option(help: "Seconds to wait for the search to stop.") var wait: Double = 60
    @OptionGroup var store: StoreOptions

    func run() throws {
        let db = try openStore(store.db)
        let s = try findStudy(db, study, db: store.db)
        guard s.isRunning(), let pid = s.controllerPID else {
            throw InputError(file: store.db, field: "STUDY", "study '\(s.name)' is not running")
        }
        guard s.controllerHost == ProcessInfo.processInfo.hostName else {
            throw InputError(field: "STUDY", "study '\(s.name)' runs on \(s.controllerHost ?? "?"), not on this machine")
        }
        let client = DaemonClient(db: store.db)
        if client.daemonPID() == pid {
            // The daemon runs it (among others): ask it to stop this study only.
            try checkAPI(try client.request("POST", "/v1/studies/" + pathComponent(s.name) + "/stop"), expect: 202)
        } else {
            kill(pid, SIGTERM)   // a foreground `sweep start --foreground`
        }
        let deadline = Date().addingTimeInterval(wait)
        while Date() < deadline {
            if let now = try db.study(named: s.name), !now.isRunning() || now.status != .running { break }
            usleep(50_000)
        }
        guard let now = try db.study(named: s.name), !now.isRunning() || now.status != .running else {
            throw RuntimeFailure("study '\(s.name)' (pid \(pid)) did not stop within \(Int(wait)) s")
        }
        let finished = try db.trials(studyID: s.id).filter { $0.record.state.isFinished }.count
        print("stopped \(s.name): \(finished) of \(now.trialsTotal) trials finished; `sweep resume \(s.name)` continues it")
    }
}

/// `sweep resume STUDY`: runs a stopped or interrupted study on to its total, from the search
/// space and options stored with it.
struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a stopped or interrupted study (in the daemon, followed like `sweep start`).")
    @Argument(help: "Study name.") var study: String
    @Option(help: "Trial processes at once (default: as it was started).") var workers: Int?
    @Option(help: "Where data sets live (default: as it was started).") var dataDir: String?
    @Flag(help: "Return at once; the daemon runs the study.") var detach = false
    @Flag(help: "Run the study in this process (no daemon).") var foreground = false
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if let m = RunOptions.workersProblem(workers) { throw ValidationError("--" + m) }
        if detach && foreground { throw ValidationError("--detach and --foreground cannot be used together") }
    }

    func run() throws {
        let db = try openStore(store.db)
        let s = try findStudy(db, study, db: store.db)
        if s.isRunning() { throw InputError(file: store.db, field: "STUDY", "study '\(s.name)' is already running (pid \(s.controllerPID ?? 0))") }
        if foreground {
            var options = RunOptions.stored(s, dbPath: store.db, trialExecutable: CommandLine.selfExecutable,
                                            dataDir: absolute(DataDirectory.resolve(dataDir)))
            if let workers { options.workers = workers }
            if let dataDir { options.dataDir = absolute(dataDir) }
            let spec = try StudySpec.parse(s.spaceText, file: s.spacePath, overrides: options.overrides)
            try runSearch(spec: spec, options: options)
            return
        }
        var body: [String: Any] = ["env": ProcessInfo.processInfo.environment]
        if let workers { body["workers"] = workers }
        if let dataDir { body["data_dir"] = absolute(dataDir) }
        let seen = try existingFinished(db: store.db, study: s.name)
        let (client, r) = try daemonRequest(db: store.db, "POST", "/v1/studies/" + pathComponent(s.name) + "/resume",
                                            json: try JSONSerialization.data(withJSONObject: body))
        try checkAPI(r, expect: 202)
        if detach {
            print("study \(s.name) runs in the daemon (pid \(client.daemonPID() ?? 0)); log \(client.paths.log)")
            return
        }
        try follow(db: store.db, study: s.name, seen: Set(seen))
    }
}

/// A study name as one URL path component.
func pathComponent(_ name: String) -> String {
    name.addingPercentEncoding(withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? name
}

/// Where the results of a study live: `<db folder>/<study>/` (replay's artifacts; study names are
/// made one safe path component, so nothing escapes the database's folder).
func resultsFolder(db: String) -> String { (absolute(db) as NSString).deletingLastPathComponent }

/// `sweep logs STUDY [--trial N]`: what the trials said: states, reasons, stderr tails.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a study's log, or one trial's parameters, reports, exit and stderr tail.")
    @Argument(help: "Study name.") var study: String
    @Option(help: "One trial's details.") var trial: Int?
    @OptionGroup var store: StoreOptions

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
            if let r = t.reason { print("reason: \(r)") }
            if let a = t.artifactDir { print("artifacts: \(a)") }
            print("parameters:")
            let ext = space.external(t.record.params)
            for p in space.parameters { if let v = ext[p.name] { print("  \(p.name) = \(v)") } }
            if !t.record.intermediate.isEmpty {
                print("reports (\(s.metric) per epoch):")
                for (step, v) in t.record.intermediate.sorted(by: { $0.key < $1.key }) { print("  \(step)  \(v)") }
            }
            if let tail = t.stderrTail, !tail.isEmpty { print("stderr (last 4 KB):"); print(tail, terminator: tail.hasSuffix("\n") ? "" : "\n") }
            return
        }
        // The daemon's log lines about this study.
        let daemonLog = DaemonPaths(db: store.db).log
        if let text = try? String(contentsOfFile: daemonLog, encoding: .utf8) {
            let quoted = s.name.contains(" ") || s.name.contains("\"") ? "\"" + s.name.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : s.name
            let lines = text.split(separator: "\n").filter { $0.contains(" study=\(quoted) ") || $0.hasSuffix(" study=\(quoted)") }
            if !lines.isEmpty {
                print("== \(daemonLog) (study=\(quoted))")
                for l in lines { print(l) }
                print("==")
            }
        }
        for t in try db.trials(studyID: s.id) {
            var line = "trial \(t.record.number) \(t.record.state.rawValue.lowercased())"
            if let v = t.record.value { line += "  value \(v)" }
            if let e = t.epochsRun { line += "  epochs \(e)" }
            if let r = t.reason { line += "  (\(r))" }
            print(line)
        }
    }
}
