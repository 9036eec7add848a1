import SweepCore

/// Chooses the sampler a study uses. `auto`, the default, follows this rule:
/// - every parameter discrete and the grid no larger than the trial budget → grid (it covers the
///   whole space);
/// - else a budget of at most 200 trials → GP (sample-efficient where each trial is expensive);
/// - else TPE (its cost per suggestion stays flat with thousands of trials).
public enum SamplerFactory {
    public static func make(_ spec: ComponentSpec, space: SearchSpace, budget: Budget, file: String) throws -> Sampler {
        let o = spec.options
        func startup() -> Int { Int(o["startup_trials"] ?? 10) }
        switch spec.name {
        case "random": return RandomSampler()
        case "grid":
            do { return try GridSampler(space: space) } catch let e as DistributionError {
                throw InputError(file: file, field: "sampler", e.description)
            }
        case "tpe": return TPESampler(startupTrials: startup(), candidates: Int(o["candidates"] ?? 24))
        case "gp": return makeGP(startupTrials: startup()) ?? TPESampler(startupTrials: startup())
        case "auto":
            if let grid = try? GridSampler(space: space, limit: budget.trials), !space.isEmpty { return grid }
            if budget.trials <= 200, let gp = makeGP(startupTrials: startup()) { return gp }
            return TPESampler(startupTrials: startup())
        default:
            throw InputError(file: file, field: "sampler", "unknown sampler '\(spec.name)'; accepted: \(StudySpec.samplerNames.joined(separator: ", "))")
        }
    }

    /// The GP sampler.
    static func makeGP(startupTrials: Int) -> Sampler? { GPSampler(startupTrials: startupTrials) }
}
