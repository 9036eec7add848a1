import Foundation
import XCTest
import SweepCore
import SweepEngine
@testable import SweepSearch

/// Bad input, fuzzed: every search-space file of the repository, mutated many times over by a
/// seeded generator (the same cases on every run), goes through what `sweep start` does with a
/// file — parse, build the sampler and the scheduler, resolve a sampled trial. Nothing may trap,
/// and every rejection must be an `InputError` that names the file.
final class SpaceFuzzTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Every YAML file under search-spaces/ (seeds/ included), sorted for a fixed order.
    static func seedFiles() throws -> [(name: String, text: String)] {
        let root = repo + "/search-spaces"
        var out: [(String, String)] = []
        let e = FileManager.default.enumerator(atPath: root)
        while let p = e?.nextObject() as? String {
            guard p.hasSuffix(".yaml") || p.hasSuffix(".yml") else { continue }
            out.append((p, try String(contentsOfFile: root + "/" + p, encoding: .utf8)))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    func testMutatedSpacesNeverTrapAndRejectWithInputErrors() throws {
        let seeds = try Self.seedFiles()
        XCTAssertGreaterThanOrEqual(seeds.count, 10, "search-spaces/ and search-spaces/seeds/")
        XCTAssertTrue(seeds.contains { $0.name.hasPrefix("seeds/") })
        let trace = ProcessInfo.processInfo.environment["SWEEP_FUZZ_TRACE"] != nil
        // SWEEP_FUZZ_CASES and SWEEP_FUZZ_SEED explore further; the defaults are the test.
        let env = ProcessInfo.processInfo.environment
        let cases = env["SWEEP_FUZZ_CASES"].flatMap { Int($0) } ?? 3_000
        let base = env["SWEEP_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_F022
        var tried = 0, rejected = 0, accepted = 0, rejectedLater = 0
        var stages: [String: Int] = [:]
        for n in 0..<cases {
            let seed = seeds[n % seeds.count]
            var rng = SweepRandom(seed: SeedSequence.derive(base, UInt64(n)))
            let text = SpaceMutator.mutate(seed.text, rng: &rng)
            let file = "fuzz-\(n).yaml"
            if trace { FileHandle.standardError.write("case \(n) (\(seed.name))\n\(text)\n".data(using: .utf8)!) }
            tried += 1
            var stage = "parse"
            do {
                let spec = try StudySpec.parse(text, file: file)
                stage = "sampler"
                let sampler = try SamplerFactory.make(spec.sampler, space: spec.space, budget: Budget(trials: spec.budget.trials), file: spec.file)
                stage = "scheduler"
                _ = try SchedulerFactory.make(spec.scheduler, maxEpochs: spec.budget.maxEpochs ?? 1, file: spec.file)
                accepted += 1
                // What `sweep check --json` and the store do with each parameter.
                for p in spec.space.parameters {
                    XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(p.distribution.optunaJSON.utf8)), "\(file): \(p.name)")
                }
                // A trial: a valid assignment, then its configuration (may still be refused,
                // for example a sampled float where a whole number is needed).
                stage = "trial"
                for (k, s) in [RandomSampler() as Sampler, sampler].enumerated() {
                    let values = s.suggest(space: spec.space, history: [], direction: spec.objective.direction,
                                           trialNumber: k, studySeed: spec.seed)
                    XCTAssertTrue(spec.space.isValid(values), "\(file): \(s.name) suggested \(values)")
                    _ = spec.space.external(values)
                    for p in spec.space.parameters { if let x = values[p.name] { _ = p.distribution.unit(x) } }
                    if spec.command == nil {
                        do { _ = try spec.trialConfig(values, seed: 7) } catch let e as InputError {
                            rejectedLater += 1
                            XCTAssertTrue(e.description.contains(file), "\(file) [trial]: \(e)")
                        }
                    }
                }
            } catch let e as InputError {
                rejected += 1
                stages[stage, default: 0] += 1
                if trace { FileHandle.standardError.write("rejected [\(stage)]: \(e)\n".data(using: .utf8)!) }
                XCTAssertTrue(e.description.contains(file), "\(file) [\(stage)]: the message does not name the file: \(e)\n\(text)")
            } catch {
                XCTFail("\(file) [\(stage)]: not an InputError: \(type(of: error)) \(error)\n\(text)")
            }
        }
        print("space fuzz: \(tried) cases, \(rejected) rejected (\(stages.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \(accepted) accepted (\(rejectedLater) sampled trials refused)")
        XCTAssertGreaterThanOrEqual(tried, 1_500)
        XCTAssertGreaterThan(rejected, 0)
        XCTAssertGreaterThan(accepted, 0, "some mutations stay valid, so the later stages run too")
    }

    /// The mutator is deterministic: the same seed gives the same file.
    func testMutatorIsDeterministic() throws {
        let text = try Self.seedFiles()[0].text
        for n in 0..<20 {
            var a = SweepRandom(seed: UInt64(n)), b = SweepRandom(seed: UInt64(n))
            XCTAssertEqual(SpaceMutator.mutate(text, rng: &a), SpaceMutator.mutate(text, rng: &b))
        }
    }
}

/// Mutations of a YAML text, each drawn from a seeded generator.
enum SpaceMutator {
    /// Scalars that have broken parsers before: signs, zero, overflow, non-finite, empty, wrong types.
    static let tokens = [
        "-1", "0", "-0", "1", "2.5", "-3.7", "64", "65", "1000000", "1e308", "-1e308", "1e999", "-1e999", "4.9e-324", "1e-320",
        "99999999999999999999", "-99999999999999999999", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "9007199254740993", "1e15", "1e16", "0x10", "1_000", "+1", "0.1",
        ".nan", "NaN", "nan", ".inf", "-.inf", "inf", "-inf", "Infinity", "''", "\"\"", "", "~", "null", "true", "no", "abc",
        "\"a: b\"", "[]", "[1, 2]", "[a, [b]]", "{}", "{a: 1}", "{int: [1, 2]}", "{float: [0, 1e308]}", "{choice: []}",
        "{choice: [1e999, .nan]}", "{int: [-9223372036854775808, 9223372036854775807]}", "{int: [0, 9223372036854775807], log: true}",
        "{float: [-1e308, 1e308]}", "{float: [0, 1e308], step: 1e-300}", "{float: [1e-300, 1e308], log: true}",
        "{int: [0, 1000000000000]}", "{int: [1, 3], step: 0}", "{float: [0, 1], step: -1}", "{int: [1, 2], float: [1, 2]}",
        "{choice: [a, a]}", "{choice: [[1], {a: 1}]}", "{int: [1, 2], when: {nosuch: [1]}}", "{int: [1, 2], when: 5}",
        "{$repeat: 3}", "{$param: training.learning_rate}", "{$param: [1]}", "{$repeat: {int: [1, 2]}, items: 5}",
        "{repeat: {count: 3, layer: {type: dense, units: 8}}}", "{repeat: {count: {int: [0, 64]}, layer: {type: dense}}}",
        "{repeat: {count: 65, layer: {}}}", "{repeat: {count: -1, layer: x}}", "{repeat: 3}", "{repeat: {count: {choice: [1, 2]}, layer: 1}}",
        "&a 1", "*a", "!!binary aGk=", "!custom x", "|", ">", "%", "@", "`", "- x", "? x", "#", "\u{FFFD}", "\u{0}",
        "\u{FEFF}x", "é", "🙂", "{i}", "model.layers.{i}.units",
    ]
    static let keys = [
        "bogus", "name", "seed", "dataset", "model", "training", "params", "objective", "budget", "sampler", "scheduler",
        "command", "search", "repeat", "count", "layer", "layers", "when", "float", "int", "choice", "log", "step", "items",
        "$param", "$repeat", "type", "units", "filters", "kernel", "stride", "size", "epochs", "max_epochs", "trials",
        "reduction_factor", "min_epochs", "grace_period", "warmup_epochs", "min_trials", "startup_trials", "candidates",
        "max_failures", "trial_timeout", "metric", "direction", "learning_rate", "batch_size", "optimizer", "limit", "{i}",
    ]
    static let syntax: [String] = ["[", "]", "{", "}", ":", ",", "-", "'", "\"", "&", "*", "!", "|", ">", "%", "@", "`", "#", "?",
                                   "\t", "\n", "\r", " ", "\\", "\u{0}", "\u{FFFD}", "\u{1}", "\u{7F}", "\u{2028}", "\u{FEFF}"]
    /// Whole settings that exercise the study-level parts (sampler, scheduler, budget, command).
    static let sections = [
        "sampler: {name: tpe, startup_trials: 1e300, candidates: -5}", "sampler: {name: gp, startup_trials: .nan}",
        "sampler: {name: tpe, candidates: 0}", "sampler: {name: auto, startup_trials: 99999999999999999999}",
        "sampler: grid", "sampler: random", "sampler: gp", "sampler: [tpe]", "sampler: {name: annealing}",
        "scheduler: {name: asha, reduction_factor: 1e300}", "scheduler: {name: asha, reduction_factor: 2.5, min_epochs: -1e300}",
        "scheduler: {name: hyperband, reduction_factor: 2, min_epochs: 1}", "scheduler: {name: hyperband, min_epochs: 9223372036854775807}",
        "scheduler: {name: median, warmup_epochs: -1, min_trials: 1e20}", "scheduler: {name: asha, grace_period: 0}",
        "scheduler: {name: asha, bogus: 1}", "scheduler: median", "scheduler: {}",
        "budget: {trials: 1e308, max_epochs: 99999999999999999999}", "budget: {trials: 0}", "budget: {trials: 1, max_epochs: 100000}",
        "budget: {trials: 3, max_failures: -1, trial_timeout: .inf}", "budget: {trials: 1000000}", "budget: []",
        "command: []", "command: [python3, {a: 1}]", "command: [sh, -c, 'exit 0']", "command: python3",
        "objective: {metric: val_loss, direction: sideways}", "objective: {metric: nosuch}", "objective: {metric: val_rmse}",
        "params: {x: {float: [0.1, 1.0]}, y: {int: [1, 5], when: {x: [0.5]}}}", "params: {x: {choice: [a, b]}, y: {float: [0, 1], when: {x: a}}}",
        "params: {a: {int: [1, 2], when: {b: [1]}}, b: {int: [1, 2], when: {a: [1]}}}",
        "seed: -1", "seed: 18446744073709551616", "seed: 1e3", "name: [a]", "name: ''",
    ]

    /// Half the cases edit the parsed tree and write it back as YAML (so most stay valid YAML and
    /// reach the later checks), half edit the text (syntax, bytes, lines); a few get both.
    static func mutate(_ text: String, rng: inout SweepRandom) -> String {
        var s = text
        let style = rng.nextInt(below: 10)
        if style < 6, var tree = try? ConfigTree.parse(text, file: "seed") {
            if rng.nextInt(below: 4) == 0 { tree = edit(tree, rng: &rng, at: 0) { _, _ in commandStudy } }
            for _ in 0..<(1 + rng.nextInt(below: 3)) { tree = treeOnce(tree, rng: &rng) }
            s = tree.yaml() + "\n"
            if style == 5 { s = once(s, rng: &rng) }
        } else {
            for _ in 0..<(1 + rng.nextInt(below: 2)) { s = once(s, rng: &rng) }
        }
        return s
    }

    static let commandStudy = ConfigTree.list([.scalar("python3", line: nil), .scalar("trial.py", line: nil)], line: nil)

    /// A YAML snippet as a tree (a plain scalar when it does not parse on its own).
    static func tree(_ yaml: String) -> ConfigTree {
        (try? ConfigTree.parse(yaml, file: "token")) ?? .scalar(yaml, line: nil)
    }

    static func count(_ t: ConfigTree) -> Int {
        switch t {
        case .scalar: return 1
        case .list(let items, _): return 1 + items.reduce(0) { $0 + count($1) }
        case .map(let pairs, _): return 1 + pairs.reduce(0) { $0 + count($1.value) }
        }
    }

    /// Applies `f` to node number `target` (pre-order); `target` 0 with a root map and the
    /// `commandStudy` marker sets `command:` at the top.
    static func edit(_ t: ConfigTree, rng: inout SweepRandom, at target: Int,
                     _ f: (ConfigTree, inout SweepRandom) -> ConfigTree) -> ConfigTree {
        var k = target
        func go(_ t: ConfigTree, _ rng: inout SweepRandom) -> ConfigTree {
            if k == 0 { k = -1; return f(t, &rng) }
            k -= 1
            switch t {
            case .scalar: return t
            case .list(let items, let l):
                var out: [ConfigTree] = []
                for i in items { out.append(go(i, &rng)) }
                return .list(out, line: l)
            case .map(let pairs, let l):
                var out: [(key: String, value: ConfigTree)] = []
                for p in pairs { out.append((p.key, go(p.value, &rng))) }
                return .map(out, line: l)
            }
        }
        if target == 0, case .map(var pairs, let l) = t, f(.scalar("", line: nil), &rng) == commandStudy {
            pairs.removeAll { $0.key == "command" }
            pairs.append(("command", commandStudy))
            return .map(pairs, line: l)
        }
        return go(t, &rng)
    }

    static func parameter(_ rng: inout SweepRandom) -> String {
        let a = pick(tokens, &rng), b = pick(tokens, &rng)
        let small = ["0", "1", "2", "3", "8", "0.5", "1e-4", "0.1", "64", "-2", "1e-300", "1e300"]
        let lo = rng.nextInt(below: 2) == 0 ? pick(small, &rng) : a, hi = rng.nextInt(below: 2) == 0 ? pick(small, &rng) : b
        return pick(["{int: [\(lo), \(hi)]}", "{float: [\(lo), \(hi)]}", "{float: [\(lo), \(hi)], log: true}",
                     "{float: [\(lo), \(hi)], step: \(pick(small + tokens, &rng))}", "{int: [\(lo), \(hi)], step: \(pick(small + tokens, &rng))}",
                     "{int: [\(lo), \(hi)], log: \(pick(["true", "false"] + tokens, &rng))}", "{choice: [\(a), \(b)]}",
                     "{choice: [\(lo), \(hi), \(a)], when: {\(pick(keys, &rng)): [\(a)]}}",
                     "{repeat: {count: \(pick(small + tokens, &rng)), layer: {type: dense, units: \(pick(small, &rng))}}}",
                     "{repeat: {count: {int: [\(lo), \(hi)]}, layer: {type: dense, units: {int: [\(lo), \(hi)], when: {model.layers.count: [\(a)]}}}}}"], &rng)
    }

    static func treeOnce(_ t: ConfigTree, rng: inout SweepRandom) -> ConfigTree {
        let target = rng.nextInt(below: count(t))
        switch rng.nextInt(below: 9) {
        case 0, 1:  // a value becomes a random token (any type)
            return edit(t, rng: &rng, at: target) { _, r in tree(pick(tokens, &r)) }
        case 2:  // a value becomes a search parameter with odd bounds
            return edit(t, rng: &rng, at: max(target, 1)) { _, r in tree(parameter(&r)) }
        case 3:  // swap a pair (low/high), reverse a list, or drop an item
            return edit(t, rng: &rng, at: target) { n, r in
                guard case .list(var items, let l) = n, !items.isEmpty else { return n }
                switch r.nextInt(below: 3) {
                case 0: items.reverse()
                case 1: items.remove(at: r.nextInt(below: items.count))
                default: items.insert(items[r.nextInt(below: items.count)], at: r.nextInt(below: items.count + 1))
                }
                return .list(items, line: l)
            }
        case 4:  // an unknown or misplaced key; or a key dropped
            return edit(t, rng: &rng, at: target) { n, r in
                guard case .map(var pairs, let l) = n else { return n }
                if r.nextInt(below: 3) == 0, !pairs.isEmpty { pairs.remove(at: r.nextInt(below: pairs.count)); return .map(pairs, line: l) }
                let k = pick(keys, &r)
                pairs.removeAll { $0.key == k }
                pairs.insert((k, r.nextInt(below: 2) == 0 ? tree(pick(tokens, &r)) : tree(parameter(&r))), at: r.nextInt(below: pairs.count + 1))
                return .map(pairs, line: l)
            }
        case 5:  // deep nesting around a value
            let depth = pick([2, 10, 100, 400], &rng)
            return edit(t, rng: &rng, at: target) { n, r in
                var x = n
                let asList = r.nextInt(below: 2) == 0
                for _ in 0..<depth { x = asList ? .list([x], line: nil) : .map([(pick(keys, &r), x)], line: nil) }
                return x
            }
        case 6, 7:  // a study-level setting
            guard case .map(var pairs, let l) = t, case .map(let sec, _) = tree(pick(sections, &rng)), let (k, v) = sec.first else { return t }
            pairs.removeAll { $0.key == k }
            pairs.insert((k, v), at: rng.nextInt(below: pairs.count + 1))
            return .map(pairs, line: l)
        default:  // a scalar becomes a number at an edge
            return edit(t, rng: &rng, at: target) { n, r in
                guard case .scalar = n else { return n }
                return .scalar(pick(["0", "-1", "1e308", "99999999999999999999", "9223372036854775807", "-9223372036854775808",
                                     "9007199254740993", "1e-320", ".nan", "-.inf", "1e999", "65", "100001", "1000001"], &r), line: nil)
            }
        }
    }

    static func pick<T>(_ a: [T], _ rng: inout SweepRandom) -> T { a[rng.nextInt(below: a.count)] }

    /// Ranges of word-like tokens (keys and scalars) in the text.
    static func words(_ s: [Character]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || "._+-".contains(c) }
        while i < s.count {
            if isWord(s[i]) {
                var j = i
                while j < s.count && isWord(s[j]) { j += 1 }
                out.append(i..<j); i = j
            } else { i += 1 }
        }
        return out
    }

    static func once(_ text: String, rng: inout SweepRandom) -> String {
        var lines = text.components(separatedBy: "\n")
        if lines.isEmpty { lines = [""] }
        let li = rng.nextInt(below: lines.count)
        switch rng.nextInt(below: 16) {
        case 0:  // delete a line
            lines.remove(at: li)
        case 1:  // duplicate a line
            lines.insert(lines[li], at: li)
        case 2:  // swap two lines
            lines.swapAt(li, rng.nextInt(below: lines.count))
        case 3:  // change indentation
            let stripped = String(lines[li].drop { $0 == " " })
            lines[li] = String(repeating: pick([" ", "\t", "  "], &rng), count: rng.nextInt(below: 9)) + stripped
        case 4, 5, 6:  // replace a scalar or key with a random token
            var chars = Array(text)
            let w = words(chars)
            guard !w.isEmpty else { return text + pick(tokens, &rng) }
            let r = pick(w, &rng)
            chars.replaceSubrange(r, with: Array(rng.nextInt(below: 5) == 0 ? pick(keys, &rng) : pick(tokens, &rng)))
            return String(chars)
        case 7:  // swap low and high of a [low, high] pair
            let l = lines[li]
            guard let open = l.firstIndex(of: "["), let close = l[open...].firstIndex(of: "]") else { return text }
            let parts = l[l.index(after: open)..<close].components(separatedBy: ",")
            guard parts.count == 2 else { return text.replacingOccurrences(of: "[", with: "[" + pick(tokens, &rng) + ", ") }
            lines[li] = String(l[...open]) + parts[1] + ", " + parts[0] + String(l[close...])
        case 8:  // an unknown (or misplaced) key, in block or flow style
            let k = pick(keys, &rng), v = pick(tokens, &rng)
            let indent = String(repeating: " ", count: rng.nextInt(below: 3) * 2)
            if rng.nextInt(below: 2) == 0, let b = lines[li].firstIndex(of: "{") {
                lines[li].insert(contentsOf: "\(k): \(v), ", at: lines[li].index(after: b))
            } else {
                lines.insert("\(indent)\(k): \(v)", at: li)
            }
        case 9:  // break the syntax: insert or delete a character
            var chars = Array(text)
            let at = rng.nextInt(below: chars.count + 1)
            if rng.nextInt(below: 3) == 0, at < chars.count { chars.remove(at: at) } else { chars.insert(contentsOf: pick(syntax, &rng), at: at) }
            return String(chars)
        case 10:  // truncate at a random byte offset (a split UTF-8 sequence becomes U+FFFD)
            let bytes = Array(text.utf8)
            return String(decoding: bytes.prefix(rng.nextInt(below: bytes.count + 1)), as: UTF8.self)
        case 11:  // control, NUL, replacement and other odd characters
            var scalars = Array(text.unicodeScalars)
            let odd: [Unicode.Scalar] = ["\u{0}", "\u{FFFD}", "\u{FEFF}", "\u{1B}", "\u{85}", "\u{2029}", "\u{D7FF}", "\u{10FFFF}", "\u{301}"]
            for _ in 0..<(1 + rng.nextInt(below: 3)) { scalars.insert(pick(odd, &rng), at: rng.nextInt(below: scalars.count + 1)) }
            var out = String.UnicodeScalarView(); out.append(contentsOf: scalars)
            return String(out)
        case 12:  // deep nesting, in flow or block style, around or instead of a value
            let depth = pick([3, 20, 100, 500, 999, 1000, 1001, 3000, 20000], &rng)
            let leaf = pick(tokens, &rng)
            let nested: String
            switch rng.nextInt(below: 4) {
            case 0: nested = String(repeating: "[", count: depth) + leaf + String(repeating: "]", count: depth)
            case 1: nested = String(repeating: "{a: ", count: depth) + leaf + String(repeating: "}", count: depth)
            case 2: nested = String(repeating: "- ", count: depth) + leaf
            default:
                nested = "\n" + (0..<min(depth, 2000)).map { String(repeating: " ", count: $0 + 2) + "\(pick(keys, &rng)):" }.joined(separator: "\n") + " " + leaf
            }
            if let c = lines[li].firstIndex(of: ":") {
                lines[li] = String(lines[li][...c]) + " " + nested
            } else {
                lines.insert("model: " + nested, at: li)
            }
        case 13:  // a whole study-level setting (replacing the file's own if it has one)
            let sec = pick(sections, &rng)
            let key = String(sec.prefix { $0 != ":" })
            lines.removeAll { $0.hasPrefix(key + ":") }
            lines.insert(sec, at: min(li, lines.count))
        case 14:  // a value becomes a search parameter with random bounds
            guard let c = lines[li].firstIndex(of: ":") else { return text }
            let a = pick(tokens, &rng), b = pick(tokens, &rng)
            let p = pick(["{int: [\(a), \(b)]}", "{float: [\(a), \(b)]}", "{float: [\(a), \(b)], log: true}",
                          "{float: [\(a), \(b)], step: \(pick(tokens, &rng))}", "{int: [\(a), \(b)], step: \(pick(tokens, &rng))}",
                          "{int: [\(a), \(b)], log: \(pick(tokens, &rng))}", "{choice: [\(a), \(b)]}",
                          "{choice: [\(a), \(b)], when: {\(pick(keys, &rng)): [\(a)]}}"], &rng)
            lines[li] = String(lines[li][...c]) + " " + p
        default:  // a random slice of another part of the file pasted in
            let from = rng.nextInt(below: lines.count)
            let len = rng.nextInt(below: 4)
            let slice = Array(lines[from..<min(lines.count, from + len)])
            lines.insert(contentsOf: slice, at: rng.nextInt(below: lines.count + 1))
        }
        return lines.joined(separator: "\n")
    }
}
