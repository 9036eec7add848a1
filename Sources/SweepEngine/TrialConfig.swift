import SweepCore
import SweepData

/// One layer as written in a model file. Dense and conv layers may carry their own activation,
/// batch normalization and dropout, which the builder expands into separate engine layers.
public struct LayerSpec: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case dense, conv2d, maxpool2d, avgpool2d, global_avgpool, flatten, dropout, batchnorm, activation
    }
    public var type: Kind
    public var units: Int?
    public var filters: Int?
    public var kernel: Int?
    public var stride: Int?
    public var padding: Padding?
    public var size: Int?
    public var rate: Double?
    public var activation: ActivationKind?
    public var batchnorm: Bool?
    public var dropout: Double?

    public init(type: Kind, units: Int? = nil, filters: Int? = nil, kernel: Int? = nil, stride: Int? = nil,
                padding: Padding? = nil, size: Int? = nil, rate: Double? = nil, activation: ActivationKind? = nil,
                batchnorm: Bool? = nil, dropout: Double? = nil) {
        self.type = type; self.units = units; self.filters = filters; self.kernel = kernel; self.stride = stride
        self.padding = padding; self.size = size; self.rate = rate; self.activation = activation
        self.batchnorm = batchnorm; self.dropout = dropout
    }

    public static func dense(_ units: Int, _ act: ActivationKind = .relu) -> LayerSpec { LayerSpec(type: .dense, units: units, activation: act) }
    public static func conv(_ filters: Int, _ kernel: Int = 3, padding: Padding = .same) -> LayerSpec {
        LayerSpec(type: .conv2d, filters: filters, kernel: kernel, padding: padding, activation: .relu)
    }
    public static func maxpool(_ size: Int = 2) -> LayerSpec { LayerSpec(type: .maxpool2d, size: size) }
}

public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    case sgd, momentum, nesterov, adam, adamw, rmsprop
}

public enum ScheduleKind: String, Codable, Sendable, CaseIterable {
    case constant, step, cosine
}

public struct EarlyStopping: Codable, Equatable, Sendable {
    /// `val_loss`, `val_accuracy` or `val_rmse`.
    public var metric: String
    public var patience: Int
    public var minDelta: Double
    public init(metric: String = "val_loss", patience: Int = 3, minDelta: Double = 0) {
        self.metric = metric; self.patience = patience; self.minDelta = minDelta
    }
}

public struct Augmentation: Codable, Equatable, Sendable {
    /// Random shift of up to this many pixels each way (pad-and-crop), zero fill.
    public var shift: Int = 0
    /// Random horizontal flip (off by default: it breaks digits).
    public var flip: Bool = false
    /// Random rotation of up to this many degrees each way.
    public var rotation: Double = 0
    /// Random scaling by a factor in [1 - scale, 1 + scale].
    public var scale: Double = 0
    public init(shift: Int = 0, flip: Bool = false, rotation: Double = 0, scale: Double = 0) {
        self.shift = shift; self.flip = flip; self.rotation = rotation; self.scale = scale
    }
    public var isIdentity: Bool { shift == 0 && !flip && rotation == 0 && scale == 0 }
}

/// Training hyperparameters. Defaults follow PyTorch's optimizers.
public struct TrainingSpec: Codable, Equatable, Sendable {
    public var epochs: Int = 10
    public var batchSize: Int = 64
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Double = 1e-3
    public var momentum: Double = 0.9
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var eps: Double = 1e-8
    /// RMSprop's smoothing constant.
    public var alpha: Double = 0.99
    public var weightDecay: Double = 0
    public var clipNorm: Double? = nil
    public var schedule: ScheduleKind = .constant
    public var stepSize: Int = 10
    public var gamma: Double = 0.1
    public var minLearningRate: Double = 0
    public var warmupEpochs: Double = 0
    public var earlyStopping: EarlyStopping? = nil
    public var augmentation: Augmentation = Augmentation()
    /// The arithmetic of the matrix products (`Precision`); nil is fp32 (and keeps configurations
    /// stored before the field existed readable).
    public var precision: Precision? = nil
    public init() {}
}

/// Model compression after training (`compression:` in a model file).
public struct CompressionSpec: Codable, Equatable, Sendable {
    public enum Quantize: String, Codable, Sendable, CaseIterable {
        /// The model stays fp32.
        case none
        /// Post-training int8 quantization of dense and conv weights (symmetric, one scale per
        /// output channel) and of their inputs (symmetric, one scale per tensor, calibrated on
        /// `QuantizedNetwork.calibrationSamples` training samples); `QuantizedNetwork`.
        case int8
    }
    /// Magnitude pruning: when training ends (its epochs run or early stopping), the
    /// `round(sparsity · n)` weights of smallest magnitude of each dense and conv weight matrix
    /// (n weights; biases are kept) are set to zero, then `finetuneEpochs` more epochs train the
    /// rest at a tenth of the base learning rate (constant), the pruned weights held at zero.
    public struct Prune: Codable, Equatable, Sendable {
        public var sparsity: Double
        public var finetuneEpochs: Int
        public init(sparsity: Double, finetuneEpochs: Int = 1) { self.sparsity = sparsity; self.finetuneEpochs = finetuneEpochs }
    }
    public var quantize: Quantize
    public var prune: Prune?
    public init(quantize: Quantize = .none, prune: Prune? = nil) { self.quantize = quantize; self.prune = prune }
}

/// Starting a model from another's trained weights (`model.init: {from: ..., freeze: [...]}`):
/// see `WeightTransfer`.
public struct TransferSpec: Codable, Equatable, Sendable {
    /// As written: `STUDY/trial-N` (the weights `sweep replay STUDY --trial N` writes beside the
    /// database) or the path of a model `sweep train --save-model PATH` wrote.
    public var from: String
    /// Indices into the model file's `layers` (the output layer the engine appends is
    /// `layers.count`) whose parameters training does not change.
    public var freeze: [Int]
    /// The absolute path of the weights without extension (`STEM.safetensors`, `STEM.json`),
    /// resolved from `from` by whoever knows the database; nil: `from` is such a path.
    public var weights: String?
    public init(from: String, freeze: [Int] = [], weights: String? = nil) { self.from = from; self.freeze = freeze; self.weights = weights }
}

/// Everything one training run depends on: the data set, the architecture, the training
/// hyperparameters and the seed. The same value is what a search samples, the store keeps with
/// each trial, and replay rebuilds; its YAML form is a search-space file with every value fixed.
public struct TrialConfig: Codable, Equatable, Sendable {
    public var name: String
    public var dataset: DatasetSpec
    public var layers: [LayerSpec]
    public var initialization: InitScheme
    /// nil: every layer starts from `initialization`.
    public var transfer: TransferSpec?
    public var training: TrainingSpec
    /// nil: no compression (and configurations stored before the field existed stay readable).
    public var compression: CompressionSpec?
    public var seed: UInt64

    public init(name: String, dataset: DatasetSpec, layers: [LayerSpec], initialization: InitScheme = .he,
                training: TrainingSpec = TrainingSpec(), compression: CompressionSpec? = nil, seed: UInt64 = 0, transfer: TransferSpec? = nil) {
        self.name = name; self.dataset = dataset; self.layers = layers; self.initialization = initialization; self.transfer = transfer
        self.training = training; self.compression = compression; self.seed = seed
    }
}
