import ArgumentParser
import Foundation
import SweepCore
import SweepDaemon
import SweepData
import SweepEngine
import SweepRunner
import SweepSearch
import SweepStorage

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a search in the daemon, follow it, and print the leaderboard at the end.",
        discussion: """
            The search is submitted to this database's daemon (started detached when none runs), so it survives \
            the terminal: Ctrl-C stops following, not the search. --detach returns at once; --foreground runs \
            the search in this process instead. --trials is the total for the study: running the same command \
            again continues the study up to it.
            """)

    @Argument(help: "The search-space file (YAML).") var space: String
    @Option(help: "Study name (default: the file's `name`).") var study: String?
    @Option(parsing: .unconditional, help: "Total trials in the study.") var trials: Int?
    @Option(parsing: .unconditional, help: "Trial processes at once (default: the number of cores).") var workers: Int?
    @Option(help: "auto, random, grid, tpe or gp.") var sampler: String?
    @Option(help: "none, asha, hyperband or median.") var scheduler: String?
    @Option(help: "Study seed.") var seed: UInt64?
    @Option(help: "Where data sets live.") var dataDir: String?
    @Option(parsing: .unconditional, help: "Memory limit of one trial process, in MB.") var memoryMb: Int?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a value of the file: key.path=value.", valueName: "key=value"))
    var overrides: [String] = []
    @Option(help: ArgumentHelp("Earlier studies (comma-separated) whose trials that fit this space are the sampler's prior observations; they do not count toward --trials.", valueName: "study[,study...]"))
    var warmStart: String?
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if let trials, trials < 1 { throw ValidationError("--trials must be at least 1, got \(trials)") }
        if let m = RunOptions.workersProblem(workers) { throw ValidationError("--" + m) }
        if let s = sampler, !StudySpec.samplerNames.contains(s) {
            throw ValidationError("--sampler '\(s)' is not one of \(StudySpec.samplerNames.joined(separator: ", "))")
        }
        if let s = scheduler, !StudySpec.schedulerNames.contains(s) {
            throw ValidationError("--scheduler '\(s)' is not one of \(StudySpec.schedulerNames.joined(separator: ", "))")
        }
        if let m = memoryMb, m < 16 { throw ValidationError("--memory-mb must be at least 16") }
    }

    @Flag(help: "Submit the search to the daemon and return at once with the study name.") var detach = false
    @Flag(help: "Run the search in this process (no daemon); Ctrl-C stops it.") var foreground = false

    func run() throws {
        try launch(try StudySpec.load(path: space, overrides: overrides), overrides: overrides)
    }

    /// Runs the search `spec` describes (read from `space` with `overrides`; `sweep fork` gives a
    /// stored study's text) with this command's options.
    func launch(_ spec: StudySpec, overrides: [String]) throws {
        if detach && foreground { throw ValidationError("--detach and --foreground cannot be used together") }
        let space = spec.file
        try spec.preflight()
        // The sampler and scheduler as the flags leave them (`--scheduler pbt` needs options the
        // flag cannot give) are built here, so the daemon never writes a study it then refuses.
        var flagged = spec
        if let s = sampler { flagged.sampler = ComponentSpec(name: s) }
        if let s = scheduler { flagged.scheduler = ComponentSpec(name: s) }
        _ = try flagged.makeSearchComponents(trials: trials)
        try GemmKernel.configure()   // a bad SWEEP_GEMM or SWEEP_INT8_KERNEL is refused here, not by every trial
        try Int8Kernel.configure()
        let dataDir = absolute(DataDirectory.resolve(self.dataDir))
        // The data sets load, and the weights a model starts from fit, before anything is written.
        _ = try spec.inspectData(dataDir: dataDir, weights: transferWeights(db: store.db, baseDir: (spec.absoluteFile as NSString).deletingLastPathComponent))
        let warmStart = try warmStartSelection(spec: spec)
        if foreground {
            var options = RunOptions(studyName: study, trials: trials, workers: workers ?? ProcessInfo.processInfo.activeProcessorCount,
                                     sampler: sampler, scheduler: scheduler, seed: seed, overrides: overrides, dataDir: dataDir,
                                     dbPath: store.db, trialExecutable: CommandLine.selfExecutable, memoryMB: memoryMb)
            try options.keepEnvironment(spec.envKeep, from: ProcessInfo.processInfo.environment, file: space)
            options.workDir = FileManager.default.currentDirectoryPath
            options.warmStart = warmStart
            try runSearch(spec: spec, options: options)
            return
        }
        // Checked here too, so a bad name is refused before a daemon is started.
        try StudyName.check(study ?? spec.name, file: study == nil ? space : nil, field: study == nil ? "name" : "--study")
        let request = SubmitRequest(spaceText: spec.text, spacePath: absolute(space), study: study, trials: trials, workers: workers,
                                    sampler: sampler, scheduler: scheduler, seed: seed, dataDir: dataDir, memoryMB: memoryMb,
                                    overrides: overrides.isEmpty ? nil : overrides, env: ProcessInfo.processInfo.environment,
                                    workDir: FileManager.default.currentDirectoryPath, warmStart: warmStart?.studies)
        let name = study ?? spec.name
        // One store for what was finished before and for following the run (each opening of a
        // PostgreSQL store is a connection and a schema check); a database file the daemon is
        // yet to create is opened once it has. None when the run is not followed.
        let existing = detach ? nil : try existingStore(db: store.db)
        let seen = try existing.map { try finishedNumbers($0, study: name) } ?? []
        let (client, r) = try daemonRequest(db: store.db) { try $0.submit(request) }
        if r.status != 200 { try checkAPI(r, expect: 201) }
        if detach {
            print("study \(name) runs in the daemon (pid \(client.daemonPID() ?? 0)); log \(client.paths.log)")
            print("follow it with \(suggest("status", name, db: store.db)), stop it with \(suggest("stop", name, db: store.db))")
            return
        }
        try follow(existing ?? openStore(location: store.db), db: store.db, study: name, seen: seen)
    }

    /// The studies `--warm-start` names, checked against the database before anything is written
    /// (the daemon or the controller takes the priors when it creates the study); says how many
    /// of their trials fit.
    func warmStartSelection(spec: StudySpec) throws -> WarmStart.Selection? {
        guard let warmStart else { return nil }
        guard databaseExists(store.db) else {
            throw InputError(field: "--warm-start", "no study named '\(warmStart)': the database \(store.db) does not exist")
        }
        let db = try openStore(location: store.db, readOnly: true)
        let names = try WarmStartSources.names(warmStart, store: db)
        let (priors, skipped) = try WarmStartSources.priors(names, store: db, spec: spec, study: study ?? spec.name)
        print("warm start: \(priors.count) trials of \(names.joined(separator: ", ")) fit this space (\(skipped) did not); "
              + "the sampler starts from them")
        return WarmStart.Selection(studies: names)
    }
}

/// Resolves a `model.init.from` against the database at `db` (read-only; none when it does not exist).
func transferWeights(db: String, baseDir: String) -> (String) throws -> String {
    { from in
        try TransferWeights.resolve(from, db: db, store: databaseExists(db) ? try openStore(location: db, readOnly: true) : nil, baseDir: baseDir)
    }
}

/// The store at `db`, nil when it is a database file that does not exist (nothing is created).
func existingStore(db: String) throws -> (any TrialStore)? {
    databaseExists(db) ? try openStore(location: db) : nil
}

/// The numbers of a study's finished trials, if the study exists.
func finishedNumbers(_ store: any TrialStore, study: String) throws -> Set<Int> {
    guard let s = try store.study(named: study) else { return [] }
    return Set(try store.finishedTrials(studyID: s.id, completedSince: nil).map(\.record.number))
}

/// Runs a search in this process with a progress display, and prints the leaderboard.
func runSearch(spec: StudySpec, options: RunOptions) throws {
    let progress = ProgressPrinter()
    let controller = try StudyController(spec: spec, options: options, observer: progress)
    let pool = TrialPool(workers: options.workers)
    let stopper = SignalStopper(saying: "stopping: waiting for running trials to stop (Ctrl-C again to quit at once)") {
        pool.stop(studyID: controller.study.id)
    }
    let began = Date()
    let cpuSeconds = try pool.run(controller)
    let stored = try controller.store.trials(studyID: controller.study.id)
    stopper.cancel()
    progress.finish()
    let board = Leaderboard(trials: stored, space: spec.space, study: controller.study)
    let elapsed = Date().timeIntervalSince(began)
    let finished = controller.trialsFinished
    if finished > 0 {
        print(String(format: "%d trials finished in %.1f s (%.1f trials/s), controller CPU %.3f ms per trial",
                     finished, elapsed, Double(finished) / elapsed, cpuSeconds / Double(finished) * 1000))
    }
    print("")
    print(board.table(top: 10, study: controller.study.name, metric: spec.objective.metric))
    if let why = controller.stopReason {
        guard controller.study.status == .finished else {
            throw RuntimeFailure("the search stopped: \(why)\nfix the cause, then \(suggest("resume", controller.study.name, db: options.dbPath)) continues it")
        }
        print("finished: \(why)")
    }
    try checkSomeTrialSucceeded(stored, study: controller.study.name, db: options.dbPath)
    if stored.contains(where: { $0.record.state == .waiting }) {
        print("stopped: run the same command again (or \(suggest("resume", controller.study.name, db: options.dbPath))) to continue the study")
    }
}

/// Throws (exit 1) when a study's trials all failed: a search that produced nothing is a failure
/// of the command, whatever the reason; the message gives the commonest reason and where to look.
func checkSomeTrialSucceeded(_ trials: [StoredTrial], study: String, db: String) throws {
    let failed = trials.filter { $0.record.state == .fail }
    guard !failed.isEmpty, !trials.contains(where: { $0.record.state == .complete || $0.record.state == .pruned }) else { return }
    let reasons = Dictionary(grouping: failed, by: { $0.reason ?? "no reason recorded" })
    let (reason, group) = reasons.max { a, b in a.value.count != b.value.count ? a.value.count < b.value.count : a.key > b.key }!
    let example = group.map(\.record.number).min()!
    throw RuntimeFailure("every trial of study '\(study)' failed (\(failed.count)); \(group.count == failed.count ? "all" : "\(group.count)") with: \(reason)\n"
        + "see \(suggest("logs", study, ["--trial", "\(example)"], db: db)) for its output")
}

/// A path made absolute against the working directory; a database URL as it is.
func absolute(_ path: String) -> String {
    path.hasPrefix("/") || PostgresLocation.isURL(path) ? path : FileManager.default.currentDirectoryPath + "/" + path
}

extension CommandLine {
    /// The path of this executable, for launching trial processes.
    static var selfExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? absolute(arguments[0])
    }
}

/// Ctrl-C (SIGINT) and SIGTERM: the first prints `message` (if any) and calls `onStop`; a second
/// one exits at once.
final class SignalStopper {
    var sources: [DispatchSourceSignal] = []
    init(saying message: String? = nil, _ onStop: @escaping () -> Void) {
        var count = 0
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                count += 1
                if count > 1 { exit(130) }
                if let message { FileHandle.standardError.write("\n\(message)\n".data(using: .utf8)!) }
                onStop()
            }
            s.resume()
            sources.append(s)
        }
    }
    func cancel() { sources.forEach { $0.cancel() } }
}

/// A live progress line on a terminal, plain log lines otherwise.
final class ProgressPrinter: RunObserver {
    let tty = isatty(STDOUT_FILENO) == 1
    var lastLine = ""

    func started(study: String, total: Int, already: Int) {
        print("study \(study): \(already) of \(total) trials finished so far")
    }

    func trialFinished(number: Int, state: TrialState, value: Double?, reason: String?, progress: RunProgress) {
        if tty { clear() }
        var s = "trial \(number) \(state.rawValue.lowercased())"
        if let value { s += "  value \(fmt(value))" }
        if let reason { s += "  (\(reason))" }
        print(s)
        tick(progress)
    }

    func tick(_ p: RunProgress) {
        guard tty else { return }
        var s = "[\(p.done)/\(p.total)] running \(p.running), pruned \(p.pruned), failed \(p.failed)"
        if let b = p.best { s += ", best \(fmt(b))" }
        s += ", \(duration(p.elapsed))"
        if let eta = p.eta { s += ", ETA \(duration(eta))" }
        clear()
        FileHandle.standardOutput.write(s.data(using: .utf8)!)
        lastLine = s
    }

    func clear() {
        if !lastLine.isEmpty { FileHandle.standardOutput.write(("\r" + String(repeating: " ", count: lastLine.count) + "\r").data(using: .utf8)!) }
        lastLine = ""
    }

    func finish() { if tty { clear() } }

    func fmt(_ v: Double) -> String { String(format: "%.4g", v) }
    func duration(_ s: Double) -> String { s < 60 ? String(format: "%.0fs", s) : s < 3600 ? String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) : String(format: "%dh%02dm", Int(s) / 3600, Int(s) % 3600 / 60) }
}
