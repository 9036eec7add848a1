import XCTest
import SweepCore
@testable import SweepData

final class LoaderTests: XCTestCase {
    var dir: String!
    override func setUp() {
        dir = NSTemporaryDirectory() + "sweep-data-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    func idxImages(_ n: Int, _ r: Int, _ c: Int) -> [UInt8] {
        be32(0x803) + be32(n) + be32(r) + be32(c) + (0..<(n * r * c)).map { UInt8($0 % 256) }
    }
    func idxLabels(_ labels: [UInt8]) -> [UInt8] { be32(0x801) + be32(labels.count) + labels }

    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let raw = dir + "/g-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: raw, contents: Data(bytes))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env"); p.arguments = ["gzip", "-n", raw]
        try p.run(); p.waitUntilExit()
        return [UInt8](FileManager.default.contents(atPath: raw + ".gz")!)
    }

    func testIDXRawAndGzip() throws {
        let img = idxImages(3, 2, 2), lbl = idxLabels([1, 0, 9])
        let parsed = try IDX.images(img, file: "x")
        XCTAssertEqual(parsed.count, 3); XCTAssertEqual(parsed.shape, [2, 2, 1]); XCTAssertEqual(parsed.pixels[5], 5)
        XCTAssertEqual(try IDX.labels(lbl, file: "y"), [1, 0, 9])
        let gz = try gzip(img)
        XCTAssertEqual(try Gzip.decompress(gz, file: "z"), img)
    }

    func testIDXErrorsNameTheFile() {
        var bad = idxImages(3, 2, 2); bad.removeLast()
        XCTAssertThrowsError(try IDX.images(bad, file: "imgs.idx")) { XCTAssertTrue("\($0)".contains("imgs.idx") && "\($0)".contains("truncated")) }
        XCTAssertThrowsError(try IDX.images(idxLabels([1]), file: "l.idx")) { XCTAssertTrue("\($0)".contains("magic")) }
    }

    func testTruncatedAndCorruptGzip() throws {
        let gz = try gzip(idxImages(50, 8, 8))
        XCTAssertThrowsError(try Gzip.decompress(Array(gz.prefix(gz.count / 2)), file: "t.gz")) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        var corrupt = gz; for i in 20..<40 { corrupt[i] ^= 0x5A }
        XCTAssertThrowsError(try Gzip.decompress(corrupt, file: "c.gz")) { XCTAssertTrue("\($0)".contains("c.gz"), "\($0)") }
    }

    func testMNISTLayoutUnderDataDir() throws {
        let d = dir + "/mnist"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let labels: [UInt8] = (0..<40).map { UInt8($0 % 10) }
        FileManager.default.createFile(atPath: d + "/train-images-idx3-ubyte.gz", contents: Data(try gzip(idxImages(40, 4, 4))))
        FileManager.default.createFile(atPath: d + "/train-labels-idx1-ubyte.gz", contents: Data(try gzip(idxLabels(labels))))
        FileManager.default.createFile(atPath: d + "/t10k-images-idx3-ubyte", contents: Data(idxImages(10, 4, 4)))
        FileManager.default.createFile(atPath: d + "/t10k-labels-idx1-ubyte", contents: Data(idxLabels(Array(labels.prefix(10)))))
        let s = try DatasetCatalog.load(DatasetSpec(name: "mnist", validation: 0.2), dataDir: dir)
        XCTAssertEqual(s.train.count, 30); XCTAssertEqual(s.validation.count, 10) // 1 of 4 per class; XCTAssertEqual(s.test.count, 10)
        XCTAssertEqual(s.train.sampleShape, [4, 4, 1])
        XCTAssertTrue(s.train.features.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertThrowsError(try DatasetCatalog.load(DatasetSpec(name: "fashion-mnist"), dataDir: dir)) { e in
            XCTAssertTrue("\(e)".contains("fashion-mnist/train-images-idx3-ubyte.gz") && "\(e)".contains("sweep data fetch"), "\(e)")
        }
    }

    func testCIFAR10Binary() throws {
        var bytes: [UInt8] = []
        for r in 0..<4 { bytes.append(UInt8(r % 10)); bytes += (0..<3072).map { UInt8(($0 + r) % 256) } }
        let (px, lb) = try CIFAR10.parse(bytes, file: "b.bin")
        XCTAssertEqual(lb, [0, 1, 2, 3])
        // Channels-last: pixel 0 of record 0 is (R, G, B) = bytes 1, 1025, 2049 of the record.
        XCTAssertEqual(px[0], Float(bytes[1])); XCTAssertEqual(px[1], Float(bytes[1 + 1024])); XCTAssertEqual(px[2], Float(bytes[1 + 2048]))
        XCTAssertThrowsError(try CIFAR10.parse(Array(bytes.dropLast()), file: "b.bin")) { XCTAssertTrue("\($0)".contains("3073")) }
        let d = dir + "/cifar10"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        for f in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] { FileManager.default.createFile(atPath: d + "/" + f, contents: Data(bytes + bytes)) }
        let s = try DatasetCatalog.loadRaw(DatasetSpec(name: "cifar10"), dataDir: dir)
        XCTAssertEqual(s.0.count, 40); XCTAssertEqual(s.1?.count, 8); XCTAssertEqual(s.0.sampleShape, [32, 32, 3])
    }

    func testCSVClassificationRegressionAndErrors() throws {
        let csv = "x,kind,label\n1.5,a,cat\n2,b,dog\n\"3\",a,cat\n"
        let c = try CSVLoader.load(bytes: Array(csv.utf8), file: "f.csv", label: "label", name: "f")
        XCTAssertEqual(c.task, .classification); XCTAssertEqual(c.classNames!, ["cat", "dog"]); XCTAssertEqual(c.labels, [0, 1, 0])
        XCTAssertEqual(c.features, [1.5, 1, 0, 2, 0, 1, 3, 1, 0])
        let r = try CSVLoader.load(bytes: Array("a,y\n1,0.5\n2,1.5\n".utf8), file: "r.csv", label: "y", name: "r")
        XCTAssertEqual(r.task, .regression); XCTAssertEqual(r.values, [0.5, 1.5])
        let forced = try CSVLoader.load(bytes: Array("a,y\n1,0\n2,1\n".utf8), file: "r.csv", label: "y", task: .classification, name: "r")
        XCTAssertEqual(forced.classCount, 2)
        XCTAssertThrowsError(try CSVLoader.load(bytes: Array(csv.utf8), file: "f.csv", label: "target", name: "f")) { e in
            XCTAssertTrue("\(e)".contains("f.csv") && "\(e)".contains("'target'") && "\(e)".contains("x, kind, label"), "\(e)")
        }
        XCTAssertThrowsError(try CSVLoader.load(bytes: Array("a,y\n1,2\n3\n".utf8), file: "g.csv", label: "y", name: "g")) { e in
            XCTAssertEqual((e as? InputError)?.line, 3)
        }
        XCTAssertThrowsError(try CSVLoader.load(bytes: Array("a,y\n,2\n".utf8), file: "h.csv", label: "y", name: "h")) { e in
            XCTAssertTrue("\(e)".contains("missing value") && "\(e)".contains("h.csv:2"), "\(e)")
        }
    }

    func testMissingMarksAreMissingNeverCategories() throws {
        // `?` in a numeric column: an error naming the file, line, column and the rows affected.
        let csv = "age,city,y\n30,paris,a\n?,rome,b\n41,,a\n25,rome,b\nNA,paris,a\n33,rome,b\n"
        XCTAssertThrowsError(try CSVLoader.load(bytes: Array(csv.utf8), file: "m.csv", label: "y", name: "m")) { e in
            let err = e as? InputError
            XCTAssertEqual(err?.file, "m.csv"); XCTAssertEqual(err?.line, 3); XCTAssertEqual(err?.field, "age")
            XCTAssertTrue("\(e)".contains("3 of 6 rows") && "\(e)".contains("age 2, city 1") && "\(e)".contains("dataset.missing"), "\(e)")
        }
        // drop: those rows go; the column stays numeric (one feature, not one per distinct value).
        let dropped = try CSVLoader.load(bytes: Array(csv.utf8), file: "m.csv", label: "y", missing: .drop, name: "m")
        XCTAssertEqual(dropped.count, 3); XCTAssertEqual(dropped.featureCount, 1 + 2)
        XCTAssertEqual(dropped.encoding?.columns.map(\.categories), [nil, ["paris", "rome"]])
        // mean: numeric holes get the column mean, categorical ones no category.
        let filled = try CSVLoader.load(bytes: Array(csv.utf8), file: "m.csv", label: "y", missing: .mean, name: "m")
        XCTAssertEqual(filled.count, 6)
        let mean = Float((30 + 41 + 25 + 33) / 4.0)
        XCTAssertEqual(Array(filled.features[3..<6]), [mean, 0, 1])
        XCTAssertEqual(Array(filled.features[6..<9]), [41, 0, 0])
        // nan / null / N/A are missing too, in any case.
        for mark in ["nan", "NaN", "null", "N/A", "n/a", ""] {
            let d = try CSVLoader.load(bytes: Array("a,y\n1,p\n\(mark),q\n3,p\n".utf8), file: "n.csv", label: "y", missing: .mean, name: "n")
            XCTAssertEqual(d.encoding?.columns[0].categories, nil, mark); XCTAssertEqual(d.features, [1, 2, 3], mark)
        }
        // A missing label cannot be filled.
        XCTAssertThrowsError(try CSVLoader.load(bytes: Array("a,y\n1,p\n2,?\n".utf8), file: "l.csv", label: "y", missing: .mean, name: "l")) { e in
            XCTAssertEqual((e as? InputError)?.line, 3); XCTAssertTrue("\(e)".contains("missing label"), "\(e)")
        }
    }

    func testIntegerLabelsWithFewValuesAreClasses() throws {
        let ints = "a,y\n" + (0..<30).map { "\($0),\([2, 0, 1, 10][$0 % 4])" }.joined(separator: "\n")
        let c = try CSVLoader.load(bytes: Array(ints.utf8), file: "i.csv", label: "y", name: "i")
        XCTAssertEqual(c.task, .classification); XCTAssertEqual(c.classNames!, ["0", "1", "2", "10"])
        // Many distinct integers, or decimals: a quantity.
        let many = "a,y\n" + (0..<30).map { "\($0),\($0 * 3)" }.joined(separator: "\n")
        XCTAssertEqual(try CSVLoader.load(bytes: Array(many.utf8), file: "i.csv", label: "y", name: "i").task, .regression)
        let decimals = "a,y\n" + (0..<30).map { "\($0),\($0 % 3).5" }.joined(separator: "\n")
        XCTAssertEqual(try CSVLoader.load(bytes: Array(decimals.utf8), file: "i.csv", label: "y", name: "i").task, .regression)
        // As many distinct values as rows: no class would have two examples.
        XCTAssertEqual(try CSVLoader.load(bytes: Array("a,y\n1,1\n2,2\n3,3\n".utf8), file: "i.csv", label: "y", name: "i").task, .regression)
        // task: overrides.
        XCTAssertEqual(try CSVLoader.load(bytes: Array(ints.utf8), file: "i.csv", label: "y", task: .regression, name: "i").task, .regression)
    }

    func testHeaderlessCSVAndItsHint() throws {
        let csv = "5.1,3.5,setosa\n4.9,3.0,setosa\n6.2,2.9,versicolor\n"
        XCTAssertThrowsError(try CSVLoader.load(bytes: Array(csv.utf8), file: "h.csv", label: "species", name: "h")) { e in
            XCTAssertTrue("\(e)".contains("header: false"), "\(e)")
        }
        let d = try CSVLoader.load(bytes: Array(csv.utf8), file: "h.csv", label: "2", header: false, name: "h")
        XCTAssertEqual(d.count, 3); XCTAssertEqual(d.classNames!, ["setosa", "versicolor"]); XCTAssertEqual(d.features, [5.1, 3.5, 4.9, 3.0, 6.2, 2.9])
        // New data without the label column is encoded by position.
        let enc = try XCTUnwrap(d.encoding)
        let rows = try enc.encode(try CSVTable.parse(Array("6.0,3.1\n".utf8), file: "new.csv", header: false))
        XCTAssertEqual(rows.features, [6.0, 3.1]); XCTAssertNil(rows.labels)
        XCTAssertThrowsError(try CSVLoader.load(bytes: Array(csv.utf8), file: "h.csv", label: "3", header: false, name: "h")) { e in
            XCTAssertTrue("\(e)".contains("0...2"), "\(e)")
        }
    }

    func testCSVTestFileAndIDXByPath() throws {
        let train = dir + "/train.csv", test = dir + "/test.csv"
        try ("x,c,y\n" + (0..<20).map { "\($0),\($0 % 2 == 0 ? "u" : "v"),\($0 % 2 == 0 ? "even" : "odd")" }.joined(separator: "\n")).write(toFile: train, atomically: true, encoding: .utf8)
        try "x,c,y\n100,v,odd\n101,u,even\n".write(toFile: test, atomically: true, encoding: .utf8)
        let splits = try DatasetCatalog.load(DatasetSpec(name: "csv", path: train, label: "y", testPath: test, scaling: .none), dataDir: dir)
        XCTAssertEqual(splits.test.count, 2); XCTAssertEqual(splits.test.labels, [1, 0])
        XCTAssertEqual(splits.test.features, [100, 0, 1, 101, 1, 0])
        XCTAssertEqual(splits.train.count + splits.validation.count, 20)
        try "x,c,y\n1,w,odd\n".write(toFile: test, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DatasetCatalog.load(DatasetSpec(name: "csv", path: train, label: "y", testPath: test), dataDir: dir)) { e in
            XCTAssertTrue("\(e)".contains("test.csv:2") && "\(e)".contains("'w'"), "\(e)")
        }
        // IDX by path, 3 classes, gzip images and raw labels, relative to the data directory.
        FileManager.default.createFile(atPath: dir + "/imgs.gz", contents: Data(try gzip(idxImages(30, 3, 2))))
        FileManager.default.createFile(atPath: dir + "/lbls", contents: Data(idxLabels((0..<30).map { UInt8($0 % 3) })))
        let spec = DatasetSpec(name: "idx", train: IDXFiles(images: "imgs.gz", labels: "lbls"), validation: 0.2)
        let s = try DatasetCatalog.load(spec, dataDir: dir)
        XCTAssertEqual(s.train.classCount, 3); XCTAssertEqual(s.train.sampleShape, [3, 2, 1]); XCTAssertEqual(s.train.classNames!, ["0", "1", "2"])
        XCTAssertEqual(s.train.count + s.validation.count + s.test.count, 30)
        XCTAssertThrowsError(try DatasetCatalog.load(DatasetSpec(name: "idx", train: IDXFiles(images: "nope.gz", labels: "lbls")), dataDir: dir)) { e in
            XCTAssertEqual((e as? InputError)?.field, "dataset.train.images"); XCTAssertTrue("\(e)".contains(dir), "\(e)")
        }
    }

    func testBuiltinDigits() throws {
        let d = try BuiltinDigits.load()
        XCTAssertEqual(d.count, 1797); XCTAssertEqual(d.sampleShape, [8, 8, 1]); XCTAssertEqual(d.classCount, 10)
        var counts = [Int](repeating: 0, count: 10)
        for l in d.labels { counts[Int(l)] += 1 }
        XCTAssertEqual(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
        XCTAssertEqual(d.features.max(), 16)
    }

    func testStratifiedSplitIsSeededAndBalanced() throws {
        let d = try BuiltinDigits.load()
        let (a1, b1) = Splitter.stratified(d, fraction: 0.1, seed: 1)
        let (a2, b2) = Splitter.stratified(d, fraction: 0.1, seed: 1)
        XCTAssertEqual(a1, a2); XCTAssertEqual(b1, b2)
        XCTAssertEqual(Set(a1).intersection(b1).count, 0); XCTAssertEqual(a1.count + b1.count, 1797)
        var counts = [Int](repeating: 0, count: 10)
        for i in b1 { counts[Int(d.labels[i])] += 1 }
        XCTAssertTrue(counts.allSatisfy { $0 == 17 || $0 == 18 }, "\(counts)")
        XCTAssertNotEqual(Splitter.stratified(d, fraction: 0.1, seed: 2).1, b1)
    }

    func testScalers() {
        var d = Dataset(name: "s", sampleShape: [2], features: [0, 10, 2, 20, 4, 30], labels: [0, 1, 0], classCount: 2)
        var u = d; Scaler.fit(.unit, on: d).apply(&u)
        XCTAssertEqual(u.features, [0, 0, 0.5, 0.5, 1, 1])
        var m = d; Scaler.fit(.minus_one_one, on: d).apply(&m)
        XCTAssertEqual(m.features, [-1, -1, 0, 0, 1, 1])
        var s = d; Scaler.fit(.standardize, on: d).apply(&s)
        XCTAssertEqual(s.features[2], 0, accuracy: 1e-6); XCTAssertEqual(s.features[4], 1.2247449, accuracy: 1e-5)
        d.valueRange = 0...40
        var r = d; Scaler.fit(.unit, on: d).apply(&r)
        XCTAssertEqual(r.features[1], 0.25)
    }

    func testSHA256() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
