import SweepCore

/// Builds the scheduler a study file names (`scheduler: asha` or `scheduler: {name: asha, ...}`).
/// Options: `reduction_factor`, `min_epochs`, `grace_period` (ASHA, Hyperband); `warmup_epochs`,
/// `min_trials` (median). The maximum resource is the study's `budget.max_epochs`.
public enum SchedulerFactory {
    public static func make(_ spec: ComponentSpec, maxEpochs: Int, file: String) throws -> Scheduler {
        let o = spec.options
        let known: [String: [String]] = [
            "none": [], "asha": ["reduction_factor", "min_epochs", "grace_period"],
            "hyperband": ["reduction_factor", "min_epochs"], "median": ["warmup_epochs", "min_trials"],
        ]
        guard let accepted = known[spec.name] else {
            throw InputError(file: file, field: "scheduler", "unknown scheduler '\(spec.name)'; accepted: \(StudySpec.schedulerNames.joined(separator: ", "))")
        }
        for k in o.keys where !accepted.contains(k) {
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
        do {
            switch spec.name {
            case "asha":
                return try ASHAScheduler(reductionFactor: try int("reduction_factor", 3), minResource: try int("min_epochs", 1),
                                         maxResource: maxEpochs, gracePeriod: try int("grace_period", 1))
            case "hyperband":
                return try HyperbandScheduler(reductionFactor: try int("reduction_factor", 3), minResource: try int("min_epochs", 1), maxResource: maxEpochs)
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
