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

/// The end of a training run: the test metrics of the trained float model (pruned and fine-tuned
/// when the configuration prunes), and what it costs to deploy the model as exported: its
/// parameters, the bytes of its safetensors file (int8 weights when quantized), the median time of
/// a one-sample forward pass on one thread, and, when quantized, the int8 model's test and
/// validation metrics and, for comparison, the float model's bytes and latency.
public struct FinalReport: Codable, Equatable, Sendable {
    public var epochs: Int
    public var testLoss: Double
    public var testAccuracy: Double?
    public var testRMSE: Double?
    public var parameters: Int
    public var totalSeconds: Double
    public var stoppedEarly: Bool
    public var modelBytes: Int?
    public var latencyMs: Double?
    /// The fraction of dense and conv weights that are zero, when the configuration prunes.
    public var sparsity: Double?
    public var int8TestLoss: Double?
    public var int8TestAccuracy: Double?
    public var int8TestRMSE: Double?
    public var int8ValLoss: Double?
    public var int8ValAccuracy: Double?
    public var int8ValRMSE: Double?
    public var fp32ModelBytes: Int?
    public var fp32LatencyMs: Double?
    /// The GEMM kernels that ran the products (`GemmKernel.usedSummary`, e.g. "avx512" or
    /// "avx512-bf16+avx512"); nil in reports written before it existed.
    public var gemm: String?
    /// The int8 path that ran the quantized model (`Int8Kernel`'s name, e.g. "avx512-vnni"), when quantized.
    public var int8Kernel: String?

    enum CodingKeys: String, CodingKey {
        case epochs, testLoss = "test_loss", testAccuracy = "test_accuracy", testRMSE = "test_rmse"
        case parameters, totalSeconds = "total_seconds", stoppedEarly = "stopped_early"
        case modelBytes = "model_bytes", latencyMs = "latency_ms", sparsity
        case int8TestLoss = "int8_test_loss", int8TestAccuracy = "int8_test_accuracy", int8TestRMSE = "int8_test_rmse"
        case int8ValLoss = "int8_val_loss", int8ValAccuracy = "int8_val_accuracy", int8ValRMSE = "int8_val_rmse"
        case fp32ModelBytes = "fp32_model_bytes", fp32LatencyMs = "fp32_latency_ms", gemm
        case int8Kernel = "int8_kernel"
    }

    /// The deployment metrics by name (`parameters`, `model_bytes`, `latency_ms`, `sparsity`,
    /// `int8_*`), those the run has: what a built-in trial reports with its final value.
    public var metrics: [String: Double] {
        var m: [String: Double] = ["parameters": Double(parameters)]
        let optional: [(String, Double?)] = [
            ("model_bytes", modelBytes.map(Double.init)), ("latency_ms", latencyMs), ("sparsity", sparsity),
            ("test_loss", testLoss), ("test_accuracy", testAccuracy), ("test_rmse", testRMSE),
            ("int8_test_loss", int8TestLoss), ("int8_test_accuracy", int8TestAccuracy), ("int8_test_rmse", int8TestRMSE),
            ("int8_val_loss", int8ValLoss), ("int8_val_accuracy", int8ValAccuracy), ("int8_val_rmse", int8ValRMSE),
            ("fp32_model_bytes", fp32ModelBytes.map(Double.init)), ("fp32_latency_ms", fp32LatencyMs),
        ]
        for (k, v) in optional { if let v, v.isFinite { m[k] = v } }
        return m
    }

    /// Every name `metrics` may hold (which ones a run has depends on its task and compression).
    public static let metricNames = [
        "parameters", "model_bytes", "latency_ms", "sparsity", "test_loss", "test_accuracy", "test_rmse",
        "int8_test_loss", "int8_test_accuracy", "int8_test_rmse", "int8_val_loss", "int8_val_accuracy", "int8_val_rmse",
        "fp32_model_bytes", "fp32_latency_ms",
    ]
}

/// The median wall time of a forward pass: a few unmeasured runs, then at least 11 and at most
/// 201 measured ones, within about a quarter of a second.
public enum Latency {
    public static func medianMilliseconds(_ pass: () -> Void) -> Double {
        for _ in 0..<3 { pass() }
        var times: [Double] = []
        let begin = DispatchTime.now().uptimeNanoseconds
        while times.count < 11 || (times.count < 201 && DispatchTime.now().uptimeNanoseconds - begin < 250_000_000) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            pass()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        times.sort()
        return times[times.count / 2]
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
    /// The weights held at zero since pruning (`CompressionSpec.Prune`), and the epoch it happened after.
    public private(set) var pruningMask: PruningMask?
    public private(set) var prunedAfterEpoch: Int?
    /// The parameters of the layers frozen after a transfer (`WeightTransfer`), put back after every step.
    public private(set) var frozen: FrozenWeights?
    /// The int8 model, once `finish` has quantized the trained one (`CompressionSpec.Quantize.int8`).
    public private(set) var quantized: QuantizedNetwork?
    let evalBatch = 256
    var batchLabels: [Int32]
    var batchValues: [Float]
    var augmenter: Augmenter?
    public var totalSeconds: Double = 0
    /// Whether each epoch's phases are timed (`phases`); from `SWEEP_PHASES=1` unless set.
    public var timesPhases = PhaseTimes.requested()
    /// The phases of the last epoch's steps when `timesPhases` (`sweep train` prints them); nil otherwise.
    public private(set) var phases: PhaseTimes?

    public var task: LearningTask { splits.train.task }

    public init(config: TrialConfig, splits: DataSplits, file: String = "model") throws {
        self.config = config; self.splits = splits
        let t = config.training
        guard splits.train.count > 0 else { throw InputError(file: file, field: "dataset", "the training split is empty") }
        guard splits.validation.count > 0 else { throw InputError(file: file, field: "dataset.validation", "the validation split is empty; raise `validation` or use more data") }
        let outputs = splits.train.task == .classification ? splits.train.classCount : 1
        let layers = try NetworkBuilder.build(config.layers, input: splits.train.sampleShape, outputs: outputs, file: file)
        network = Network(layers: layers, inputShape: splits.train.sampleShape, precision: t.precision ?? .fp32)
        network.initialize(seed: config.seed, scheme: config.initialization)
        if let t = config.transfer { frozen = try WeightTransfer.load(t, into: network, layers: config.layers, file: file) }
        network.prepare(maxBatch: max(t.batchSize, evalBatch))
        optimizer = Optimizer(t, parameterCount: network.parameterCount)
        batchLabels = [Int32](repeating: 0, count: network.maxBatch)
        batchValues = [Float](repeating: 0, count: network.maxBatch)
        augmenter = Augmenter(t.augmentation, shape: splits.train.sampleShape)
    }

    /// Whether the training epochs are over (run, or stopped early); fine-tuning epochs may follow.
    public var trainingDone: Bool { stoppedEarly || epoch >= config.training.epochs }

    /// The epochs of a run that is not stopped early: training's, then fine-tuning's.
    public var plannedEpochs: Int { config.training.epochs + (config.compression?.prune?.finetuneEpochs ?? 0) }

    /// Training and, when the configuration prunes, fine-tuning are over.
    public var isFinished: Bool {
        guard trainingDone else { return false }
        guard let p = config.compression?.prune else { return true }
        guard let at = prunedAfterEpoch else { return p.finetuneEpochs == 0 }
        return epoch - at >= p.finetuneEpochs
    }

    /// Prunes the weights (once, when training is done) and keeps the mask.
    func pruneIfDue() {
        guard trainingDone, let p = config.compression?.prune, pruningMask == nil else { return }
        pruningMask = PruningMask(pruning: network, sparsity: p.sparsity)
        prunedAfterEpoch = epoch
    }

    func rng(_ purpose: String, _ e: Int) -> SweepRandom {
        SweepRandom(seed: SeedSequence.derive(config.seed, SeedSequence.label(purpose), UInt64(e)))
    }

    /// Trains one epoch, evaluates on the validation split and returns the report. Once training is
    /// done, an epoch is a fine-tuning epoch of the pruned model (at a tenth of the base learning
    /// rate, the pruned weights set back to zero after every step, no early stopping).
    public func runEpoch() -> EpochReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let t = config.training
        pruneIfDue()
        let finetuning = pruningMask != nil
        let train = splits.train
        let n = train.count, f = train.featureCount
        var times: PhaseTimes? = timesPhases ? PhaseTimes() : nil  // the shuffle counts as gathering
        times?.start()
        var order = Array(0..<n)
        var shuffle = rng("shuffle", epoch)
        shuffle.shuffle(&order)
        var ctx = PassContext(training: true, rng: rng("dropout", epoch))
        var augRng = rng("augment", epoch)
        let steps = (n + t.batchSize - 1) / t.batchSize
        var lossSum = 0.0
        var lr = t.learningRate
        train.features.withUnsafeBufferPointer { X in order.withUnsafeBufferPointer { rows in
            for s in 0..<steps {
                let lo = s * t.batchSize, B = min(t.batchSize, n - lo)
                let inp = network.input
                Kernels.gatherRows(inp, X.baseAddress!, rows: rows.baseAddress! + lo, count: B, features: f)
                for r in 0..<B {
                    let i = rows[lo + r]
                    if train.task == .classification { batchLabels[r] = train.labels[i] } else { batchValues[r] = train.values[i] }
                }
                augmenter?.apply(inp, batch: B, rng: &augRng)
                times?.mark(.gather)
                network.forward(batch: B, ctx: &ctx)
                times?.mark(.forward)
                lossSum += lossAndGradient(batch: B)
                times?.mark(.loss)
                network.backward(batch: B)
                times?.mark(.backward)
                if let c = t.clipNorm { Optimizer.clip(network.grads.pointer, count: network.parameterCount, maxNorm: c) }
                lr = finetuning ? t.learningRate / 10 : LearningRateSchedule.rate(t, epoch: Double(epoch) + Double(s) / Double(steps))
                optimizer.step(network.params.pointer, network.grads.pointer, learningRate: lr)
                frozen?.apply(network.params.pointer)
                pruningMask?.apply(network.params.pointer)
                times?.mark(.optimizer)
            }
        } }
        let trainSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        phases = times
        let val = evaluate(splits.validation)
        epoch += 1
        var report = EpochReport(epoch: epoch, trainLoss: lossSum / Double(n), valLoss: val.loss,
                                 valAccuracy: val.accuracy, valRMSE: val.rmse, learningRate: lr, seconds: trainSeconds)
        if !report.trainLoss.isFinite { report.trainLoss = .nan }
        history.append(report)
        totalSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if !finetuning { updateEarlyStopping(report) }
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
        var ctx = PassContext(training: false, rng: SweepRandom(seed: 0))
        return Self.evaluate(d, input: network.input, output: network.output, outputs: network.outputCount, batch: evalBatch) {
            network.forward(batch: $0, ctx: &ctx)
        }
    }

    /// The same for any model: `forward(B)` maps B samples in `input` to (B, outputs) in `output`.
    static func evaluate(_ d: Dataset, input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, outputs k: Int, batch: Int,
                         forward: (Int) -> Void) -> (loss: Double, accuracy: Double?, rmse: Double?) {
        let n = d.count, f = d.featureCount
        guard n > 0 else { return (.nan, nil, nil) }
        var loss = 0.0, correct = 0
        d.features.withUnsafeBufferPointer { X in
            var lo = 0
            while lo < n {
                let B = min(batch, n - lo)
                input.update(from: X.baseAddress! + lo * f, count: B * f)
                forward(B)
                if d.task == .classification {
                    let r = d.labels.withUnsafeBufferPointer {
                        Loss.softmaxCrossEntropy(output, $0.baseAddress! + lo, nil, batch: B, classes: k)
                    }
                    loss += r.loss; correct += r.correct
                } else {
                    loss += d.values.withUnsafeBufferPointer { Loss.meanSquaredError(output, $0.baseAddress! + lo, nil, batch: B) }
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

    /// Ends the run: prunes (when due and not done by fine-tuning), quantizes (when configured),
    /// evaluates on the test split and measures the deployed model (`FinalReport`).
    public func finish() -> FinalReport {
        let start = DispatchTime.now().uptimeNanoseconds
        pruneIfDue()
        let test = evaluate(splits.test)
        var r = FinalReport(epochs: epoch, testLoss: test.loss, testAccuracy: test.accuracy, testRMSE: test.rmse,
                            parameters: network.parameterCount, totalSeconds: 0, stoppedEarly: stoppedEarly)
        if config.compression?.prune != nil { r.sparsity = PruningMask.sparsity(of: network) }
        let sample = Array(splits.test.count > 0 ? splits.test.features.prefix(splits.test.featureCount)
                                                 : splits.validation.features.prefix(splits.validation.featureCount))
        if config.compression?.quantize == .int8 {
            let q = splits.train.features.withUnsafeBufferPointer {
                QuantizedNetwork.calibrate(network, samples: $0.baseAddress!, count: splits.train.count)
            }
            q.prepare(maxBatch: evalBatch)
            quantized = q
            let k = network.outputCount
            let t = Self.evaluate(splits.test, input: q.input, output: q.output, outputs: k, batch: evalBatch) { q.forward(batch: $0) }
            let v = Self.evaluate(splits.validation, input: q.input, output: q.output, outputs: k, batch: evalBatch) { q.forward(batch: $0) }
            (r.int8TestLoss, r.int8TestAccuracy, r.int8TestRMSE) = t
            (r.int8ValLoss, r.int8ValAccuracy, r.int8ValRMSE) = v
            q.input.update(from: sample, count: sample.count)
            r.latencyMs = Latency.medianMilliseconds { q.forward(batch: 1) }
            r.int8Kernel = q.kernel.rawValue
        }
        var ctx = PassContext(training: false, rng: SweepRandom(seed: 0))
        network.input.update(from: sample, count: sample.count)
        let floatLatency = Latency.medianMilliseconds { network.forward(batch: 1, ctx: &ctx) }
        let floatBytes = ModelExport.safetensorsBytes(network, quantized: nil)
        if quantized == nil {
            (r.latencyMs, r.modelBytes) = (floatLatency, floatBytes)
        } else {
            (r.fp32LatencyMs, r.fp32ModelBytes) = (floatLatency, floatBytes)
            r.modelBytes = ModelExport.safetensorsBytes(network, quantized: quantized)
        }
        totalSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        r.totalSeconds = totalSeconds
        r.gemm = GemmKernel.usedSummary
        return r
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
        /// The epoch after which the weights were pruned (nil: not pruned); the mask is the
        /// zero weights of `params` (`PruningMask(zerosOf:)`).
        public var prunedAfterEpoch: Int?
        public var optimizerSteps: Int
        public var totalSeconds: Double
        public var params: [Float]
        public var state: [Float]
        public var optimizerState: [Float]
    }

    public func checkpoint() -> Checkpoint {
        Checkpoint(config: config, epoch: epoch, history: history, best: best, sinceBest: sinceBest, stoppedEarly: stoppedEarly,
                   prunedAfterEpoch: prunedAfterEpoch, optimizerSteps: optimizer.steps, totalSeconds: totalSeconds, params: network.params.array,
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
        prunedAfterEpoch = c.prunedAfterEpoch
        pruningMask = c.prunedAfterEpoch == nil ? nil : PruningMask(zerosOf: network)
    }
}
