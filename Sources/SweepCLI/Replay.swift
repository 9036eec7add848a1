import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepEngine
import SweepRunner
import SweepSearch
import SweepStorage

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retrain a trial (default: the best) from its stored configuration and seed, check the result and export the model.")
    @OptionGroup var choice: TrialChoice
    @Option(help: "Where data sets live (default: as the study was started).") var dataDir: String?
    @Option(help: ArgumentHelp("Folder for the model and its files (default: <db folder>/<study>/trial-<n>).", valueName: "dir"))
    var output: String?

    func run() throws {
        let (s, t) = try choice.open()
        let mismatches: [String]
        do {
            mismatches = try replayTrial(t, of: s, dbPath: choice.store.db, dataDir: studyDataDir(s, flag: dataDir),
                                         output: output) { print($0) }
        } catch var e as InputError where output == nil && e.file == trialFolder(dbPath: choice.store.db, study: s.name, trial: t.record.number) {
            e.message += "; choose a writable folder for the model with --output DIR"
            throw e
        }
        if !mismatches.isEmpty {
            throw RuntimeFailure("the replay differs from the stored trial: " + mismatches.joined(separator: "; "))
        }
        print("identical to the stored trial")
    }
}

/// Which trial a command works on: STUDY (default: the most recent study) and --trial (default:
/// the best trial); only COMPLETE and PRUNED trials have a model.
struct TrialChoice: ParsableArguments {
    @Argument(help: "Study name (default: the most recent study).") var study: String?
    @Option(parsing: .unconditional, help: "Trial number (default: the best trial).") var trial: Int?
    @OptionGroup var store: StoreOptions

    func open() throws -> (study: StudyRecord, trial: StoredTrial) {
        let db = try openStore(store.db)
        let s = try findStudy(db, study, db: store.db)
        let t: StoredTrial
        if let n = trial {
            guard let found = try db.trial(studyID: s.id, number: n) else {
                throw InputError(file: store.db, field: "--trial", "study '\(s.name)' has no trial \(n)")
            }
            t = found
        } else {
            // The best trial: of one objective, the best feasible value; several have a front to choose from.
            let front = Leaderboard.front(try db.trials(studyID: s.id), directions: s.directions)
            guard let best = front.first else {
                throw InputError(file: store.db, field: "STUDY", "study '\(s.name)' has no complete\(s.isMultiObjective ? "" : " feasible") trial")
            }
            if s.isMultiObjective {
                throw InputError(file: store.db, field: "--trial",
                                 "study '\(s.name)' has \(s.directions.count) objectives (\(s.metrics.joined(separator: ", "))): choose a trial of its Pareto front with --trial N: \(front.map { "\($0.record.number)" }.joined(separator: ", ")) (sweep leaderboard shows them first)")
            }
            t = best
        }
        guard t.record.state == .complete || t.record.state == .pruned else {
            throw InputError(file: store.db, field: "--trial", "trial \(t.record.number) is \(t.record.state.rawValue); only COMPLETE and PRUNED trials have a model")
        }
        return (s, t)
    }
}

/// Where replay exports a trial's model: results/<study>/trial-<n>/ beside the database, the
/// folder its checkpoint is in (`TrialFolder`).
func trialFolder(dbPath: String, study: String, trial: Int) -> String {
    TrialFolder.trial(db: dbPath, study: study, number: trial)
}

/// Retrains a built-in trial from its stored configuration and seed for the epochs it ran,
/// reports each epoch to `log`, and writes model.safetensors, model.json (with the
/// preprocessing), config.yaml and curve.csv to `output` (default: `trialFolder`), which is
/// checked before training. The folder is recorded with the trial when the database at `dbPath`
/// may be written. Returns how the replay differs from the stored values (empty
/// when identical).
func replayTrial(_ t: StoredTrial, of s: StudyRecord, dbPath: String, dataDir: String, output: String? = nil,
                 log: (String) -> Void) throws -> [String] {
    let spec = try storedSpec(s)
    guard spec.command == nil else {
        throw InputError(field: "STUDY", "study '\(s.name)' runs a user command; only built-in trials can be retrained")
    }
    let dir = output ?? trialFolder(dbPath: dbPath, study: s.name, trial: t.record.number)
    try Folders.create(dir, field: output == nil ? nil : "--output")
    try Folders.checkWritable(dir, field: output == nil ? nil : "--output")
    var config = try JSONDecoder().decode(TrialConfig.self, from: Data(t.configJSON.utf8))
    let epochs = t.epochsRun ?? config.training.epochs
    config.training.epochs = max(min(epochs, config.training.epochs), 1)
    try ComputeSettings.configure(blasThreads: 1)
    let splits = try DatasetCatalog.load(config.dataset, dataDir: dataDir)
    let trainer = try Trainer(config: config, splits: splits)
    // A population-based training trial continues its donor's model: it starts from the copy of
    // the donor's checkpoint kept in its folder (the donor's own replay reproduces that copy).
    let attrs = (try? openStore(location: dbPath).trialSystemAttributes(trialID: t.trialID)) ?? [:]
    if let donor = attrs[TrialAttribute.pbtDonor], let epoch = attrs[TrialAttribute.pbtEpoch] {
        let start = StudyController.startCheckpoint(trialFolder: trialFolder(dbPath: dbPath, study: s.name, trial: t.record.number))
        guard FileManager.default.fileExists(atPath: start) else {
            throw InputError(file: start, "trial \(t.record.number) started from trial \(donor)'s checkpoint of epoch \(epoch), kept here, which is gone; replay trial \(donor) instead")
        }
        var c = try CheckpointFile.read(start)
        c.config = config
        try trainer.restore(c, file: start)
        log("trial \(t.record.number) continues trial \(donor)'s model from epoch \(epoch) (population-based training)")
    }
    log("replaying trial \(t.record.number) of \(s.name): \(config.training.epochs) epochs, seed \(config.seed)")
    var curve: [(Int, Double)] = []
    var mismatches: [String] = []
    while !trainer.isFinished {
        let r = trainer.runEpoch()
        guard let v = r.metric(s.metric) else { break }
        curve.append((r.epoch, v))
        if let stored = t.record.intermediate[r.epoch], stored.bitPattern != v.bitPattern {
            mismatches.append("epoch \(r.epoch): \(v) vs stored \(stored)")
        }
        log("epoch \(r.epoch)  \(s.metric) \(v)  (stored \(t.record.intermediate[r.epoch].map { "\($0)" } ?? "-"))")
    }
    let final = trainer.finish()
    let value = curve.last?.1
    let storedValue = t.record.value ?? t.record.lastValue
    if let value, let storedValue, value.bitPattern != storedValue.bitPattern { mismatches.append("final: \(value) vs stored \(storedValue)") }

    try ModelExport.write(trainer: trainer, to: dir + "/model")
    try ConfigFile.yaml(config).write(toFile: dir + "/config.yaml", atomically: true, encoding: .utf8)
    var csv = "epoch,train_loss,val_loss,\(s.metric)\n"
    for (r, c) in zip(trainer.history.suffix(curve.count), curve) { csv += "\(r.epoch),\(r.trainLoss),\(r.valLoss),\(c.1)\n" }
    try csv.write(toFile: dir + "/curve.csv", atomically: true, encoding: .utf8)
    var summary = "\(s.metric) \(value.map { "\($0)" } ?? "-") (stored \(storedValue.map { "\($0)" } ?? "-"))"
    if let a = final.testAccuracy { summary += ", test_accuracy \(a)" }
    if let e = final.testRMSE { summary += ", test_rmse \(e)" }
    if let a = final.int8TestAccuracy { summary += ", int8_test_accuracy \(a)" }
    log(summary)
    log("wrote \(dir)/{model.safetensors,model.json,config.yaml,curve.csv}")
    do { try openStoreForWriting(dbPath).recordArtifacts(trialID: t.trialID, dir: absolute(dir)) } catch {
        log("note: the folder was not recorded in \(dbPath) (\(error))")
    }
    return mismatches
}
