import SweepCore

/// Chooses the sampler a study uses. `auto`, the default, follows this rule:
/// - every parameter discrete and the grid no larger than the trial budget → grid (it covers the
///   whole space);
/// - else a budget of at most 200 trials → GP (sample-efficient where each trial is expensive);
/// - else TPE (its cost per suggestion stays flat with thousands of trials).
/// Options: `startup_trials` (tpe, gp, auto; random and grid accept it and have no start-up
/// phase, so a file can switch samplers by name alone); `candidates` and `good_kernel_floor` (tpe).
public enum SamplerFactory {
    /// The options each sampler accepts.
    static let knownOptions: [String: [String]] = [
        "random": ["startup_trials"], "grid": ["startup_trials"],
        "tpe": ["startup_trials", "candidates", "good_kernel_floor", "allow_repeats", "ordinal_choices"],
        "gp": ["startup_trials", "allow_repeats", "ordinal_choices"], "auto": ["startup_trials", "allow_repeats", "ordinal_choices"],
        "gp+tpe": ["startup_trials", "allow_repeats", "switch_at"],
    ]

    public static func make(_ spec: ComponentSpec, space: SearchSpace, budget: Budget, file: String) throws -> Sampler {
        let o = spec.options
        if let accepted = knownOptions[spec.name] {
            for k in o.keys.sorted() where !accepted.contains(k) {
                throw InputError(file: file, field: "sampler.\(k)", "unknown option of \(spec.name); accepted: \(accepted.isEmpty ? "none" : accepted.joined(separator: ", "))")
            }
        }
        // Whole numbers in range only (Int(1e300) would trap).
        func int(_ k: String, _ d: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let x = o[k] else { return d }
            guard x == x.rounded(), x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
                throw InputError(file: file, field: "sampler.\(k)", "expected a whole number from \(range.lowerBound) to \(range.upperBound), got \(x)")
            }
            return Int(x)
        }
        let startupTrials = try int("startup_trials", 10, 0...1_000_000)
        let avoidRepeats = try int("allow_repeats", 0, 0...1) == 0
        let ordinal = try int("ordinal_choices", 1, 0...1) == 1
        func startup() -> Int { startupTrials }
        switch spec.name {
        case "random": return RandomSampler()
        case "grid":
            do { return try GridSampler(space: space) } catch let e as DistributionError {
                throw InputError(file: file, field: "sampler", e.description)
            }
        case "tpe":
            let floor = o["good_kernel_floor"] ?? TPESampler().goodKernelFloor
            guard floor > 0, floor <= 1 else {
                throw InputError(file: file, field: "sampler.good_kernel_floor", "expected a number above 0 and at most 1 (1: Optuna's limit), got \(floor)")
            }
            return TPESampler(startupTrials: startup(), candidates: try int("candidates", 24, 1...100_000), goodKernelFloor: floor,
                              ordinalChoices: ordinal, avoidRepeats: avoidRepeats)
        case "gp": return GPSampler(startupTrials: startup(), ordinalChoices: ordinal, avoidRepeats: avoidRepeats)
        case "gp+tpe":
            return PhasedSampler(first: GPSampler(startupTrials: startup(), avoidRepeats: avoidRepeats),
                                 then: TPESampler(startupTrials: startup(), ordinalChoices: false, avoidRepeats: avoidRepeats),
                                 switchAt: try int("switch_at", 30, 0...1_000_000))
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
