import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// How a controller takes trials in, starts them and ends them (see `StudyController`).
extension StudyController {
    // MARK: Trials others added

    /// Sorts unfinished trials into those to run (`pending`) and those Sweep leaves alone.
    func queue(_ trials: [StoredTrial]) {
        // Paused trials wait for a promotion (`StudyController+Pausing`), not a rerun.
        for t in trials where !t.record.state.isFinished && !t.record.isPaused {
            if t.record.state == .waiting || t.ownedBySweep { pending.append(t) } else { foreign.insert(t.record.number) }
        }
    }

    /// Takes in the trials others added since the study was loaded (enqueued, retried, Optuna's),
    /// so the history stays the store's and WAITING ones run next. Returns whether it found any.
    @discardableResult
    func pickUpAddedTrials() throws -> Bool {
        let added = try store.trials(studyID: study.id, fromNumber: records.count)
        guard !added.isEmpty else { return false }
        for t in added {
            guard t.record.number == records.count else {
                throw RuntimeFailure("study '\(study.name)': the store's trial numbers are not dense from 0")
            }
            records.append(t.record)
            count(t.record)
        }
        queue(added)
        if try growTotalForWaitingTrials() { try store.updateStudy(id: study.id, trialsTotal: total) }
        return true
    }

    /// The total grows to hold every trial that is to run (a study never leaves a trial WAITING);
    /// returns whether it grew.
    func growTotalForWaitingTrials() throws -> Bool {
        let needed = records.count - foreign.count
        guard !pending.isEmpty, needed > total else { return false }
        total = needed
        return true
    }

    // MARK: Starting trials

    func trialSeed(_ number: Int) -> UInt64 { SeedSequence.derive(spec.seed, SeedSequence.label("trial"), UInt64(number)) }

    func newTrial(now: Date) throws -> TrialJob? {
        let number = records.count
        let values = suggest(history: samplerHistory, number: number)
        let seed = trialSeed(number)
        let configJSON = try trialPayload(values, seed: seed)
        guard let id = try createNumbered(number, values: values, seed: seed, configJSON: configJSON) else {
            return try nextJob(now: now)
        }
        records.append(TrialRecord(number: number, state: .running, params: values))
        return job(id: id, number: number, seed: seed, values: values, configJSON: configJSON, now: now)
    }

    /// Stores trial `number` (RUNNING); nil when another writer added a trial meanwhile, which
    /// is then taken in (the caller starts what comes next).
    func createNumbered(_ number: Int, values: [String: Double], seed: UInt64, configJSON: String) throws -> Int64? {
        do {
            return try store.createTrial(studyID: study.id, params: storedParams(values), seed: seed, configJSON: configJSON,
                                         workerPID: nil, expectedNumber: number).trialID
        } catch is TrialNumberTaken {
            try pickUpAddedTrials()
            return nil
        }
    }

    /// Parameters in the store's form, in the space's order.
    func storedParams(_ values: [String: Double]) -> [(name: String, value: Double, distributionJSON: String)] {
        spec.space.parameters.compactMap { p in values[p.name].map { (name: p.name, value: $0, distributionJSON: distributionJSONs[p.name]!) } }
    }

    /// A queued trial another process started first: it is theirs (see the type's comment).
    func taken(_ number: Int) {
        records[number].state = .running
        foreign.insert(number)
    }

    /// Starts a WAITING trial others added without Sweep's row (see the type's comment), or
    /// fails it with the reason its given parameters were refused.
    func adopt(enqueued t: StoredTrial, now: Date) throws -> TrialJob? {
        let number = t.record.number
        let seed = trialSeed(number)
        let given = try store.givenParams(trialID: t.trialID)
        var problem = given.unreadable.first
        var values: [String: Double] = [:]
        var configJSON = ""
        if problem == nil {
            do {
                let fixed = try EnqueuedParams.resolve(given.values, space: spec.space)
                let others = samplerHistory.filter { $0.number != number }
                let proposal = suggest(history: others, number: number)
                var rng = SweepRandom(seed: SeedSequence.derive(seed, SeedSequence.label("enqueued")))
                values = EnqueuedParams.complete(fixed, proposal: proposal, space: spec.space, rng: &rng)
                configJSON = try trialPayload(values, seed: seed)
            } catch {
                problem = "\(error)"
            }
        }
        if let problem {
            let reason = "its enqueued parameters were refused: \(problem)"
            if try store.failEnqueuedTrial(trialID: t.trialID, seed: seed, reason: reason) {
                recordFinished(number: number, state: .fail, value: nil, reason: reason, now: now)
            } else {
                taken(number)
            }
            return nil
        }
        // Another process (Optuna's optimize) took it first: it is theirs.
        guard try store.adoptTrial(trialID: t.trialID, params: storedParams(values), seed: seed, configJSON: configJSON) else {
            taken(number)
            return nil
        }
        records[number] = TrialRecord(number: number, state: .running, params: values)
        return job(id: t.trialID, number: number, seed: seed, values: values, configJSON: configJSON, now: now)
    }

    /// Runs a requeued or interrupted trial again: its job continues from the trial's checkpoint
    /// when there is one (and says so, `TrialLine.resumed`).
    func rerun(_ t: StoredTrial, now: Date) throws -> TrialJob? {
        try store.restartTrial(trialID: t.trialID)
        try store.setTrialSystemAttribute(trialID: t.trialID, key: TrialAttribute.resumedFromEpoch, valueJSON: nil)
        if spec.isMultiObjective { try store.setTrialSystemAttribute(trialID: t.trialID, key: TrialAttribute.intermediateValues, valueJSON: nil) }
        records[t.record.number] = TrialRecord(number: t.record.number, state: .running, params: t.record.params)
        return job(id: t.trialID, number: t.record.number, seed: t.seed, values: t.record.params, configJSON: t.configJSON,
                   attempt: t.attempts + 1, now: now)
    }

    /// The job of a trial now RUNNING in the store, counted as running from `now`.
    func job(id: Int64, number: Int, seed: UInt64, values: [String: Double], configJSON: String, attempt: Int = 1,
             resumeEpoch: Int = 0, now: Date) -> TrialJob {
        running[id] = RunningTrial(number: number, startedAt: now)
        return trialJob(id: id, number: number, seed: seed, values: values, configJSON: configJSON, attempt: attempt, resumeEpoch: resumeEpoch)
    }

    // MARK: Finishing trials

    /// Ends a trial whose process exited: paused, put back to WAITING (the run stops), or finished
    /// with the state its exit and output make. `hold`: a shared run's COMPLETE result without
    /// metrics is held for the next claim of this controller (`claimJob`), which writes it in the
    /// same round trip, or written after the pool's next turn (`writeHeldFinishes`); failures are
    /// written at once, for the failure rules to count them before another trial starts.
    func finish(_ id: Int64, _ r: RunningTrial, exit: TrialExit, stderrTail: String, now: Date, hold: Bool = false) throws {
        var state: TrialState
        var value: Double? = nil
        var objectives: ObjectiveValues? = nil
        var reason: String? = nil
        if r.paused {
            // Paused (also when the run stops meanwhile): its reports and checkpoint are kept.
            try store.pauseTrial(trialID: id, owner: writer)
            records[r.number].state = .waiting
            return
        }
        if stopping && !r.pruned {
            // Stopped: run again later with the same parameters and seed.
            try store.requeueTrial(trialID: id, owner: writer)
            records[r.number].state = .waiting
            return
        }
        let epochs = records[r.number].lastStep ?? 0
        if r.pruned {
            // Whatever the process did after the stop (a signal, a cut line) is not a failure.
            state = .pruned; value = records[r.number].lastValue
        } else if let v = r.violation {
            state = .fail; reason = v
        } else if r.timedOut {
            state = .fail; reason = "timed out after \(Self.seconds(spec.budget.trialTimeout ?? 0))"
        } else {
            switch exit {
            case .exited(0):
                if r.finalValue == nil && r.metrics.isEmpty {
                    state = .fail; reason = "exited without printing a final {\"value\": ...} line"
                        + (spec.command == nil || spec.objectives.count > 1 ? "" : " (or {\"\(spec.objective.metric)\": ...})")
                } else {
                    switch ObjectiveValues.resolve(value: r.finalValue, named: r.metrics, lastReport: r.lastReport,
                                                   objectives: spec.objectives, constraints: spec.constraints) {
                    case .success(let o): state = .complete; value = o.values[0]; objectives = o
                    case .failure(let missing): state = .fail; reason = missing.description
                    }
                }
            case .exited(let code):
                state = .fail; reason = "exited with status \(code)"
                // The last line of stderr usually says why.
                if let line = stderrTail.split(separator: "\n").last(where: { !$0.allSatisfy(\.isWhitespace) }) {
                    reason! += ": " + String(line).trimmingCharacters(in: .whitespaces).shortened(to: 240)
                }
            case .signaled(let sig):
                state = .fail; reason = "killed by signal \(sig)\(sig == SIGKILL && options.memoryMB != nil ? " (memory limit?)" : "")"
            }
        }
        let result = FinishedResult(id: id, run: r, exit: exit, stderrTail: stderrTail, state: state, value: value, objectives: objectives,
                                    reason: reason, epochs: epochs, duration: now.timeIntervalSince(r.startedAt))
        if hold && shared && state == .complete && r.metrics.isEmpty {
            heldFinishes.append(result)
            return
        }
        try write(result, now: now)
    }

    /// Stores a finished trial's result (`finishTrial`), then what follows it (`finished`).
    func write(_ f: FinishedResult, now: Date) throws {
        let stored = try store.finishTrial(trialID: f.id, state: f.state, values: f.values, constraints: f.objectives?.constraints,
                                           exitStatus: Self.exitCode(f.exit), reason: f.reason, stderrTail: f.stderrTail,
                                           epochsRun: f.epochs, durationSeconds: f.duration, artifactDir: trialFolder(f.run.number),
                                           owner: writer)
        try finished(f, stored: stored, now: now)
    }

    /// A finished trial's result, decided when its process exited (see `finish`).
    struct FinishedResult {
        var id: Int64
        var run: RunningTrial
        var exit: TrialExit
        var stderrTail: String
        var state: TrialState
        var value: Double?
        var objectives: ObjectiveValues?
        var reason: String?
        var epochs: Int
        var duration: Double
        var values: [Double]? { objectives?.values ?? value.map { [$0] } }
    }

    /// What follows a finished trial's write: its built-in checkpoint goes, its metrics are
    /// stored, and it is mirrored in memory (`stored`: the state the store wrote).
    func finished(_ f: FinishedResult, stored state: TrialState, now: Date) throws {
        let id = f.id, r = f.run
        // A finished trial is not run again: its built-in checkpoint (the size of the model and
        // its optimizer state) goes; a command's checkpoints are the user's and stay.
        if spec.command == nil { try? FileManager.default.removeItem(atPath: TrialFolder.checkpoint(trialFolder: trialFolder(r.number))) }
        if state == .complete, !r.metrics.isEmpty { try store.setTrialUserAttributes(trialID: id, TrialAttribute.metrics(r.metrics)) }
        if state == .complete, let objectives = f.objectives {
            if spec.isMultiObjective { records[r.number].values = objectives.values }
            records[r.number].constraints = objectives.constraints
        }
        recordFinished(number: r.number, state: state, value: state == .fail ? nil : f.value, reason: f.reason, now: now)
        if state == .pruned, let e = r.exploit { exploits.append(e) }
    }

    /// Writes the results held for a claim that did not come (see `finish`): after each turn of
    /// the pool. A failed write is met as a failed finish is (`handle`).
    func writeHeldFinishes(now: Date) {
        while !heldFinishes.isEmpty {
            let f = heldFinishes.removeFirst()
            do { try write(f, now: now) } catch { finishFailed(f, error) }
        }
    }

    /// A result's write failed: a trial taken from this daemon is not its to finish; otherwise
    /// (the database unreachable) the result is written again with the next ticks.
    func finishFailed(_ f: FinishedResult, _ error: any Error) {
        if error is TrialNotOwned { return }
        storeTrouble = error
        unwritten.append((f.id, f.run, f.exit, f.stderrTail))
    }

    /// Mirrors a finished trial in memory and tells the observer.
    func recordFinished(number: Int, state: TrialState, value: Double?, reason: String?, now: Date) {
        records[number].state = state
        records[number].value = value
        count(records[number])
        if state == .fail { failuresBeforeSuccess.append(reason ?? "no reason") } else { succeededThisRun = true }
        observer?.trialFinished(number: number, state: state, value: value, reason: reason, progress: progress(now: now))
    }

    static func seconds(_ x: Double) -> String { x == x.rounded() ? "\(Int(x)) s" : "\(x) s" }

    static func exitCode(_ e: TrialExit) -> Int32 {
        switch e { case .exited(let c): return c; case .signaled(let s): return 128 + s }
    }

    var finishedCount: Int { (counts[.complete] ?? 0) + (counts[.pruned] ?? 0) + (counts[.fail] ?? 0) }

    /// Counts a trial that reached a finished state, and keeps the best value.
    func count(_ r: TrialRecord) {
        guard r.state.isFinished else { return }
        counts[r.state, default: 0] += 1
        // One best value only for one objective (several have a front) among feasible trials.
        guard !spec.isMultiObjective, r.violation == 0 else { return }
        if r.state == .complete, let v = r.value, !v.isNaN, best.map({ v * direction.sign < $0 * direction.sign }) ?? true { best = v }
    }
}
