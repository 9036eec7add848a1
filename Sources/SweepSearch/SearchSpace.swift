import Foundation
import SweepCore

/// A condition on a parent parameter: active only when the parent is active and its external
/// value is one of `values`.
public struct Condition: Equatable, Sendable {
    public var parent: String
    public var values: [ParamValue]
    public init(parent: String, values: [ParamValue]) { self.parent = parent; self.values = values }
}

/// One named parameter of a search space, flattened to Optuna's form: a dotted name
/// (`training.learning_rate`, `model.layers.count`, `model.layers.2.units`), a distribution and
/// the conditions under which it exists.
public struct Parameter: Equatable, Sendable {
    public var name: String
    public var distribution: Distribution
    public var conditions: [Condition]
    public var line: Int?
    public init(name: String, distribution: Distribution, conditions: [Condition] = [], line: Int? = nil) {
        self.name = name; self.distribution = distribution; self.conditions = conditions; self.line = line
    }
}

/// The parameters of a search, parents before children (a topological order), so a sampler can
/// assign them in order and test each one's conditions against the values already chosen.
public struct SearchSpace: Equatable, Sendable {
    public private(set) var parameters: [Parameter]
    private var index: [String: Int]

    public init(_ parameters: [Parameter]) throws {
        var byName: [String: Parameter] = [:]
        for p in parameters {
            guard byName[p.name] == nil else { throw DistributionError("the parameter '\(p.name)' is defined twice") }
            byName[p.name] = p
        }
        // Topological order, stable with respect to the given order.
        var ordered: [Parameter] = []
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        func visit(_ p: Parameter, chain: [String]) throws {
            if state[p.name] == 2 { return }
            if state[p.name] == 1 { throw DistributionError("conditions form a cycle: \((chain + [p.name]).joined(separator: " → "))") }
            state[p.name] = 1
            for c in p.conditions {
                guard let parent = byName[c.parent] else {
                    throw DistributionError("'\(p.name)' has a condition on '\(c.parent)', which is not a parameter of this space")
                }
                try visit(parent, chain: chain + [p.name])
            }
            state[p.name] = 2
            ordered.append(p)
        }
        for p in parameters { try visit(p, chain: []) }
        self.parameters = ordered
        index = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1.name, $0) })
    }

    public static func == (a: SearchSpace, b: SearchSpace) -> Bool { a.parameters == b.parameters }

    public subscript(name: String) -> Parameter? { index[name].map { parameters[$0] } }
    public var names: [String] { parameters.map(\.name) }
    public var isEmpty: Bool { parameters.isEmpty }

    /// Whether `p` exists given the (internal) values chosen so far.
    public func isActive(_ p: Parameter, given values: [String: Double]) -> Bool {
        for c in p.conditions {
            guard let parent = self[c.parent], let x = values[c.parent], isActive(parent, given: values) else { return false }
            if !c.values.contains(parent.distribution.value(x)) { return false }
        }
        return true
    }

    /// True when `values` assigns exactly the active parameters, each within its distribution.
    public func isValid(_ values: [String: Double]) -> Bool {
        for p in parameters {
            let active = isActive(p, given: values)
            if active != (values[p.name] != nil) { return false }
            if let x = values[p.name], !p.distribution.contains(x) { return false }
        }
        return values.keys.allSatisfy { index[$0] != nil }
    }

    /// External values of an assignment, by name.
    public func external(_ values: [String: Double]) -> [String: ParamValue] {
        var out: [String: ParamValue] = [:]
        for (k, x) in values { if let p = self[k] { out[k] = p.distribution.value(x) } }
        return out
    }
}
