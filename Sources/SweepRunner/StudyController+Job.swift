import Foundation
import SweepCore
import SweepEngine
import SweepSearch

/// How a trial becomes a job: its argv, environment, standard input, folder and limits.
extension StudyController {
    /// The JSON the store keeps for a trial and the trial process reads: the full model value for
    /// built-in trials, the parameters for user commands.
    func trialPayload(_ values: [String: Double], seed: UInt64) throws -> String {
        if spec.command != nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(data: try encoder.encode(Self.commandParams(spec.space.external(values))), encoding: .utf8)!
        }
        var config = try spec.trialConfig(values, seed: seed)
        if let t = config.transfer {
            config.transfer!.weights = try TransferWeights.resolve(t.from, db: options.dbPath, store: store,
                                                                   baseDir: (spec.absoluteFile as NSString).deletingLastPathComponent)
        }
        return String(data: try JSONEncoder().encode(config), encoding: .utf8)!
    }

    /// A user command's parameters by the names it knows: the keys under `params:` (stored as
    /// `params.<key>` by studies from before they kept their own names); parameters elsewhere in
    /// the file keep their full dotted names.
    static func commandParams(_ external: [String: ParamValue]) -> [String: ParamValue] {
        var out: [String: ParamValue] = [:]
        for (k, v) in external { out[k.hasPrefix("params.") ? String(k.dropFirst(7)) : k] = v }
        return out
    }

    /// `arg` with every `{name}` that `names` has replaced by its value, in one pass: a value is
    /// never searched for placeholders again, and a brace that starts no known name stays.
    static func fillPlaceholders(_ arg: String, _ names: [String: String]) -> String {
        guard arg.utf8.contains(UInt8(ascii: "{")) else { return arg }
        var out = ""
        var rest = arg[...]
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let after = rest.index(after: open)
            if let close = rest[after...].firstIndex(of: "}"), let value = names[String(rest[after..<close])] {
                out += value
                rest = rest[rest.index(after: close)...]
            } else {
                out += "{"
                rest = rest[after...]
            }
        }
        return out + rest
    }

    /// A trial seed folded to 32 bits (both halves), for libraries that take no more
    /// (`numpy.random.seed`, `random_state`).
    static func seed32(_ seed: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: seed ^ (seed >> 32)) }

    /// The trial's folder beside the database (`TrialFolder`): the same for every attempt.
    func trialFolder(_ number: Int) -> String { studyFolder + "/trial-\(number)" }

    /// A trial's job. `seed`: the stored one (a retry keeps the failed trial's seed under its new
    /// number). `attempt`: which start of the trial this is, from 1.
    ///
    /// Every trial gets its folder (recorded as its artifact folder when it finishes) for its
    /// checkpoint: a built-in trial writes `checkpoint` there after every epoch and continues from
    /// it when run again; a command gets `checkpoints/` as `SWEEP_CHECKPOINT_DIR`, `SWEEP_ATTEMPT`
    /// and `SWEEP_RESUME_EPOCH`: `resumeEpoch`, the epochs of the trial the store keeps (a
    /// promoted trial's pause epoch; 0 on a first start, and after a crash, whose reports the
    /// requeue dropped), which the command continues after.
    func trialJob(id: Int64, number: Int, seed: UInt64, values: [String: Double], configJSON: String, attempt: Int,
                  resumeEpoch: Int = 0) -> TrialJob {
        let argv: [String]
        var env = options.keptEnvironment.merging(spec.environment) { $1 }
        for (k, v) in ["SWEEP_TRIAL_NUMBER": "\(number)", "SWEEP_STUDY": study.name, "OPENBLAS_NUM_THREADS": "1"] { env[k] = v }
        let folder = trialFolder(number)
        let checkpoints = spec.command == nil ? folder : TrialFolder.commandCheckpoints(trialFolder: folder)
        if let command = spec.command {
            let external = spec.space.external(values)
            var names: [String: String] = ["trial": "\(number)", "seed": "\(seed)", "seed32": "\(Self.seed32(seed))",
                                           "max_epochs": spec.budget.maxEpochs.map { "\($0)" } ?? ""]
            for (k, v) in external { names[k] = v.description }
            for (k, v) in Self.commandParams(external) { names[k] = v.description }
            argv = command.map { Self.fillPlaceholders($0, names) }
            env["SWEEP_PARAMS"] = configJSON
            env["SWEEP_SEED"] = "\(seed)"
            env["SWEEP_SEED32"] = "\(Self.seed32(seed))"
            if let e = spec.budget.maxEpochs { env["SWEEP_MAX_EPOCHS"] = "\(e)" }
            env["SWEEP_CHECKPOINT_DIR"] = checkpoints
            env["SWEEP_ATTEMPT"] = "\(attempt)"
            env["SWEEP_RESUME_EPOCH"] = "\(resumeEpoch)"
        } else {
            argv = [options.trialExecutable, "__trial", "--metric", spec.objective.metric, "--data-dir", options.dataDir,
                    "--checkpoint", TrialFolder.checkpoint(trialFolder: folder)] + workerFlags(number: number)
        }
        let limits = TrialLimits(memoryMB: options.memoryMB, graceSeconds: options.graceSeconds,
                                 strictStdout: spec.command == nil || spec.stdoutProtocol == .strict,
                                 objectives: spec.command == nil ? [] : spec.metrics)
        // User commands run in the search-space file's folder, so relative paths in them work;
        // built-in trials where the study was submitted (relative data paths).
        let cwd = spec.command == nil ? options.workDir.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            : spec.commandDirectory
        return TrialJob(id: id, argv: argv, env: env, baseEnvironment: options.environment, cwd: cwd, stdin: Data(configJSON.utf8),
                        limits: limits, folder: checkpoints)
    }
}
