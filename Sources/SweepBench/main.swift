import ArgumentParser
import Foundation
import COpenBLAS
import SweepSearch

/// `sweep-bench`: benchmarks of the search side. The root command only lists its subcommands;
/// the measurements themselves are library code (`SamplerBenchmark`).
struct SweepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-bench",
        abstract: "Benchmarks of Sweep's samplers and store, and the sgemm floor of the engine.",
        subcommands: [Samplers.self, StorageBench.self, GemmFloor.self])
}

/// `sweep-bench samplers`: simple regret on the seven test functions of `bench/functions.json`
/// and the cost of one suggestion, written in the shared `hpo-bench-results/1` format.
struct Samplers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regret of each sampler on standard test functions, and the cost of one suggestion.",
        discussion: """
            Runs every sampler on every function for --trials sequential trials with --seeds study \
            seeds from --first-seed (default 0), prints the median simple regret (best - f_opt) over seeds after 25, 50 and \
            100 trials and its geometric mean over functions, then the median time of one \
            suggestion with a history of k random trials on hartmann6 (gp: k ≤ 200, it is O(n³)).
            """)

    @Option(help: ArgumentHelp("Comma-separated function ids.", valueName: "a,b,..."))
    var functions = BenchmarkFunction.all.map(\.id).joined(separator: ",")

    @Option(help: ArgumentHelp("Comma-separated sampler names.", valueName: "a,b,..."))
    var samplers = registeredSamplers.map(\.name).joined(separator: ",")

    @Option(help: "Number of seeds: runs use study seeds F..<F+N (F = --first-seed).")
    var seeds = 10

    @Option(help: "The first study seed (default 0; other values give held-out seeds for tuning).")
    var firstSeed = 0

    @Option(help: "Sequential trials per run.")
    var trials = 100

    @Option(help: ArgumentHelp("Write every run to this file (hpo-bench-results/1 JSON).", valueName: "file.json"))
    var out: String?

    @Flag(help: "Skip the suggestion-cost measurement.")
    var noCost = false

    @Option(help: "Timed suggestions per history size in the cost measurement (the median is reported).")
    var costRepeats = 5

    var functionList: [BenchmarkFunction] { split(functions).compactMap(BenchmarkFunction.named) }
    var samplerList: [(name: String, sampler: any Sampler)] {
        split(samplers).compactMap { name in makeSampler(name: name).map { (name, $0) } }
    }

    func validate() throws {
        let knownFunctions = BenchmarkFunction.all.map(\.id), knownSamplers = registeredSamplers.map(\.name)
        for id in split(functions) where !knownFunctions.contains(id) {
            throw ValidationError("unknown function '\(id)'; known: \(knownFunctions.joined(separator: ", "))")
        }
        for name in split(samplers) where !knownSamplers.contains(name) {
            throw ValidationError("unknown sampler '\(name)'; known: \(knownSamplers.joined(separator: ", "))")
        }
        guard !split(functions).isEmpty, !split(samplers).isEmpty else {
            throw ValidationError("--functions and --samplers need at least one name each")
        }
        guard firstSeed >= 0 else { throw ValidationError("--first-seed must be at least 0, got \(firstSeed)") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1, got \(seeds)") }
        guard trials >= 1 else { throw ValidationError("--trials must be at least 1, got \(trials)") }
        guard costRepeats >= 1 else { throw ValidationError("--cost-repeats must be at least 1, got \(costRepeats)") }
    }

    func run() throws {
        let fs = functionList, ss = samplerList
        // Regret is reported after 25, 50 and 100 trials, and after the last one.
        let checkpoints = Array(Set([25, 50, 100].filter { $0 <= trials } + [trials])).sorted()

        var runs: [SamplerRun] = []
        for f in fs {
            for (name, sampler) in ss {
                for seed in firstSeed..<(firstSeed + seeds) {
                    runs.append(try SamplerBenchmark.run(sampler, on: f, trials: trials, seed: seed))
                }
                let mine = runs.filter { $0.function == f.id && $0.sampler == "sweep_\(name)" }
                let seconds = mine.reduce(0) { $0 + $1.suggestSeconds.reduce(0, +) }
                log("\(f.id) \(name): median regret \(fmt(SamplerBenchmark.medianRegret(mine, fOpt: f.fOpt, after: trials))) "
                    + "after \(trials) trials; \(fmt(seconds)) s in suggest")
            }
        }

        print("Median simple regret over \(seeds) seed(s), \(trials) sequential trials per run")
        for k in checkpoints {
            print("\nafter \(k) trials")
            printTable(header: ["function"] + ss.map(\.name), rows: fs.map { f in
                [f.id] + ss.map { s in fmt(medianRegret(runs, f, s.name, k)) }
            } + [["geomean"] + ss.map { s in
                fmt(SamplerBenchmark.geometricMean(fs.map { medianRegret(runs, $0, s.name, k) }))
            }])
        }

        var costs: [String: [String: Double]] = [:]
        if !noCost {
            print("\nCost of one suggestion on hartmann6 with k random trials in the history, ms (median of \(costRepeats))")
            let sizes = [10, 100, 200, 500, 1000]
            var rows: [[String]] = []
            for (name, sampler) in ss {
                let mine = historySizes(for: name)
                var row = [name]
                for k in sizes {
                    guard mine.contains(k) else { row.append("-"); continue }
                    let s = SamplerBenchmark.suggestionCost(sampler, historySize: k, repeats: costRepeats)
                    costs["sweep_\(name)", default: [:]]["\(k)"] = s * 1000
                    row.append(fmt(s * 1000))
                }
                rows.append(row)
            }
            printTable(header: ["sampler"] + sizes.map { "k=\($0)" }, rows: rows)
        }

        if let out {
            let meta: [String: Any] = [
                "system": "sweep",
                "samplers": Dictionary(uniqueKeysWithValues: ss.map { ("sweep_\($0.name)", "\($0.sampler)") }),
                "functions": fs.map(\.id), "seeds": seeds, "first_seed": firstSeed, "n_trials": trials,
                "suggest_cost_ms": costs, "suggest_cost_function": "hartmann6",
                "machine": machineDescription(), "date": ISO8601DateFormatter().string(from: Date()),
            ]
            try BenchmarkResultsFile.write(runs: runs, meta: meta, to: URL(fileURLWithPath: out))
            log("wrote \(runs.count) runs to \(out)")
        }
    }

    /// History sizes at which a sampler's suggestion cost is measured; a GP's fit is O(n³).
    func historySizes(for name: String) -> [Int] { name == "gp" ? [10, 100, 200] : [10, 100, 500, 1000] }

    func medianRegret(_ runs: [SamplerRun], _ f: BenchmarkFunction, _ sampler: String, _ k: Int) -> Double {
        SamplerBenchmark.medianRegret(runs.filter { $0.function == f.id && $0.sampler == "sweep_\(sampler)" },
                                      fOpt: f.fOpt, after: k)
    }
}

private func split(_ list: String) -> [String] {
    list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// Three significant digits, as in the peer tables.
private func fmt(_ x: Double) -> String { String(format: "%.3g", x) }

private func printTable(header: [String], rows: [[String]]) {
    let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { c, s in
            let pad = String(repeating: " ", count: widths[c] - s.count)
            return c == 0 ? s + pad : pad + s
        }.joined(separator: "  ")
    }
    print(line(header))
    rows.forEach { print(line($0)) }
}

/// Progress goes to stderr, so stdout holds only the tables.
private func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

private func machineDescription() -> String {
    let p = ProcessInfo.processInfo
    return "\(p.operatingSystemVersionString), \(p.activeProcessorCount) cores"
}

setvbuf(stdout, nil, _IOLBF, 0)
// One BLAS thread: idle OpenBLAS workers spin and would skew the timings.
openblas_set_num_threads(1)
SweepBench.main()
