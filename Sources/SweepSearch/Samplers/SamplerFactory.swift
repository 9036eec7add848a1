import SweepCore

/// Chooses the sampler a study uses; `auto`, the default, follows `autoChoice`'s rule.
/// Options: `startup_trials` (tpe, gp, auto; random and grid accept it and have no start-up
/// phase, so a file can switch samplers by name alone); `candidates` and `good_kernel_floor` (tpe);
/// `allow_repeats` (tpe, gp, auto; 0 by default: in a finite space no configuration is proposed
/// twice while untaken ones remain; 1 for noisy objectives worth re-measuring);
/// `ordinal_choices` (tpe, gp, auto: numeric choice lists as ordered values; on by default for
/// the GP, off for TPE, where it measured worse on the tuning landscapes of `bench/README.md`);
/// `population_size`, `crossover_prob`, `swapping_prob`, `mutation_prob` (nsga2; Optuna's
/// defaults 50, 0.9, 0.5 and 1/parameters).
public enum SamplerFactory {
    /// The options each sampler accepts.
    static let knownOptions: [String: [String]] = [
        "random": ["startup_trials"], "grid": ["startup_trials"],
        "tpe": ["startup_trials", "candidates", "good_kernel_floor", "allow_repeats", "ordinal_choices"],
        "gp": ["startup_trials", "allow_repeats", "ordinal_choices"], "auto": ["startup_trials", "allow_repeats", "ordinal_choices"],
        "nsga2": ["population_size", "crossover_prob", "swapping_prob", "mutation_prob", "allow_repeats"],
    ]

    /// `severalObjectives`: the study has several objectives or constraints (`auto` then picks
    /// TPE's multi-objective form; `StudySpec` refuses the GP when there are constraints).
    public static func make(_ spec: ComponentSpec, space: SearchSpace, budget: Budget, file: String,
                            severalObjectives: Bool = false) throws -> Sampler {
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
        let ordinal = o["ordinal_choices"].map { $0 != 0 }
        if let x = o["ordinal_choices"], x != 0, x != 1 {
            throw InputError(file: file, field: "sampler.ordinal_choices", "expected 0 or 1, got \(x)")
        }
        func tpe(candidates: Int = 24, floor: Double = TPESampler().goodKernelFloor) -> TPESampler {
            TPESampler(startupTrials: startup(), candidates: candidates, goodKernelFloor: floor,
                       ordinalChoices: ordinal ?? false, avoidRepeats: avoidRepeats)
        }
        func gp() -> GPSampler { GPSampler(startupTrials: startup(), ordinalChoices: ordinal ?? true, avoidRepeats: avoidRepeats) }
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
            return tpe(candidates: try int("candidates", 24, 1...100_000), floor: floor)
        case "gp": return gp()
        case "nsga2":
            func probability(_ k: String, _ d: Double?) throws -> Double? {
                guard let x = o[k] else { return d }
                guard x >= 0, x <= 1 else { throw InputError(file: file, field: "sampler.\(k)", "expected a probability from 0 to 1, got \(x)") }
                return x
            }
            return NSGAIISampler(populationSize: try int("population_size", 50, 2...100_000),
                                 crossoverProbability: try probability("crossover_prob", 0.9)!,
                                 swappingProbability: try probability("swapping_prob", 0.5)!,
                                 mutationProbability: try probability("mutation_prob", nil), avoidRepeats: avoidRepeats)
        case "auto":
            switch autoChoice(space: space, budget: budget, severalObjectives: severalObjectives).sampler {
            case "random": return RandomSampler()
            case "grid": return try GridSampler(space: space, limit: budget.trials)
            case "gp": return gp()
            default: return tpe()
            }
        default:
            throw InputError(file: file, field: "sampler", "unknown sampler '\(spec.name)'; accepted: \(StudySpec.samplerNames.joined(separator: ", "))")
        }
    }

    /// What `auto` picks for a study, and why (`sweep check` prints both).
    public struct AutoChoice: Equatable, Sendable {
        public let sampler: String
        public let reason: String
    }

    /// The rule of `auto`, from the space and the trial budget, first match wins:
    /// 0. several objectives or constraints (`severalObjectives`) → TPE (Optuna's MOTPE, with
    ///    constraints as Optuna's TPE ranks them): the GP (log EHVI) does not model constraints,
    ///    and measured behind MOTPE on DTLZ2 and digits-mlp-mo though ahead on ZDT1/2 and
    ///    fashion-mlp-mo (bench/README.md, "The GP with several objectives");
    /// 1. no parameters → random;
    /// 2. every parameter discrete and the whole grid within the budget → grid (it covers it);
    /// 3. a budget above 200 trials → TPE: its suggestion stays near 1 ms at 1,000 trials, where a
    ///    GP's refit grows as n³ (40 ms at 200);
    /// 4. more than half of the parameters conditional → TPE, whose densities leave inactive
    ///    parameters out (the GP sees them as a constant); a design choice, not benchmarked;
    /// 5. else GP, whatever the discrete share: with numeric choices as ordered values, no repeated
    ///    configuration and a discrete neighbourhood search it had half of Optuna TPE's regret at
    ///    25 and 50 trials on the tuning landscapes, where TPE was better only at 50 (bench/README.md).
    public static func autoChoice(space: SearchSpace, budget: Budget, severalObjectives: Bool = false) -> AutoChoice {
        if severalObjectives {
            return AutoChoice(sampler: "tpe", reason: "several objectives or constraints: multi-objective TPE (Optuna's MOTPE)")
        }
        let n = space.parameters.count
        guard n > 0 else { return AutoChoice(sampler: "random", reason: "the space has no parameters") }
        let discrete = space.parameters.filter { $0.distribution.valueCount != nil }.count
        let conditional = space.parameters.filter { !$0.conditions.isEmpty }.count
        if discrete == n, let grid = try? GridSampler(space: space, limit: budget.trials) {
            return AutoChoice(sampler: "grid", reason: "every parameter is discrete and all \(grid.points.count) configurations fit in the budget of \(budget.trials) trials")
        }
        if budget.trials > 200 {
            return AutoChoice(sampler: "tpe", reason: "a budget of \(budget.trials) trials (above 200): TPE's suggestion cost stays flat, a GP's grows as n³")
        }
        if 2 * conditional > n {
            return AutoChoice(sampler: "tpe", reason: "\(conditional) of \(n) parameters are conditional: TPE leaves inactive parameters out of its model")
        }
        let size = TakenConfigurations(space: space, history: [], trialNumber: 0).spaceSize
        let shape = discrete == n ? "all \(n) parameters discrete (\(size.map { String(format: "%.0f", $0) } ?? "?") configurations)"
                                  : "\(discrete) of \(n) parameters discrete"
        return AutoChoice(sampler: "gp", reason: "a budget of \(budget.trials) trials (at most 200), \(shape): GP, sample-efficient where each trial is expensive")
    }
}
