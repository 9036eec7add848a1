import Foundation
import SweepCore
import SweepEngine

/// What the study optimizes: a metric reported per epoch and its direction.
public struct Objective: Equatable, Sendable, Codable {
    public var metric: String
    public var direction: Direction
    public init(metric: String = "val_accuracy", direction: Direction = .maximize) { self.metric = metric; self.direction = direction }
}

public struct Budget: Equatable, Sendable, Codable {
    /// Trials in the study in all (running the same search again continues up to this total).
    public var trials: Int
    /// The most epochs one trial may train (the maximum resource of the schedulers).
    public var maxEpochs: Int?
    /// Give up after this many failed trials (nil: never).
    public var maxFailures: Int?
    /// Wall-clock limit of one trial, in seconds.
    public var trialTimeout: Double?
    /// Wall-clock budget of a run of the study, in seconds (Optuna's `timeout`, Ray's
    /// `time_budget_s`): past it no new trial starts, running ones finish.
    public var timeout: Double?
    public init(trials: Int = 20, maxEpochs: Int? = nil, maxFailures: Int? = nil, trialTimeout: Double? = nil, timeout: Double? = nil) {
        self.trials = trials; self.maxEpochs = maxEpochs; self.maxFailures = maxFailures; self.trialTimeout = trialTimeout
        self.timeout = timeout
    }
}

/// How a command's stdout is read (`protocol:` in the file): `lenient` (the default) keeps a line
/// that is not a protocol line (`Loading...`) as a log line with the trial's stderr; `strict`
/// fails the trial on one. Built-in trials are always strict.
public enum StdoutProtocol: String, CaseIterable, Sendable, Codable {
    case lenient, strict
}

/// A sampler or scheduler by name with its settings, as written in the file.
public struct ComponentSpec: Equatable, Sendable, Codable {
    public var name: String
    public var options: [String: Double]
    /// Options whose value is a word (`mode: promote`), for the keys a component accepts as words.
    public var words: [String: String]
    public init(name: String, options: [String: Double] = [:], words: [String: String] = [:]) {
        self.name = name; self.options = options; self.words = words
    }

    enum CodingKeys: String, CodingKey { case name, options, words }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        options = try c.decode([String: Double].self, forKey: .options)
        words = try c.decodeIfPresent([String: String].self, forKey: .words) ?? [:]   // studies stored before words
    }
    /// Without `words` when there are none, so the stored form of a study without them is unchanged.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(options, forKey: .options)
        if !words.isEmpty { try c.encode(words, forKey: .words) }
    }
}

/// A parsed search-space file: the template tree, its parameters, and the study settings.
///
/// Syntax (any value of the model/training/dataset sections may be a parameter):
/// ```yaml
/// training:
///   learning_rate: {float: [1.0e-4, 1.0e-1], log: true}
///   optimizer: {choice: [sgd, momentum, adam]}
///   momentum: {float: [0.5, 0.99], when: {training.optimizer: [momentum]}}
/// model:
///   layers:
///     repeat:
///       count: {int: [1, 4]}                     # parameter model.layers.count
///       layer: {type: dense, units: {int: [32, 512], log: true}}   # model.layers.<i>.units
/// ```
public struct StudySpec: Sendable {
    public var file: String
    public var text: String
    public var name: String
    public var template: ConfigTree
    public var space: SearchSpace
    /// What the study optimizes, in order (one, or several: see `StudySpec+Objectives`).
    public var objectives: [Objective]
    /// Bounds a feasible trial keeps on its metrics (`constraints:`).
    public var constraints: [Constraint] = []
    /// The first objective: the one reported every epoch, and the study's one when alone.
    public var objective: Objective {
        get { objectives[0] }
        set { objectives[0] = newValue }
    }
    public var budget: Budget
    public var sampler: ComponentSpec
    public var scheduler: ComponentSpec
    public var seed: UInt64
    /// A user command (argv) instead of the built-in engine.
    public var command: [String]?
    /// How the command's stdout is read.
    public var stdoutProtocol: StdoutProtocol = .lenient
    /// The `--set key=value` arguments applied to the file's text.
    public var overrides: [String] = []
    /// Variables set for every trial (`env:`), whatever environment the daemon has.
    public var environment: [String: String] = [:]
    /// Variables whose values in the submitting shell are stored with the study (`env_keep:`) and
    /// given to every trial, also after a restarted daemon takes the study up.
    public var envKeep: [String] = []

    public static let samplerNames = ["auto", "random", "grid", "tpe", "gp", "nsga2"]
    public static let schedulerNames = ["none", "asha", "hyperband", "median", "pbt"]

    public static func load(path: String, overrides: [String] = []) throws -> StudySpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw InputError(file: path, "not UTF-8 text") }
        return try parse(text, file: path, overrides: overrides)
    }

    /// Parses a search-space file's text with `--set` overrides applied (an error in an
    /// overridden value names the `--set` argument).
    public static func parse(_ text: String, file: String, overrides: [String] = []) throws -> StudySpec {
        var spec = try ConfigTree.reading(try ConfigTree.parse(text, file: file), overrides: overrides, file: file) {
            try parse(tree: $0, text: text, file: file)
        }
        spec.overrides = overrides
        return spec
    }

    static func parse(tree: ConfigTree, text: String, file: String) throws -> StudySpec {
        let root = try ConfigReader(tree, file: file)
        try root.only(ConfigFile.topKeys + ["params", "protocol"])
        let (environment, envKeep) = try Self.environment(root)
        let name = try root.string("name") ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let seed = try root.seed("seed", default: 0)

        let objectives = try parseObjectives(root, regression: (try root.map("dataset")).flatMap({ try? $0.string("task") }) == "regression")
        let constraints = try parseConstraints(root)
        var budget = Budget()
        if let b = try root.map("budget") {
            try b.only(["trials", "max_epochs", "max_failures", "trial_timeout", "timeout"])
            budget.trials = try b.int("trials", default: budget.trials, range: 1...1_000_000)!
            budget.maxEpochs = try b.int("max_epochs", range: 1...100_000)
            budget.maxFailures = try b.int("max_failures", range: 1...1_000_000)
            budget.trialTimeout = try b.double("trial_timeout", range: 0.001...1e9)
            budget.timeout = try b.double("timeout", range: 0.001...1e9)
        }
        let sampler = try component(root, "sampler", names: samplerNames, default: "auto")
        let scheduler = try component(root, "scheduler", names: schedulerNames, default: "none", words: ["mode"])

        var command: [String]? = nil
        if let items = try root.list("command") {
            command = try items.enumerated().map { i, n in
                guard case .scalar(let s, _) = n else { throw root.error("command", "item \(i) must be a plain string") }
                return s
            }
            guard !(command!.isEmpty) else { throw root.error("command", "the command needs at least the program to run") }
        }
        let stdoutProtocol = try root.choice("protocol", StdoutProtocol.self, default: .lenient)
        if root.value("protocol") != nil && command == nil {
            throw root.error("protocol", "`protocol` is how a `command:` prints its results; built-in trials always use the strict protocol")
        }

        // Parameters come from every section a trial depends on. Those of a command (`params:`)
        // keep the names the user gave them (`lr`, not `params.lr`).
        var params: [Parameter] = []
        var template = tree
        if case .map(let pairs, let line) = tree {
            var newPairs: [(key: String, value: ConfigTree)] = []
            let parser = SpaceParser(file: file)
            for (k, v) in pairs {
                if k == "params" {
                    guard case .map(let entries, let l) = v, !entries.contains(where: { (SpaceParser.distributionKeys + ["repeat"]).contains($0.key) }) else {
                        throw root.error("params", "expected a mapping of parameter names to ranges, e.g. {lr: {float: [1.0e-4, 0.1], log: true}}")
                    }
                    newPairs.append((k, .map(try entries.map { ($0.key, try parser.walk($0.value, path: $0.key, into: &params)) }, line: l)))
                } else if ["dataset", "model", "training", "compression"].contains(k) {
                    newPairs.append((k, try parser.walk(v, path: k, into: &params)))
                } else {
                    newPairs.append((k, v))
                }
            }
            template = .map(newPairs, line: line)
        }
        let defined = Set(params.map(\.name))
        // `when: {params.x: ...}` (the spelling before command parameters kept their own names).
        for i in params.indices {
            for j in params[i].conditions.indices {
                let parent = params[i].conditions[j].parent
                if !defined.contains(parent), parent.hasPrefix("params."), defined.contains(String(parent.dropFirst(7))) {
                    params[i].conditions[j].parent = String(parent.dropFirst(7))
                }
            }
        }
        for p in params {
            for c in p.conditions where !defined.contains(c.parent) {
                throw InputError(file: file, line: p.line, field: p.name,
                                 "has a condition on '\(c.parent)', which is not a parameter of this space; parameters: \(params.map(\.name).joined(separator: ", "))")
            }
        }
        let space: SearchSpace
        do { space = try SearchSpace(params) } catch let e as DistributionError {
            throw InputError(file: file, e.description)
        }
        var spec = StudySpec(file: file, text: text, name: name, template: template, space: space, objectives: objectives, constraints: constraints,
                             budget: budget, sampler: sampler, scheduler: scheduler, seed: seed, command: command,
                             stdoutProtocol: stdoutProtocol, environment: environment, envKeep: envKeep)
        try spec.validate()
        if spec.budget.maxEpochs == nil, command == nil {
            spec.budget.maxEpochs = try spec.trialConfig(spec.lowCorner()).training.epochs
        }
        return spec
    }

    /// `env: {NAME: value}` and `env_keep: [NAME, ...]`: names of environment variables, each in one of them at most.
    static func environment(_ root: ConfigReader) throws -> ([String: String], [String]) {
        func checkName(_ n: String, _ key: String) throws {
            let ok = !n.isEmpty && !(n.first!.isNumber) && n.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            guard ok else { throw root.error(key, "'\(n.prefix(80))' is not an environment variable name (letters, digits and _, not starting with a digit)") }
            guard !n.hasPrefix("SWEEP_") else { throw root.error(key, "'\(n)': SWEEP_ variables are set by Sweep for each trial") }
        }
        var env: [String: String] = [:]
        if let m = try root.map("env") {
            for k in m.keys {
                try checkName(k, "env")
                guard case .scalar(let v, _)? = m.value(k) else { throw m.error(k, "must be a plain value (a string or a number)") }
                env[k] = v
            }
        }
        var keep: [String] = []
        if let items = try root.list("env_keep") {
            for (i, item) in items.enumerated() {
                guard case .scalar(let n, _) = item else { throw root.error("env_keep", "item \(i) must be a variable name") }
                try checkName(n, "env_keep")
                if env[n] != nil { throw root.error("env_keep", "'\(n)' is also set under env:; name it in one of the two") }
                if !keep.contains(n) { keep.append(n) }
            }
        }
        return (env, keep)
    }

    /// `words`: the option keys whose value is a word rather than a number.
    static func component(_ root: ConfigReader, _ key: String, names: [String], default d: String,
                          words wordKeys: Set<String> = []) throws -> ComponentSpec {
        guard let v = root.value(key) else { return ComponentSpec(name: d) }
        if case .scalar(let s, _) = v {
            guard names.contains(s) else { throw root.error(key, "unknown \(key) '\(s)'; accepted: \(names.joined(separator: ", "))") }
            return ComponentSpec(name: s)
        }
        guard let r = try root.map(key) else { return ComponentSpec(name: d) }
        let name = try r.string("name") ?? d
        guard names.contains(name) else { throw r.error("name", "unknown \(key) '\(name)'; accepted: \(names.joined(separator: ", "))") }
        var options: [String: Double] = [:]
        var words: [String: String] = [:]
        for k in r.keys where k != "name" {
            if wordKeys.contains(k) {
                if let w = try r.string(k) { words[k] = w }
                continue
            }
            guard let x = try r.double(k) else { continue }
            options[k] = x
        }
        return ComponentSpec(name: name, options: options, words: words)
    }

    // MARK: Resolving an assignment

    /// The tree with every parameter replaced by its value (inactive ones left out) and the
    /// budget's epochs applied.
    public func resolve(_ values: [String: Double]) throws -> ConfigTree {
        var tree = try SpaceParser(file: file).fill(template, values: values, space: space)
        if let e = budget.maxEpochs, space["training.epochs"] == nil, command == nil {
            try tree.set(["training", "epochs"], to: .scalar("\(e)", line: nil), file: file)
        }
        return tree
    }

    /// The engine configuration of a trial.
    public func trialConfig(_ values: [String: Double], seed trialSeed: UInt64? = nil) throws -> TrialConfig {
        var c = try ConfigFile.decode(try resolve(values), file: file)
        if let trialSeed { c.seed = trialSeed }
        return c
    }

    /// Every parameter at the low end of its range (first choice), active ones only.
    func lowCorner() -> [String: Double] {
        var v: [String: Double] = [:]
        for p in space.parameters where space.isActive(p, given: v) { v[p.name] = p.distribution.fromUnit(0) }
        return v
    }

    func highCorner() -> [String: Double] {
        var v: [String: Double] = [:]
        for p in space.parameters where space.isActive(p, given: v) { v[p.name] = p.distribution.fromUnit(1) }
        return v
    }

    /// Checks the file before anything runs: both corners of the space (fewest and most layers,
    /// smallest and largest values) must make a valid configuration.
    mutating func validate() throws {
        try validateObjectives()
        if command != nil { return }
        for corner in [lowCorner(), highCorner()] {
            let c = try trialConfig(corner)
            let layers = c.layers
            // Shape errors need the data's input shape; check with the data set's known shape.
            if let shape = EpochReportMetrics.inputShape(of: c.dataset.name) {
                _ = try NetworkBuilder.build(layers, input: shape, outputs: 10, file: file)
            }
        }
    }
}

/// The input shapes of the built-in data sets (for validating a space before any data is loaded).
enum EpochReportMetrics {
    static func inputShape(of dataset: String) -> [Int]? {
        switch dataset {
        case "digits": return [8, 8, 1]
        case "mnist", "fashion-mnist": return [28, 28, 1]
        case "cifar10": return [32, 32, 3]
        default: return nil
        }
    }
}

extension StudySpec {
    /// The sampler and scheduler the file names, built for a study of `trials` trials (default:
    /// the file's budget). Everything that can reject them does so here, before a search
    /// touches the store; `sweep check` and the runner both call this.
    public func makeSearchComponents(trials: Int? = nil) throws -> (sampler: Sampler, scheduler: Scheduler) {
        let sampler = try SamplerFactory.make(self.sampler, space: space, budget: Budget(trials: trials ?? budget.trials), file: file,
                                              severalObjectives: isMultiObjective || !constraints.isEmpty)
        let scheduler = try SchedulerFactory.make(self.scheduler, maxEpochs: budget.maxEpochs ?? 1, file: file)
        return (sampler, scheduler)
    }

    /// What `sampler: auto` picks for this study, and why.
    public var autoChoice: SamplerFactory.AutoChoice {
        SamplerFactory.autoChoice(space: space, budget: budget, severalObjectives: isMultiObjective || !constraints.isEmpty)
    }
}
