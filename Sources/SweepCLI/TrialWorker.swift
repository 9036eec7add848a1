import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepEngine

/// The trial process of a built-in trial (hidden): reads the trial's `TrialConfig` as JSON on
/// stdin, trains it epoch by epoch and speaks the trial line protocol on stdout.
struct TrialWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "__trial", shouldDisplay: false)

    @Option var metric: String = "val_accuracy"
    @Option var dataDir: String?
    @Option(help: "Train at most this many epochs (replay of a pruned trial).") var epochs: Int?

    func run() throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let config: TrialConfig
        do { config = try JSONDecoder().decode(TrialConfig.self, from: input) } catch {
            throw InputError(field: "stdin", "expected a trial configuration as JSON: \(error)")
        }
        ComputeSettings.configure(blasThreads: 1)
        let splits = try DatasetCatalog.load(config.dataset, dataDir: DataDirectory.resolve(dataDir))
        let trainer = try Trainer(config: config, splits: splits)
        var last: Double?
        while !trainer.isFinished {
            let r = trainer.runEpoch()
            guard let v = r.metric(metric) else { throw InputError(field: "objective.metric", "the engine does not report '\(metric)' for this task") }
            last = v
            // Numbers in Swift's shortest round-trip form, so the controller stores exactly this value.
            var fields = [("step", "\(r.epoch)"), ("value", Self.number(v)), ("train_loss", Self.number(r.trainLoss)),
                          ("val_loss", Self.number(r.valLoss)), ("seconds", Self.number(r.seconds))]
            if let a = r.valAccuracy { fields.append(("val_accuracy", Self.number(a))) }
            if let e = r.valRMSE { fields.append(("val_rmse", Self.number(e))) }
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
            fflush(stdout)
            if !v.isFinite || !r.trainLoss.isFinite { return }   // the controller fails the trial on NaN
            if let epochs, r.epoch >= epochs { break }
        }
        if let last { print("{\"value\": \(Self.number(last))}") }
    }

    static func number(_ x: Double) -> String { x.isNaN ? "\"nan\"" : x.isInfinite ? (x > 0 ? "\"inf\"" : "\"-inf\"") : "\(x)" }
}
