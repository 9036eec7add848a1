import XCTest
@testable import SweepCore

final class CoreTests: XCTestCase {
    func testRandomIsSeededAndUniform() {
        var a = SweepRandom(seed: 42), b = SweepRandom(seed: 42), c = SweepRandom(seed: 43)
        let xs = (0..<5).map { _ in a.next() }
        XCTAssertEqual(xs, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(xs, (0..<5).map { _ in c.next() })
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[a.nextInt(below: 7)] += 1 }
        XCTAssertTrue(counts.allSatisfy { abs($0 - 10_000) < 500 }, "\(counts)")
        let g = (0..<20_000).map { _ in a.nextGaussian() }
        let mean = g.reduce(0, +) / Double(g.count)
        let variance = g.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(g.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03); XCTAssertEqual(variance, 1, accuracy: 0.05)
    }

    func testSeedSequenceSeparatesPaths() {
        XCTAssertEqual(SeedSequence.derive(1, 2, 3), SeedSequence.derive(1, 2, 3))
        XCTAssertNotEqual(SeedSequence.derive(1, 2, 3), SeedSequence.derive(1, 3, 2))
        XCTAssertNotEqual(SeedSequence.derive(1, 2), SeedSequence.derive(2, 2))
    }

    func testConfigTreeParseSetAndYAML() throws {
        var t = try ConfigTree.parse("a: 1\nb:\n  c: [x, y]\n  d: {e: 'q: r'}\n", file: "f.yaml")
        try t.set(["b", "c", "1"], to: .scalar("z", line: nil), file: "f.yaml")
        try t.set(["n", "m"], to: .scalar("5", line: nil), file: "f.yaml")
        let again = try ConfigTree.parse(t.yaml(), file: "g.yaml")
        XCTAssertEqual(again, t)
        let r = try ConfigReader(again, file: "g.yaml")
        XCTAssertEqual(try r.map("b")?.list("c")?.count, 2)
        XCTAssertEqual(try r.map("n")?.int("m"), 5)
        XCTAssertThrowsError(try r.only(["a"])) { XCTAssertTrue("\($0)".contains("'b'") && "\($0)".contains("unknown key"), "\($0)") }
    }

    func testYAMLErrorsHaveLines() {
        XCTAssertThrowsError(try ConfigTree.parse("a: 1\nb: [\n", file: "bad.yaml")) { e in
            XCTAssertTrue("\(e)".hasPrefix("bad.yaml:"), "\(e)")
        }
        XCTAssertThrowsError(try ConfigTree.parse("a: 1\na: 2\n", file: "dup.yaml")) { e in
            XCTAssertTrue("\(e)".contains("dup.yaml"), "\(e)")
        }
    }
}
