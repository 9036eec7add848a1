import ArgumentParser
import Foundation
import SweepCore
import SweepDaemon
import SweepRunner
import SweepSearch
import SweepStorage

/// `sweep enqueue STUDY --set name=value ...`: queues a trial with known parameters, written as
/// Optuna's `study.enqueue_trial(params)` writes it, so Optuna sees it queued too.
struct Enqueue: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue a trial with given parameters; the study runs it next (the sampler fills in the others).",
        discussion: """
            Names are the parameters `sweep check` lists; values are checked against the study's space. A parameter that exists only under a \
            condition needs its parent given too. The queued trial runs before new samples when the study runs next \
            (`sweep resume STUDY`), or soon if it runs now; it counts toward the study's total like any trial, and \
            the total grows to hold it when the study already has its total.
            """)
    @Argument(help: "Study name.") var study: String
    @Option(name: .customLong("set"), help: ArgumentHelp("A parameter's value.", valueName: "name=value"))
    var values: [String] = []
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if values.isEmpty { throw ValidationError("give the trial's parameters with --set name=value (at least one)") }
    }

    func run() throws {
        let db = try openStoreForWriting(store.db)
        let s = try findStudy(db, study, db: store.db)
        let space = try storedSpec(s).space.adoptingStoredNames(Set(try db.trials(studyID: s.id).flatMap(\.record.params.keys)))
        var given: [String: ParamValue] = [:]
        for item in values {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw InputError(field: "--set", "'\(item)' is not name=value")
            }
            let name = String(item[..<eq])
            guard given[name] == nil else { throw InputError(field: "--set", "'\(name)' is given twice") }
            given[name] = ParamValue.parse(String(item[item.index(after: eq)...]))
        }
        do {
            _ = try EnqueuedParams.resolve(given, space: space)
        } catch let p as EnqueuedParams.Problem {
            throw InputError(field: "--set", "study '\(s.name)': \(p)")
        }
        // Stored under the parameters' full names, as Optuna's suggest calls name them.
        var fixed: [String: ParamValue] = [:]
        for (name, v) in given { fixed[EnqueuedParams.parameter(named: name, in: space)!.name] = v }
        let number = try db.enqueueTrial(studyID: s.id, fixedParams: fixed)
        let shown = space.parameters.compactMap { p in fixed[p.name].map { "\(p.name)=\($0)" } }.joined(separator: " ")
        print("queued trial \(number) of \(s.name): \(shown)\(fixed.count < space.parameters.count ? " (the sampler chooses the others)" : "")")
        if s.isRunning() {
            print("study \(s.name) is running: it runs this trial \(tellDaemonOfAddedTrials(s.name, db: store.db) ? "next" : "within seconds, before new samples")")
        } else {
            print("it runs first when the study runs next: \(suggest("resume", s.name, db: store.db))")
        }
    }
}


/// Tells the daemon of `db`, if one runs `study`, that trials were added to it, so it runs them
/// next; returns whether it did. Another controller (a foreground search) takes them in at its
/// next heartbeat.
func tellDaemonOfAddedTrials(_ study: String, db: String) -> Bool {
    let client = DaemonClient(db: db)
    guard client.daemonPID() != nil else { return false }
    return (try? client.added(study: study))?.status == 202
}
