import ArgumentParser
import Foundation
import SweepEngine

/// `sweep-bench gemm-floor`: the seconds per epoch that an MLP's matrix products alone take with
/// the engine's fp32 GEMM (`gemm`: the kernels its rule picks, or the one `SWEEP_GEMM` names), one
/// thread: calls of the shapes and transposes the engine uses for a Dense stack (forward out = x · Wᵀ; backward dW = doutᵀ · x and, past the
/// first layer, dx = dout · W), with no activations, loss, optimizer or data movement. No training engine can
/// run that MLP in fp32 faster than this with these kernels. With
/// `--precision bf16`, the same calls through the engine's mixed-precision GEMM (`Precision.bf16`).
struct GemmFloor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm-floor",
        abstract: "Seconds per epoch of an MLP's matrix products alone (the floor of the engine's fp32 or bf16 GEMM).")

    @Option(help: ArgumentHelp("Layer widths, input first.", valueName: "a,b,..."))
    var widths = "784,256,128,10"
    @Option(help: "Batch size.") var batch = 128
    @Option(help: "Samples per epoch.") var samples = 60000
    @Option(help: "Epochs to time (the fastest is reported).") var epochs = 3
    @Option(help: "fp32 (the engine's fp32 GEMM) or bf16 (its bfloat16 GEMM).") var precision: Precision = .fp32

    /// The widths as numbers; nil unless all of them are whole numbers of at least 1.
    var layerWidths: [Int]? {
        let parts = widths.split(separator: ",", omittingEmptySubsequences: false)
        let w = parts.compactMap { Int($0) }
        return w.count == parts.count && w.allSatisfy({ $0 >= 1 }) ? w : nil
    }

    func validate() throws {
        guard let w = layerWidths, w.count >= 2 else {
            throw ValidationError("--widths '\(widths)' is not accepted: two or more whole numbers of at least 1, comma-separated")
        }
        guard batch >= 1, samples >= batch, epochs >= 1 else {
            throw ValidationError("--batch, --samples and --epochs must be at least 1, with --samples at least --batch")
        }
    }

    func run() throws {
        try ComputeSettings.configure(blasThreads: 1)
        let w = layerWidths!  // checked by validate()
        let B = batch, steps = (samples + B - 1) / B
        func buffer(_ n: Int) -> [Float] { (0..<n).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 } }
        let acts = w.map { buffer(B * $0) }, weights = zip(w, w.dropFirst()).map { buffer($0 * $1) }
        var outs = w.dropFirst().map { [Float](repeating: 0, count: B * $0) }
        var grads = weights.map { [Float](repeating: 0, count: $0.count) }
        var dins = w.map { [Float](repeating: 0, count: B * $0) }
        var flops = 0.0
        for l in 0..<weights.count {
            flops += 2 * Double(B * w[l] * w[l + 1]) * (l == 0 ? 2 : 3)
        }
        var best = Double.infinity
        for _ in 0..<epochs {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps {
                for l in 0..<weights.count {  // out (B,U) = x (B,D) · Wᵀ
                    let D = w[l], U = w[l + 1]
                    gemm(precision, false, true, B, U, D, 1, acts[l], D, weights[l], D, 0, &outs[l], U)
                }
                for l in stride(from: weights.count - 1, through: 0, by: -1) {
                    let D = w[l], U = w[l + 1]
                    // dW (U,D) = doutᵀ (U,B) · x (B,D); dout stands in as the layer's output buffer
                    gemm(precision, true, false, U, D, B, 1, outs[l], U, acts[l], D, 0, &grads[l], D)
                    if l > 0 {  // dx (B,D) = dout (B,U) · W (U,D)
                        gemm(precision, false, false, B, D, U, 1, outs[l], U, weights[l], D, 0, &dins[l], D)
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let gflops = flops * Double(steps) / best / 1e9
        print(String(format: "{\"benchmark\":\"gemm-floor\",\"precision\":\"%@\",\"widths\":\"%@\",\"batch\":%d,\"samples\":%d,\"seconds_per_epoch\":%.4f,\"gflops\":%.1f,\"gemm\":\"%@\"}",
                     precision.rawValue, widths, B, samples, best, gflops, GemmKernel.usedSummary))
    }
}

extension Precision: ExpressibleByArgument {}
