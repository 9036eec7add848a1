import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// A study's definition as it runs: its search-space file with the `--set` overrides, sampler,
/// scheduler and seed it was started with, and its run options. Stored once, with the study (the
/// file's text, `run_options` and Optuna's study columns); every path that reads a stored study
/// (a resume, a daemon taking it up, status, the leaderboard, logs, replay, enqueue, the
/// comparison of a file given again) resolves it here and nowhere else.
public struct StudyDefinition {
    public var spec: StudySpec
    public var options: RunOptions

    /// The definition of `study` as stored. `dbPath`, `trialExecutable` and `dataDir` are where
    /// this process would run it (the data directory when the study stored none).
    public init(_ study: StudyRecord, dbPath: String = "", trialExecutable: String = "", dataDir: String = "") throws {
        options = RunOptions.stored(study, dbPath: dbPath, trialExecutable: trialExecutable, dataDir: dataDir)
        var spec = try StudySpec.parse(study.spaceText, file: study.spacePath, overrides: options.overrides)
        let decoder = JSONDecoder()
        if let s = try? decoder.decode(ComponentSpec.self, from: Data(study.samplerJSON.utf8)) { spec.sampler = s }
        if let s = try? decoder.decode(ComponentSpec.self, from: Data(study.schedulerJSON.utf8)) { spec.scheduler = s }
        spec.seed = study.seed
        self.spec = spec
    }
}
