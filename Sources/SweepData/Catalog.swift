import Foundation
import SweepCore

/// Which data set a model trains on, as written in a search-space file's `dataset:` section.
public struct DatasetSpec: Codable, Sendable, Equatable {
    /// `digits` (built in), `mnist`, `fashion-mnist`, `cifar10`, or `csv`.
    public var name: String
    /// For `csv`: the file (absolute, or relative to the data directory / working directory).
    public var path: String?
    /// For `csv`: the label column.
    public var label: String?
    /// For `csv`: force classification or regression (default: inferred from the label column).
    public var task: Task?
    /// Fraction of the training data held out for validation (stratified, seeded by `splitSeed`).
    public var validation: Double
    /// Fraction held out as the test set for data sets without an official test split.
    public var testFraction: Double
    /// `none`, `unit` ([0,1]), `minus_one_one` ([-1,1]) or `standardize` (per feature).
    public var scaling: Scaling
    /// Seed of the validation/test split; fixed per study so every trial sees the same split.
    public var splitSeed: UInt64
    /// Use only this many training samples (for quick runs and tests); nil = all.
    public var limit: Int?

    public static let builtins = ["digits", "mnist", "fashion-mnist", "cifar10", "csv"]

    public init(name: String, path: String? = nil, label: String? = nil, task: Task? = nil,
                validation: Double = 0.1, testFraction: Double = 0.2, scaling: Scaling = .unit,
                splitSeed: UInt64 = 0, limit: Int? = nil) {
        self.name = name; self.path = path; self.label = label; self.task = task
        self.validation = validation; self.testFraction = testFraction; self.scaling = scaling
        self.splitSeed = splitSeed; self.limit = limit
    }
}

public enum Scaling: String, Codable, Sendable, CaseIterable {
    case none, unit, minus_one_one, standardize
}

/// Where data sets live: `--data-dir`, else `$SWEEP_DATA_DIR`, else the user's cache directory.
public enum DataDirectory {
    public static func resolve(_ flag: String?) -> String {
        if let flag, !flag.isEmpty { return flag }
        let env = ProcessInfo.processInfo.environment
        if let d = env["SWEEP_DATA_DIR"], !d.isEmpty { return d }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/sweep/datasets" }
        return NSHomeDirectory() + "/.cache/sweep/datasets"
    }
}

public enum DatasetCatalog {
    /// Loads a data set and divides it into train / validation / test, scaled by the spec.
    public static func load(_ spec: DatasetSpec, dataDir: String) throws -> DataSplits {
        let (full, officialTest) = try loadRaw(spec, dataDir: dataDir)
        var trainPool = full
        var test: Dataset
        if let officialTest {
            test = officialTest
        } else {
            let (rest, held) = Splitter.stratified(full, fraction: spec.testFraction,
                                                   seed: SeedSequence.derive(spec.splitSeed, SeedSequence.label("test")))
            trainPool = full.subset(rest); test = full.subset(held, name: full.name + "-test")
        }
        if let limit = spec.limit, limit < trainPool.count {
            let (keep, _) = Splitter.stratified(trainPool, fraction: 1 - Double(limit) / Double(trainPool.count),
                                                seed: SeedSequence.derive(spec.splitSeed, SeedSequence.label("limit")))
            trainPool = trainPool.subset(keep)
        }
        let (tr, va) = Splitter.stratified(trainPool, fraction: spec.validation,
                                           seed: SeedSequence.derive(spec.splitSeed, SeedSequence.label("validation")))
        var splits = DataSplits(train: trainPool.subset(tr), validation: trainPool.subset(va, name: full.name + "-validation"), test: test)
        let scaler = Scaler.fit(spec.scaling, on: splits.train)
        scaler.apply(&splits.train); scaler.apply(&splits.validation); scaler.apply(&splits.test)
        return splits
    }

    /// The whole data set and, when the format has one, its official test set (unscaled).
    public static func loadRaw(_ spec: DatasetSpec, dataDir: String) throws -> (Dataset, Dataset?) {
        switch spec.name {
        case "digits":
            return (try BuiltinDigits.load(), nil)
        case "mnist", "fashion-mnist":
            let dir = dataDir + "/" + spec.name
            func file(_ base: String) throws -> String {
                for candidate in [base + ".gz", base, base.replacingOccurrences(of: "-idx", with: ".idx")] {
                    let p = dir + "/" + candidate
                    if FileManager.default.fileExists(atPath: p) { return p }
                }
                throw InputError(file: dir + "/" + base + ".gz", field: "dataset.name",
                                 "missing file of data set '\(spec.name)'; run `sweep data fetch \(spec.name) --dest \(dataDir)` or pass --data-dir")
            }
            func part(_ prefix: String, _ label: String) throws -> Dataset {
                let imgPath = try file(prefix + "-images-idx3-ubyte")
                let lblPath = try file(prefix + "-labels-idx1-ubyte")
                let img = try IDX.images(try FileIO.read(imgPath), file: imgPath)
                let lbl = try IDX.labels(try FileIO.read(lblPath), file: lblPath)
                guard img.count == lbl.count else {
                    throw InputError(file: lblPath, "holds \(lbl.count) labels but \(imgPath) holds \(img.count) images")
                }
                if let bad = lbl.first(where: { $0 > 9 }) {
                    throw InputError(file: lblPath, "label \(bad) is out of range; expected 0...9")
                }
                var d = Dataset(name: spec.name + label, sampleShape: img.shape, features: img.pixels, labels: lbl, classCount: 10)
                d.valueRange = 0...255
                return d
            }
            return (try part("train", ""), try part("t10k", "-test"))
        case "cifar10":
            var dir = dataDir + "/cifar10"
            if FileManager.default.fileExists(atPath: dir + "/cifar-10-batches-bin") { dir += "/cifar-10-batches-bin" }
            func batch(_ files: [String], name: String) throws -> Dataset {
                var px: [Float] = [], lb: [Int32] = []
                for f in files {
                    let p = dir + "/" + f
                    guard FileManager.default.fileExists(atPath: p) else {
                        throw InputError(file: p, field: "dataset.name", "missing file of data set 'cifar10' (the CIFAR-10 binary version)")
                    }
                    let (x, y) = try CIFAR10.parse(try FileIO.read(p), file: p)
                    px += x; lb += y
                }
                var d = Dataset(name: name, sampleShape: [32, 32, 3], features: px, labels: lb, classCount: 10, classNames: CIFAR10.classNames)
                d.valueRange = 0...255
                return d
            }
            return (try batch((1...5).map { "data_batch_\($0).bin" }, name: "cifar10"),
                    try batch(["test_batch.bin"], name: "cifar10-test"))
        case "csv":
            guard let path = spec.path else { throw InputError(field: "dataset.path", "a csv data set needs `path:` (the CSV file)") }
            guard let label = spec.label else { throw InputError(field: "dataset.label", "a csv data set needs `label:` (the name of the label column)") }
            let resolved = path.hasPrefix("/") || FileManager.default.fileExists(atPath: path) ? path : dataDir + "/" + path
            let bytes = try FileIO.read(resolved, field: "dataset.path")
            let name = (resolved as NSString).lastPathComponent
            return (try CSVLoader.load(bytes: bytes, file: resolved, label: label, task: spec.task, name: name), nil)
        default:
            throw InputError(field: "dataset.name", "unknown data set '\(spec.name)'; accepted: \(DatasetSpec.builtins.joined(separator: ", "))")
        }
    }
}

/// The UCI optical digits (8x8, 1,797 samples) embedded in the binary: real data, zero set-up.
public enum BuiltinDigits {
    public static func load() throws -> Dataset {
        guard let gz = Data(base64Encoded: BuiltinDigitsData.base64, options: .ignoreUnknownCharacters) else {
            throw RuntimeFailure("the built-in digits data is damaged")
        }
        let csv = try Gzip.decompress([UInt8](gz), file: "<built-in digits>")
        let rows = try CSVLoader.parseRows(csv, file: "<built-in digits>").filter { $0.count == 65 }
        var f = [Float](); f.reserveCapacity(rows.count * 64)
        var y = [Int32]()
        for r in rows {
            for c in 0..<64 { f.append(Float(r[c])!) }
            y.append(Int32(Float(r[64])!))
        }
        var d = Dataset(name: "digits", sampleShape: [8, 8, 1], features: f, labels: y, classCount: 10)
        d.valueRange = 0...16
        return d
    }
}
