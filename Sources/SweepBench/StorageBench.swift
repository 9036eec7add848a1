import ArgumentParser
import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// `sweep-bench storage`: the store's cost per trial, as the runner uses it: create (with its
/// parameters), one report per epoch, finish. Every call is its own transaction on a file in WAL
/// mode, as in a real search.
struct StorageBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Milliseconds of store work per trial (create with parameters, reports, finish).")

    @Option(help: "Trials to write.") var trials = 2000
    @Option(help: "Parameters per trial.") var params = 8
    @Option(help: "Reports (epochs) per trial.") var reports = 10
    @Option(help: "The database file (default: a new file in a temporary folder).") var db: String?

    func run() throws {
        let path = db ?? NSTemporaryDirectory() + "sweep-storage-bench-\(UUID().uuidString)/sweep.db"
        let store = try SQLiteStore(path: path)
        let study = try store.createStudy(name: "bench", direction: .minimize, metric: "loss", spacePath: "bench.yaml",
                                          spaceText: "", samplerJSON: "{}", schedulerJSON: "{}", seed: 0,
                                          trialsTotal: trials, maxEpochs: reports)
        let dist = Distribution.float(low: 1e-5, high: 1, log: true, step: nil).optunaJSON
        var rng = SweepRandom(seed: 1)
        let config = String(repeating: "x", count: 1500)   // about the size of a model value as JSON
        var create = 0.0, report = 0.0, finish = 0.0
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        for _ in 0..<trials {
            let ps = (0..<params).map { (name: "p\($0)", value: rng.nextDouble(), distributionJSON: dist) }
            var id: Int64 = 0
            create += seconds(clock.measure {
                id = try! store.createTrial(studyID: study.id, params: ps, seed: rng.next(), configJSON: config, workerPID: 1).trialID
            })
            report += seconds(clock.measure {
                for step in 1...max(reports, 1) { try! store.reportIntermediate(trialID: id, step: step, value: rng.nextDouble()) }
            })
            finish += seconds(clock.measure {
                _ = try! store.finishTrial(trialID: id, state: .complete, value: rng.nextDouble(), exitStatus: 0, reason: nil,
                                           stderrTail: "", epochsRun: reports, durationSeconds: 1, artifactDir: nil)
            })
        }
        let n = Double(trials)
        print(String(format: "storage: %d trials, %d params, %d reports each: %.3f ms per trial (create %.3f, reports %.3f, finish %.3f)",
                     trials, params, reports, (create + report + finish) / n * 1000, create / n * 1000, report / n * 1000, finish / n * 1000))
        if db == nil { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    }
}
