import Foundation
import XCTest

/// `sweep data fetch` against a loopback HTTP server serving ../shared/datasets.
final class DataFetchTests: XCTestCase {
    func testFetchVerifiesChecksums() throws {
        guard let shared = CLI.sharedData else { throw XCTSkip("../shared/datasets is not beside this checkout") }
        let server = try LoopbackServer(directory: shared + "/fashion-mnist")
        defer { server.stop() }
        let dest = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dest) }
        let r = try CLI.run(["data", "fetch", "fashion-mnist", "--dest", dest, "--base-url", server.url])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("4 files verified"), r.stdout)
        let files = try FileManager.default.contentsOfDirectory(atPath: dest + "/fashion-mnist").sorted()
        XCTAssertEqual(files, ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
        // A second fetch finds the files in place and downloads nothing.
        let again = try CLI.run(["data", "fetch", "fashion-mnist", "--dest", dest, "--base-url", server.url])
        XCTAssertEqual(again.status, 0)
        XCTAssertTrue(again.stdout.contains("already present"), again.stdout)
    }

    func testCorruptAndTruncatedDownloadsAreNotKept() throws {
        guard let shared = CLI.sharedData else { throw XCTSkip("../shared/datasets is not beside this checkout") }
        let mirror = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: mirror) }
        // Truncated train labels, bit-flipped test labels.
        let labels = try Data(contentsOf: URL(fileURLWithPath: shared + "/mnist/train-labels-idx1-ubyte.gz"))
        try labels.prefix(labels.count / 2).write(to: URL(fileURLWithPath: mirror + "/train-labels-idx1-ubyte.gz"))
        var test = try Data(contentsOf: URL(fileURLWithPath: shared + "/mnist/t10k-labels-idx1-ubyte.gz"))
        test[100] ^= 0xFF
        try test.write(to: URL(fileURLWithPath: mirror + "/t10k-labels-idx1-ubyte.gz"))
        for f in ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"] {
            try FileManager.default.copyItem(atPath: shared + "/mnist/" + f, toPath: mirror + "/" + f)
        }
        let server = try LoopbackServer(directory: mirror)
        defer { server.stop() }
        let dest = CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dest) }
        let r = try CLI.run(["data", "fetch", "mnist", "--dest", dest, "--base-url", server.url])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("train-labels-idx1-ubyte.gz") && r.stderr.contains("expected 28881"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest + "/mnist/train-labels-idx1-ubyte.gz"))
        // Fix the truncation: now the bit flip is caught by the checksum.
        try FileManager.default.removeItem(atPath: mirror + "/train-labels-idx1-ubyte.gz")
        try labels.write(to: URL(fileURLWithPath: mirror + "/train-labels-idx1-ubyte.gz"))
        let r2 = try CLI.run(["data", "fetch", "mnist", "--dest", dest, "--base-url", server.url])
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertTrue(r2.stderr.contains("t10k-labels-idx1-ubyte.gz") && r2.stderr.contains("SHA-256"), r2.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest + "/mnist/t10k-labels-idx1-ubyte.gz"))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dest + "/mnist").contains { $0.hasSuffix(".part") })
    }

    func testUnknownDataset() throws {
        let r = try CLI.run(["data", "fetch", "imagenet"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("imagenet") && r.stderr.contains("fashion-mnist"), r.stderr)
    }
}
