import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepSearch

/// `sweep check SPACE.yaml`: validates a search-space file exactly as `sweep start` does (the
/// study file, the sampler and the scheduler it names, then the data sets its trials would load)
/// and prints what the search would be. Writes nothing.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a search-space file and load its data set as `sweep start` would; summarize both (writes nothing).",
        discussion: "Exit status 0 when the file is valid, 2 when it is not (the message names the file, line and key).")

    @Argument(help: "The search-space file (YAML).") var space: String
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a value of the file: key.path=value.", valueName: "key=value"))
    var overrides: [String] = []
    @Option(help: "Where data sets live (default: $SWEEP_DATA_DIR, else the user cache dir).") var dataDir: String?
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        let spec = try StudySpec.load(path: space, overrides: overrides)
        try spec.preflight()
        let (sampler, _) = try spec.makeSearchComponents()   // as StudyController.init builds them
        let data = try spec.inspectData(dataDir: absolute(DataDirectory.resolve(dataDir)),
                                        weights: transferWeights(db: store.db, baseDir: (spec.absoluteFile as NSString).deletingLastPathComponent))
        if json {
            print(try Self.json(spec, resolvedSampler: sampler.name, data: data))
        } else {
            print(Self.summary(spec, resolvedSampler: sampler.name, data: data), terminator: "")
        }
    }

    static func summary(_ spec: StudySpec, resolvedSampler: String, data: [DataSummary]) -> String {
        var s = "\(spec.file): valid\n"
        s += "study      \(spec.name)\n"
        s += spec.isMultiObjective ? "objectives \(spec.objectiveSummary) (a Pareto front)\n" : "objective  \(spec.objectiveSummary)\n"
        if !spec.constraints.isEmpty { s += "constraints \(spec.constraintSummary) (feasible when all hold)\n" }
        var budget = "\(spec.budget.trials) trials"
        if let e = spec.budget.maxEpochs { budget += ", at most \(e) epochs each" }
        if let f = spec.budget.maxFailures { budget += ", stop after \(f) failures" }
        if let t = spec.budget.trialTimeout { budget += ", \(Distribution.number(t)) s per trial" }
        if let t = spec.budget.timeout { budget += ", \(Distribution.number(t)) s in all" }
        s += "budget     \(budget)\n"
        var sampler = spec.sampler.summary
        if spec.sampler.name == "auto" {
            sampler += " (resolves to \(resolvedSampler): \(spec.autoChoice.reason))"
        } else if spec.sampler.name != resolvedSampler {
            sampler += " (resolves to \(resolvedSampler))"
        }
        s += "sampler    \(sampler)\n"
        s += "scheduler  \(spec.scheduler.summary)\n"
        s += "seed       \(spec.seed)\n"
        if let c = spec.command { s += "command    \(c.joined(separator: " ")) (\(spec.stdoutProtocol.rawValue) protocol)\n" }
        for d in data { s += "data       \(d.line)\n" }
        s += "parameters \(spec.space.parameters.count)\n"
        let width = spec.space.parameters.map(\.name.count).max() ?? 0
        for p in spec.space.parameters {
            var line = "  " + p.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + p.distribution.summary
            if !p.conditions.isEmpty { line += "  " + StudySpec.summary(p.conditions) }
            s += line + "\n"
        }
        return s
    }

    static func json(_ spec: StudySpec, resolvedSampler: String, data: [DataSummary]) throws -> String {
        func opt<T>(_ v: T?) -> Any { v.map { $0 as Any } ?? NSNull() }
        let params: [[String: Any]] = try spec.space.parameters.map { p in
            let dist = try JSONSerialization.jsonObject(with: Data(p.distribution.optunaJSON.utf8))
            return ["name": p.name, "distribution": dist, "line": opt(p.line),
                    "conditions": p.conditions.map { ["parent": $0.parent, "values": $0.values.map(\.json)] as [String: Any] }]
        }
        let obj: [String: Any] = [
            "file": spec.file, "study": spec.name, "seed": spec.seed,
            "objective": ["metric": spec.objective.metric, "direction": spec.objective.direction.rawValue],
            "objectives": spec.objectives.map { ["metric": $0.metric, "direction": $0.direction.rawValue] },
            "constraints": spec.constraints.map { c -> [String: Any] in ["metric": c.metric, "max": opt(c.max), "min": opt(c.min)] },
            "budget": ["trials": spec.budget.trials, "max_epochs": opt(spec.budget.maxEpochs),
                       "max_failures": opt(spec.budget.maxFailures), "trial_timeout": opt(spec.budget.trialTimeout),
                       "timeout": opt(spec.budget.timeout)],
            "sampler": ["name": spec.sampler.name, "resolved": resolvedSampler, "options": spec.sampler.options,
                        "reason": spec.sampler.name == "auto" ? spec.autoChoice.reason as Any : NSNull()],
            "scheduler": ["name": spec.scheduler.name, "options": spec.scheduler.options],
            "command": opt(spec.command), "protocol": opt(spec.command.map { _ in spec.stdoutProtocol.rawValue }),
            "parameters": params,
            "data": data.map { d -> [String: Any] in
                ["dataset": d.spec.name, "file": opt(d.spec.path ?? d.spec.train?.images), "task": d.task.rawValue, "rows": d.rows,
                 "train": d.train, "validation": d.validation, "test": d.test, "features": d.features,
                 "input_shape": d.inputShape, "classes": opt(d.classes)]
            },
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}
