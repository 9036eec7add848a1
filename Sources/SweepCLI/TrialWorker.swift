import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepEngine

/// The trial process of a built-in trial (hidden): reads the trial's `TrialConfig` as JSON on
/// stdin, trains it epoch by epoch and speaks the trial line protocol on stdout.
///
/// With `--checkpoint FILE` it writes the trainer's state there after every epoch (atomically:
/// a temporary file renamed over the last one) before reporting the epoch, and when FILE holds a
/// checkpoint of this configuration it continues from it: it says `{"resumed_from_epoch": K}`,
/// reports epochs 1...K again from the checkpoint's history (the same values, which the store
/// overwrites in place) and trains from epoch K+1, giving the values of an uninterrupted run.
///
/// After the last epoch it finishes the run (`Trainer.finish`: pruning, quantization, test
/// metrics, size and latency) and prints the final line with those metrics beside the value:
/// `{"value": X, "parameters": N, "model_bytes": N, "latency_ms": X, "test_accuracy": X, ...}`.
struct TrialWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "__trial", shouldDisplay: false)

    @Option var metric: String = "val_accuracy"
    @Option var dataDir: String?
    @Option(help: "Write a checkpoint here after every epoch, and continue from it when it exists.") var checkpoint: String?

    func run() throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let config: TrialConfig
        do { config = try JSONDecoder().decode(TrialConfig.self, from: input) } catch {
            throw InputError(field: "stdin", "expected a trial configuration as JSON: \(error)")
        }
        try ComputeSettings.configure(blasThreads: 1)
        let splits = try DatasetCatalog.load(config.dataset, dataDir: DataDirectory.resolve(dataDir))
        var trainer = try Trainer(config: config, splits: splits)
        var last: Double?
        if let checkpoint, FileManager.default.fileExists(atPath: checkpoint) {
            do {
                try trainer.restore(try CheckpointFile.read(checkpoint), file: checkpoint)
                print("{\"resumed_from_epoch\": \(trainer.epoch)}")
                FileHandle.standardError.write(Data("continuing from the checkpoint of epoch \(trainer.epoch) (\(checkpoint))\n".utf8))
                for r in trainer.history { last = try report(r) }
            } catch {
                // An unreadable checkpoint costs the epochs it held, not the trial.
                FileHandle.standardError.write(Data("starting over: \(error)\n".utf8))
                trainer = try Trainer(config: config, splits: splits)
            }
        }
        while !trainer.isFinished {
            let r = trainer.runEpoch()
            if let checkpoint { try CheckpointFile.write(trainer.checkpoint(), to: checkpoint) }
            let v = try report(r)
            last = v
            if !v.isFinite || !r.trainLoss.isFinite { return }   // the controller fails the trial on NaN
        }
        guard let last else { return }
        let metrics = trainer.finish().metrics.sorted { $0.key < $1.key }
        print("{" + (["\"value\": \(Self.number(last))"] + metrics.map { "\"\($0.key)\": \(Self.number($0.value))" }).joined(separator: ", ") + "}")
    }

    /// Prints an epoch's report line; returns its objective value.
    func report(_ r: EpochReport) throws -> Double {
        guard let v = r.metric(metric) else { throw InputError(field: "objective.metric", "the engine does not report '\(metric)' for this task") }
        // Numbers in Swift's shortest round-trip form, so the controller stores exactly this value.
        var fields = [("step", "\(r.epoch)"), ("value", Self.number(v)), ("train_loss", Self.number(r.trainLoss)),
                      ("val_loss", Self.number(r.valLoss)), ("seconds", Self.number(r.seconds))]
        if let a = r.valAccuracy { fields.append(("val_accuracy", Self.number(a))) }
        if let e = r.valRMSE { fields.append(("val_rmse", Self.number(e))) }
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        fflush(stdout)
        return v
    }

    static func number(_ x: Double) -> String { x.isNaN ? "\"nan\"" : x.isInfinite ? (x > 0 ? "\"inf\"" : "\"-inf\"") : "\(x)" }
}
