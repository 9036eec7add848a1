/// Earlier studies' trials as prior observations of a new study (`sweep start --warm-start`,
/// `sweep fork`): what a sampler sees before the study's own first trial.
///
/// A trial of an earlier study fits the new space when, after its values are converted by name
/// through its own distributions (external values, so a choice keeps its meaning when the list
/// is reordered or extended), it is a valid assignment of the new space: every parameter active
/// for it has a value the new distribution contains, and it has no value for a parameter the new
/// space lacks or leaves inactive. Only COMPLETE trials with a finite value are taken. Their
/// objective must mean the same (the caller checks the metric; a value is an observation of the
/// metric, so the new study's direction decides which priors are good). Priors get negative
/// numbers, −1 for the newest, so they never collide with the study's own trials and sort first;
/// they do not count toward the budget, and samplers that avoid repeats or cover a grid count
/// only the study's own trials as taken (a prior's point may be measured again).
public enum WarmStart {
    public struct Source: Sendable {
        public var study: String
        public var space: SearchSpace
        public var trials: [TrialRecord]
        public init(study: String, space: SearchSpace, trials: [TrialRecord]) {
            self.study = study; self.space = space; self.trials = trials
        }
    }

    /// One prior observation as stored with the new study (its run options): the source trial's
    /// study and number, its parameters as internal values of the new space, and its value.
    public struct Prior: Sendable, Codable, Equatable {
        public var study: String
        public var trial: Int
        public var params: [String: Double]
        public var value: Double
        public init(study: String, trial: Int, params: [String: Double], value: Double) {
            self.study = study; self.trial = trial; self.params = params; self.value = value
        }
    }

    /// What a study was warm-started from: the earlier studies, by name, and the priors taken
    /// from them when it was created (nil before).
    public struct Selection: Sendable, Codable, Equatable {
        public var studies: [String]
        public var priors: [Prior]?
        public init(studies: [String], priors: [Prior]? = nil) { self.studies = studies; self.priors = priors }
    }

    /// The prior observations for `space` from `sources` (in order), and how many COMPLETE
    /// trials of the sources did not fit (or had no finite value).
    public static func priors(from sources: [Source], for space: SearchSpace) -> (priors: [Prior], skipped: Int) {
        var out: [Prior] = []
        var skipped = 0
        for source in sources {
            let old = Dictionary(uniqueKeysWithValues: source.space.parameters.map { ($0.name, $0.distribution) })
            for t in source.trials.sorted(by: { $0.number < $1.number }) where t.state == .complete {
                guard let value = t.value, value.isFinite, let params = convert(t.params, from: old, to: space) else { skipped += 1; continue }
                out.append(Prior(study: source.study, trial: t.number, params: params, value: value))
            }
        }
        return (out, skipped)
    }

    /// `priors` as the COMPLETE trials a sampler sees, numbered −n...−1 in their order.
    public static func records(_ priors: [Prior]) -> [TrialRecord] {
        let n = priors.count
        return priors.enumerated().map { i, p in TrialRecord(number: i - n, state: .complete, params: p.params, value: p.value) }
    }

    static func convert(_ params: [String: Double], from old: [String: Distribution], to space: SearchSpace) -> [String: Double]? {
        var out: [String: Double] = [:]
        for (name, x) in params {
            guard let from = old[name], let to = space[name]?.distribution,
                  let y = to.internalValue(from.value(x)) else { return nil }
            out[name] = y
        }
        return space.isValid(out) ? out : nil
    }
}

extension TrialRecord {
    /// A prior observation from an earlier study (`WarmStart`), not a trial of this study.
    public var isPrior: Bool { number < 0 }
}
