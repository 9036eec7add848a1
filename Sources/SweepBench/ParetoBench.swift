import ArgumentParser
import Foundation
import SweepSearch

/// `sweep-bench pareto`: hypervolume of the front each multi-objective sampler finds on
/// ZDT1, ZDT2 and DTLZ2 and on recorded real landscapes (`--landscapes`: the deployed model's
/// validation error against its size; `MultiObjectiveProblem.landscape`), beside Optuna 5's
/// NSGA-II and TPE run on the same problems and seeds (`bench/peers/optuna_multi_objective.py`);
/// every hypervolume is computed here, by one code.
struct ParetoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pareto",
        abstract: "Hypervolume of the Pareto front found by multi-objective samplers, beside Optuna's.",
        discussion: """
            Runs each sampler for --trials sequential trials on each problem with study seeds \
            F..<F+N and prints the median hypervolume (against the problem's reference point) \
            after 50, 100 and --trials trials, and the median gap to the true front's hypervolume. \
            For a landscape it prints the median hypervolume as a percentage of the table's true \
            front's, on validation (what the samplers see) and on test (the same trials' test \
            error: the front a user would pick, judged on held-out data).
            """)

    @Option(help: ArgumentHelp("Comma-separated problems: zdt1-10d, zdt2-10d, dtlz2-7d ('' for none; default: all three, or none with --landscapes).", valueName: "a,b,..."))
    var problems: String?

    @Option(help: ArgumentHelp("Comma-separated tabular landscapes recorded with model_bytes and deployed accuracies (sweep-bench record-landscape).", valueName: "a.json,..."))
    var landscapes = ""

    @Option(help: ArgumentHelp("Comma-separated Sweep samplers: auto and gp (as a study makes them), nsga2, tpe, random.", valueName: "a,b,..."))
    var samplers = "nsga2,tpe,random"

    @Option(help: ArgumentHelp("Also run these Optuna samplers (nsga2, tpe, random) through --optuna-script.", valueName: "a,b,..."))
    var optuna = ""

    @Option(help: "The Optuna peer script.")
    var optunaScript = "bench/peers/optuna_multi_objective.py"

    @Option(help: "Number of seeds.")
    var seeds = 10

    @Option(help: "The first study seed.")
    var firstSeed = 0

    @Option(help: "Sequential trials per run.")
    var trials = 200

    var problemIDs: [String] { problems.map(split) ?? (landscapes.isEmpty ? MultiObjectiveProblem.all.map(\.id) : []) }

    func chosenProblems() throws -> [MultiObjectiveProblem] {
        let functions = try problemIDs.map { id in
            guard let p = MultiObjectiveProblem.all.first(where: { $0.id == id }) else {
                throw ValidationError("unknown problem '\(id)'; accepted: \(MultiObjectiveProblem.all.map(\.id).joined(separator: ", "))")
            }
            return p
        }
        let tables = try split(landscapes).map { try MultiObjectiveProblem.landscape(TabularLandscape.load(path: $0), file: $0) }
        guard !(functions + tables).isEmpty else { throw ValidationError("give at least one problem or landscape") }
        return functions + tables
    }

    /// `auto` and `gp` (and `tpe`, `nsga2` with options: `tpe:startup_trials=20`) as a study of
    /// several objectives makes them (`SamplerFactory`); bare `nsga2`, `tpe`, `random` as
    /// constructed by default, as before.
    func sampler(_ name: String, for p: MultiObjectiveProblem) throws -> any MultiObjectiveSampler {
        switch name {
        case "nsga2": return NSGAIISampler()
        case "tpe": return TPESampler()
        case "random": return RandomSampler()
        default:
            guard ["auto", "gp", "tpe", "nsga2"].contains(where: { name.hasPrefix($0 + ":") || name == $0 }),
                  let s = try SamplerFactory.make(samplerSpec(name), space: p.searchSpace, budget: Budget(trials: trials),
                                                  file: "sweep-bench", severalObjectives: true) as? any MultiObjectiveSampler else {
                throw ValidationError("unknown sampler '\(name)'; accepted: auto, gp, nsga2, tpe, random (auto, gp, tpe and nsga2 with options: tpe:startup_trials=20)")
            }
            return s
        }
    }

    func run() throws {
        let chosen = try chosenProblems()
        var runs: [MultiObjectiveRun] = []
        for p in chosen {
            for name in split(samplers) {
                let s = try sampler(name, for: p)
                for seed in firstSeed..<(firstSeed + seeds) {
                    runs.append(try SamplerBenchmark.run(s, on: p, trials: trials, seed: seed, resultID: "sweep_\(name)"))
                }
                FileHandle.standardError.write(Data("sweep_\(name) on \(p.id): done\n".utf8))
            }
        }
        if !optuna.isEmpty { runs += try runOptuna() }
        let columns = split(samplers).map { "sweep_\($0)" } + split(optuna).map { "optuna_\($0)" }
        let checkpoints = [50, 100].filter { $0 < trials } + [trials]
        print("CPU: \(cpuModel())")
        for p in chosen {
            if let test = p.test {
                printLandscape(p, test: test, runs: runs, columns: columns, checkpoints: checkpoints)
                continue
            }
            print("\n\(p.id): median hypervolume over seeds \(firstSeed)..<\(firstSeed + seeds) (reference \(p.reference), true front \(String(format: "%.4f", p.optimalHypervolume)))")
            print((["trials"] + columns).joined(separator: "\t"))
            for k in checkpoints {
                let cells = columns.map { c -> String in
                    let hv = runs.filter { $0.problem == p.id && $0.sampler == c }.map { $0.hypervolume(after: k, reference: p.reference) }
                    return hv.isEmpty ? "-" : String(format: "%.4f", SamplerBenchmark.median(hv))
                }
                print((["\(k)"] + cells).joined(separator: "\t"))
            }
        }
        printSuggestionTimes(chosen, runs: runs, checkpoints: checkpoints)
    }

    /// The median time of one suggestion of each Sweep sampler over the ten trials before each
    /// checkpoint, all seeds pooled, on the history its own run built.
    func printSuggestionTimes(_ problems: [MultiObjectiveProblem], runs: [MultiObjectiveRun], checkpoints: [Int]) {
        let names = split(samplers).map { "sweep_\($0)" }
        print("\nSuggestion time, ms: median over seeds of trials k-10..<k")
        print((["problem", "trials"] + names).joined(separator: "\t"))
        for p in problems {
            for k in checkpoints {
                let cells = names.map { c -> String in
                    let times = runs.filter { $0.problem == p.id && $0.sampler == c }
                        .flatMap { ($0.suggestSeconds ?? []).dropFirst(max(k - 10, 0)).prefix(min(k, 10)) }
                    return times.isEmpty ? "-" : String(format: "%.2f", 1000 * SamplerBenchmark.median(times))
                }
                print(([p.id, "\(k)"] + cells).joined(separator: "\t"))
            }
        }
    }

    /// A landscape's table: median hypervolume as a percentage of the true front's, on
    /// validation and on test, after each checkpoint.
    func printLandscape(_ p: MultiObjectiveProblem, test: MultiObjectiveProblem.Held, runs: [MultiObjectiveRun], columns: [String], checkpoints: [Int]) {
        print("\n\(p.id): median hypervolume over seeds \(firstSeed)..<\(firstSeed + seeds), % of the table's true front"
              + " (validation: reference \(p.reference.map { String(format: "%.4g", $0) }); test: reference \(test.reference.map { String(format: "%.4g", $0) }))")
        print((["trials"] + columns.flatMap { ["\($0) val", "\($0) test"] }).joined(separator: "\t"))
        for k in checkpoints {
            let cells = columns.flatMap { c -> [String] in
                let mine = runs.filter { $0.problem == p.id && $0.sampler == c }
                guard !mine.isEmpty else { return ["-", "-"] }
                let val = SamplerBenchmark.median(mine.map { 100 * $0.hypervolume(after: k, reference: p.reference) / p.optimalHypervolume })
                let held = SamplerBenchmark.median(mine.map { 100 * ($0.testHypervolume(after: k, reference: test.reference) ?? 0) / test.optimalHypervolume })
                return [String(format: "%.2f", val), String(format: "%.2f", held)]
            }
            print((["\(k)"] + cells).joined(separator: "\t"))
        }
    }

    /// Optuna's runs through the peer script. For a landscape the peer returns each trial's
    /// choice indices (in the space's order) and the objectives are looked up here.
    func runOptuna() throws -> [MultiObjectiveRun] {
        struct File: Decodable {
            struct Run: Decodable { var problem: String; var sampler: String; var seed: Int; var values: [[Double]]?; var choices: [[Int]]? }
            var runs: [Run]
        }
        let chosen = try chosenProblems()
        let file = try runPeer(optunaScript, ["--problems", problemIDs.joined(separator: ","), "--landscapes", split(landscapes).joined(separator: ","),
                                              "--samplers", optuna, "--seeds", "\(seeds)", "--first-seed", "\(firstSeed)", "--trials", "\(trials)"]) {
            try JSONDecoder().decode(File.self, from: Data(contentsOf: $0))
        }
        return try file.runs.map { r in
            guard let choices = r.choices else { return MultiObjectiveRun(problem: r.problem, sampler: r.sampler, seed: r.seed, values: r.values ?? []) }
            guard let p = chosen.first(where: { $0.id == r.problem }), let test = p.test else {
                throw ValidationError("the Optuna peer returned choices for '\(r.problem)', which is not a landscape of this run")
            }
            guard r.values?.count == choices.count else {
                throw ValidationError("the Optuna peer returned \(choices.count) configurations but \(r.values?.count ?? 0) objective values for \(r.problem)")
            }
            var run = MultiObjectiveRun(problem: r.problem, sampler: r.sampler, seed: r.seed, values: [], testValues: [])
            for c in choices {
                let params = Dictionary(uniqueKeysWithValues: zip(p.searchSpace.names, c.map(Double.init)))
                guard let v = p.evaluate(params), let h = test.evaluate(params) else {
                    throw ValidationError("the Optuna peer returned a configuration outside \(r.problem): \(c)")
                }
                // The peer computes the objectives it gave Optuna itself: they must be these.
                if let told = r.values?[run.values.count], zip(told, v).contains(where: { abs($0 - $1) > 1e-9 }) || told.count != v.count {
                    throw ValidationError("the Optuna peer's objectives \(told) differ from the table's \(v) for \(r.problem) \(c)")
                }
                run.values.append(v)
                run.testValues!.append(h)
            }
            return run
        }
    }
}

private func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    var model = "unknown", family = "?"
    for line in text.split(separator: "\n") {
        let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard kv.count == 2 else { continue }
        if kv[0] == "model name", model == "unknown" { model = kv[1] }
        if kv[0] == "cpu family", family == "?" { family = kv[1] }
    }
    return "\(model) (family \(family))"
}
