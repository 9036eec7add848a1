import SweepSearch

/// A trial's objective and constraint values, taken from its protocol lines by metric name.
///
/// The first objective is the line's `value` when it has one, else its metric's number (from
/// `values` or an extra key); every other objective, and every constraint's metric, is its
/// metric's number: the final line's, else the last epoch report's (a built-in trial reports
/// `val_loss` each epoch and `model_bytes` at the end). A missing or NaN objective or constraint
/// metric is the reason the trial fails; a constraint is Optuna's form (`Constraint.values`, at
/// most 0 when it holds).
struct ObjectiveValues: Equatable {
    var values: [Double]
    /// nil when the study has no constraints.
    var constraints: [Double]?

    /// The values of a finished trial, or why there are none.
    static func resolve(value: Double?, named: [String: Double], lastReport: [String: Double],
                        objectives: [Objective], constraints: [Constraint]) -> Result<ObjectiveValues, Missing> {
        func number(_ metric: String, first: Bool) -> Double? {
            (first ? value : nil) ?? named[metric] ?? lastReport[metric]
        }
        var values: [Double] = []
        for (i, o) in objectives.enumerated() {
            guard let x = number(o.metric, first: i == 0) else { return .failure(Missing(metric: o.metric, constraint: false)) }
            guard !x.isNaN else { return .failure(Missing(metric: o.metric, constraint: false, isNaN: true)) }
            values.append(x)
        }
        var bounds: [Double] = []
        for c in constraints {
            guard let x = number(c.metric, first: c.metric == objectives[0].metric) else {
                return .failure(Missing(metric: c.metric, constraint: true))
            }
            // Optuna refuses NaN constraint values.
            guard !x.isNaN else { return .failure(Missing(metric: c.metric, constraint: true, isNaN: true)) }
            bounds += c.values(x)
        }
        return .success(ObjectiveValues(values: values, constraints: constraints.isEmpty ? nil : bounds))
    }

    /// An objective or constraint metric the trial did not report (or reported as NaN).
    struct Missing: Error, Equatable, CustomStringConvertible {
        var metric: String
        var constraint: Bool
        var isNaN = false
        var description: String {
            let what = constraint ? "constraint metric" : "objective"
            return isNaN ? "reported NaN for the \(what) '\(metric)'"
                : "reported no value for the \(what) '\(metric)' (print it in the final line, e.g. {\"values\": {\"\(metric)\": ...}})"
        }
    }

    /// The first objective's value in an epoch report (`value`, else its metric's number), and
    /// every objective's when the report has them all (nil otherwise).
    static func report(value: Double?, extra: [String: Double], objectives: [Objective]) -> (first: Double?, all: [Double]?) {
        let first = value ?? extra[objectives[0].metric]
        guard let first else { return (nil, nil) }
        let rest = objectives.dropFirst().map { extra[$0.metric] }
        return (first, rest.contains(where: { $0 == nil }) ? nil : [first] + rest.map { $0! })
    }
}
