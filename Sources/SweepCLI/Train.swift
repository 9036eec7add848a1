import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepEngine

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one model from a fully fixed model file (a search-space file with every value fixed).")

    @Argument(help: "The model file (YAML).") var file: String
    @Option(parsing: .unconditional, help: "Override the number of epochs.") var epochs: Int?
    @Option(help: "Override the seed.") var seed: UInt64?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a value: key.path=value (repeatable).", valueName: "key=value"))
    var overrides: [String] = []
    @Option(help: "Where data sets live (default: $SWEEP_DATA_DIR, else the user cache dir).") var dataDir: String?
    @Flag(help: "One JSON object per line: one per epoch, then a final one.") var json = false
    @Option(help: "Write the trained model: PATH.safetensors and PATH.json (architecture).") var saveModel: String?
    @Option(help: "Write a checkpoint after every epoch to this file.") var checkpoint: String?
    @Option(help: "Continue from this checkpoint file.") var resume: String?
    @Option(parsing: .unconditional, help: "Stop after this many epochs of this run (training can be resumed from --checkpoint).") var stopAfter: Int?
    @Option(parsing: .unconditional, help: "BLAS threads.") var threads: Int = 1
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if threads < 1 || threads > 256 { throw ValidationError("--threads must be 1...256, got \(threads)") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be at least 1") }
    }

    func run() throws {
        var sets = overrides
        if let epochs { sets.append("training.epochs=\(epochs)") }
        if let seed { sets.append("seed=\(seed)") }
        var config = try ConfigFile.load(path: file, overrides: sets)
        if let t = config.transfer {
            let dir = (file as NSString).deletingLastPathComponent
            config.transfer!.weights = try transferWeights(db: store.db, baseDir: absolute(dir.isEmpty ? "." : dir))(t.from)
        }
        let dataDir = DataDirectory.resolve(self.dataDir)
        try ComputeSettings.configure(blasThreads: threads)
        let splits = try DatasetCatalog.load(config.dataset, dataDir: dataDir)
        let trainer = try Trainer(config: config, splits: splits, file: file)
        if let resume { try trainer.restore(try CheckpointFile.read(resume), file: resume) }
        let out = ReportPrinter(json: json)
        if !json {
            out.line("training \(config.name): \(splits.train.count) train / \(splits.validation.count) validation / \(splits.test.count) test samples, \(trainer.network.parameterCount) parameters")
            if let t = config.transfer {
                out.line("starting from \(t.from)\(t.freeze.isEmpty ? "" : ", layers \(t.freeze.map(String.init).joined(separator: ", ")) frozen")")
            }
        }
        var ran = 0
        while !trainer.isFinished {
            let r = trainer.runEpoch()
            ran += 1
            out.epoch(r, of: trainer.plannedEpochs, finetuning: trainer.pruningMask != nil)
            if let p = trainer.phases { FileHandle.standardError.write(Data("sweep phases: epoch \(r.epoch): \(p.summary)\n".utf8)) }
            if let checkpoint { try CheckpointFile.write(trainer.checkpoint(), to: checkpoint) }
            if !r.trainLoss.isFinite { throw RuntimeFailure("training diverged: the loss is not a number at epoch \(r.epoch) (lower the learning rate)") }
            if let stopAfter, ran >= stopAfter, !trainer.isFinished { return }
        }
        let final = trainer.finish()
        out.final(final)
        if let saveModel { try ModelExport.write(trainer: trainer, to: saveModel) }
    }
}

/// Human-readable or JSON-lines progress.
struct ReportPrinter {
    let json: Bool

    func line(_ s: String) { print(s) }

    func epoch(_ r: EpochReport, of total: Int, finetuning: Bool = false) {
        if json { print(jsonLine(r)); return }
        var s = "epoch \(r.epoch)/\(total)\(finetuning ? " (fine-tuning)" : "")  train_loss \(fmt(r.trainLoss))  val_loss \(fmt(r.valLoss))"
        if let a = r.valAccuracy { s += "  val_accuracy \(fmt(a))" }
        if let e = r.valRMSE { s += "  val_rmse \(fmt(e))" }
        s += "  \(String(format: "%.2f", r.seconds))s"
        print(s)
    }

    func final(_ f: FinalReport) {
        if json { print(jsonLine(f)); return }
        var s = "test"
        if let a = f.testAccuracy { s += "  test_accuracy \(fmt(a))" }
        if let e = f.testRMSE { s += "  test_rmse \(fmt(e))" }
        s += "  test_loss \(fmt(f.testLoss))  parameters \(f.parameters)  total \(String(format: "%.1f", f.totalSeconds))s"
        if f.stoppedEarly { s += "  (stopped early after \(f.epochs) epochs)" }
        print(s)
        var m = "model"
        if let sp = f.sparsity { m += "  sparsity \(fmt(sp))" }
        if let a = f.int8TestAccuracy { m += "  int8_test_accuracy \(fmt(a))" }
        if let e = f.int8TestRMSE { m += "  int8_test_rmse \(fmt(e))" }
        if let b = f.modelBytes { m += "  model_bytes \(b)" }
        if let l = f.latencyMs { m += "  latency_ms \(String(format: "%.4f", l))" }
        if let k = f.int8Kernel { m += "  int8_kernel \(k)" }
        print(m)
    }

    func fmt(_ v: Double) -> String { String(format: "%.4f", v) }

    func jsonLine<T: Encodable>(_ v: T) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(data: try! enc.encode(v), encoding: .utf8)!
    }
}
