import Foundation
import SweepCore
import SweepData

/// What one epoch reports (the JSON line of `sweep train --json`, the runner's report).
public struct EpochReport: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var valLoss: Double
    public var valAccuracy: Double?
    public var valRMSE: Double?
    public var learningRate: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, trainLoss = "train_loss", valLoss = "val_loss", valAccuracy = "val_accuracy"
        case valRMSE = "val_rmse", learningRate = "learning_rate", seconds
    }

    /// The value of a named validation metric (`val_loss`, `val_accuracy`, `val_rmse`, `train_loss`).
    public func metric(_ name: String) -> Double? {
        switch name {
        case "val_loss": return valLoss
        case "val_accuracy": return valAccuracy
        case "val_rmse": return valRMSE
        case "train_loss": return trainLoss
        default: return nil
        }
    }

    public static let metricNames = ["val_loss", "val_accuracy", "val_rmse", "train_loss"]
    public static func higherIsBetter(_ metric: String) -> Bool { metric == "val_accuracy" }
}

/// The end of a training run.
public struct FinalReport: Codable, Equatable, Sendable {
    public var epochs: Int
    public var testLoss: Double
    public var testAccuracy: Double?
    public var testRMSE: Double?
    public var parameters: Int
    public var totalSeconds: Double
    public var stoppedEarly: Bool
    /// The GEMM kernels that ran the products (`GemmKernel.usedSummary`, e.g. "avx512" or
    /// "avx512-bf16+avx512"); nil in reports written before it existed.
    public var gemm: String?

    enum CodingKeys: String, CodingKey {
        case epochs, testLoss = "test_loss", testAccuracy = "test_accuracy", testRMSE = "test_rmse"
        case parameters, totalSeconds = "total_seconds", stoppedEarly = "stopped_early", gemm
    }
}

/// Trains a `TrialConfig` epoch by epoch.
///
/// Every random draw of epoch e (shuffle order, dropout masks, augmentation) comes from
/// generators derived from (seed, e), and the optimizer's state is part of the checkpoint, so a
/// run resumed from a checkpoint after epoch e gives results identical to an uninterrupted run.
public final class Trainer {
    public let config: TrialConfig
    public let splits: DataSplits
    public let network: Network
    public let optimizer: Optimizer
    public private(set) var epoch = 0
    public private(set) var history: [EpochReport] = []
    var best: Double? = nil
    var sinceBest = 0
    public private(set) var stoppedEarly = false
    let evalBatch = 256
    var batchLabels: [Int32]
    var batchValues: [Float]
    var augmenter: Augmenter?
    public var totalSeconds: Double = 0

    public var task: Task { splits.train.task }

    public init(config: TrialConfig, splits: DataSplits, file: String = "model") throws {
        self.config = config; self.splits = splits
        let t = config.training
        guard splits.train.count > 0 else { throw InputError(file: file, field: "dataset", "the training split is empty") }
        guard splits.validation.count > 0 else { throw InputError(file: file, field: "dataset.validation", "the validation split is empty; raise `validation` or use more data") }
        let outputs = splits.train.task == .classification ? splits.train.classCount : 1
        let layers = try NetworkBuilder.build(config.layers, input: splits.train.sampleShape, outputs: outputs, file: file)
        network = Network(layers: layers, inputShape: splits.train.sampleShape, precision: t.precision ?? .fp32)
        network.initialize(seed: config.seed, scheme: config.initialization)
        network.prepare(maxBatch: max(t.batchSize, evalBatch))
        optimizer = Optimizer(t, parameterCount: network.parameterCount)
        batchLabels = [Int32](repeating: 0, count: network.maxBatch)
        batchValues = [Float](repeating: 0, count: network.maxBatch)
        augmenter = Augmenter(t.augmentation, shape: splits.train.sampleShape)
    }

    public var isFinished: Bool { stoppedEarly || epoch >= config.training.epochs }

    func rng(_ purpose: String, _ e: Int) -> SweepRandom {
        SweepRandom(seed: SeedSequence.derive(config.seed, SeedSequence.label(purpose), UInt64(e)))
    }

    /// Trains one epoch, evaluates on the validation split and returns the report.
    public func runEpoch() -> EpochReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let t = config.training
        let train = splits.train
        let n = train.count, f = train.featureCount
        var order = Array(0..<n)
        var shuffle = rng("shuffle", epoch)
        shuffle.shuffle(&order)
        var ctx = PassContext(training: true, rng: rng("dropout", epoch))
        var augRng = rng("augment", epoch)
        let steps = (n + t.batchSize - 1) / t.batchSize
        var lossSum = 0.0
        var lr = t.learningRate
        train.features.withUnsafeBufferPointer { X in
            for s in 0..<steps {
                let lo = s * t.batchSize, B = min(t.batchSize, n - lo)
                let inp = network.input
                for r in 0..<B {
                    let i = order[lo + r]
                    (inp + r * f).update(from: X.baseAddress! + i * f, count: f)
                    if train.task == .classification { batchLabels[r] = train.labels[i] } else { batchValues[r] = train.values[i] }
                }
                augmenter?.apply(inp, batch: B, rng: &augRng)
                network.forward(batch: B, ctx: &ctx)
                lossSum += lossAndGradient(batch: B)
                network.backward(batch: B)
                if let c = t.clipNorm { Optimizer.clip(network.grads.pointer, count: network.parameterCount, maxNorm: c) }
                lr = LearningRateSchedule.rate(t, epoch: Double(epoch) + Double(s) / Double(steps))
                optimizer.step(network.params.pointer, network.grads.pointer, learningRate: lr)
            }
        }
        let trainSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let val = evaluate(splits.validation)
        epoch += 1
        var report = EpochReport(epoch: epoch, trainLoss: lossSum / Double(n), valLoss: val.loss,
                                 valAccuracy: val.accuracy, valRMSE: val.rmse, learningRate: lr, seconds: trainSeconds)
        if !report.trainLoss.isFinite { report.trainLoss = .nan }
        history.append(report)
        totalSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        updateEarlyStopping(report)
        return report
    }

    func lossAndGradient(batch B: Int) -> Double {
        let out = network.output, d = network.outputGradient
        if task == .classification {
            return batchLabels.withUnsafeBufferPointer {
                Loss.softmaxCrossEntropy(out, $0.baseAddress!, d, batch: B, classes: network.outputCount).loss
            }
        }
        return batchValues.withUnsafeBufferPointer { Loss.meanSquaredError(out, $0.baseAddress!, d, batch: B) }
    }

    func updateEarlyStopping(_ r: EpochReport) {
        guard let es = config.training.earlyStopping, let v = r.metric(es.metric) else { return }
        let sign = EpochReport.higherIsBetter(es.metric) ? 1.0 : -1.0
        if let b = best, sign * (v - b) <= es.minDelta {
            sinceBest += 1
            if sinceBest >= es.patience { stoppedEarly = true }
        } else {
            best = v; sinceBest = 0
        }
    }

    /// Mean loss and accuracy (classification) or RMSE (regression) over a data set, in
    /// inference mode (dropout off, BatchNorm on running statistics).
    public func evaluate(_ d: Dataset) -> (loss: Double, accuracy: Double?, rmse: Double?) {
        let n = d.count, f = d.featureCount
        guard n > 0 else { return (.nan, nil, nil) }
        var ctx = PassContext(training: false, rng: SweepRandom(seed: 0))
        var loss = 0.0, correct = 0
        d.features.withUnsafeBufferPointer { X in
            var lo = 0
            while lo < n {
                let B = min(evalBatch, n - lo)
                network.input.update(from: X.baseAddress! + lo * f, count: B * f)
                network.forward(batch: B, ctx: &ctx)
                if d.task == .classification {
                    let r = d.labels.withUnsafeBufferPointer {
                        Loss.softmaxCrossEntropy(network.output, $0.baseAddress! + lo, nil, batch: B, classes: network.outputCount)
                    }
                    loss += r.loss; correct += r.correct
                } else {
                    loss += d.values.withUnsafeBufferPointer { Loss.meanSquaredError(network.output, $0.baseAddress! + lo, nil, batch: B) }
                }
                lo += B
            }
        }
        let mean = loss / Double(n)
        if d.task == .classification { return (mean.isFinite ? mean : .nan, Double(correct) / Double(n), nil) }
        return (mean.isFinite ? mean : .nan, nil, mean.squareRoot())
    }

    /// Predictions for a batch of samples: logits (classification) or values, (B, outputs).
    public func predict(_ x: [Float], count B: Int) -> [Float] { network.predict(x, count: B, batch: evalBatch) }

    public func finish() -> FinalReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let test = evaluate(splits.test)
        totalSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return FinalReport(epochs: epoch, testLoss: test.loss, testAccuracy: test.accuracy, testRMSE: test.rmse,
                           parameters: network.parameterCount, totalSeconds: totalSeconds, stoppedEarly: stoppedEarly,
                           gemm: GemmKernel.usedSummary)
    }

    // MARK: Checkpoints

    /// Everything needed to continue training exactly where it stopped.
    public struct Checkpoint: Codable, Equatable {
        public var config: TrialConfig
        public var epoch: Int
        public var history: [EpochReport]
        public var best: Double?
        public var sinceBest: Int
        public var stoppedEarly: Bool
        public var optimizerSteps: Int
        public var totalSeconds: Double
        public var params: [Float]
        public var state: [Float]
        public var optimizerState: [Float]
    }

    public func checkpoint() -> Checkpoint {
        Checkpoint(config: config, epoch: epoch, history: history, best: best, sinceBest: sinceBest, stoppedEarly: stoppedEarly,
                   optimizerSteps: optimizer.steps, totalSeconds: totalSeconds, params: network.params.array,
                   state: network.state.array, optimizerState: optimizer.state)
    }

    public func restore(_ c: Checkpoint, file: String) throws {
        guard c.config == config else { throw InputError(file: file, "the checkpoint belongs to a different configuration") }
        guard c.params.count == network.parameterCount, c.state.count == network.state.count,
              c.optimizerState.count == optimizer.state.count else {
            throw InputError(file: file, "the checkpoint's buffers do not match this model's sizes")
        }
        network.params.load(c.params); network.state.load(c.state)
        optimizer.state = c.optimizerState; optimizer.steps = c.optimizerSteps
        epoch = c.epoch; history = c.history; best = c.best; sinceBest = c.sinceBest
        stoppedEarly = c.stoppedEarly; totalSeconds = c.totalSeconds
    }
}
