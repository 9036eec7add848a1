import ArgumentParser
import Foundation
import SweepCore
import SweepData
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
        let all = try db.studies()
        let records = try study.map { [try findStudy(db, $0, db: store.db)] } ?? all.compactMap { try db.study(named: $0.name) }
        let summaries = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
        var out: [[String: Any]] = []
        for s in records {
            let sum = summaries[s.id]
            let running = s.isRunning()
            // Stored as running but no live controller: the process died (run it again to continue).
            let state = running ? "running" : s.status == .running ? "interrupted" : s.status.rawValue
            let counts = sum?.counts ?? [:]
            let finished = (counts[.complete] ?? 0) + (counts[.pruned] ?? 0) + (counts[.fail] ?? 0)
            var o: [String: Any] = ["study": s.name, "state": state, "trials_total": s.trialsTotal, "finished": finished,
                                    "trials": Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
                                    "workers_busy": running ? (counts[.running] ?? 0) : 0, "metric": s.metric,
                                    "direction": s.direction.rawValue]
            o["best_value"] = sum?.bestValue ?? NSNull()
            o["controller_pid"] = running ? Int(s.controllerPID ?? 0) : NSNull()
            out.append(o)
        }
        if json {
            print(String(data: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), encoding: .utf8)!)
            return
        }
        if out.isEmpty { print("no studies"); return }
        for o in out {
            let counts = (o["trials"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key.lowercased()) \($0.value)" }.joined(separator: ", ")
            var line = "\(o["study"]!): \(o["state"]!), \(o["finished"]!)/\(o["trials_total"]!) finished"
            if !counts.isEmpty { line += " (\(counts))" }
            if let b = o["best_value"] as? Double { line += ", best \(o["metric"]!) \(String(format: "%.6g", b))" }
            if let pid = o["controller_pid"] as? Int { line += ", pid \(pid), \(o["workers_busy"]!) workers busy" }
            if o["state"] as? String == "interrupted" || o["state"] as? String == "stopped" { line += "; `sweep resume \(o["study"]!)` continues it" }
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
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(wait)
        while Date() < deadline {
            if let now = try db.study(named: s.name), !now.isRunning() || now.controllerPID != pid { break }
            usleep(50_000)
        }
        guard let now = try db.study(named: s.name), now.controllerPID != pid || !now.isRunning() else {
            throw RuntimeFailure("study '\(s.name)' (pid \(pid)) did not stop within \(Int(wait)) s")
        }
        let finished = try db.trials(studyID: s.id).filter { $0.record.state.isFinished }.count
        print("stopped \(s.name): \(finished) of \(now.trialsTotal) trials finished; `sweep resume \(s.name)` continues it")
    }
}

/// `sweep resume STUDY`: runs a stopped or interrupted study on to its total, from the search
/// space stored with it.
struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a stopped or interrupted study from its stored search space.")
    @Argument(help: "Study name.") var study: String
    @Option(help: "Trial processes at once (default: the number of cores).") var workers: Int?
    @Option(help: "Where data sets live.") var dataDir: String?
    @Flag(help: "Run detached from this terminal (output in a log file beside the database).") var detach = false
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if let workers, workers < 1 || workers > 256 { throw ValidationError("--workers must be 1...256, got \(workers)") }
    }

    func run() throws {
        let db = try openStore(store.db)
        let s = try findStudy(db, study, db: store.db)
        if s.isRunning() { throw InputError(file: store.db, field: "STUDY", "study '\(s.name)' is already running (pid \(s.controllerPID ?? 0))") }
        let spec = try storedSpec(s)
        if detach {
            var args = ["resume", s.name, "--db", absolute(store.db)]
            if let workers { args += ["--workers", "\(workers)"] }
            if let dataDir { args += ["--data-dir", absolute(dataDir)] }
            try detachSelf(args, study: s.name, db: store.db)
            return
        }
        try runSearch(spec: spec, options: RunOptions(studyName: s.name, trials: s.trialsTotal,
                                                      workers: workers ?? ProcessInfo.processInfo.activeProcessorCount,
                                                      dataDir: absolute(DataDirectory.resolve(dataDir)), dbPath: store.db,
                                                      trialExecutable: CommandLine.selfExecutable))
    }
}

/// Where the results of a study live: `<db folder>/<study>/` (replay's artifacts) and
/// `<db folder>/logs/<study>.log` (a detached search's output). Study names are made one safe
/// path component, so nothing escapes the database's folder.
func resultsFolder(db: String) -> String { (absolute(db) as NSString).deletingLastPathComponent }
func studyLogPath(db: String, study: String) -> String { resultsFolder(db: db) + "/logs/" + Replay.safe(study) + ".log" }

/// Starts `sweep ARGS` detached, its output appended to `studyLogPath`.
func detachSelf(_ args: [String], study: String, db: String) throws {
    let log = studyLogPath(db: db, study: study)
    try FileManager.default.createDirectory(atPath: (log as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let pid = try spawnDetached(argv: [CommandLine.selfExecutable] + args, logPath: log)
    print("study \(study) runs detached (pid \(pid)); log \(log)")
    print("follow it with `sweep status \(study)`, stop it with `sweep stop \(study)`")
}

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
            let space = try storedSpec(s).space
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
        let log = studyLogPath(db: store.db, study: s.name)
        if let text = try? String(contentsOfFile: log, encoding: .utf8) {
            print("== \(log)")
            print(text, terminator: "")
            print("==")
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
