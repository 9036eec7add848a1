import SweepCore

/// Whether an edited search-space file may continue a study. A study is its search: the
/// parameters (ranges and conditions), the objective, the dataset, model and training template
/// (and the fixed values under `params:`), the command, the sampler, the scheduler, the seed and
/// `budget.max_epochs` (every built-in trial trains that many epochs, a command is given it, and
/// the schedulers' rungs are placed by it). Anything else may change between runs: comments and
/// layout, `name`, `budget.trials`, `budget.max_failures`, `budget.trial_timeout`,
/// `budget.timeout`, `protocol`, `env` and `env_keep` (paths and secrets).
extension StudySpec {
    /// The template sections compared (the rest of the file is compared as parsed values).
    static let comparedSections = ["dataset", "model", "training", "params", "search"]

    /// What in `edited` changes the search this study is, each as `WHAT: OLD → NEW` (empty: the
    /// edit may continue the study). Pure: compares parsed values, never text.
    public func differences(to edited: StudySpec) -> [String] {
        var out: [String] = []
        func note(_ what: String, _ old: String, _ new: String) { if old != new { out.append("\(what): \(old) → \(new)") } }
        note("objective", objectiveSummary, edited.objectiveSummary)
        note("constraints", constraintSummary, edited.constraintSummary)
        for name in space.names + edited.space.names.filter({ space[$0] == nil }) {
            let (a, b) = (space[name], edited.space[name])
            if a?.distribution != b?.distribution {
                note("parameter \(name)", a.map(\.distribution.summary) ?? "(none)", b.map(\.distribution.summary) ?? "(none)")
            } else if let a, let b, a.conditions != b.conditions {
                note("parameter \(name)", Self.summary(a.conditions), Self.summary(b.conditions))
            }
        }
        for section in Self.comparedSections {
            Self.diff(templateSection(section, of: template), templateSection(section, of: edited.template), path: section, into: &out)
        }
        note("command", command.map { $0.joined(separator: " ") } ?? "(the built-in engine)",
             edited.command.map { $0.joined(separator: " ") } ?? "(the built-in engine)")
        note("sampler", sampler.summary, edited.sampler.summary)
        note("scheduler", scheduler.summary, edited.scheduler.summary)
        note("seed", "\(seed)", "\(edited.seed)")
        note("budget.max_epochs", budget.maxEpochs.map { "\($0)" } ?? "(none)", edited.budget.maxEpochs.map { "\($0)" } ?? "(none)")
        return Self.groupingIndices(out)
    }

    /// The same change to several items of a list (the layers of a `repeat:`) as one line:
    /// `parameter model.layers.{0,1,2}.activation: ...`.
    static func groupingIndices(_ lines: [String]) -> [String] {
        var order: [String] = []
        var indices: [String: [Substring]] = [:]
        var ungrouped: [String: String] = [:]
        for line in lines {
            let what = line.prefix { $0 != ":" }
            let parts = what.split(separator: ".", omittingEmptySubsequences: false)
            let numeric = parts.indices.filter { parts[$0].allSatisfy(\.isNumber) && !parts[$0].isEmpty }
            guard numeric.count == 1 else { order.append(line); ungrouped[line] = line; continue }
            // The index wherever it follows the same path (`model.layers.0.dropout: parameter model.layers.0.dropout → 0.1`).
            let stem = parts[..<numeric[0]].joined(separator: ".").split(separator: " ").last.map(String.init) ?? ""
            let key = line.replacingOccurrences(of: "\(stem).\(parts[numeric[0]]).", with: "\(stem).#.")
            if indices[key] == nil { order.append(key) }
            indices[key, default: []].append(parts[numeric[0]])
        }
        return order.map { key in
            if let line = ungrouped[key] { return line }
            let i = indices[key]!
            return key.replacingOccurrences(of: ".#.", with: i.count == 1 ? ".\(i[0])." : ".{\(i.joined(separator: ","))}.")
        }
    }

    private func templateSection(_ key: String, of tree: ConfigTree) -> ConfigTree? {
        guard case .map(let pairs, _) = tree else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    public static func summary(_ conditions: [Condition]) -> String {
        if conditions.isEmpty { return "always" }
        return "when " + conditions.map { "\($0.parent) in [\($0.values.map(\.description).joined(separator: ", "))]" }.joined(separator: " and ")
    }

    /// The differing leaves of two template trees, named by the parameters' dotted paths (a
    /// repeated block's items are `PATH.<i>`, its count `PATH.count`).
    static func diff(_ a: ConfigTree?, _ b: ConfigTree?, path: String, into out: inout [String]) {
        if a == b { return }
        switch (a, b) {
        case let (.map(x, _)?, .map(y, _)?) where !isMarker(a!) && !isMarker(b!):
            let repeatBlock = x.contains { $0.key == "$repeat" } && y.contains { $0.key == "$repeat" }
            for key in x.map(\.key) + y.map(\.key).filter({ k in !x.contains { $0.key == k } }) {
                let child = repeatBlock && key == "$repeat" ? path + ".count" : repeatBlock && key == "items" ? path : path + "." + key
                diff(x.first { $0.key == key }?.value, y.first { $0.key == key }?.value, path: child, into: &out)
            }
        case let (.list(x, _)?, .list(y, _)?) where x.count == y.count:
            for (i, (u, v)) in zip(x, y).enumerated() { diff(u, v, path: path + ".\(i)", into: &out) }
        default:
            out.append("\(path): \(a.map(flow) ?? "(none)") → \(b.map(flow) ?? "(none)")")
        }
    }

    static func isMarker(_ t: ConfigTree) -> Bool {
        if case .map(let pairs, _) = t, pairs.count == 1, pairs[0].key == "$param" { return true }
        return false
    }

    /// A one-line rendering of a template value (a parameter marker reads `parameter NAME`).
    static func flow(_ t: ConfigTree) -> String {
        let s: String
        switch t {
        case .scalar(let v, _): s = v.isEmpty ? "''" : v
        case .list(let items, _): s = "[" + items.map(flow).joined(separator: ", ") + "]"
        case .map(let pairs, _):
            if isMarker(t), case .scalar(let name, _) = pairs[0].value { return "parameter \(name)" }
            s = "{" + pairs.map { "\($0.key): \(flow($0.value))" }.joined(separator: ", ") + "}"
        }
        return s.count > 100 ? String(s.prefix(97)) + "..." : s
    }
}

extension Distribution {
    /// `float [0.0001, 0.1] log`, `int [16, 256] step 16`, `choice [relu, gelu]`.
    public var summary: String {
        switch self {
        case let .float(lo, hi, log, step):
            var s = "float [\(Self.number(lo)), \(Self.number(hi))]"
            if log { s += " log" }
            if let step { s += " step \(Self.number(step))" }
            return s
        case let .int(lo, hi, log, step):
            var s = "int [\(lo), \(hi)]"
            if log { s += " log" }
            if step != 1 { s += " step \(step)" }
            return s
        case .categorical(let c):
            return "choice [\(c.map(\.description).joined(separator: ", "))]"
        }
    }

    /// A whole number without a fraction, anything else as Swift prints it.
    public static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)" }
}

extension ComponentSpec {
    /// `tpe` or `asha (min_epochs 2, reduction_factor 3)`.
    public var summary: String {
        if options.isEmpty && words.isEmpty { return name }
        let all = options.mapValues { Distribution.number($0) }.merging(words) { a, _ in a }
        return name + " (" + all.keys.sorted().map { "\($0) \(all[$0]!)" }.joined(separator: ", ") + ")"
    }
}
