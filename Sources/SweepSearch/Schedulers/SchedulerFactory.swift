import SweepCore

/// Builds the scheduler a study file names (`scheduler: asha` or `scheduler: {name: asha, ...}`).
/// Options: `reduction_factor`, `min_epochs`, `grace_period` (ASHA), `mode: stop|promote`
/// (ASHA, Hyperband; `stop` by default); `warmup_epochs`, `min_trials` (median); `interval`,
/// `quantile`, `resample_probability`, `min_population` (pbt: `interval` is required). The
/// maximum resource is the study's `budget.max_epochs`.
public enum SchedulerFactory {
    public static func make(_ spec: ComponentSpec, maxEpochs: Int, file: String) throws -> Scheduler {
        let o = spec.options
        let known: [String: [String]] = [
            "none": [], "asha": ["reduction_factor", "min_epochs", "grace_period", "mode"],
            "hyperband": ["reduction_factor", "min_epochs", "mode"], "median": ["warmup_epochs", "min_trials"],
            "pbt": ["interval", "quantile", "resample_probability", "min_population"],
        ]
        guard let accepted = known[spec.name] else {
            throw InputError(file: file, field: "scheduler", "unknown scheduler '\(spec.name)'; accepted: \(StudySpec.schedulerNames.joined(separator: ", "))")
        }
        for k in Array(o.keys) + Array(spec.words.keys) where !accepted.contains(k) {
            throw InputError(file: file, field: "scheduler.\(k)", "unknown option of \(spec.name); accepted: \(accepted.isEmpty ? "none" : accepted.joined(separator: ", "))")
        }
        func int(_ k: String, _ d: Int) throws -> Int {
            guard let x = o[k] else { return d }
            // Whole numbers only, and small enough to convert (Int(1e300) would trap).
            guard x == x.rounded(), abs(x) <= 1e9 else {
                throw InputError(file: file, field: "scheduler.\(k)", "expected a whole number from -1000000000 to 1000000000, got \(x)")
            }
            return Int(x)
        }
        func mode() throws -> ASHAScheduler.Mode {
            if o["mode"] != nil {
                throw InputError(file: file, field: "scheduler.mode", "expected a word; accepted: \(ASHAScheduler.Mode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let w = spec.words["mode"] else { return .stop }
            guard let m = ASHAScheduler.Mode(rawValue: w) else {
                throw InputError(file: file, field: "scheduler.mode", "unknown mode '\(w)'; accepted: \(ASHAScheduler.Mode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return m
        }
        do {
            switch spec.name {
            case "asha":
                return try ASHAScheduler(reductionFactor: try int("reduction_factor", 3), minResource: try int("min_epochs", 1),
                                         maxResource: maxEpochs, gracePeriod: try int("grace_period", 1), mode: try mode())
            case "hyperband":
                return try HyperbandScheduler(reductionFactor: try int("reduction_factor", 3), minResource: try int("min_epochs", 1),
                                              maxResource: maxEpochs, mode: try mode())
            case "pbt":
                guard o["interval"] != nil else {
                    throw InputError(file: file, field: "scheduler.interval", "pbt needs `interval`: the epochs between exploit steps (at least 1, below max_epochs)")
                }
                return try PBTScheduler(interval: try int("interval", 1), quantile: o["quantile"] ?? 0.25, maxResource: maxEpochs,
                                        resampleProbability: o["resample_probability"] ?? 0.25, minPopulation: try int("min_population", 4))
            case "median":
                return try MedianScheduler(warmupSteps: try int("warmup_epochs", 1), minTrials: try int("min_trials", 5))
            default:
                return NoScheduler()
            }
        } catch var e as InputError {
            e.file = file
            throw e
        }
    }
}
