import Foundation
import SweepCore

/// Which data set a model trains on, as written in a search-space file's `dataset:` section.
public struct DatasetSpec: Codable, Sendable, Equatable {
    /// `digits` (built in), `mnist`, `fashion-mnist`, `cifar10`, `csv` or `idx`.
    public var name: String
    /// For `csv`: the file (absolute, or relative to the space file's folder, the working
    /// directory or the data directory).
    public var path: String?
    /// For `csv`: the label column (its 0-based index when `header` is false).
    public var label: String?
    /// For `csv`: force classification or regression (default: inferred from the label column).
    public var task: LearningTask?
    /// For `csv`: whether the first row names the columns (nil: true).
    public var header: Bool?
    /// For `csv`: what missing values do (nil: `error`).
    public var missing: MissingValues?
    /// For `csv`: a test file with the same columns (default: `testFraction` of `path` is held out).
    public var testPath: String?
    /// For `idx`: the training images and labels, and optionally the test ones.
    public var train: IDXFiles?
    public var test: IDXFiles?
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

    public static let builtins = ["digits", "mnist", "fashion-mnist", "cifar10", "csv", "idx"]

    public init(name: String, path: String? = nil, label: String? = nil, task: LearningTask? = nil, header: Bool? = nil,
                missing: MissingValues? = nil, testPath: String? = nil, train: IDXFiles? = nil, test: IDXFiles? = nil,
                validation: Double = 0.1, testFraction: Double = 0.2, scaling: Scaling = .unit,
                splitSeed: UInt64 = 0, limit: Int? = nil) {
        self.name = name; self.path = path; self.label = label; self.task = task
        self.header = header; self.missing = missing; self.testPath = testPath; self.train = train; self.test = test
        self.validation = validation; self.testFraction = testFraction; self.scaling = scaling
        self.splitSeed = splitSeed; self.limit = limit
    }
}

/// An IDX image set by path: an images file (magic 0x803) and a labels file (0x801), gzip or raw.
public struct IDXFiles: Codable, Sendable, Equatable {
    public var images: String
    public var labels: String
    public init(images: String, labels: String) { self.images = images; self.labels = labels }
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
        splits.scaler = scaler
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
                                 "missing file of data set '\(spec.name)' (looked in \(dir), the data directory's \(spec.name)/ folder); run `sweep data fetch \(spec.name) --dest \(dataDir)`, or pass --data-dir with the folder that holds \(spec.name)/ (or set SWEEP_DATA_DIR)")
            }
            func part(_ prefix: String) throws -> IDXFiles {
                IDXFiles(images: try file(prefix + "-images-idx3-ubyte"), labels: try file(prefix + "-labels-idx1-ubyte"))
            }
            let train = try part("train"), test = try part("t10k")
            return (try idx(train, name: spec.name, classCount: 10), try idx(test, name: spec.name + "-test", classCount: 10))
        case "idx":
            guard let train = spec.train else {
                throw InputError(field: "dataset.train", "an idx data set needs `train: {images: FILE, labels: FILE}`")
            }
            func located(_ f: IDXFiles, _ key: String) throws -> IDXFiles {
                IDXFiles(images: try locate(f.images, field: key + ".images", dataDir: dataDir),
                         labels: try locate(f.labels, field: key + ".labels", dataDir: dataDir))
            }
            let trainSet = try idx(try located(train, "dataset.train"), name: "idx", classCount: nil)
            guard let test = spec.test else { return (trainSet, nil) }
            let testSet = try idx(try located(test, "dataset.test"), name: "idx-test", classCount: nil)
            guard testSet.sampleShape == trainSet.sampleShape else {
                throw InputError(file: test.images, field: "dataset.test.images",
                                 "images are \(testSet.sampleShape[0])x\(testSet.sampleShape[1]); the training images are \(trainSet.sampleShape[0])x\(trainSet.sampleShape[1])")
            }
            if let bad = testSet.labels.first(where: { Int($0) >= trainSet.classCount }) {
                throw InputError(file: test.labels, field: "dataset.test.labels",
                                 "label \(bad) does not occur in the training labels (0...\(trainSet.classCount - 1))")
            }
            var t = testSet
            t.classCount = trainSet.classCount; t.classNames = trainSet.classNames
            return (trainSet, t)
        case "cifar10":
            var dir = dataDir + "/cifar10"
            if FileManager.default.fileExists(atPath: dir + "/cifar-10-batches-bin") { dir += "/cifar-10-batches-bin" }
            func batch(_ files: [String], name: String) throws -> Dataset {
                var px: [Float] = [], lb: [Int32] = []
                for f in files {
                    let p = dir + "/" + f
                    guard FileManager.default.fileExists(atPath: p) else {
                        throw InputError(file: p, field: "dataset.name",
                                         "missing file of data set 'cifar10' (the CIFAR-10 binary version; looked in \(dir), the data directory's cifar10/ folder); pass --data-dir with the folder that holds cifar10/ (or set SWEEP_DATA_DIR)")
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
            let resolved = try locate(path, field: "dataset.path", dataDir: dataDir)
            let header = spec.header ?? true
            let table = try CSVTable.parse(try FileIO.read(resolved, field: "dataset.path"), file: resolved, header: header)
            let encoding = try TabularEncoding.fit(table, label: label, header: header, task: spec.task, missing: spec.missing ?? .error)
            let name = (resolved as NSString).lastPathComponent
            let full = try encoding.dataset(table, name: name)
            guard let testPath = spec.testPath else { return (full, nil) }
            let testFile = try locate(testPath, field: "dataset.test_path", dataDir: dataDir)
            let testTable = try CSVTable.parse(try FileIO.read(testFile, field: "dataset.test_path"), file: testFile, header: header)
            return (full, try encoding.dataset(testTable, name: (testFile as NSString).lastPathComponent))
        default:
            throw InputError(field: "dataset.name", "unknown data set '\(spec.name)'; accepted: \(DatasetSpec.builtins.joined(separator: ", "))")
        }
    }

    /// A data file named in the spec: absolute, or relative to the working directory (the space
    /// file's folder was already tried when the file was read), or to the data directory.
    static func locate(_ path: String, field: String, dataDir: String) throws -> String {
        let candidates = path.hasPrefix("/") ? [path] : [path, dataDir + "/" + path]
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        let tried = path.hasPrefix("/") ? "" : " (looked in the search-space file's folder, the working directory and the data directory \(dataDir))"
        throw InputError(file: path, field: field, "no such file\(tried)")
    }

    /// An IDX image set: images and labels of the same count; `classCount` nil takes it from the
    /// labels (the largest label + 1), with the labels as class names.
    static func idx(_ f: IDXFiles, name: String, classCount: Int?) throws -> Dataset {
        let img = try IDX.images(try FileIO.read(f.images), file: f.images)
        let lbl = try IDX.labels(try FileIO.read(f.labels), file: f.labels)
        guard img.count == lbl.count else {
            throw InputError(file: f.labels, "holds \(lbl.count) labels but \(f.images) holds \(img.count) images")
        }
        let classes = classCount ?? Int(lbl.max() ?? 0) + 1
        if let bad = lbl.first(where: { $0 >= classes }) {
            throw InputError(file: f.labels, "label \(bad) is out of range; expected 0...\(classes - 1)")
        }
        var d = Dataset(name: name, sampleShape: img.shape, features: img.pixels, labels: lbl, classCount: classes,
                        classNames: classCount == nil ? (0..<classes).map(String.init) : nil)
        d.valueRange = 0...255
        return d
    }
}

/// The UCI optical digits (8x8, 1,797 samples) embedded in the binary: real data, zero set-up.
public enum BuiltinDigits {
    public static func load() throws -> Dataset {
        guard let gz = Data(base64Encoded: BuiltinDigitsData.base64, options: .ignoreUnknownCharacters) else {
            throw RuntimeFailure("the built-in digits data is damaged")
        }
        let csv = try Gzip.decompress([UInt8](gz), file: "<built-in digits>")
        let rows = try CSVLoader.parseRows(csv, file: "<built-in digits>").map(\.fields).filter { $0.count == 65 }
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
