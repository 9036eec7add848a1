import Foundation

/// The shared results format of the sampler benchmark, `hpo-bench-results/1`
/// (`bench/RESULTS-FORMAT.md`): free-form `meta` and one entry per (function, sampler, seed), so
/// Sweep's runs can be put beside its peers' runs.
public enum BenchmarkResultsFile {
    public static let format = "hpo-bench-results/1"

    /// The file's text: the header, then one run per line (arrays of shortest round-trip decimals).
    /// `meta` must be a JSON object for `JSONSerialization`.
    public static func encode(runs: [SamplerRun], meta: [String: Any]) throws -> String {
        let metaData = try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])
        var out = "{\"format\": \(quoted(format)),\n \"meta\": \(String(decoding: metaData, as: UTF8.self)),\n \"runs\": ["
        for (i, run) in runs.enumerated() {
            out += i == 0 ? "\n  " : ",\n  "
            out += "{\"function\": \(quoted(run.function)), \"sampler\": \(quoted(run.sampler)), "
            out += "\"seed\": \(run.seed), \"n_trials\": \(run.trials), "
            out += "\"best_so_far\": \(array(run.bestSoFar)), \"values\": \(array(run.values)), "
            out += "\"suggest_s\": \(array(run.suggestSeconds)), \"repeats\": \(run.repeats)}"
        }
        out += "\n ]}\n"
        return out
    }

    public static func write(runs: [SamplerRun], meta: [String: Any], to url: URL) throws {
        try encode(runs: runs, meta: meta).write(to: url, atomically: true, encoding: .utf8)
    }

    /// The runs of a results file (any system's: Sweep's, or a peer's such as Optuna's).
    public static func read(_ url: URL) throws -> [SamplerRun] {
        let data = try Data(contentsOf: url)
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              root["format"] as? String == format, let runs = root["runs"] as? [[String: Any]] else {
            throw SamplerBenchmarkError(description: "\(url.path) is not a \(format) file")
        }
        func doubles(_ x: Any?) -> [Double] { (x as? [Any] ?? []).map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
        return try runs.enumerated().map { i, r in
            guard let f = r["function"] as? String, let s = r["sampler"] as? String, let seed = (r["seed"] as? NSNumber)?.intValue else {
                throw SamplerBenchmarkError(description: "\(url.path): run \(i) lacks function, sampler or seed")
            }
            var run = SamplerRun(function: f, sampler: s, seed: seed, values: doubles(r["values"]),
                                 bestSoFar: doubles(r["best_so_far"]), suggestSeconds: doubles(r["suggest_s"]))
            run.repeats = (r["repeats"] as? NSNumber)?.intValue ?? 0
            return run
        }
    }

    private static func array(_ xs: [Double]) -> String {
        // Swift's description is the shortest decimal that reads back to the same Double, and is
        // valid JSON for finite values ("0.5", "1e-05", "308.1290960116066"); JSON has no NaN/inf.
        "[" + xs.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ", ") + "]"
    }

    private static func quoted(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
