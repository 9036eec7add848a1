import Foundation
import SweepCore

/// A problem a sampler can be benchmarked on: a search space, an objective to minimise at an
/// assignment (internal values, nil when the assignment is not one of the problem's), and the
/// known minimum, from which simple regret is measured.
public protocol BenchmarkProblem: Sendable {
    var id: String { get }
    var searchSpace: SearchSpace { get }
    var fOpt: Double { get }
    func evaluate(params: [String: Double]) -> Double?
    /// The regret below which two results count as equal in a ratio of regrets (a regret of 0,
    /// the optimum found, would otherwise make the ratio 0 or infinite).
    var regretFloor: Double { get }
}

extension BenchmarkFunction: BenchmarkProblem {
    public var regretFloor: Double { 1e-12 }
}

/// A real hyperparameter landscape recorded as a table (`bench/landscapes/*.json`, format
/// `sweep-tabular-landscape/1`, written by `sweep-bench record-landscape`): every configuration of a
/// finite grid trained once with Sweep's engine, its validation loss looked up instead of trained.
///
/// The space is declared as a search-space file declares it (`width: {choice: [16, 32, 64]}`, one
/// line per parameter), so samplers see exactly the categorical parameters a user's study would.
/// The objective is the column `val_loss`; a configuration whose loss was not finite (a diverged
/// run, recorded as null) scores the worst finite loss of the table.
public struct TabularLandscape: BenchmarkProblem {
    public let id: String
    public let searchSpace: SearchSpace
    public let fOpt: Double
    /// The median loss over the table: what a typical configuration scores.
    public let medianLoss: Double
    /// Losses by configuration, the configuration's category indices read as a mixed-radix
    /// number (first parameter most significant).
    let losses: [Double]
    let radices: [Int]
    /// Every recorded column after the parameters (`val_loss`, `val_accuracy`, `model_bytes`,
    /// ...), by configuration as `losses` is; NaN where the table has null.
    public let recorded: [String: [Double]]

    public init(json data: Data, file: String) throws {
        func bad(_ field: String, _ message: String) -> InputError { InputError(file: file, field: field, message) }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw bad("", "not a JSON object")
        }
        guard root["format"] as? String == "sweep-tabular-landscape/1" else {
            throw bad("format", "expected \"sweep-tabular-landscape/1\"")
        }
        guard let id = root["name"] as? String, !id.isEmpty else { throw bad("name", "missing the landscape's name") }
        guard let spaceText = root["space"] as? String else { throw bad("space", "missing: the choice list of every parameter") }
        let tree = try ConfigTree.parse(spaceText, file: file + " (space)")
        guard case .map(let pairs, _) = tree, !pairs.isEmpty else { throw bad("space", "expected one `name: {choice: [...]}` line per parameter") }
        var params: [Parameter] = []
        let parser = SpaceParser(file: file)
        for (name, node) in pairs { _ = try parser.walk(node, path: name, into: &params) }
        let space = try SearchSpace(params)
        var radices: [Int] = []
        for p in space.parameters {
            guard case .categorical(let c) = p.distribution, p.conditions.isEmpty else {
                throw bad("space", "'\(p.name)' must be an unconditional {choice: [...]}: a table holds a finite grid")
            }
            radices.append(c.count)
        }
        guard let columns = root["columns"] as? [String], let rows = root["rows"] as? [[Any]] else {
            throw bad("rows", "missing `columns` and `rows`")
        }
        let names = space.names
        guard Array(columns.prefix(names.count)) == names, let lossColumn = columns.firstIndex(of: "val_loss") else {
            throw bad("columns", "expected the parameters in the space's order, then val_loss; got \(columns)")
        }
        let size = radices.reduce(1, *)
        var losses = [Double](repeating: .nan, count: size)
        let extra = Array(columns.enumerated().dropFirst(names.count))
        var recorded = [String: [Double]](uniqueKeysWithValues: extra.map { ($0.element, [Double](repeating: .nan, count: size)) })
        for (r, row) in rows.enumerated() {
            guard row.count == columns.count else { throw bad("rows.\(r)", "expected \(columns.count) values, got \(row.count)") }
            var key = 0
            for (d, p) in space.parameters.enumerated() {
                guard case .categorical(let c) = p.distribution, let x = Self.choiceIndex(row[d], in: c) else {
                    throw bad("rows.\(r)", "'\(row[d])' is not a choice of \(p.name)")
                }
                key = key * radices[d] + x
            }
            guard losses[key].isNaN else { throw bad("rows.\(r)", "the configuration appears twice") }
            losses[key] = (row[lossColumn] as? NSNumber)?.doubleValue ?? .infinity
            for (c, name) in extra { recorded[name]![key] = (row[c] as? NSNumber)?.doubleValue ?? .nan }
        }
        guard !losses.contains(where: \.isNaN) else { throw bad("rows", "\(losses.filter(\.isNaN).count) of the grid's \(size) configurations are missing") }
        let finite = losses.filter(\.isFinite).sorted()
        guard let worst = finite.last else { throw bad("rows", "no configuration has a finite val_loss") }
        self.id = id
        self.searchSpace = space
        self.radices = radices
        self.losses = losses.map { $0.isFinite ? $0 : worst }
        self.recorded = recorded
        self.fOpt = finite[0]
        self.medianLoss = finite[finite.count / 2]
    }

    public static func load(path: String) throws -> TabularLandscape {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        return try TabularLandscape(json: data, file: path)
    }

    /// A thousandth of the median configuration's regret.
    public var regretFloor: Double { max(1e-3 * (medianLoss - fOpt), 1e-12) }

    /// The number of configurations.
    public var size: Int { losses.count }

    /// The recorded loss of an assignment of every parameter; nil for anything else.
    public func evaluate(params: [String: Double]) -> Double? {
        configuration(params).map { losses[$0] }
    }

    /// The row of an assignment of every parameter (the index into `recorded`'s columns); nil
    /// for anything else.
    public func configuration(_ params: [String: Double]) -> Int? {
        guard params.count == radices.count else { return nil }
        var key = 0
        for (d, p) in searchSpace.parameters.enumerated() {
            guard let x = params[p.name], p.distribution.contains(x) else { return nil }
            key = key * radices[d] + Int(x)
        }
        return key
    }

    /// The index of the choice a JSON scalar stands for: the same text, or the same number
    /// (JSON does not keep 0.0 apart from 0).
    static func choiceIndex(_ v: Any, in choices: [ParamValue]) -> Int? {
        if let s = v as? String { return choices.firstIndex(of: .string(s)) }
        guard let n = v as? NSNumber else { return nil }
        return choices.firstIndex { c in
            switch c {
            case .int(let i): return Double(i) == n.doubleValue
            case .double(let d): return d == n.doubleValue
            default: return false
            }
        }
    }
}
