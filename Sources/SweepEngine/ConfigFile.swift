import Foundation
import SweepCore
import SweepData

/// The YAML form of a `TrialConfig`: a search-space file with every value fixed.
///
/// ```yaml
/// name: mnist-mlp
/// seed: 0
/// dataset: {name: mnist, scaling: minus_one_one, validation: 0.1}
/// model:
///   init: he
///   layers:
///     - {type: dense, units: 256, activation: relu}
///     - {type: dense, units: 128, activation: relu}
/// training: {epochs: 10, batch_size: 64, optimizer: adam, learning_rate: 0.001}
/// compression: {quantize: int8, prune: {sparsity: 0.5, finetune_epochs: 2}}   # optional
/// ```
/// The output layer (one unit per class, or one for regression) is appended by the engine.
public enum ConfigFile {
    /// Top-level keys of the file. `objective`, `constraints`, `search`, `sampler`, `scheduler`,
    /// `budget`, `command`, `env` and `env_keep` belong to searches; a plain training run reads but
    /// does not use them.
    public static let topKeys = ["name", "seed", "dataset", "model", "training", "compression", "objective", "constraints", "search",
                                 "sampler", "scheduler", "budget", "command", "env", "env_keep"]

    public static func load(path: String, overrides: [String] = []) throws -> TrialConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw InputError(file: path, "not UTF-8 text") }
        return try ConfigTree.reading(try ConfigTree.parse(text, file: path), overrides: overrides, file: path) { try decode($0, file: path) }
    }

    public static func decode(_ tree: ConfigTree, file: String) throws -> TrialConfig {
        let root = try ConfigReader(tree, file: file)
        try root.only(topKeys)
        try rejectDistributions(tree, file: file, path: "")
        let name = try root.string("name") ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let seed = try root.seed("seed", default: 0)
        guard let ds = try root.map("dataset") else { throw root.error(nil, "missing `dataset:` (for example `dataset: {name: digits}`)") }
        var dataset = try decodeDataset(ds)
        // Relative data paths are read relative to the model file's folder when the file is there.
        let dir = (file as NSString).deletingLastPathComponent
        func resolved(_ path: String?) -> String? {
            guard let path, !path.hasPrefix("/") else { return path }
            let candidate = dir.isEmpty ? path : dir + "/" + path
            guard FileManager.default.fileExists(atPath: candidate) else { return path }
            return candidate.hasPrefix("/") ? candidate : FileManager.default.currentDirectoryPath + "/" + candidate
        }
        dataset.path = resolved(dataset.path)
        dataset.testPath = resolved(dataset.testPath)
        for key in [\DatasetSpec.train, \DatasetSpec.test] {
            if let f = dataset[keyPath: key] { dataset[keyPath: key] = IDXFiles(images: resolved(f.images)!, labels: resolved(f.labels)!) }
        }
        guard let model = try root.map("model") else { throw root.error(nil, "missing `model:` with its `layers:` list") }
        try model.only(["init", "layers"])
        let layerNodes = try model.list("layers") ?? []
        let layers = try layerNodes.enumerated().map { i, n in
            try decodeLayer(ConfigReader(n, file: file, path: "model.layers.\(i)"))
        }
        var initScheme = InitScheme.he, transfer: TransferSpec? = nil
        if case .map = model.value("init"), let m = try model.map("init") {
            (initScheme, transfer) = try decodeTransfer(m, layers: layers.count)
        } else {
            initScheme = try model.choice("init", InitScheme.self, default: .he)
        }
        let training = try decodeTraining(try root.map("training"), file: file)
        let compression = try decodeCompression(try root.map("compression"))
        return TrialConfig(name: name, dataset: dataset, layers: layers, initialization: initScheme, training: training,
                           compression: compression, seed: seed, transfer: transfer)
    }

    /// `init: {from: STUDY/trial-N | MODEL_PATH, freeze: [0, 1, output], scheme: he}`: the layers
    /// to freeze by index in `layers` (or `model.layers.N`, or `output` for the layer the engine
    /// appends); `scheme` initializes the layers not loaded.
    static func decodeTransfer(_ m: ConfigReader, layers: Int) throws -> (InitScheme, TransferSpec) {
        try m.only(["from", "freeze", "scheme"])
        let from = try m.required("from", what: "the trained model to start from: STUDY/trial-N or the path of a saved model")
        var freeze: [Int] = []
        for (i, item) in (try m.list("freeze") ?? []).enumerated() {
            guard case .scalar(let text, let line) = item else {
                throw InputError(file: m.file, line: item.line ?? m.line, field: m.key("freeze.\(i)"), "expected a layer index, model.layers.N or output")
            }
            let bare = text.hasPrefix("model.layers.") ? String(text.dropFirst("model.layers.".count)) : text
            guard let index = text == "output" ? layers : Int(bare), (0...layers).contains(index) else {
                throw InputError(file: m.file, line: line ?? m.line, field: m.key("freeze.\(i)"),
                                 "'\(text)' is not a layer of this model; accepted: 0...\(layers - 1) (the `layers` list), model.layers.N, output")
            }
            if !freeze.contains(index) { freeze.append(index) }
        }
        return (try m.choice("scheme", InitScheme.self, default: .he), TransferSpec(from: from, freeze: freeze))
    }

    /// A value written as a distribution (`{float: [...]}`, `{int: ...}`, `{choice: ...}`) is
    /// not fixed: training needs a fixed value.
    static func rejectDistributions(_ t: ConfigTree, file: String, path: String) throws {
        switch t {
        case .map(let pairs, _):
            if let k = pairs.first(where: { ["float", "int", "choice", "categorical", "loguniform"].contains($0.key) }), path != "" {
                throw InputError(file: file, line: k.value.line, field: path,
                                 "is a search parameter (`\(k.key):`), not a fixed value; `sweep train` needs every value fixed (run it as a search, or fix it with --set \(path)=VALUE)")
            }
            for (k, v) in pairs { try rejectDistributions(v, file: file, path: path.isEmpty ? k : path + "." + k) }
        case .list(let items, _):
            for (i, v) in items.enumerated() { try rejectDistributions(v, file: file, path: path + ".\(i)") }
        case .scalar: break
        }
    }

    static func decodeDataset(_ r: ConfigReader) throws -> DatasetSpec {
        try r.only(["name", "path", "label", "task", "header", "missing", "test_path", "train", "test",
                    "validation", "test_fraction", "scaling", "split_seed", "limit"])
        let name = try r.required("name", what: "the data set (\(DatasetSpec.builtins.joined(separator: ", ")))")
        guard DatasetSpec.builtins.contains(name) else {
            throw r.error("name", "unknown data set '\(name)'; accepted: \(DatasetSpec.builtins.joined(separator: ", "))")
        }
        var task: LearningTask? = nil
        if let t = try r.string("task") {
            guard let v = LearningTask(rawValue: t) else { throw r.error("task", "'\(t)' is not accepted; accepted: classification, regression") }
            task = v
        }
        let csvKeys = ["path", "label", "header", "missing", "test_path"], idxKeys = ["train", "test"]
        for k in name == "csv" ? idxKeys : name == "idx" ? csvKeys : csvKeys + idxKeys where r.value(k) != nil {
            throw r.error(k, "is not a setting of data set '\(name)'; `\(k)` belongs to \(csvKeys.contains(k) ? "csv" : "idx") data sets")
        }
        var header: Bool? = nil
        if name == "csv" {
            _ = try r.required("path", what: "the CSV file of a csv data set")
            let label = try r.required("label", what: "the label column of a csv data set (its 0-based index with `header: false`)")
            if r.value("header") != nil { header = try r.bool("header", default: true) }
            if header == false, Int(label) == nil || Int(label)! < 0 {
                throw r.error("label", "'\(label)' is not a column index; with `header: false` the label is the label column's 0-based index")
            }
        }
        func files(_ key: String) throws -> IDXFiles? {
            guard let f = try r.map(key) else { return nil }
            try f.only(["images", "labels"])
            return IDXFiles(images: try f.required("images", what: "the IDX images file"), labels: try f.required("labels", what: "the IDX labels file"))
        }
        var train: IDXFiles? = nil
        if name == "idx" {
            guard let t = try files("train") else {
                throw r.error("train", "an idx data set needs `train: {images: FILE, labels: FILE}` (and optionally `test:` the same)")
            }
            train = t
        }
        return DatasetSpec(name: name, path: try r.string("path"), label: try r.string("label"), task: task, header: header,
                           missing: r.value("missing") == nil ? nil : try r.choice("missing", MissingValues.self, default: .error),
                           testPath: try r.string("test_path"), train: train, test: try files("test"),
                           validation: try r.double("validation", default: 0.1, range: 0.001...0.9)!,
                           testFraction: try r.double("test_fraction", default: 0.2, range: 0.001...0.9)!,
                           scaling: try r.choice("scaling", Scaling.self, default: .unit),
                           splitSeed: try r.seed("split_seed", default: 0),
                           limit: try r.int("limit", range: 10...Int.max))
    }

    static func decodeLayer(_ r: ConfigReader) throws -> LayerSpec {
        let typeName = try r.required("type", what: "the layer type (\(LayerSpec.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        guard let kind = LayerSpec.Kind(rawValue: typeName.lowercased()) else {
            throw r.error("type", "unknown layer '\(typeName)'; accepted: \(LayerSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let allowed: [String]
        switch kind {
        case .dense: allowed = ["units", "activation", "batchnorm", "dropout"]
        case .conv2d: allowed = ["filters", "kernel", "stride", "padding", "activation", "batchnorm", "dropout"]
        case .maxpool2d, .avgpool2d: allowed = ["size", "stride"]
        case .dropout: allowed = ["rate"]
        case .activation: allowed = ["activation"]
        case .global_avgpool, .flatten, .batchnorm: allowed = []
        }
        try r.only(["type"] + allowed)
        var act: ActivationKind? = nil
        if r.value("activation") != nil { act = try r.choice("activation", ActivationKind.self, default: .relu) }
        var pad: Padding? = nil
        if r.value("padding") != nil { pad = try r.choice("padding", Padding.self, default: .same) }
        return LayerSpec(type: kind, units: try r.int("units", range: 1...1_000_000), filters: try r.int("filters", range: 1...100_000),
                         kernel: try r.int("kernel", range: 1...64), stride: try r.int("stride", range: 1...64), padding: pad,
                         size: try r.int("size", range: 1...64), rate: try r.double("rate", range: 0...0.99),
                         activation: act, batchnorm: r.value("batchnorm") == nil ? nil : try r.bool("batchnorm", default: false),
                         dropout: try r.double("dropout", range: 0...0.99))
    }

    static func decodeTraining(_ r: ConfigReader?, file: String) throws -> TrainingSpec {
        var t = TrainingSpec()
        guard let r else { return t }
        try r.only(["epochs", "batch_size", "optimizer", "learning_rate", "momentum", "beta1", "beta2", "eps", "alpha",
                    "weight_decay", "clip_norm", "schedule", "step_size", "gamma", "min_learning_rate", "warmup_epochs",
                    "early_stopping", "augmentation", "precision"])
        t.epochs = try r.int("epochs", default: t.epochs, range: 1...100_000)!
        t.batchSize = try r.int("batch_size", default: t.batchSize, range: 1...1_000_000)!
        t.optimizer = try r.choice("optimizer", OptimizerKind.self, default: t.optimizer)
        t.learningRate = try r.double("learning_rate", default: t.learningRate, range: 1e-12...100)!
        t.momentum = try r.double("momentum", default: t.momentum, range: 0...0.9999)!
        t.beta1 = try r.double("beta1", default: t.beta1, range: 0...0.9999999)!
        t.beta2 = try r.double("beta2", default: t.beta2, range: 0...0.9999999)!
        t.eps = try r.double("eps", default: t.eps, range: 1e-30...1)!
        t.alpha = try r.double("alpha", default: t.alpha, range: 0...0.9999999)!
        t.weightDecay = try r.double("weight_decay", default: t.weightDecay, range: 0...10)!
        t.clipNorm = try r.double("clip_norm", range: 1e-12...1e12)
        t.schedule = try r.choice("schedule", ScheduleKind.self, default: t.schedule)
        t.stepSize = try r.int("step_size", default: t.stepSize, range: 1...100_000)!
        t.gamma = try r.double("gamma", default: t.gamma, range: 0...1)!
        t.minLearningRate = try r.double("min_learning_rate", default: t.minLearningRate, range: 0...100)!
        t.warmupEpochs = try r.double("warmup_epochs", default: t.warmupEpochs, range: 0...100_000)!
        if r.value("precision") != nil { t.precision = try r.choice("precision", Precision.self, default: .fp32) }
        if let es = try r.map("early_stopping") {
            try es.only(["metric", "patience", "min_delta"])
            let metric = try es.string("metric") ?? "val_loss"
            guard EpochReport.metricNames.contains(metric) else {
                throw es.error("metric", "unknown metric '\(metric)'; accepted: \(EpochReport.metricNames.joined(separator: ", "))")
            }
            t.earlyStopping = EarlyStopping(metric: metric, patience: try es.int("patience", default: 3, range: 1...100_000)!,
                                            minDelta: try es.double("min_delta", default: 0, range: 0...1e12)!)
        }
        if let a = try r.map("augmentation") {
            try a.only(["shift", "flip", "rotation", "scale"])
            t.augmentation = Augmentation(shift: try a.int("shift", default: 0, range: 0...64)!, flip: try a.bool("flip", default: false),
                                          rotation: try a.double("rotation", default: 0, range: 0...180)!,
                                          scale: try a.double("scale", default: 0, range: 0...0.9)!)
        }
        return t
    }

    /// `compression: {quantize: none|int8, prune: {sparsity: 0...0.99, finetune_epochs: N}}`.
    static func decodeCompression(_ r: ConfigReader?) throws -> CompressionSpec? {
        guard let r else { return nil }
        try r.only(["quantize", "prune"])
        var c = CompressionSpec(quantize: try r.choice("quantize", CompressionSpec.Quantize.self, default: .none))
        if let p = try r.map("prune") {
            try p.only(["sparsity", "finetune_epochs"])
            guard p.value("sparsity") != nil else {
                throw p.error(nil, "missing `sparsity:`, the fraction of each weight matrix set to zero (0 to 0.99)")
            }
            c.prune = CompressionSpec.Prune(sparsity: try p.double("sparsity", range: 0...0.99)!,
                                            finetuneEpochs: try p.int("finetune_epochs", default: 1, range: 0...100_000)!)
        }
        return c
    }

    /// The fixed YAML form of a configuration (what replay writes beside a model).
    public static func yaml(_ c: TrialConfig) -> String {
        func s(_ v: Any) -> ConfigTree { .scalar("\(v)", line: nil) }
        var ds: [(key: String, value: ConfigTree)] = [("name", s(c.dataset.name))]
        if let p = c.dataset.path { ds.append(("path", s(p))) }
        if let l = c.dataset.label { ds.append(("label", s(l))) }
        if let t = c.dataset.task { ds.append(("task", s(t.rawValue))) }
        if let h = c.dataset.header { ds.append(("header", s(h))) }
        if let m = c.dataset.missing { ds.append(("missing", s(m.rawValue))) }
        if let p = c.dataset.testPath { ds.append(("test_path", s(p))) }
        for (key, f) in [("train", c.dataset.train), ("test", c.dataset.test)] {
            if let f { ds.append((key, .map([("images", s(f.images)), ("labels", s(f.labels))], line: nil))) }
        }
        ds += [("validation", s(c.dataset.validation)), ("test_fraction", s(c.dataset.testFraction)),
               ("scaling", s(c.dataset.scaling.rawValue)), ("split_seed", s(c.dataset.splitSeed))]
        if let l = c.dataset.limit { ds.append(("limit", s(l))) }
        let layers: [ConfigTree] = c.layers.map { l in
            var p: [(key: String, value: ConfigTree)] = [("type", s(l.type.rawValue))]
            if let v = l.units { p.append(("units", s(v))) }
            if let v = l.filters { p.append(("filters", s(v))) }
            if let v = l.kernel { p.append(("kernel", s(v))) }
            if let v = l.stride { p.append(("stride", s(v))) }
            if let v = l.padding { p.append(("padding", s(v.rawValue))) }
            if let v = l.size { p.append(("size", s(v))) }
            if let v = l.rate { p.append(("rate", s(v))) }
            if let v = l.activation { p.append(("activation", s(v.rawValue))) }
            if let v = l.batchnorm { p.append(("batchnorm", s(v))) }
            if let v = l.dropout { p.append(("dropout", s(v))) }
            return .map(p, line: nil)
        }
        let t = c.training
        var tr: [(key: String, value: ConfigTree)] = [
            ("epochs", s(t.epochs)), ("batch_size", s(t.batchSize)), ("optimizer", s(t.optimizer.rawValue)),
            ("learning_rate", s(t.learningRate)), ("momentum", s(t.momentum)), ("beta1", s(t.beta1)), ("beta2", s(t.beta2)),
            ("eps", s(t.eps)), ("alpha", s(t.alpha)), ("weight_decay", s(t.weightDecay)),
            ("schedule", s(t.schedule.rawValue)), ("step_size", s(t.stepSize)), ("gamma", s(t.gamma)),
            ("min_learning_rate", s(t.minLearningRate)), ("warmup_epochs", s(t.warmupEpochs)),
        ]
        if let cn = t.clipNorm { tr.append(("clip_norm", s(cn))) }
        if let p = t.precision { tr.append(("precision", s(p.rawValue))) }
        if let es = t.earlyStopping {
            tr.append(("early_stopping", .map([("metric", s(es.metric)), ("patience", s(es.patience)), ("min_delta", s(es.minDelta))], line: nil)))
        }
        // The weights a fine-tuned model started from, by their resolved path (the file stands alone).
        let initTree: ConfigTree = c.transfer.map { x in
            .map([("from", s(x.weights ?? x.from)), ("freeze", .list(x.freeze.map { s($0) }, line: nil)),
                  ("scheme", s(c.initialization.rawValue))], line: nil)
        } ?? s(c.initialization.rawValue)
        let a = t.augmentation
        tr.append(("augmentation", .map([("shift", s(a.shift)), ("flip", s(a.flip)), ("rotation", s(a.rotation)), ("scale", s(a.scale))], line: nil)))
        let root: ConfigTree = .map([
            ("name", s(c.name)), ("seed", s(c.seed)), ("dataset", .map(ds, line: nil)),
            ("model", .map([("init", initTree), ("layers", .list(layers, line: nil))], line: nil)),
            ("training", .map(tr, line: nil)),
        ] + (c.compression.map { cs in
            var m: [(key: String, value: ConfigTree)] = [("quantize", s(cs.quantize.rawValue))]
            if let p = cs.prune { m.append(("prune", .map([("sparsity", s(p.sparsity)), ("finetune_epochs", s(p.finetuneEpochs))], line: nil))) }
            return [("compression", .map(m, line: nil))]
        } ?? []), line: nil)
        return root.yaml() + "\n"
    }
}
