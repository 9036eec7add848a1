/// Earlier studies' trials as prior observations of a new study (`sweep start --warm-start`,
/// `sweep fork`): what a sampler sees before the study's own first trial.
///
/// A trial of an earlier study fits the new space when, after its values are converted by name
/// through its own distributions (external values, so a choice keeps its meaning when the list
/// is reordered or extended), it is a valid assignment of the new space: every parameter active
/// for it has a value the new distribution contains, and it has no value for a parameter the new
/// space lacks or leaves inactive. Only COMPLETE trials with a finite value are taken (their
/// objective must mean the same: the caller checks metric and direction). Priors get negative
/// numbers, −1 for the oldest, so they never collide with the study's own trials and sort first;
/// they do not count toward the budget.
public enum WarmStart {
    public struct Source: Sendable {
        public var space: SearchSpace
        public var trials: [TrialRecord]
        public init(space: SearchSpace, trials: [TrialRecord]) { self.space = space; self.trials = trials }
    }

    /// The prior observations for `space` from `sources` (in order), and how many COMPLETE
    /// trials of the sources did not fit (or had no finite value).
    public static func priors(from sources: [Source], for space: SearchSpace) -> (priors: [TrialRecord], skipped: Int) {
        var out: [TrialRecord] = []
        var skipped = 0
        for source in sources {
            let old = Dictionary(uniqueKeysWithValues: source.space.parameters.map { ($0.name, $0.distribution) })
            for t in source.trials where t.state == .complete {
                guard t.value?.isFinite ?? false, let params = convert(t.params, from: old, to: space) else { skipped += 1; continue }
                var prior = t
                prior.params = params
                prior.intermediate = [:]
                prior.intermediateValues = [:]
                out.append(prior)
            }
        }
        // The oldest gets the most negative number, so numbers increase in the sources' order.
        let n = out.count
        for i in out.indices { out[i].number = i - n }
        return (out, skipped)
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
