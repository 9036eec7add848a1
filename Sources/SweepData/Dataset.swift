import SweepCore

/// What a model learns to predict.
public enum LearningTask: String, Codable, Sendable, Equatable {
    case classification
    case regression
}

/// An in-memory data set: `count` samples of `sampleShape` features each, row-major.
///
/// Images are stored channels-last: a sample of shape [H, W, C] is H*W*C floats. Tabular samples
/// have shape [D]. Classification targets are class indices in `labels`; regression targets are
/// in `values`. A `Dataset` is an immutable value; splitting and scaling return new ones.
public struct Dataset: Sendable {
    public var name: String
    public var sampleShape: [Int]
    public var features: [Float]
    public var task: LearningTask
    public var labels: [Int32]
    public var values: [Float]
    public var classCount: Int
    public var classNames: [String]?
    /// The range every raw feature lies in, when the format fixes it (pixels: 0...255).
    public var valueRange: ClosedRange<Float>?
    /// How a CSV's columns became these features (nil for image data sets).
    public var encoding: TabularEncoding?

    public var count: Int { task == .classification ? labels.count : values.count }
    /// The class names in label order (the labels' numbers when the format names none); nil for regression.
    public var classList: [String]? { task == .classification ? classNames ?? (0..<classCount).map(String.init) : nil }
    public var featureCount: Int { sampleShape.reduce(1, *) }

    public init(name: String, sampleShape: [Int], features: [Float], labels: [Int32], classCount: Int,
                classNames: [String]? = nil) {
        precondition(features.count == labels.count * sampleShape.reduce(1, *))
        self.name = name; self.sampleShape = sampleShape; self.features = features
        self.task = .classification; self.labels = labels; self.values = []
        self.classCount = classCount; self.classNames = classNames
    }

    public init(name: String, sampleShape: [Int], features: [Float], values: [Float]) {
        precondition(features.count == values.count * sampleShape.reduce(1, *))
        self.name = name; self.sampleShape = sampleShape; self.features = features
        self.task = .regression; self.labels = []; self.values = values
        self.classCount = 0; self.classNames = nil
    }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int], name: String? = nil) -> Dataset {
        let d = featureCount
        var f = [Float](repeating: 0, count: indices.count * d)
        f.withUnsafeMutableBufferPointer { dst in
            features.withUnsafeBufferPointer { src in
                for (row, i) in indices.enumerated() {
                    (dst.baseAddress! + row * d).update(from: src.baseAddress! + i * d, count: d)
                }
            }
        }
        var out = self
        out.name = name ?? self.name
        out.features = f
        if task == .classification { out.labels = indices.map { labels[$0] } }
        else { out.values = indices.map { values[$0] } }
        return out
    }
}

/// A data set divided for training: `test` is the held-out set reported at the end. `scaler`
/// is the scaling fitted on `train` and already applied to all three.
public struct DataSplits: Sendable {
    public var train: Dataset
    public var validation: Dataset
    public var test: Dataset
    public var scaler: Scaler

    public init(train: Dataset, validation: Dataset, test: Dataset, scaler: Scaler = .identity) {
        self.train = train; self.validation = validation; self.test = test; self.scaler = scaler
    }
}
