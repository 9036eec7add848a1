import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// How a controller runs pausing schedulers (see `PausingScheduler`): ASHA and Hyperband with
/// `mode: promote`, and population-based training (`PBTScheduler`).
///
/// - **Pause.** A trial the scheduler pauses ends its process (a built-in trial exits by itself
///   after reporting the epoch, `sweep __trial --pause-at`; a command is stopped) and is stored
///   paused (`TrialStore.pauseTrial`: WAITING with its reports); its checkpoint stays.
/// - **Promote.** Before any new trial starts, `PausingScheduler.promotion` is asked; a promoted
///   trial is resumed (`resumePausedTrial`) from its checkpoint and trains on to its next pause.
///   The epochs it reports again from its checkpoint's history are not new: they are ignored, so
///   its stored reports stay epochs 1...N in order, each once.
/// - **End.** When no new trial may start, none runs and none is due for promotion, every paused
///   trial ends PRUNED with its last value (`endPausedTrial`). A run that stops (a user's stop, a
///   shutdown) leaves them paused for the next run.
/// - **Exploit.** On `Decision.exploit(donor:)` at epoch E the trial ends PRUNED, and before any
///   new sample a new trial starts (it counts toward the total) with `PBTScheduler.explore` of
///   the donor's parameters (the model's own, `model.*`, stay the donor's: the weights must fit),
///   from a copy of the donor's checkpoint at E (`<trial>/start-checkpoint`, kept for replay;
///   built-in trials keep a checkpoint at every multiple of the interval, `--keep-epochs`). It
///   records `sweep:pbt_donor` and `sweep:pbt_epoch`; the exploited trial `sweep:pbt_exploit`
///   (donor and epoch, written with the decision) and `sweep:pbt_exploited` (its continuation's
///   number, once created). A run that stops in between creates the missing continuations first
///   when the study runs again (`unfinishedExploits`).
/// - Several daemons sharing a study cannot pause, promote or exploit (the checkpoints live on
///   one host): `refuseInSharedRun`.
extension StudyController {
    /// The scheduler as a pausing one, when it pauses or exploits (not in stopping mode).
    var pausing: PausingScheduler? {
        if let a = scheduler as? ASHAScheduler, a.mode == .promote { return a }
        if let h = scheduler as? HyperbandScheduler, h.mode == .promote { return h }
        return nil
    }

    var pbt: PBTScheduler? { scheduler as? PBTScheduler }

    /// Refuses a study whose scheduler pauses, promotes or exploits in a run shared by several daemons.
    public static func refuseInSharedRun(_ spec: StudySpec) throws {
        let s = spec.scheduler
        guard s.name == "pbt" || s.words["mode"] == "promote" else { return }
        throw InputError(file: spec.file, field: "scheduler",
                         "\(s.summary) pauses trials and continues them from checkpoints on this host; a study shared by several daemons "
                         + "cannot use it: run it on one daemon, or use mode: stop")
    }

    /// The extra flags of a built-in trial's worker: where it pauses, which checkpoints it keeps,
    /// where it starts from (see `TrialWorker`).
    func workerFlags(number: Int) -> [String] {
        var flags: [String] = []
        if let a = scheduler as? ASHAScheduler, a.mode == .promote, !a.milestones.isEmpty {
            flags += ["--pause-at", a.milestones.map(String.init).joined(separator: ",")]
        }
        if let h = scheduler as? HyperbandScheduler, h.mode == .promote {
            let ms = h.milestones(ofBracket: h.bracket(of: number, studySeed: spec.seed))
            if !ms.isEmpty { flags += ["--pause-at", ms.map(String.init).joined(separator: ",")] }
        }
        if let p = pbt {
            flags += ["--keep-epochs", stride(from: p.interval, to: p.maxResource, by: p.interval).map(String.init).joined(separator: ",")]
            let start = Self.startCheckpoint(trialFolder: trialFolder(number))
            if FileManager.default.fileExists(atPath: start) { flags += ["--start-from", start] }
        }
        return flags
    }

    /// The copy of a donor's checkpoint a population-based training trial starts from.
    public static func startCheckpoint(trialFolder: String) -> String { trialFolder + "/start-checkpoint" }

    /// Whether a paused trial is due for promotion now.
    var promotionDue: Int? {
        guard let p = pausing else { return nil }
        return p.promotion(all: records, direction: direction, studySeed: spec.seed)
    }

    /// The paused trials of the study, by number.
    var pausedTrials: [Int] { records.filter(\.isPaused).map(\.number) }

    /// Resumes the paused trial `number` (promoted) from its checkpoint.
    func promote(_ number: Int, now: Date) throws -> TrialJob? {
        guard let t = try store.trial(studyID: study.id, number: number) else {
            throw RuntimeFailure("study '\(study.name)': trial \(number) is gone")
        }
        try store.resumePausedTrial(trialID: t.trialID, workerPID: nil)
        records[number].state = .running
        let job = job(id: t.trialID, number: number, seed: t.seed, values: t.record.params, configJSON: t.configJSON,
                      attempt: t.attempts, resumeEpoch: records[number].lastStep ?? 0, now: now)
        running[t.trialID]!.reportsFrom = (records[number].lastStep ?? 0) + 1
        return job
    }

    /// Ends every paused trial PRUNED (none will be promoted any more).
    func endPausedTrials(now: Date) throws {
        for number in pausedTrials {
            guard let t = try store.trial(studyID: study.id, number: number) else { continue }
            try store.endPausedTrial(trialID: t.trialID)
            records[number].intermediate = t.record.intermediate
            recordFinished(number: number, state: .pruned, value: records[number].lastValue, reason: nil, now: now)
        }
    }

    /// Starts the trial that continues an exploited one from its donor (see the type's comment).
    func exploitTrial(_ e: Exploit, now: Date) throws -> TrialJob? {
        guard let p = pbt else { return nil }
        let number = records.count
        let values = Self.continuation(of: records[e.donor].params, explored: p.explore(records[e.donor].params, space: spec.space,
                                                                                       studySeed: spec.seed, trialNumber: number), space: spec.space)
        let seed = trialSeed(number)
        let configJSON = try trialPayload(values, seed: seed)
        guard let id = try createNumbered(number, values: values, seed: seed, configJSON: configJSON) else {
            exploits.insert(e, at: 0)
            return try nextJob(now: now)
        }
        let folder = trialFolder(number)
        let donorCopy = TrialFolder.checkpoint(trialFolder: trialFolder(e.donor)) + ".epoch-\(e.epoch)"
        let start = Self.startCheckpoint(trialFolder: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: start)
        try FileManager.default.copyItem(atPath: donorCopy, toPath: start)
        try store.setTrialSystemAttribute(trialID: id, key: TrialAttribute.pbtDonor, valueJSON: "\(e.donor)")
        try store.setTrialSystemAttribute(trialID: id, key: TrialAttribute.pbtEpoch, valueJSON: "\(e.epoch)")
        try store.setTrialSystemAttribute(trialID: e.exploitedID, key: TrialAttribute.pbtExploited, valueJSON: "\(number)")
        records.append(TrialRecord(number: number, state: .running, params: values))
        return job(id: id, number: number, seed: seed, values: values, configJSON: configJSON, now: now)
    }

    /// The parameters of a donor's continuation: the explored ones, but those that shape the
    /// checkpoint (`model.*`, `training.optimizer`: its weights and optimizer state must fit) stay
    /// the donor's; then the active parameters only, any missing one taken from the donor.
    static func continuation(of donor: [String: Double], explored: [String: Double], space: SearchSpace) -> [String: Double] {
        func kept(_ name: String) -> Bool { name.hasPrefix("model.") || name == "training.optimizer" }
        let merged = explored.filter { !kept($0.key) }.merging(donor.filter { kept($0.key) }) { $1 }
        var out: [String: Double] = [:]
        for p in space.parameters where space.isActive(p, given: merged) {
            if let x = merged[p.name] ?? donor[p.name] { out[p.name] = x }
        }
        return out
    }

    /// The exploited trials an earlier run ended without creating their continuation (it stopped
    /// in between), by number: their continuations come before any new trial.
    func unfinishedExploits(_ stored: [StoredTrial]) throws -> [Exploit] {
        guard pbt != nil else { return [] }
        return try stored.filter { $0.record.state == .pruned }.compactMap { t in
            let attrs = try store.trialSystemAttributes(trialID: t.trialID)
            guard attrs[TrialAttribute.pbtExploited] == nil,
                  let e = attrs[TrialAttribute.pbtExploit].flatMap(TrialAttribute.pbtExploit(fromJSON:)) else { return nil }
            return Exploit(exploitedID: t.trialID, donor: e.donor, epoch: e.epoch)
        }
    }

    /// An exploited trial waiting for the trial that continues it from its donor.
    struct Exploit: Equatable {
        var exploitedID: Int64
        var donor: Int
        var epoch: Int
    }
}
