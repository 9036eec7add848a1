import Foundation
import XCTest

/// Bad input through the built binary: mutated search-space files (bytes included: invalid
/// UTF-8, NUL, truncation) through `sweep check`, and the ones it rejects through `sweep start`
/// against a database that already holds a study, which must come out unchanged.
final class CheckFuzzTests: XCTestCase {
    static let seeds: [[UInt8]] = {
        let root = CLI.repo + "/search-spaces"
        var names: [String] = []
        let e = FileManager.default.enumerator(atPath: root)
        while let p = e?.nextObject() as? String {
            if p.hasSuffix(".yaml") || p.hasSuffix(".yml") { names.append(p) }
        }
        return names.sorted().compactMap { FileManager.default.contents(atPath: root + "/" + $0).map { Array($0) } }
    }()

    /// The mutated file of case `n`, from a generator seeded by `n` and `stream` alone.
    static func mutated(_ n: Int, stream: UInt64) -> [UInt8] {
        var rng = FuzzRandom(seed: stream &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(n))
        var bytes = seeds[n % seeds.count]
        for _ in 0..<(1 + rng.below(3)) { bytes = ByteMutator.once(bytes, rng: &rng) }
        return bytes
    }

    func testCheckOnMutatedFilesExitsZeroOrTwo() throws {
        XCTAssertGreaterThanOrEqual(Self.seeds.count, 10)
        let dir = CLI.tempDir()
        var valid = 0, invalid = 0
        for n in 0..<200 {
            let name = "fuzz-\(n).yaml", path = dir + "/" + name
            try Data(Self.mutated(n, stream: 1)).write(to: URL(fileURLWithPath: path))
            let json = n % 2 == 1
            let r = try CLI.run(["check", path] + (json ? ["--json"] : []), timeout: 60)
            XCTAssertTrue(r.status == 0 || r.status == 2, "\(name): exit \(r.status) (a signal or another code)\n\(r.stderr)")
            if r.status == 0 {
                valid += 1
                XCTAssertTrue(r.stderr.isEmpty, "\(name): \(r.stderr)")
                if json {
                    let o = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
                    XCTAssertNotNil(o?["parameters"] as? [[String: Any]], "\(name): \(r.stdout)")
                } else {
                    XCTAssertTrue(r.stdout.contains("study"), "\(name): \(r.stdout)")
                }
            } else if r.status == 2 {
                invalid += 1
                XCTAssertTrue(r.stdout.isEmpty, "\(name): printed \(r.stdout)")
                XCTAssertTrue(r.stderr.contains(name), "\(name): the message does not name the file: \(r.stderr)")
            }
        }
        print("check fuzz: 200 files, \(invalid) rejected (exit 2), \(valid) accepted (exit 0)")
        XCTAssertGreaterThan(invalid, 0)
        XCTAssertGreaterThan(valid, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).count, 200, "check writes nothing")

        // Bad flags and a missing file.
        let seed = CLI.repo + "/search-spaces/digits-mlp.yaml"
        for args in [["check", seed, "--set", "training.learning_rate"], ["check", seed, "--set", "=3"], ["check", seed, "--bogus"],
                     ["check"], ["check", dir + "/missing.yaml"],
                     ["check", seed, "--set", "training.learning_rate={float: [1, 0.1]}"], ["check", seed, "--set", "model.layers.9.units=3"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty, "\(args)")
        }
        XCTAssertTrue(try CLI.run(["check", dir + "/missing.yaml"]).stderr.contains("missing.yaml"))
        let ok = try CLI.run(["check", seed, "--set", "budget.trials=5", "--json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((o["budget"] as? [String: Any])?["trials"] as? Int, 5)
    }

    func testStartRefusesWhatCheckRejectsAndLeavesTheDatabaseAlone() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let ok = try CLI.writeSpace(dir, """
        name: ok
        budget: {trials: 1}
        command: [python3, \(SearchCommandTests.commandScript)]
        params:
          x: {float: [0.1, 1.0]}
        """, name: "ok.yaml")
        // The daemon stays for the whole test (the files compared at the end include its socket).
        let first = try CLI.run(["start", ok, "--db", db, "--workers", "1"], env: ["SWEEP_DAEMON_IDLE_TIMEOUT": "600"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let before = try SearchCommandTests.dump(db)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/results"))

        var started = 0, n = 0
        while started < 100 && n < 1_000 {
            defer { n += 1 }
            let name = "fuzz-\(n).yaml", path = dir + "/" + name
            try Data(Self.mutated(n, stream: 2)).write(to: URL(fileURLWithPath: path))
            guard try CLI.run(["check", path], timeout: 60).status == 2 else { continue }
            started += 1
            let r = try CLI.run(["start", path, "--db", db, "--trials", "1", "--workers", "1"], timeout: 60)
            XCTAssertEqual(r.status, 2, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(name), "\(name): \(r.stderr)")
            XCTAssertEqual(try SearchCommandTests.dump(db), before, "\(name) changed the database")
        }
        print("start fuzz: \(started) files rejected by check, all refused by start (\(n) mutations tried)")
        XCTAssertEqual(started, 100)
        XCTAssertEqual(try SearchCommandTests.dump(db), before)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir + "/results")), files)
        XCTAssertEqual(try CLI.run(["shutdown", "--db", db]).status, 0)
    }
}

/// splitmix64: the tests' own seeded generator (the library's is not a dependency of this target).
struct FuzzRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
}

/// Byte- and line-level mutations of a YAML file.
enum ByteMutator {
    static let tokens = [
        "-1", "0", "1e308", "-1e308", "1e999", "99999999999999999999", "9223372036854775807", "-9223372036854775808",
        "9007199254740993", ".nan", ".inf", "-.inf", "''", "", "~", "null", "abc", "true", "[]", "[1, 2]", "{}", "{a: 1}",
        "{int: [1, 2]}", "{int: [-9223372036854775808, 9223372036854775807]}", "{float: [-1e308, 1e308]}",
        "{float: [0, 1e308], step: 1e-300}", "{choice: [1e999, 1e999]}", "{choice: []}", "{int: [5, 1]}", "{float: [1, 0.1], log: true}",
        "{$repeat: 3}", "{repeat: {count: 65, layer: {}}}", "{repeat: {count: {int: [0, 3]}, layer: {type: dense, units: 8}}}",
        "&a 1", "*a", "!!binary aGk=", "|", "%", "@", "`", "- x", "? x", "#",
    ]
    static let sections = [
        "sampler: {name: tpe, startup_trials: 1e300}", "sampler: {name: auto, candidates: -1}", "sampler: grid", "sampler: bogus",
        "scheduler: {name: asha, reduction_factor: 1e300}", "scheduler: {name: hyperband, min_epochs: 9223372036854775807}",
        "scheduler: {name: median, min_trials: 0}", "scheduler: {name: asha, bogus: 1}",
        "budget: {trials: 1e308}", "budget: {trials: 0}", "budget: {max_epochs: 99999999999999999999}", "command: []",
        "objective: {metric: nosuch}", "objective: {direction: sideways}", "seed: -1", "name: [a]", "bogus: 1",
    ]
    static let odd: [[UInt8]] = [[0x00], [0xFF], [0xFE, 0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xC0, 0x80],
                                 [0xEF, 0xBB, 0xBF], [0x1B], [0x09], [0x0D], [0x7F], [0xF4, 0x90, 0x80, 0x80]]

    static func once(_ bytes: [UInt8], rng: inout FuzzRandom) -> [UInt8] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.isEmpty { lines = [[]] }
        let li = rng.below(lines.count)
        func word(_ i: Int) -> Bool {
            let c = bytes[i]
            return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D || c >= 0x80
        }
        switch rng.below(12) {
        case 0: lines.remove(at: li)
        case 1: lines.insert(lines[li], at: li)
        case 2: lines.swapAt(li, rng.below(lines.count))
        case 3: lines[li] = Array(repeating: rng.pick([0x20, 0x09]), count: rng.below(7)) + lines[li].drop { $0 == 0x20 }
        case 4, 5:  // a key or scalar becomes a random token
            var starts: [Int] = []
            for i in bytes.indices where word(i) && (i == 0 || !word(i - 1)) { starts.append(i) }
            guard let s = starts.isEmpty ? nil : rng.pick(starts) else { return bytes + Array(rng.pick(tokens).utf8) }
            var e = s
            while e < bytes.count && word(e) { e += 1 }
            var out = bytes
            out.replaceSubrange(s..<e, with: Array(rng.pick(tokens).utf8))
            return out
        case 6:  // swap low and high
            guard let o = lines[li].firstIndex(of: 0x5B), let c = lines[li][o...].firstIndex(of: 0x5D) else { return bytes }
            let parts = lines[li][(o + 1)..<c].split(separator: 0x2C)
            guard parts.count == 2 else { return bytes }
            lines[li] = Array(lines[li][...o]) + parts[1] + Array(", ".utf8) + parts[0] + Array(lines[li][c...])
        case 7:  // a study-level setting or an unknown key
            lines.insert(Array((rng.below(2) == 0 ? rng.pick(sections) : "  bogus_key: \(rng.pick(tokens))").utf8), at: li)
        case 8:  // break the syntax
            var out = bytes
            let at = rng.below(out.count + 1)
            out.insert(contentsOf: Array(rng.pick(["[", "]", "{", "}", ":", ",", "'", "\"", "&", "*", "!", "|", "\t", "\\"]).utf8), at: at)
            return out
        case 9:  // truncate at a random byte (may split a UTF-8 sequence)
            return Array(bytes.prefix(rng.below(bytes.count + 1)))
        case 10:  // non-UTF-8, NUL and control bytes
            var out = bytes
            out.insert(contentsOf: rng.pick(odd), at: rng.below(out.count + 1))
            return out
        default:  // deep nesting
            let depth = rng.pick([10, 500, 999, 1001, 5000])
            let nested = rng.below(2) == 0 ? String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
                                           : String(repeating: "{a: ", count: depth) + "1" + String(repeating: "}", count: depth)
            if let c = lines[li].firstIndex(of: 0x3A) {
                lines[li] = Array(lines[li][...c]) + Array((" " + nested).utf8)
            } else {
                lines.insert(Array(("model: " + nested).utf8), at: li)
            }
        }
        return Array(lines.joined(separator: [0x0A]))
    }
}
