import SweepCore

/// Studies stored before a command's parameters kept their own names hold them as `params.lr`
/// (Optuna's `trial_params`). When such a study is read again, the stored names win: a parameter
/// `x` outside the dataset, model and training sections is renamed `params.x`, so the stored
/// trials, the leaderboard and the trials still to run agree with the store.
extension SearchSpace {
    /// The renames the stored parameter names call for (empty for a study stored with the
    /// names of its file).
    public func legacyRenames(stored: Set<String>) -> [String: String] {
        guard names.contains(where: { !stored.contains($0) && stored.contains("params." + $0) }) else { return [:] }
        var renames: [String: String] = [:]
        for n in names where !["dataset.", "model.", "training."].contains(where: { n.hasPrefix($0) }) { renames[n] = "params." + n }
        return renames
    }

    /// The space with its parameters (and the parents of their conditions) renamed.
    public func renaming(_ renames: [String: String]) -> SearchSpace {
        if renames.isEmpty { return self }
        let renamed = parameters.map { p in
            Parameter(name: renames[p.name] ?? p.name, distribution: p.distribution,
                      conditions: p.conditions.map { Condition(parent: renames[$0.parent] ?? $0.parent, values: $0.values) }, line: p.line)
        }
        // The same order and the same graph under new names: cannot fail.
        return try! SearchSpace(renamed)
    }

    /// The space under the names its study was stored with (see above).
    public func adoptingStoredNames(_ stored: Set<String>) -> SearchSpace { renaming(legacyRenames(stored: stored)) }
}

extension StudySpec {
    /// The study under the parameter names it was stored with: its space and the markers of its
    /// template (see `SearchSpace.legacyRenames`).
    public func adoptingStoredNames(_ stored: Set<String>) -> StudySpec {
        let renames = space.legacyRenames(stored: stored)
        if renames.isEmpty { return self }
        var s = self
        s.space = space.renaming(renames)
        s.template = Self.renamingMarkers(template, renames)
        return s
    }

    static func renamingMarkers(_ t: ConfigTree, _ renames: [String: String]) -> ConfigTree {
        switch t {
        case .scalar: return t
        case .list(let items, let line): return .list(items.map { renamingMarkers($0, renames) }, line: line)
        case .map(let pairs, let line):
            if pairs.count == 1, pairs[0].key == "$param", case .scalar(let name, let l) = pairs[0].value {
                return .map([("$param", .scalar(renames[name] ?? name, line: l))], line: line)
            }
            return .map(pairs.map { ($0.key, renamingMarkers($0.value, renames)) }, line: line)
        }
    }
}
