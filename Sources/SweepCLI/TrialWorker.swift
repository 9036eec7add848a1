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
/// Pausing schedulers (see `StudyController+Pausing`): with `--pause-at E1,E2,...` it exits
/// (status 0, no final line) right after reporting one of those epochs, its checkpoint at that
/// epoch, to be promoted later (run again: it continues from the checkpoint and trains on to the
/// next one). With `--keep-epochs E1,...` it also keeps a copy of its checkpoint at those epochs
/// (`<checkpoint>.epoch-E`, population-based training's donors). With `--start-from FILE` (a
/// donor's copy) it starts from that checkpoint's weights and optimizer state with its own
/// configuration, and reports only the epochs after it.
///
/// After the last epoch it finishes the run (`Trainer.finish`: pruning, quantization, test
/// metrics, size and latency) and prints the final line with those metrics beside the value:
/// `{"value": X, "parameters": N, "model_bytes": N, "latency_ms": X, "test_accuracy": X, ...}`.
struct TrialWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "__trial", shouldDisplay: false)

    @Option var metric: String = "val_accuracy"
    @Option var dataDir: String?
    @Option(help: "Write a checkpoint here after every epoch, and continue from it when it exists.") var checkpoint: String?
    @Option(help: "Exit after reporting one of these epochs (comma-separated), to be promoted later.") var pauseAt: String?
    @Option(help: "Keep a copy of the checkpoint at these epochs (comma-separated): <checkpoint>.epoch-E.") var keepEpochs: String?
    @Option(help: "Start from this checkpoint's weights and optimizer state (another trial's) with this configuration.") var startFrom: String?

    static func epochs(_ list: String?, _ flag: String) throws -> Set<Int> {
        guard let list else { return [] }
        return Set(try list.split(separator: ",").map {
            guard let e = Int($0), e >= 1 else { throw InputError(field: flag, "expected epochs from 1, comma-separated, got '\(list)'") }
            return e
        })
    }

    static func keptCheckpoint(_ checkpoint: String, epoch: Int) -> String { checkpoint + ".epoch-\(epoch)" }

    func run() throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let config: TrialConfig
        do { config = try JSONDecoder().decode(TrialConfig.self, from: input) } catch {
            throw InputError(field: "stdin", "expected a trial configuration as JSON: \(error)")
        }
        try ComputeSettings.configure(blasThreads: 1)
        let splits = try DatasetCatalog.load(config.dataset, dataDir: DataDirectory.resolve(dataDir))
        let pauses = try Self.epochs(pauseAt, "--pause-at"), kept = try Self.epochs(keepEpochs, "--keep-epochs")
        var trainer = try Trainer(config: config, splits: splits)
        var last: Double?
        /// A donor's checkpoint, with this trial's configuration: the epochs up to it are the donor's.
        var start: Trainer.Checkpoint?
        if let startFrom {
            start = try CheckpointFile.read(startFrom)
            start!.config = config
        }
        func fromStart() throws {
            guard let start, let startFrom else { return }
            try trainer.restore(start, file: startFrom)
            if let r = trainer.history.last { last = r.metric(metric) }
        }
        if let checkpoint, FileManager.default.fileExists(atPath: checkpoint) {
            do {
                try trainer.restore(try CheckpointFile.read(checkpoint), file: checkpoint)
                print("{\"resumed_from_epoch\": \(trainer.epoch)}")
                FileHandle.standardError.write(Data("continuing from the checkpoint of epoch \(trainer.epoch) (\(checkpoint))\n".utf8))
                for r in trainer.history where r.epoch > (start?.epoch ?? 0) { last = try report(r) }
            } catch {
                // An unreadable checkpoint costs the epochs it held, not the trial.
                FileHandle.standardError.write(Data("starting over: \(error)\n".utf8))
                trainer = try Trainer(config: config, splits: splits)
                try fromStart()
            }
        } else {
            try fromStart()
        }
        while !trainer.isFinished {
            let r = trainer.runEpoch()
            if let checkpoint {
                try CheckpointFile.write(trainer.checkpoint(), to: checkpoint)
                if kept.contains(r.epoch) { try CheckpointFile.write(trainer.checkpoint(), to: Self.keptCheckpoint(checkpoint, epoch: r.epoch)) }
            }
            let v = try report(r)
            last = v
            if !v.isFinite || !r.trainLoss.isFinite { return }   // the controller fails the trial on NaN
            if pauses.contains(r.epoch) && !trainer.isFinished { return }   // paused: promoted later
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
