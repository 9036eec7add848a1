import SweepCore
import SweepEngine

/// A bound a feasible trial keeps on one of its metrics (`constraints:` in the file), e.g.
/// `{metric: latency_ms, max: 2.0}`. Stored as Optuna's constrained samplers store constraints:
/// one number per bound, at most 0 when it holds (`value - max`, `min - value`).
public struct Constraint: Equatable, Sendable, Codable {
    public var metric: String
    public var max: Double?
    public var min: Double?
    public init(metric: String, max: Double? = nil, min: Double? = nil) { self.metric = metric; self.max = max; self.min = min }

    /// Optuna's constraint values of the metric's value `x`: one per bound, max first.
    public func values(_ x: Double) -> [Double] {
        (max.map { [x - $0] } ?? []) + (min.map { [$0 - x] } ?? [])
    }

    public var summary: String {
        [min.map { "\(metric) >= \($0)" }, max.map { "\(metric) <= \($0)" }].compactMap { $0 }.joined(separator: ", ")
    }
}

/// The objectives and constraints of a search-space file:
/// ```yaml
/// objective: {metric: val_accuracy, direction: maximize}      # one objective, or a list:
/// objective:
///   - {metric: val_accuracy, direction: maximize}
///   - {metric: model_bytes, direction: minimize}
/// constraints:                                                 # feasible when every one holds
///   - {metric: latency_ms, max: 2.0}                          # max, min or both
/// ```
/// A study of several objectives searches their Pareto front. Samplers that handle several
/// objectives or constraints: auto (TPE's multi-objective form, Optuna's MOTPE), tpe, nsga2,
/// random, grid; gp handles several objectives (one GP each, expected hypervolume improvement)
/// but not constraints, and is refused for them.
/// Early stopping with several objectives: asha (Pareto fronts at each rung, see `RungLadder`);
/// hyperband and median rank one value and are refused.
extension StudySpec {
    /// The objectives' directions, in the study's order.
    public var directions: [Direction] { objectives.map(\.direction) }
    public var metrics: [String] { objectives.map(\.metric) }
    /// Several objectives, or constraints: the study ranks trials by Pareto fronts and
    /// feasibility rather than by one value.
    public var isMultiObjective: Bool { objectives.count > 1 }

    /// `maximize val_accuracy, minimize model_bytes`.
    public var objectiveSummary: String { objectives.map { "\($0.direction.rawValue) \($0.metric)" }.joined(separator: ", ") }
    /// `latency_ms <= 2.0` (or `(none)`).
    public var constraintSummary: String { constraints.isEmpty ? "(none)" : constraints.map(\.summary).joined(separator: ", ") }

    static func parseObjectives(_ root: ConfigReader, regression: Bool) throws -> [Objective] {
        func direction(_ o: ConfigReader, metric: String) throws -> Direction {
            let d = try o.string("direction") ?? (metric.contains("accuracy") ? "maximize" : "minimize")
            guard let dir = Direction(rawValue: d) else { throw o.error("direction", "'\(d)' is not accepted; accepted: minimize, maximize") }
            return dir
        }
        guard let node = root.value("objective") else {
            return [regression ? Objective(metric: "val_rmse", direction: .minimize) : Objective()]
        }
        if case .list(let items, _) = node {
            guard !items.isEmpty else {
                throw root.error("objective", "the list of objectives is empty; give one or more {metric: NAME, direction: minimize|maximize}")
            }
            var out: [Objective] = []
            for (i, item) in items.enumerated() {
                let o = try ConfigReader(item, file: root.file, path: "objective.\(i)")
                try o.only(["metric", "direction"])
                let metric = try o.required("metric", what: "the name of a metric the trials report, e.g. val_accuracy")
                if out.contains(where: { $0.metric == metric }) {
                    throw o.error("metric", "'\(metric)' is already an objective (item \(out.firstIndex { $0.metric == metric }!)); each metric may be one objective")
                }
                out.append(Objective(metric: metric, direction: try direction(o, metric: metric)))
            }
            return out
        }
        guard let o = try root.map("objective") else { return [Objective()] }
        try o.only(["metric", "direction"])
        let metric = try o.string("metric") ?? Objective().metric
        return [Objective(metric: metric, direction: try direction(o, metric: metric))]
    }

    static func parseConstraints(_ root: ConfigReader) throws -> [Constraint] {
        guard let items = try root.list("constraints") else {
            if let v = root.value("constraints"), case .scalar(let s, _) = v, s == "null" || s == "~" || s.isEmpty { return [] }
            return []
        }
        var out: [Constraint] = []
        for (i, item) in items.enumerated() {
            let c = try ConfigReader(item, file: root.file, path: "constraints.\(i)")
            try c.only(["metric", "max", "min"])
            let metric = try c.required("metric", what: "the name of a metric the trials report, e.g. latency_ms")
            let max = try c.double("max"), min = try c.double("min")
            guard max != nil || min != nil else {
                throw c.error(nil, "constraint on '\(metric)' has no bound; give max (feasible when the metric is at most it), min, or both")
            }
            if let max, let min, min > max { throw c.error("min", "\(min) is above max \(max): no value is feasible") }
            if out.contains(where: { $0.metric == metric }) {
                throw c.error("metric", "'\(metric)' already has a constraint; give both bounds in one item ({metric: \(metric), min: A, max: B})")
            }
            out.append(Constraint(metric: metric, max: max, min: min))
        }
        return out
    }

    /// Metrics a built-in trial reports: per epoch (`EpochReport.metricNames`) and after training
    /// (`FinalReport.metricNames`).
    static var builtInMetrics: [String] { EpochReport.metricNames + FinalReport.metricNames }

    /// Checks objectives and constraints against what the trials report and what the sampler and
    /// scheduler can handle. A built-in study's first objective must be reported every epoch
    /// (it is the value early stopping and Optuna's intermediate values follow).
    func validateObjectives() throws {
        if command == nil {
            for (i, o) in objectives.enumerated() where !Self.builtInMetrics.contains(o.metric) {
                throw InputError(file: file, line: line(of: objectives.count > 1 ? "objective.\(i).metric" : "objective.metric"),
                                 field: objectives.count > 1 ? "objective.\(i).metric" : "objective.metric",
                                 "unknown metric '\(o.metric)'; accepted: \(Self.builtInMetrics.joined(separator: ", "))")
            }
            if !EpochReport.metricNames.contains(objectives[0].metric) {
                let key = objectives.count > 1 ? "objective.0.metric" : "objective.metric"
                throw InputError(file: file, line: line(of: key), field: key,
                                 "'\(objectives[0].metric)' is known only after training; the first objective is reported every epoch: one of \(EpochReport.metricNames.joined(separator: ", "))\(objectives.count > 1 ? " (put it first and '\(objectives[0].metric)' after it)" : "")")
            }
            for (i, c) in constraints.enumerated() where !Self.builtInMetrics.contains(c.metric) {
                throw InputError(file: file, line: line(of: "constraints.\(i).metric"), field: "constraints.\(i).metric",
                                 "unknown metric '\(c.metric)'; accepted: \(Self.builtInMetrics.joined(separator: ", "))")
            }
        }
        if command != nil && scheduler.name == "pbt" {
            throw InputError(file: file, line: line(of: "scheduler"), field: "scheduler",
                             "pbt starts trials from copies of other trials' engine checkpoints: it needs built-in trials (no `command`); use asha or hyperband (mode: promote) for a command")
        }
        guard isMultiObjective || !constraints.isEmpty else { return }
        let why = isMultiObjective ? "\(objectives.count) objectives" : "constraints"
        if sampler.name == "gp", !constraints.isEmpty {
            throw InputError(file: file, line: line(of: "sampler"), field: "sampler",
                             "gp does not model constraints; with constraints use auto (multi-objective TPE), tpe, nsga2, random or grid")
        }
        if isMultiObjective, ["hyperband", "median", "pbt"].contains(scheduler.name) {
            throw InputError(file: file, line: line(of: "scheduler"), field: "scheduler",
                             "\(scheduler.name) ranks trials by one value; with \(why) use asha (Pareto fronts at each rung) or none")
        }
        if isMultiObjective, scheduler.words["mode"] == "promote" {
            throw InputError(file: file, line: line(of: "scheduler.mode"), field: "scheduler.mode",
                             "promote ranks paused trials by one value; with \(why) use mode: stop (Pareto fronts at each rung)")
        }
    }
}
