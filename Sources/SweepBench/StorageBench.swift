import ArgumentParser
import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// `sweep-bench storage`: the store's cost per trial, as the runner uses it: create (with its
/// parameters), one report per epoch, finish. Every call is its own transaction, as in a real
/// search: on a file in WAL mode by default, on a PostgreSQL server with `--db URL`.
/// `--shared`: the calls of a study shared by several daemons instead (`StudyController+Shared`):
/// the leader's WAITING trial, a daemon's claim, its worker pid, reports and finish as the
/// trial's owner, and the read of the trials changed since the last read (one per trial here; a
/// daemon makes one a second).
struct StorageBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Milliseconds of store work per trial (create with parameters, reports, finish).")

    @Option(help: "Trials to write.") var trials = 2000
    @Option(help: "Parameters per trial.") var params = 8
    @Option(help: "Reports (epochs) per trial.") var reports = 10
    @Option(help: "The database: a file or a postgresql:// URL (default: a new file in a temporary folder).") var db: String?
    @Flag(help: "The calls of a study shared by several daemons (claims, owners, change reads).") var shared = false

    func run() throws {
        let path = db ?? NSTemporaryDirectory() + "sweep-storage-bench-\(UUID().uuidString)/sweep.db"
        let store = try openStore(location: path)
        let study = try store.createStudy(name: "bench-\(UUID().uuidString.prefix(8))", direction: .minimize, metric: "loss",
                                          spacePath: "bench.yaml", spaceText: "", samplerJSON: "{}", schedulerJSON: "{}", seed: 0,
                                          trialsTotal: trials, maxEpochs: reports)
        let dist = Distribution.float(low: 1e-5, high: 1, log: true, step: nil).optunaJSON
        var rng = SweepRandom(seed: 1)
        let config = String(repeating: "x", count: 1500)   // about the size of a model value as JSON
        let owner = "bench:1:1"
        var phases: [(name: String, seconds: Double)] = shared
            ? [("create waiting", 0), ("claim", 0), ("worker pid", 0), ("reports", 0), ("finish", 0), ("changes read", 0)]
            : [("create", 0), ("reports", 0), ("finish", 0)]
        let clock = ContinuousClock()
        func timed(_ phase: Int, _ body: () throws -> Void) rethrows {
            let d = try clock.measure(body)
            phases[phase].seconds += Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        var cursor: TrialChangeCursor? = try store.trials(studyID: study.id, changedSince: nil).cursor
        for n in 0..<trials {
            let ps = (0..<params).map { (name: "p\($0)", value: rng.nextDouble(), distributionJSON: dist) }
            var id: Int64 = 0
            var phase = 0
            if shared {
                try timed(0) { _ = try store.createWaitingTrial(studyID: study.id, params: ps, seed: rng.next(), configJSON: config, expectedNumber: n) }
                try timed(1) { id = try store.claimWaitingTrial(studyID: study.id, owner: owner, worker: "bench:1")!.trialID }
                try timed(2) { try store.setWorkerPID(trialID: id, pid: 1) }
                phase = 3
            } else {
                try timed(0) { id = try store.createTrial(studyID: study.id, params: ps, seed: rng.next(), configJSON: config, workerPID: 1).trialID }
                phase = 1
            }
            let writer = shared ? owner : nil
            try timed(phase) {
                for step in 1...max(reports, 1) where reports > 0 {
                    try store.reportIntermediate(trialID: id, step: step, value: rng.nextDouble(), owner: writer)
                }
            }
            try timed(phase + 1) {
                _ = try store.finishTrial(trialID: id, state: .complete, values: [rng.nextDouble()], constraints: nil, exitStatus: 0, reason: nil,
                                          stderrTail: "", epochsRun: reports, durationSeconds: 1, artifactDir: nil, owner: writer)
            }
            if shared { try timed(5) { cursor = try store.trials(studyID: study.id, changedSince: cursor).cursor } }
        }
        let n = Double(trials)
        let total = phases.map(\.seconds).reduce(0, +)
        print(String(format: "storage%@: %d trials, %d params, %d reports each: %.3f ms per trial (", shared ? " (shared)" : "", trials, params, reports,
                     total / n * 1000)
              + phases.map { String(format: "%@ %.3f", $0.name, $0.seconds / n * 1000) }.joined(separator: ", ") + ")")
        if db == nil { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    }
}
