import SweepCore

/// Turns the YAML of a search-space file into parameters plus a template, and fills a template
/// with values. Template markers: `{$param: NAME}` where a value is sampled, and
/// `{$repeat: COUNT, items: [...]}` for a variable-depth list (one walked item per possible index).
struct SpaceParser {
    let file: String
    static let distributionKeys = ["float", "int", "choice"]

    func err(_ line: Int?, _ field: String, _ message: String) -> InputError {
        InputError(file: file, line: line, field: field, message)
    }

    func walk(_ t: ConfigTree, path: String, into params: inout [Parameter], extra: [Condition] = [], index: Int? = nil) throws -> ConfigTree {
        switch t {
        case .scalar: return t
        case .list(let items, let line):
            var out: [ConfigTree] = []
            for (j, item) in items.enumerated() {
                if case .map(let pairs, _) = item, pairs.contains(where: { $0.key == "repeat" }) {
                    out.append(try repeatBlock(item, path: "\(path).\(j)", into: &params, extra: extra))
                } else {
                    out.append(try walk(item, path: "\(path).\(j)", into: &params, extra: extra, index: index))
                }
            }
            return .list(out, line: line)
        case .map(let pairs, let line):
            if pairs.contains(where: { Self.distributionKeys.contains($0.key) }) {
                let p = try parameter(t, name: path, extra: extra, index: index)
                params.append(p)
                return .map([("$param", .scalar(p.name, line: line))], line: line)
            }
            if pairs.contains(where: { $0.key == "repeat" }) {
                return try repeatBlock(t, path: path, into: &params, extra: extra)
            }
            if let w = pairs.first(where: { $0.key == "when" }) {
                throw err(w.value.line, path + ".when", "`when:` belongs on a parameter ({float: ...}, {int: ...} or {choice: ...})")
            }
            return .map(try pairs.map { ($0.key, try walk($0.value, path: path + "." + $0.key, into: &params, extra: extra, index: index)) }, line: line)
        }
    }

    /// `repeat: {count: N or {int: [lo, hi]}, layer: {...}}`: layers that exist only for indices
    /// below the count. The count parameter is `<path>.count`; layer i's values `<path>.<i>.<key>`.
    func repeatBlock(_ t: ConfigTree, path: String, into params: inout [Parameter], extra: [Condition]) throws -> ConfigTree {
        let outer = try ConfigReader(t, file: file, path: path)
        try outer.only(["repeat"])
        guard let r = try outer.map("repeat") else { throw err(t.line, path + ".repeat", "expected {count: ..., layer: {...}}") }
        try r.only(["count", "layer"])
        guard let countNode = r.value("count") else { throw err(r.line, path + ".repeat.count", "missing: a whole number or {int: [low, high]}") }
        guard let layer = r.value("layer") else { throw err(r.line, path + ".repeat.layer", "missing: the template of one repeated item") }
        let countName = path + ".count"
        var maxCount: Int
        var countMarker: ConfigTree
        var countRange: (Int, Int)
        if case .map = countNode {
            let p = try parameter(countNode, name: countName, extra: extra, index: nil)
            guard case let .int(lo, hi, _, _) = p.distribution else {
                throw err(countNode.line, countName, "a repeat count must be a whole number or {int: [low, high]}")
            }
            guard lo >= 0 else { throw err(countNode.line, countName, "a repeat count cannot be negative (low is \(lo))") }
            params.append(p)
            maxCount = hi; countRange = (lo, hi)
            countMarker = .map([("$param", .scalar(countName, line: countNode.line))], line: countNode.line)
        } else {
            guard case .scalar(let s, _) = countNode, let n = Int(s), n >= 0 else {
                throw err(countNode.line, countName, "a repeat count must be a whole number or {int: [low, high]}")
            }
            maxCount = n; countRange = (n, n)
            countMarker = .scalar(s, line: countNode.line)
        }
        guard maxCount <= 64 else { throw err(countNode.line, countName, "at most 64 repeated items") }
        var items: [ConfigTree] = []
        for i in 0..<maxCount {
            var cond = extra
            if countRange.0 <= i {
                cond.append(Condition(parent: countName, values: ((i + 1)...countRange.1).map { .int($0) }))
            }
            items.append(try walk(layer, path: "\(path).\(i)", into: &params, extra: cond, index: i))
        }
        return .map([("$repeat", countMarker), ("items", .list(items, line: t.line))], line: t.line)
    }

    func parameter(_ t: ConfigTree, name: String, extra: [Condition], index: Int?) throws -> Parameter {
        let r = try ConfigReader(t, file: file, path: name)
        let kinds = r.keys.filter { Self.distributionKeys.contains($0) }
        guard kinds.count == 1 else { throw err(t.line, name, "give one of float, int or choice, not \(kinds.joined(separator: " and "))") }
        let kind = kinds[0]
        let dist: Distribution
        do {
            switch kind {
            case "float", "int":
                try r.only([kind, "log", "step", "when"])
                guard let b = try r.list(kind), b.count == 2, case .scalar(let los, _) = b[0], case .scalar(let his, _) = b[1] else {
                    throw err(t.line, name + "." + kind, "expected [low, high]")
                }
                let log = try r.bool("log", default: false)
                if kind == "float" {
                    guard let lo = Double(los), let hi = Double(his) else { throw err(t.line, name + ".float", "low and high must be numbers, got [\(los), \(his)]") }
                    dist = try Distribution.makeFloat(lo, hi, log: log, step: try r.double("step"))
                } else {
                    guard let lo = Int(los), let hi = Int(his) else { throw err(t.line, name + ".int", "low and high must be whole numbers, got [\(los), \(his)]") }
                    dist = try Distribution.makeInt(lo, hi, log: log, step: try r.int("step", default: 1)!)
                }
            default:
                try r.only(["choice", "when"])
                guard let items = try r.list("choice") else { throw err(t.line, name + ".choice", "expected a list of values") }
                let values = try items.map { n -> ParamValue in
                    guard case .scalar(let s, _) = n else { throw err(n.line, name + ".choice", "choices must be plain values") }
                    return ParamValue.parse(s)
                }
                dist = try Distribution.makeCategorical(values)
            }
        } catch let e as DistributionError {
            throw err(t.line, name, e.description)
        }
        var conditions = extra
        if let w = try r.map("when") {
            for k in w.keys {
                let parent = index.map { k.replacingOccurrences(of: "{i}", with: "\($0)") } ?? k
                let v = w.value(k)!
                let values: [ParamValue]
                switch v {
                case .scalar(let s, _): values = [ParamValue.parse(s)]
                case .list(let items, _):
                    values = try items.map { n in
                        guard case .scalar(let s, _) = n else { throw err(n.line, name + ".when." + k, "expected values of '\(parent)'") }
                        return ParamValue.parse(s)
                    }
                case .map: throw err(v.line, name + ".when." + k, "expected a value or a list of values of '\(parent)'")
                }
                conditions.append(Condition(parent: parent, values: values))
            }
        }
        return Parameter(name: name, distribution: dist, conditions: conditions, line: t.line)
    }

    // MARK: Filling

    func fill(_ t: ConfigTree, values: [String: Double], space: SearchSpace) throws -> ConfigTree {
        switch t {
        case .scalar: return t
        case .list(let items, let line):
            var out: [ConfigTree] = []
            for item in items {
                if let expanded = try expandRepeat(item, values: values, space: space) { out += expanded }
                else if let v = try fillValue(item, values: values, space: space) { out.append(v) }
            }
            return .list(out, line: line)
        case .map:
            if let expanded = try expandRepeat(t, values: values, space: space) { return .list(expanded, line: t.line) }
            return try fillValue(t, values: values, space: space) ?? .map([], line: t.line)
        }
    }

    /// nil when the node is an inactive parameter (its key is left out).
    func fillValue(_ t: ConfigTree, values: [String: Double], space: SearchSpace) throws -> ConfigTree? {
        guard case .map(let pairs, let line) = t else { return try fill(t, values: values, space: space) }
        if let expanded = try expandRepeat(t, values: values, space: space) { return .list(expanded, line: line) }
        if pairs.count == 1, pairs[0].key == "$param", case .scalar(let name, _) = pairs[0].value {
            guard let x = values[name], let p = space[name] else { return nil }
            return .scalar(p.distribution.value(x).description, line: line)
        }
        var out: [(key: String, value: ConfigTree)] = []
        for (k, v) in pairs {
            if let filled = try fillValue(v, values: values, space: space) { out.append((k, filled)) }
        }
        return .map(out, line: line)
    }

    func expandRepeat(_ t: ConfigTree, values: [String: Double], space: SearchSpace) throws -> [ConfigTree]? {
        // Only the marker `repeatBlock` writes (a user's own `$repeat:` key is not one).
        guard case .map(let pairs, _) = t, pairs.count == 2, pairs[0].key == "$repeat", pairs[1].key == "items",
              case .list(let items, _) = pairs[1].value else { return nil }
        let count: Int
        switch pairs[0].value {
        case .scalar(let s, _): count = Int(s) ?? 0
        default:
            guard let filled = try fillValue(pairs[0].value, values: values, space: space), case .scalar(let s, _) = filled, let n = Int(s) else { return [] }
            count = n
        }
        return try items.prefix(count).compactMap { try fillValue($0, values: values, space: space) }
    }
}
