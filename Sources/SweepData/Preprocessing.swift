import Foundation
import SweepCore

/// Everything between a raw input file and a model's input, stored with an exported model
/// (`model.json`'s `preprocessing`) so new data is prepared exactly as the training data was:
/// the CSV columns and their encoding, the scaler fitted on the training split, the class names
/// in the order of the model's outputs and the input shape.
public struct Preprocessing: Codable, Sendable, Equatable {
    /// The data set's kind (`csv`, `idx`, `mnist`, ...).
    public var dataset: String
    public var task: LearningTask
    /// One sample as the engine sees it: [H, W, C] for images (channels last), [D] for tables.
    public var inputShape: [Int]
    /// Class names, output i is class `classes[i]` (classification only).
    public var classes: [String]?
    /// How CSV columns become features (CSV data sets only).
    public var tabular: TabularEncoding?
    /// x' = (x - offset) * scale, per feature (one pair when all features share it).
    public var scaler: Scaler

    enum CodingKeys: String, CodingKey { case dataset, task, inputShape = "input_shape", classes, tabular, scaler }

    public var featureCount: Int { inputShape.reduce(1, *) }

    /// New samples read from a file: scaled model inputs, and the targets when the file has them.
    public struct Inputs: Sendable {
        public var features: [Float]
        public var count: Int
        public var labels: [Int32]?
        public var values: [Float]?
    }

    /// Reads new samples: a CSV with the training columns (the label column may be left out)
    /// for a CSV data set, an IDX image file (and optionally its IDX labels) for an image one.
    public func read(_ file: String, labels labelFile: String? = nil) throws -> Inputs {
        let bytes = try FileIO.read(file, field: "--input")
        var out: Inputs
        if let tabular {
            if labelFile != nil { throw InputError(field: "--labels", "is for IDX image files; a CSV's labels are its label column '\(tabular.label)'") }
            let rows = try tabular.encode(try CSVTable.parse(bytes, file: file, header: tabular.header))
            out = Inputs(features: rows.features, count: rows.count, labels: rows.labels, values: rows.values)
        } else {
            guard bytes.count >= 4, IDX.int32(bytes, 0) == 0x803 else {
                throw InputError(file: file, field: "--input",
                                 "not an IDX image file; a model trained on data set '\(dataset)' predicts IDX image files of \(inputShape.map(String.init).joined(separator: "x")) images")
            }
            let img = try IDX.images(bytes, file: file)
            guard img.shape == inputShape else {
                throw InputError(file: file, field: "--input",
                                 "images are \(img.shape.map(String.init).joined(separator: "x")); the model takes \(inputShape.map(String.init).joined(separator: "x"))")
            }
            out = Inputs(features: img.pixels, count: img.count)
            if let labelFile {
                let l = try IDX.labels(try FileIO.read(labelFile, field: "--labels"), file: labelFile)
                guard l.count == img.count else { throw InputError(file: labelFile, field: "--labels", "holds \(l.count) labels for \(img.count) images") }
                if let bad = l.first(where: { Int($0) >= (classes?.count ?? 0) }) {
                    throw InputError(file: labelFile, field: "--labels", "label \(bad) is not one of the model's \(classes?.count ?? 0) classes")
                }
                out.labels = l
            }
        }
        scaler.apply(&out.features, featureCount: featureCount)
        return out
    }
}

extension DataSplits {
    /// The preprocessing of these splits (fitted on `train`), for storing with a model.
    public func preprocessing(_ spec: DatasetSpec) -> Preprocessing {
        Preprocessing(dataset: spec.name, task: train.task, inputShape: train.sampleShape,
                      classes: train.classList,
                      tabular: train.encoding, scaler: scaler)
    }
}
