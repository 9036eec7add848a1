import ArgumentParser
import Foundation
import COpenBLAS
import SweepSearch

/// `sweep-bench`: benchmarks of the search side. The root command only lists its subcommands;
/// the measurements themselves are library code (`SamplerBenchmark`).
struct SweepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-bench",
        abstract: "Benchmarks of Sweep's samplers and store, and the engine's GEMM (its floor, its kernels per shape).",
        subcommands: [Samplers.self, ParetoBench.self, RecordLandscape.self, StorageBench.self, GemmFloor.self, GemmShapes.self])
}

/// `sweep-bench samplers`: simple regret on the seven test functions of `bench/functions.json`
/// and on recorded real landscapes (`--landscapes`), optionally beside Optuna's samplers run in
/// the same command (`--optuna`), and the cost of one suggestion; written in the shared
/// `hpo-bench-results/1` format.
struct Samplers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regret of each sampler on test functions and recorded landscapes, beside Optuna, and the cost of one suggestion.",
        discussion: """
            Runs every sampler on every problem for --trials sequential trials with --seeds study \
            seeds from --first-seed (default 0), prints the median simple regret (best - f_opt) over seeds after 25, 50 and \
            100 trials and its geometric mean over problems, the median number of re-evaluated \
            configurations per run, and (with --optuna tpe,...) each sampler's regret as a ratio \
            to Optuna TPE's; then the median time of one \
            suggestion with a history of k random trials on hartmann6 (gp: k ≤ 200, it is O(n³)). \
            Samplers are made as a study makes them (`auto` picks per problem from its space and \
            the --trials budget).
            """)

    @Option(help: ArgumentHelp("Comma-separated function ids (default: all seven, or none with --landscapes; '' for none).", valueName: "a,b,..."))
    var functions: String?

    @Option(help: ArgumentHelp("Comma-separated tabular landscape files (sweep-tabular-landscape/1, e.g. bench/landscapes/*.json).", valueName: "a.json,..."))
    var landscapes = ""

    @Option(help: ArgumentHelp("Comma-separated sampler names, as in a study file, each with options if wanted: tpe:allow_repeats=1.", valueName: "a,b,..."))
    var samplers = "random,tpe,gp,auto"

    @Option(help: ArgumentHelp("Also run these Optuna 5 samplers (tpe, gp, random) on the same problems and seeds, through --optuna-script.", valueName: "a,b,..."))
    var optuna = ""

    @Option(help: "The Optuna peer script.")
    var optunaScript = "bench/peers/optuna_samplers.py"

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

    var functionIDs: [String] { functions.map(split) ?? (landscapes.isEmpty ? BenchmarkFunction.all.map(\.id) : []) }

    func validate() throws {
        let knownFunctions = BenchmarkFunction.all.map(\.id)
        for id in functionIDs where !knownFunctions.contains(id) {
            throw ValidationError("unknown function '\(id)'; known: \(knownFunctions.joined(separator: ", "))")
        }
        for name in split(samplers).map(samplerSpec).map(\.name) where !StudySpec.samplerNames.contains(name) || name == "grid" {
            throw ValidationError("unknown sampler '\(name)'; known: \(StudySpec.samplerNames.filter { $0 != "grid" }.joined(separator: ", "))")
        }
        for name in split(optuna) where !["tpe", "gp", "random"].contains(name) {
            throw ValidationError("unknown Optuna sampler '\(name)'; known: tpe, gp, random")
        }
        guard !(functionIDs.isEmpty && split(landscapes).isEmpty), !split(samplers).isEmpty else {
            throw ValidationError("give at least one function or landscape, and one sampler")
        }
        guard firstSeed >= 0 else { throw ValidationError("--first-seed must be at least 0, got \(firstSeed)") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1, got \(seeds)") }
        guard trials >= 1 else { throw ValidationError("--trials must be at least 1, got \(trials)") }
        guard costRepeats >= 1 else { throw ValidationError("--cost-repeats must be at least 1, got \(costRepeats)") }
    }

    func run() throws {
        let problems: [any BenchmarkProblem] = functionIDs.compactMap(BenchmarkFunction.named)
            + (try split(landscapes).map { try TabularLandscape.load(path: $0) })
        let names = split(samplers)
        // Regret is reported after 25, 50 and 100 trials, and after the last one.
        let checkpoints = Array(Set([25, 50, 100].filter { $0 <= trials } + [trials])).sorted()

        var runs: [SamplerRun] = []
        var columns: [String] = []
        if !optuna.isEmpty {
            runs += try runOptuna(problems)
            columns += split(optuna).map { "optuna_\($0)" }
        }
        columns = names.map { "sweep_\($0)" } + columns
        var resolved: [String: String] = [:]
        for f in problems {
            for name in names {
                let sampler = try SamplerFactory.make(samplerSpec(name), space: f.searchSpace,
                                                      budget: Budget(trials: trials), file: "sweep-bench")
                if name == "auto" { resolved[f.id] = sampler.name }
                for seed in firstSeed..<(firstSeed + seeds) {
                    runs.append(try SamplerBenchmark.run(sampler, on: f, trials: trials, seed: seed, resultID: "sweep_\(name)"))
                }
                let mine = runs.filter { $0.function == f.id && $0.sampler == "sweep_\(name)" }
                let seconds = mine.reduce(0) { $0 + $1.suggestSeconds.reduce(0, +) }
                log("\(f.id) \(name): median regret \(fmt(SamplerBenchmark.medianRegret(mine, fOpt: f.fOpt, after: trials))) "
                    + "after \(trials) trials; \(fmt(seconds)) s in suggest")
            }
        }
        if !resolved.isEmpty {
            print("auto resolves to: " + problems.map { "\($0.id) \(resolved[$0.id]!)" }.joined(separator: ", ") + "\n")
        }

        print("Median simple regret over \(seeds) seed(s), \(trials) sequential trials per run")
        for k in checkpoints {
            print("\nafter \(k) trials")
            printTable(header: ["problem"] + columns, rows: problems.map { f in
                [f.id] + columns.map { s in fmt(medianRegret(runs, f, s, k)) }
            } + [["geomean"] + columns.map { s in
                fmt(SamplerBenchmark.geometricMean(problems.map { medianRegret(runs, $0, s, k) }))
            }])
        }
        if columns.contains("optuna_tpe") {
            for k in checkpoints {
                print("\nRegret ratio to Optuna TPE after \(k) trials (median over seeds; each regret at least the problem's floor)")
                let others = columns.filter { $0 != "optuna_tpe" }
                printTable(header: ["problem"] + others, rows: problems.map { f in
                    [f.id] + others.map { s in fmt(ratio(runs, f, s, k)) }
                } + [["geomean"] + others.map { s in
                    fmt(SamplerBenchmark.geometricMean(problems.map { ratio(runs, $0, s, k) }))
                }])
            }
        }
        print("\nRe-evaluated configurations per run of \(trials) trials (median over seeds)")
        printTable(header: ["problem"] + columns, rows: problems.map { f in
            [f.id] + columns.map { s in
                let r = runs.filter { $0.function == f.id && $0.sampler == s }.map { Double($0.repeats) }
                return r.isEmpty ? "-" : fmt(SamplerBenchmark.median(r))
            }
        })

        var costs: [String: [String: Double]] = [:]
        if !noCost {
            print("\nCost of one suggestion on hartmann6 with k random trials in the history, ms (median of \(costRepeats))")
            let sizes = [10, 100, 200, 500, 1000]
            var rows: [[String]] = []
            for name in names {
                guard let sampler = try? SamplerFactory.make(samplerSpec(name), space: BenchmarkFunction.hartmann6.searchSpace,
                                                             budget: Budget(trials: 1000), file: "sweep-bench"), name != "auto" else { continue }
                let mine = historySizes(for: samplerSpec(name).name)
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
                "samplers": Dictionary(uniqueKeysWithValues: names.map { ("sweep_\($0)", $0) }),
                "functions": problems.map(\.id), "seeds": seeds, "first_seed": firstSeed, "n_trials": trials,
                "suggest_cost_ms": costs, "suggest_cost_function": "hartmann6",
                "machine": machineDescription(), "date": ISO8601DateFormatter().string(from: Date()),
            ]
            try BenchmarkResultsFile.write(runs: runs, meta: meta, to: URL(fileURLWithPath: out))
            log("wrote \(runs.count) runs to \(out)")
        }
    }

    /// Runs the Optuna peer on the same problems, seeds and trials, and reads its runs back.
    func runOptuna(_ problems: [any BenchmarkProblem]) throws -> [SamplerRun] {
        try runPeer(optunaScript, ["--functions", functionIDs.joined(separator: ","),
                                   "--landscapes", split(landscapes).joined(separator: ","), "--samplers", optuna,
                                   "--seeds", "\(seeds)", "--first-seed", "\(firstSeed)", "--trials", "\(trials)",
                                   "--cost-sizes", ""]) { try BenchmarkResultsFile.read($0) }
    }

    /// History sizes at which a sampler's suggestion cost is measured; a GP's fit is O(n³).
    func historySizes(for name: String) -> [Int] { name == "gp" ? [10, 100, 200] : [10, 100, 500, 1000] }

    func medianRegret(_ runs: [SamplerRun], _ f: any BenchmarkProblem, _ sampler: String, _ k: Int) -> Double {
        let mine = runs.filter { $0.function == f.id && $0.sampler == sampler }
        return mine.isEmpty ? .nan : SamplerBenchmark.medianRegret(mine, fOpt: f.fOpt, after: k)
    }

    /// Median regret of `sampler` over Optuna TPE's, each at least the problem's regret floor.
    func ratio(_ runs: [SamplerRun], _ f: any BenchmarkProblem, _ sampler: String, _ k: Int) -> Double {
        max(medianRegret(runs, f, sampler, k), f.regretFloor) / max(medianRegret(runs, f, "optuna_tpe", k), f.regretFloor)
    }
}

/// `tpe` or `tpe:option=value:...` (options as a study file's `sampler:` gives them).
func samplerSpec(_ s: String) -> ComponentSpec {
    let parts = s.split(separator: ":").map(String.init)
    var options: [String: Double] = [:]
    for kv in parts.dropFirst() {
        let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
        if p.count == 2, let x = Double(p[1]) { options[p[0]] = x }
    }
    return ComponentSpec(name: parts.first ?? "", options: options)
}

/// Runs a Python peer script with `arguments` plus `--out FILE` and reads FILE with `read`.
func runPeer<T>(_ script: String, _ arguments: [String], read: (URL) throws -> T) throws -> T {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-bench-peer-\(getpid()).json")
    defer { try? FileManager.default.removeItem(at: tmp) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script] + arguments + ["--out", tmp.path]
    log("running the peer: \(p.arguments!.joined(separator: " "))")
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw SamplerBenchmarkError(description: "the peer \(script) exited with status \(p.terminationStatus)")
    }
    return try read(tmp)
}

func split(_ list: String) -> [String] {
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
