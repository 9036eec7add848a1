import Foundation
import SweepCore
import SweepData
import SweepEngine

/// A data set a study's trials train on, as loaded before the study runs.
public struct DataSummary: Sendable {
    public var spec: DatasetSpec
    public var task: LearningTask
    public var train: Int
    public var validation: Int
    public var test: Int
    /// One sample's shape as the model sees it: [H, W, C] for images, [D] for tables.
    public var inputShape: [Int]
    /// Class names in the order of the model's outputs (classification only).
    public var classes: [String]?

    public var rows: Int { train + validation + test }
    public var features: Int { inputShape.reduce(1, *) }

    /// The data set as one line: `name (file): task, rows, features, classes`.
    public var line: String {
        var s = spec.name
        if let p = spec.path ?? spec.train?.images { s += " " + p }
        s += ": \(task.rawValue), \(rows) rows (\(train) train, \(validation) validation, \(test) test), \(features) features"
        if inputShape.count > 1 { s += " (\(inputShape.map(String.init).joined(separator: "x")))" }
        if let classes {
            let shown = classes.prefix(20).joined(separator: ", ") + (classes.count > 20 ? ", ..." : "")
            s += ", \(classes.count) classes (\(shown))"
        }
        return s
    }
}

extension StudySpec {
    /// Loads every data set the study's trials can use (each value of the `dataset.` parameters
    /// when the space searches them; the low and high end of a numeric one) and checks that the
    /// trials can train on it: the files exist and parse, the objective and early-stopping
    /// metrics fit the task, and both corners of the space build a network for the data's shape.
    /// A command study has no data set: the result is empty. Throws an `InputError` naming the
    /// search-space file (and the data file) and what is accepted; writes nothing. `weights`
    /// resolves a `model.init.from` (`TransferSpec`) to its weights, which both corners must
    /// load (nil: not checked).
    public func inspectData(dataDir: String, weights: ((String) throws -> String)? = nil) throws -> [DataSummary] {
        guard command == nil else { return [] }
        var summaries: [DataSummary] = []
        for (values, dataset) in try datasetChoices() {
            let splits: DataSplits
            do { splits = try DatasetCatalog.load(dataset, dataDir: dataDir) } catch let e as InputError {
                throw located(e)
            }
            let train = splits.train
            let summary = DataSummary(spec: dataset, task: train.task, train: train.count, validation: splits.validation.count,
                                      test: splits.test.count, inputShape: train.sampleShape,
                                      classes: train.classList)
            guard summary.train > 0, summary.validation > 0 else {
                throw located(InputError(field: "dataset.validation", "\(summary.line): the \(summary.train == 0 ? "training" : "validation") split is empty; use more data or change `validation`"))
            }
            for corner in [lowCorner(), highCorner()] {
                var v = corner
                for (k, x) in values { v[k] = x }
                let config = try trialConfig(v)
                try checkMetric(objective.metric, key: "objective.metric", summary)
                if let es = config.training.earlyStopping { try checkMetric(es.metric, key: "training.early_stopping.metric", summary) }
                let layers = try NetworkBuilder.build(config.layers, input: summary.inputShape,
                                                      outputs: summary.task == .classification ? train.classCount : 1, file: file)
                // The weights to start from exist and fit (what can be checked before the study is written).
                if var t = config.transfer, let weights {
                    t.weights = try weights(t.from)
                    _ = try WeightTransfer.load(t, into: Network(layers: layers, inputShape: summary.inputShape), layers: config.layers, file: file)
                }
            }
            summaries.append(summary)
        }
        return summaries
    }

    /// The distinct data sets of the space, each with the values of the `dataset.` parameters
    /// that make it (every choice of a categorical one, both ends of a numeric one).
    func datasetChoices() throws -> [([String: Double], DatasetSpec)] {
        var combos: [[String: Double]] = [[:]]
        for p in space.parameters where p.name.hasPrefix("dataset.") {
            let points: [Double]
            if case .categorical(let c) = p.distribution { points = c.indices.map(Double.init) }
            else { points = [p.distribution.fromUnit(0), p.distribution.fromUnit(1)] }
            combos = combos.flatMap { c in points.map { x in c.merging([p.name: x]) { $1 } } }
            if combos.count > 256 { break }
        }
        var out: [([String: Double], DatasetSpec)] = []
        for values in combos {
            var v = lowCorner()
            for (k, x) in values { v[k] = x }
            let d = try trialConfig(v).dataset
            if !out.contains(where: { $0.1 == d }) { out.append((values, d)) }
        }
        return out
    }

    func checkMetric(_ metric: String, key: String, _ d: DataSummary) throws {
        let wrong = d.task == .classification ? "val_rmse" : "val_accuracy"
        guard metric == wrong else { return }
        let accepted = EpochReport.metricNames.filter { $0 != wrong }.joined(separator: ", ")
        let fix = d.task == .classification
            ? "or set `dataset.task: regression` if the label is a quantity"
            : "or set `dataset.task: classification` if the label names classes"
        throw InputError(file: file, line: line(of: key), field: key,
                         "\(metric) needs a \(d.task == .classification ? "regression" : "classification") data set, but the data set is \(d.task.rawValue) (\(d.line)); accepted for it: \(accepted); \(fix)")
    }

    /// A data set's error, moved to the search-space file's `dataset` key (the data file and its
    /// line stay in the message) when it is about a key of the file.
    func located(_ e: InputError) -> InputError {
        guard let field = e.field, field.hasPrefix("dataset") else { return e }
        var inner = e
        inner.field = nil
        return InputError(file: file, line: line(of: field), field: field, inner.description)
    }

    /// The line of a dotted key in the file (or of its closest parent that is there).
    func line(of key: String) -> Int? {
        var node: ConfigTree? = template
        var best = template.line
        for part in key.split(separator: ".") {
            let next: ConfigTree?
            switch node {
            case .map(let pairs, _)?: next = pairs.first { $0.key == part }?.value
            case .list(let items, _)?: next = Int(part).flatMap { items.indices.contains($0) ? items[$0] : nil }   // list items by index
            default: next = nil
            }
            guard let next else { break }
            node = next
            best = next.line ?? best
        }
        return best
    }
}
