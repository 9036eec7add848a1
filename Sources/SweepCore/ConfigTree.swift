import Yams

/// A YAML document as a tree of values that remember their line, so every error can name the
/// file, the line and the key path. The one place Sweep touches the YAML library.
public indirect enum ConfigTree: Equatable, Sendable {
    case scalar(String, line: Int?)
    case map([(key: String, value: ConfigTree)], line: Int?)
    case list([ConfigTree], line: Int?)

    public static func == (a: ConfigTree, b: ConfigTree) -> Bool {
        switch (a, b) {
        case let (.scalar(x, _), .scalar(y, _)): return x == y
        case let (.list(x, _), .list(y, _)): return x == y
        case let (.map(x, _), .map(y, _)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public var line: Int? {
        switch self { case .scalar(_, let l), .map(_, let l), .list(_, let l): return l }
    }

    /// Parses YAML text; `file` names the source in errors.
    public static func parse(_ text: String, file: String) throws -> ConfigTree {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw InputError(file: file, line: yamlLine(e), "not valid YAML: \(yamlProblem(e))")
        }
        guard let node else { throw InputError(file: file, "the file is empty") }
        return try convert(node, file: file, path: "")
    }

    private static func convert(_ node: Node, file: String, path: String) throws -> ConfigTree {
        let line = node.mark?.line
        switch node {
        case .scalar(let s): return .scalar(s.string, line: line)
        case .sequence(let seq):
            return .list(try seq.enumerated().map { try convert($1, file: file, path: path + ".\($0)") }, line: line)
        case .mapping(let m):
            var pairs: [(String, ConfigTree)] = []
            var seen = Set<String>()
            for (k, v) in m {
                guard case .scalar(let ks) = k else {
                    throw InputError(file: file, line: k.mark?.line, field: path, "keys must be plain strings")
                }
                let key = ks.string
                let full = path.isEmpty ? key : path + "." + key
                guard seen.insert(key).inserted else {
                    throw InputError(file: file, line: k.mark?.line, field: full, "the key appears twice")
                }
                pairs.append((key, try convert(v, file: file, path: full)))
            }
            return .map(pairs, line: line)
        case .alias:
            throw InputError(file: file, line: line, field: path, "YAML aliases are not supported")
        }
    }

    private static func yamlLine(_ e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _): return m.line
        default: return nil
        }
    }

    private static func yamlProblem(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let p, _, _), .parser(_, let p, _, _), .composer(_, let p, _, _): return p
        case .duplicatedKeysInMapping(let d, _): return "duplicated keys \(d.joined(separator: ", "))"
        default: return "\(e)"
        }
    }

    // MARK: Editing (--set, sampled values)

    /// Sets the value at a dotted path (`training.learning_rate`, `model.layers.0.units`),
    /// creating map entries as needed. List indices must exist.
    public mutating func set(_ path: [String], to value: ConfigTree, file: String) throws {
        guard let head = path.first else { self = value; return }
        let rest = Array(path.dropFirst())
        switch self {
        case .map(var pairs, let line):
            if let i = pairs.firstIndex(where: { $0.key == head }) {
                try pairs[i].value.set(rest, to: value, file: file)
            } else {
                var child = ConfigTree.map([], line: nil)
                if rest.isEmpty { child = value } else { try child.set(rest, to: value, file: file) }
                pairs.append((head, child))
            }
            self = .map(pairs, line: line)
        case .list(var items, let line):
            guard let i = Int(head), items.indices.contains(i) else {
                throw InputError(file: file, field: head, "no list item \(head) (the list has \(items.count) items)")
            }
            try items[i].set(rest, to: value, file: file)
            self = .list(items, line: line)
        case .scalar:
            throw InputError(file: file, field: path.joined(separator: "."), "cannot set a key inside a plain value")
        }
    }

    /// Parses `key.path=value` as given to `--set` (the value is read as YAML and carries no
    /// lines: it is not in the file).
    public static func assignment(_ text: String) throws -> (path: [String], value: ConfigTree) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw InputError(field: "--set", "expected key=value (for example training.learning_rate=0.01), got '\(text)'")
        }
        let key = String(text[..<eq]), raw = String(text[text.index(after: eq)...])
        do {
            let value = try parse(raw.isEmpty ? "''" : raw, file: "--set \(text)")
            return (key.split(separator: ".").map(String.init), value.withoutLines)
        } catch var e as InputError {
            e.line = nil   // the value is one line; its line would read as a line of the file
            throw e
        }
    }

    /// The same tree with every line forgotten.
    var withoutLines: ConfigTree {
        switch self {
        case .scalar(let s, _): return .scalar(s, line: nil)
        case .list(let items, _): return .list(items.map(\.withoutLines), line: nil)
        case .map(let pairs, _): return .map(pairs.map { ($0.key, $0.value.withoutLines) }, line: nil)
        }
    }

    /// Applies `--set key.path=value` arguments to the tree of `file` and reads the result with
    /// `read`. An `InputError` about a key an argument set (or a key inside it) names that
    /// argument (`--set training.lr=0.1: 'training.lr': unknown key ...`), not a line of the file.
    public static func reading<T>(_ tree: ConfigTree, overrides: [String], file: String, _ read: (ConfigTree) throws -> T) throws -> T {
        var tree = tree
        for o in overrides {
            let (path, value) = try assignment(o)
            let key = path.joined(separator: ".")
            do { try tree.set(path, to: value, file: file) } catch var e as InputError {
                e.file = "--set \(o)"; e.line = nil; e.field = key
                throw e
            }
        }
        do { return try read(tree) } catch var e as InputError where e.file == file {
            if let f = e.field, let argument = override(covering: f, in: overrides) {
                e.file = "--set \(argument)"; e.line = nil
            }
            throw e
        }
    }

    /// The last of the `--set key=value` arguments whose value holds `field` (see below).
    public static func override(covering field: String, in overrides: [String]) -> String? {
        overrides.last { o in o.firstIndex(of: "=").map { overrideCovers(String(o[..<$0]), field: field) } ?? false }
    }

    /// Whether an error about `field` is about the value a `--set key=...` gave: the key itself or
    /// a key inside it, also when the key reaches into a `repeat:` block, whose parameters are
    /// named without `repeat`/`layer` and with the item's index (`model.layers.repeat.count` →
    /// `model.layers.count`, `model.layers.repeat.layer.units` → `model.layers.2.units`).
    static func overrideCovers(_ key: String, field: String) -> Bool {
        func within(_ f: String, _ k: String) -> Bool { f == k || f.hasPrefix(k + ".") }
        if within(field, key) { return true }
        let parts = key.split(separator: ".")
        guard parts.contains("repeat") else { return false }
        var canonical: [Substring] = []
        for (i, p) in parts.enumerated() where p != "repeat" && !(p == "layer" && i > 0 && parts[i - 1] == "repeat") { canonical.append(p) }
        let fieldParts = field.split(separator: ".").filter { !$0.allSatisfy(\.isNumber) }
        return within(fieldParts.joined(separator: "."), canonical.joined(separator: "."))
    }

    /// YAML text of this tree (block style).
    public func yaml(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .scalar(let s, _): return ConfigTree.quoteIfNeeded(s)
        case .map(let pairs, _):
            if pairs.isEmpty { return "{}" }
            return pairs.map { k, v in
                switch v {
                case .scalar: return "\(pad)\(k): \(v.yaml())"
                case .map(let p, _) where p.isEmpty: return "\(pad)\(k): {}"
                case .list(let l, _) where l.isEmpty: return "\(pad)\(k): []"
                default: return "\(pad)\(k):\n\(v.yaml(indent: indent + 2))"
                }
            }.joined(separator: "\n")
        case .list(let items, _):
            if items.isEmpty { return "[]" }
            return items.map { v in
                switch v {
                case .scalar: return "\(pad)- \(v.yaml())"
                default:
                    let body = v.yaml(indent: indent + 2)
                    return "\(pad)- " + body.dropFirst(indent + 2)
                }
            }.joined(separator: "\n")
        }
    }

    static func quoteIfNeeded(_ s: String) -> String {
        if s.isEmpty { return "''" }
        let special: Set<Character> = [":", "#", "{", "}", "[", "]", ",", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`"]
        if s.contains(where: { special.contains($0) }) || s.first == " " || s.last == " " || s.first == "-" && Double(s) == nil {
            return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
        }
        return s
    }
}

/// Reads a `ConfigTree` map with strict checking: unknown keys, wrong types and out-of-range
/// values become `InputError`s that name the file, the line and the full key path.
public struct ConfigReader {
    public let file: String
    public let path: String
    public let node: ConfigTree
    private let pairs: [(key: String, value: ConfigTree)]

    public init(_ node: ConfigTree, file: String, path: String = "") throws {
        self.file = file; self.path = path; self.node = node
        guard case .map(let p, _) = node else {
            throw InputError(file: file, line: node.line, field: path.isEmpty ? nil : path, "expected a mapping of keys to values")
        }
        pairs = p
    }

    public func key(_ k: String) -> String { path.isEmpty ? k : path + "." + k }
    public var keys: [String] { pairs.map(\.key) }
    public func value(_ k: String) -> ConfigTree? { pairs.first { $0.key == k }?.value }
    public var line: Int? { node.line }

    public func error(_ k: String?, _ message: String) -> InputError {
        let n = k.flatMap(value) ?? node
        return InputError(file: file, line: n.line, field: k.map(key) ?? (path.isEmpty ? nil : path), message)
    }

    /// Rejects keys not in `allowed`.
    public func only(_ allowed: [String]) throws {
        for (k, v) in pairs where !allowed.contains(k) {
            throw InputError(file: file, line: v.line, field: key(k), "unknown key; accepted here: \(allowed.joined(separator: ", "))")
        }
    }

    public func scalar(_ k: String) throws -> String? {
        guard let v = value(k) else { return nil }
        guard case .scalar(let s, _) = v else { throw error(k, "expected a single value, not a list or mapping") }
        if s == "null" || s == "~" { return nil }
        return s
    }

    public func string(_ k: String, default d: String? = nil) throws -> String? { try scalar(k) ?? d }

    public func required(_ k: String, what: String) throws -> String {
        guard let s = try scalar(k) else { throw error(nil, "missing `\(key(k))`: \(what)") }
        return s
    }

    public func choice<T: RawRepresentable>(_ k: String, _ type: T.Type, default d: T) throws -> T where T.RawValue == String, T: CaseIterable {
        guard let s = try scalar(k) else { return d }
        guard let v = T(rawValue: s.lowercased()) else {
            throw error(k, "'\(s)' is not accepted; accepted: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    public func double(_ k: String, default d: Double? = nil, range: ClosedRange<Double>? = nil, what: String = "") throws -> Double? {
        guard let s = try scalar(k) else { return d }
        guard let v = Double(s), v.isFinite else { throw error(k, "expected a number, got '\(s)'\(what.isEmpty ? "" : "; " + what)") }
        if let range, !range.contains(v) { throw error(k, "\(s) is out of range; accepted: \(range.lowerBound) to \(range.upperBound)") }
        return v
    }

    public func int(_ k: String, default d: Int? = nil, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let s = try scalar(k) else { return d }
        guard let v = Int(s) ?? Double(s).flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil }) else {
            throw error(k, "expected a whole number, got '\(s)'")
        }
        if let range, !range.contains(v) { throw error(k, "\(v) is out of range; accepted: \(range.lowerBound) to \(range.upperBound)") }
        return v
    }

    /// A seed: a whole number from 0 to 2^64 - 1.
    public func seed(_ k: String, default d: UInt64) throws -> UInt64 {
        guard let s = try scalar(k) else { return d }
        guard let v = UInt64(s) else { throw error(k, "expected a whole number from 0 to \(UInt64.max), got '\(s)'") }
        return v
    }

    public func bool(_ k: String, default d: Bool) throws -> Bool {
        guard let s = try scalar(k) else { return d }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(k, "expected true or false, got '\(s)'")
        }
    }

    public func map(_ k: String) throws -> ConfigReader? {
        guard let v = value(k) else { return nil }
        if case .scalar(let s, _) = v, s == "null" || s == "~" || s.isEmpty { return nil }
        return try ConfigReader(v, file: file, path: key(k))
    }

    public func list(_ k: String) throws -> [ConfigTree]? {
        guard let v = value(k) else { return nil }
        guard case .list(let items, _) = v else { throw error(k, "expected a list") }
        return items
    }
}
