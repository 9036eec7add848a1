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
        func int(_ k: String, _ d: Int) -> Int { o[k].map { Int($0) } ?? d }
        do {
            switch spec.name {
            case "asha":
                return try ASHAScheduler(reductionFactor: int("reduction_factor", 3), minResource: int("min_epochs", 1),
                                         maxResource: maxEpochs, gracePeriod: int("grace_period", 1))
            case "hyperband":
                return try HyperbandScheduler(reductionFactor: int("reduction_factor", 3), minResource: int("min_epochs", 1), maxResource: maxEpochs)
            case "median":
                return try MedianScheduler(warmupSteps: int("warmup_epochs", 1), minTrials: int("min_trials", 5))
            default:
                return NoScheduler()
            }
        } catch var e as InputError {
            e.file = file
            throw e
        }
    }
}
