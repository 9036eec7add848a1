import ArgumentParser
import Foundation
import SweepSearch

/// `sweep-bench pareto`: hypervolume of the front each multi-objective sampler finds on
/// ZDT1, ZDT2 and DTLZ2, beside Optuna 5's NSGA-II and TPE run on the same problems and seeds
/// (`bench/peers/optuna_multi_objective.py`); every hypervolume is computed here, by one code.
struct ParetoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pareto",
        abstract: "Hypervolume of the Pareto front found by multi-objective samplers, beside Optuna's.",
        discussion: """
            Runs each sampler for --trials sequential trials on each problem with study seeds \
            F..<F+N and prints the median hypervolume (against the problem's reference point) \
            after 50, 100 and --trials trials, and the median gap to the true front's hypervolume.
            """)

    @Option(help: ArgumentHelp("Comma-separated problems: zdt1-10d, zdt2-10d, dtlz2-7d.", valueName: "a,b,..."))
    var problems = "zdt1-10d,zdt2-10d,dtlz2-7d"

    @Option(help: ArgumentHelp("Comma-separated Sweep samplers: nsga2, tpe, random.", valueName: "a,b,..."))
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

    func chosenProblems() throws -> [MultiObjectiveProblem] {
        try split(problems).map { id in
            guard let p = MultiObjectiveProblem.all.first(where: { $0.id == id }) else {
                throw ValidationError("unknown problem '\(id)'; accepted: \(MultiObjectiveProblem.all.map(\.id).joined(separator: ", "))")
            }
            return p
        }
    }

    func sampler(_ name: String) throws -> any MultiObjectiveSampler {
        switch name {
        case "nsga2": return NSGAIISampler()
        case "tpe": return TPESampler()
        case "random": return RandomSampler()
        default: throw ValidationError("unknown sampler '\(name)'; accepted: nsga2, tpe, random")
        }
    }

    func run() throws {
        let chosen = try chosenProblems()
        var runs: [MultiObjectiveRun] = []
        for p in chosen {
            for name in split(samplers) {
                let s = try sampler(name)
                for seed in firstSeed..<(firstSeed + seeds) {
                    runs.append(try SamplerBenchmark.run(s, on: p, trials: trials, seed: seed))
                }
                FileHandle.standardError.write(Data("sweep_\(name) on \(p.id): done\n".utf8))
            }
        }
        if !optuna.isEmpty { runs += try runOptuna() }
        let columns = split(samplers).map { "sweep_\($0)" } + split(optuna).map { "optuna_\($0)" }
        let checkpoints = [50, 100].filter { $0 < trials } + [trials]
        print("CPU: \(cpuModel())")
        for p in chosen {
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
    }

    func runOptuna() throws -> [MultiObjectiveRun] {
        struct File: Decodable { struct Run: Decodable { var problem: String; var sampler: String; var seed: Int; var values: [[Double]] }; var runs: [Run] }
        let file = try runPeer(optunaScript, ["--problems", split(problems).joined(separator: ","), "--samplers", optuna,
                                              "--seeds", "\(seeds)", "--first-seed", "\(firstSeed)", "--trials", "\(trials)"]) {
            try JSONDecoder().decode(File.self, from: Data(contentsOf: $0))
        }
        return file.runs.map { MultiObjectiveRun(problem: $0.problem, sampler: $0.sampler, seed: $0.seed, values: $0.values) }
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
