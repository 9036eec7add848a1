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
            XCTAssertTrue("\(e)".contains("missing value"), "\(e)")
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
