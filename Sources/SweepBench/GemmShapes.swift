import ArgumentParser
import Foundation
import SweepEngine

/// `sweep-bench gemm-shapes`: GFLOP/s of every fp32 GEMM kernel this CPU runs (Sweep's own and
/// OpenBLAS) on the product shapes the engine calls, listed in a file (bench/gemm-shapes.txt, which
/// bench/peers/numpy_gemm.py measures for numpy in the same way). One thread; each kernel runs
/// each shape `--rounds` times, the kernels interleaved, for about 0.1 s of arithmetic per round,
/// and the best round counts. Time is this thread's CPU time, not wall time, so a busy machine
/// slows the figures less (its caches are still shared).
struct GemmShapes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm-shapes",
        abstract: "GFLOP/s of each fp32 GEMM kernel on the engine's product shapes (one JSON line per shape and kernel).")

    @Option(help: ArgumentHelp("Shapes: one product a line, 'TRANS M N K' (TRANS: NN, NT, TN or TT), # comments.",
                               valueName: "file"))
    var shapes = "bench/gemm-shapes.txt"
    @Option(help: "Rounds per shape and kernel (the best counts).") var rounds = 5
    @Option(help: ArgumentHelp("Kernels, comma-separated (default: every kernel this CPU runs).", valueName: "a,b"))
    var kernels: String?

    struct Shape { var transA, transB: Bool; var M, N, K: Int; var note: String }

    /// The shapes of `text`; throws naming the line that is not 'TRANS M N K'.
    static func parse(_ text: String, file: String) throws -> [Shape] {
        var out: [Shape] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let parts = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let fields = parts[0].split(separator: " ", omittingEmptySubsequences: true)
            if fields.isEmpty { continue }
            let note = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            guard fields.count == 4, ["NN", "NT", "TN", "TT"].contains(fields[0]),
                  let M = Int(fields[1]), let N = Int(fields[2]), let K = Int(fields[3]), M > 0, N > 0, K > 0 else {
                throw ValidationError("\(file):\(i + 1): '\(raw)' is not 'TRANS M N K' (TRANS one of NN, NT, TN, TT; M, N, K at least 1)")
            }
            out.append(Shape(transA: fields[0].first == "T", transB: fields[0].last == "T", M: M, N: N, K: K, note: note))
        }
        return out
    }

    func run() throws {
        try ComputeSettings.configure(blasThreads: 1)
        guard let text = try? String(contentsOfFile: shapes, encoding: .utf8) else {
            throw ValidationError("--shapes \(shapes): cannot read the file")
        }
        let list = try Self.parse(text, file: shapes)
        var chosen = GemmKernel.allCases.filter(\.isSupported)
        if let kernels {
            chosen = try kernels.split(separator: ",").map { name in
                guard let k = GemmKernel(rawValue: String(name)), k.isSupported else {
                    throw ValidationError("--kernels: '\(name)' is not a kernel this CPU runs (\(chosen.map(\.rawValue).joined(separator: ", ")))")
                }
                return k
            }
        }
        func cpuSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        for s in list {
            let aCount = s.M * s.K, bCount = s.K * s.N
            let a = (0..<aCount).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 }
            let b = (0..<bCount).map { Float(($0 * 104_729) % 1000) / 1000 - 0.5 }
            var c = [Float](repeating: 0, count: s.M * s.N)
            let lda = s.transA ? s.M : s.K, ldb = s.transB ? s.K : s.N
            let flops = 2 * Double(s.M) * Double(s.N) * Double(s.K)
            let reps = max(1, Int(1e8 / flops))
            var best = [Double](repeating: .infinity, count: chosen.count)
            for _ in 0..<rounds {
                for (i, k) in chosen.enumerated() {
                    GemmKernel.force(k)
                    let start = cpuSeconds()
                    for _ in 0..<reps { gemm(s.transA, s.transB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, &c, s.N) }
                    best[i] = min(best[i], (cpuSeconds() - start) / Double(reps))
                }
            }
            GemmKernel.force(nil)
            let trans = (s.transA ? "T" : "N") + (s.transB ? "T" : "N")
            let rule = GemmKernel.choice(s.transA, s.transB, s.M, s.N, s.K)
            for (i, k) in chosen.enumerated() {
                print(String(format: "{\"benchmark\":\"gemm-shapes\",\"trans\":\"%@\",\"M\":%d,\"N\":%d,\"K\":%d,\"kernel\":\"%@\",\"rule\":%@,\"gflops\":%.1f,\"note\":\"%@\"}",
                             trans, s.M, s.N, s.K, k.rawValue, k == rule ? "true" : "false", flops / best[i] / 1e9, s.note))
            }
        }
    }
}
