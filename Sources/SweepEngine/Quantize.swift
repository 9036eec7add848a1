import CSweepKernels
import Foundation
import SweepCore

/// The int8 GEMM paths of `QuantizedNetwork` (`sweep_int8.h`). Every path gives the same int32
/// sums, hence the same outputs bit for bit; they differ in speed and in the CPU features they need.
/// A network takes the best one the CPU has, or the one `SWEEP_INT8_KERNEL` names.
public enum Int8Kernel: String, CaseIterable, Sendable {
    /// The reference loop, any CPU.
    case scalar
    /// Bytes widened to int16, pairs of products summed by vpmaddwd (any x86-64 with AVX2).
    case avx2
    /// 256-bit vpdpbusd (Intel Alder Lake and later clients, AMD Zen 5, Xeons from Sapphire Rapids).
    case avxVnni = "avx-vnni"
    /// 512-bit vpdpbusd.
    case avx512Vnni = "avx512-vnni"

    var code: Int32 {
        switch self {
        case .scalar: Int32(SWEEP_INT8_SCALAR)
        case .avx2: Int32(SWEEP_INT8_AVX2)
        case .avxVnni: Int32(SWEEP_INT8_AVXVNNI)
        case .avx512Vnni: Int32(SWEEP_INT8_AVX512VNNI)
        }
    }

    /// The CPU features the path needs.
    public var requirement: String {
        switch self {
        case .scalar: "nothing"
        case .avx2: "AVX2 and FMA"
        case .avxVnni: "AVX-VNNI, AVX2 and FMA"
        case .avx512Vnni: "AVX512-F, AVX512-BW, AVX512-VL and AVX512-VNNI"
        }
    }

    /// Whether this CPU runs the path.
    public var isSupported: Bool { sweep_int8_kernel_available(code) != 0 }

    /// The best path this CPU runs: AVX512-VNNI, else AVX-VNNI, else AVX2, else scalar.
    public static var best: Int8Kernel { named(code: sweep_int8_best()) }

    /// The path a new `QuantizedNetwork` takes: the one `force` set, else `best`.
    public static var current: Int8Kernel { named(code: sweep_int8_kernel()) }

    static func named(code: Int32) -> Int8Kernel { allCases.first { $0.code == code } ?? .scalar }

    /// Every later `QuantizedNetwork` takes `kernel` (nil: `best` again); it must be supported.
    public static func force(_ kernel: Int8Kernel?) {
        precondition(kernel?.isSupported ?? true, "this CPU cannot run the \(kernel!.rawValue) int8 path")
        sweep_int8_force(kernel.map { $0.code } ?? -1)
    }

    /// Applies `SWEEP_INT8_KERNEL` from the environment: `auto` or unset (`best`), or a path's name
    /// to run every int8 product with it. Throws `InputError` for another value or a path this CPU lacks.
    public static func configure(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let value = environment["SWEEP_INT8_KERNEL"], !value.isEmpty, value != "auto" else { force(nil); return }
        guard let kernel = Int8Kernel(rawValue: value) else {
            let accepted = "auto, " + allCases.map(\.rawValue).joined(separator: ", ")
            throw InputError(field: "SWEEP_INT8_KERNEL", "'\(value)' is not an int8 path (accepted: \(accepted))")
        }
        guard kernel.isSupported else {
            let here = allCases.filter(\.isSupported).map(\.rawValue).joined(separator: ", ")
            throw InputError(field: "SWEEP_INT8_KERNEL",
                             "this CPU cannot run the \(value) int8 path (it needs \(kernel.requirement); it runs: auto, \(here))")
        }
        force(kernel)
    }
}

/// The int8 form of one dense or conv layer: weights (N, K) in the engine's layout (dense: W
/// (U, D); conv: W (K, KH·KW·C)), symmetric with one scale per output channel, the float bias,
/// and the scale of the layer's input (symmetric, one per tensor).
///
/// Meaning: w[n, k] ≈ weights[n, k] · weightScale[n]; the layer's input x is taken as
/// clamp(round(x / inputScale), -127, 127) · inputScale.
public struct QuantizedWeights: Equatable, Sendable {
    public var N: Int, K: Int
    public var weights: [Int8]
    public var weightScale: [Float]
    public var bias: [Float]
    public var inputScale: Float

    public init(N: Int, K: Int, weights: [Int8], weightScale: [Float], bias: [Float], inputScale: Float) {
        self.N = N; self.K = K; self.weights = weights; self.weightScale = weightScale; self.bias = bias; self.inputScale = inputScale
    }

    /// Quantizes float weights w (N, K) and bias (N): weightScale[n] = max_k |w[n, k]| / 127 (1 for
    /// an all-zero row), weights = round(w / weightScale) (half to even).
    public init(w: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, K: Int, inputScale: Float) {
        var q = [Int8](repeating: 0, count: N * K), s = [Float](repeating: 1, count: N)
        for n in 0..<N {
            var m: Float = 0
            for k in 0..<K { m = max(m, abs(w[n * K + k])) }
            if m > 0 { s[n] = m / 127 }
            for k in 0..<K { q[n * K + k] = Int8(max(-127, min(127, (w[n * K + k] / s[n]).rounded(.toNearestOrEven)))) }
        }
        self.init(N: N, K: K, weights: q, weightScale: s, bias: Array(UnsafeBufferPointer(start: bias, count: N)), inputScale: inputScale)
    }

    /// The weights the int8 ones stand for, (N, K).
    public var dequantized: [Float] { (0..<(N * K)).map { Float(weights[$0]) * weightScale[$0 / K] } }

    /// The input scale that maps the largest magnitude seen in calibration to 127 (1 when all were 0).
    public static func inputScale(maxAbs: Float) -> Float { maxAbs > 0 ? maxAbs / 127 : 1 }
}

/// A trained network with its dense and conv layers run in int8 arithmetic (`sweep_int8.h`):
/// each quantizes its input, multiplies it by its int8 weights with int32 sums (`kernel`: the best
/// path the CPU has, or the one `SWEEP_INT8_KERNEL` names; the same outputs on every path) and
/// writes float outputs; every other layer (activations, pooling, BatchNorm, flatten) runs in
/// float on the network's own parameters and state, inference mode, one layer after another.
public final class QuantizedNetwork {
    /// The float network whose other layers, shapes and parameters are used.
    public let network: Network
    /// The int8 layers, by layer index.
    public let quantized: [Int: QuantizedWeights]
    /// Training samples (evenly spaced through the training split) whose activations set the input scales.
    public static let calibrationSamples = 1024
    /// The int8 path of the matrix products (`Int8Kernel.current` when built); one this CPU runs.
    public var kernel: Int8Kernel = .current

    struct Packed {
        var packed: UnsafeMutablePointer<Int8>, wsum: [Int32], scale: [Float], lda: Int
    }
    var packs: [Int: Packed] = [:]
    /// acts[0] is the input, acts[i + 1] the output of layer i (shared with acts[i] for a reshape).
    var acts: [FloatBuffer] = []
    /// The quantized input of the current layer, and a convolution's int8 im2col rows.
    var qInput = UnsafeMutablePointer<Int8>.allocate(capacity: 1), qCol = UnsafeMutablePointer<Int8>.allocate(capacity: 1)
    var qInputCount = 1, qColCount = 1
    public private(set) var maxBatch = 0

    public init(network: Network, weights: [Int: QuantizedWeights]) {
        self.network = network
        quantized = weights
        for (i, q) in weights {
            let packed = UnsafeMutablePointer<Int8>.allocate(capacity: max(sweep_int8_packed_bytes(q.N, q.K), 1))
            var wsum = [Int32](repeating: 0, count: q.N)
            q.weights.withUnsafeBufferPointer { sweep_int8_pack($0.baseAddress!, packed, &wsum, q.N, q.K) }
            packs[i] = Packed(packed: packed, wsum: wsum, scale: q.weightScale.map { $0 * q.inputScale }, lda: sweep_int8_row_stride(q.K))
        }
    }

    deinit {
        for p in packs.values { p.packed.deallocate() }
        qInput.deallocate(); qCol.deallocate()
    }

    /// Quantizes the dense and conv layers of a trained network, their input scales calibrated on
    /// the samples x (count, features), at most `calibrationSamples` of them evenly spaced through
    /// x (a data set sorted by class still gives every class): the largest magnitude of each such
    /// layer's input over the float forward pass.
    public static func calibrate(_ net: Network, samples x: UnsafePointer<Float>, count: Int) -> QuantizedNetwork {
        let float = QuantizedNetwork(network: net, weights: [:])
        var maxAbs = [Int: Float]()
        let n = min(count, calibrationSamples), f = net.inputShape.reduce(1, *), batch = 256
        float.prepare(maxBatch: batch)
        var lo = 0
        while lo < n {
            let B = min(batch, n - lo)
            for r in 0..<B { (float.input + r * f).update(from: x + (lo + r) * count / n * f, count: f) }
            float.forward(batch: B) { i, inp in
                let size = B * net.layers[i].inputSize
                var m = maxAbs[i] ?? 0
                for j in 0..<size { m = max(m, abs(inp[j])) }
                maxAbs[i] = m
            }
            lo += B
        }
        var weights: [Int: QuantizedWeights] = [:]
        for (i, l) in net.layers.enumerated() {
            let p = net.params.pointer + net.paramOffsets[i]
            let scale = QuantizedWeights.inputScale(maxAbs: maxAbs[i] ?? 0)
            switch l {
            case let d as Dense: weights[i] = QuantizedWeights(w: p, bias: p + d.U * d.D, N: d.U, K: d.D, inputScale: scale)
            case let c as Conv2D: weights[i] = QuantizedWeights(w: p, bias: p + c.K * c.KK, N: c.K, K: c.KK, inputScale: scale)
            default: break
            }
        }
        return QuantizedNetwork(network: net, weights: weights)
    }

    public func prepare(maxBatch: Int) {
        guard maxBatch > self.maxBatch else { return }
        self.maxBatch = maxBatch
        let layers = network.layers
        acts = [FloatBuffer(count: network.inputShape.reduce(1, *) * maxBatch)]
        for (i, l) in layers.enumerated() {
            acts.append(FloatBuffer(count: l.outputSize * maxBatch))
            if quantized[i] == nil { l.prepare(maxBatch: maxBatch) }
        }
        var inputBytes = 1, colBytes = 1
        for (i, q) in quantized {
            inputBytes = max(inputBytes, maxBatch * max(layers[i].inputSize, sweep_int8_row_stride(q.K)))
            if let c = layers[i] as? Conv2D { colBytes = max(colBytes, maxBatch * c.OH * c.OW * sweep_int8_row_stride(q.K)) }
        }
        qInput.deallocate(); qCol.deallocate()
        qInput = .allocate(capacity: inputBytes); qCol = .allocate(capacity: colBytes)
        qInputCount = inputBytes; qColCount = colBytes
    }

    /// The input buffer of the next forward pass: (B, features).
    public var input: UnsafeMutablePointer<Float> { acts[0].pointer }
    /// The output of the last forward pass: (B, outputs).
    public var output: UnsafeMutablePointer<Float> { acts[network.layers.count].pointer }

    /// One inference pass over B samples in `input`. `observe(i, inp)` sees the input of every
    /// dense and conv layer i that runs in float (calibration: every one of them).
    public func forward(batch B: Int, observe: ((Int, UnsafePointer<Float>) -> Void)? = nil) {
        precondition(B <= maxBatch)
        let net = network
        var ctx = PassContext(training: false, rng: SweepRandom(seed: 0))
        for (i, l) in net.layers.enumerated() {
            let inp = acts[i].pointer, out = acts[i + 1].pointer
            guard let q = quantized[i], let pk = packs[i] else {
                if l is Dense || l is Conv2D { observe?(i, inp) }
                l.forward(out, inp, net.params.pointer + net.paramOffsets[i], net.state.pointer + net.stateOffsets[i], batch: B, ctx: &ctx)
                continue
            }
            var ran: Int32 = 0
            q.weights.withUnsafeBufferPointer { w in
                q.bias.withUnsafeBufferPointer { bias in
                    pk.scale.withUnsafeBufferPointer { scale in
                        if let c = l as? Conv2D {
                            // int8 image (B,H,W,C) → rows (B*OH*OW, lda) → out (B*OH*OW, K)
                            sweep_quantize_s8(inp, qInput, B * c.H * c.W, c.C, c.C, q.inputScale)
                            sweep_im2col_s8(qInput, qCol, pk.lda, Int32(B), Int32(c.H), Int32(c.W), Int32(c.C), Int32(c.KH), Int32(c.KW),
                                            Int32(c.stride), Int32(c.padTop), Int32(c.padLeft), Int32(c.OH), Int32(c.OW))
                            ran = sweep_int8_gemm(qCol, pk.lda, w.baseAddress!, pk.packed, pk.wsum, scale.baseAddress!, bias.baseAddress!,
                                                  out, B * c.OH * c.OW, q.N, q.K, kernel.code)
                        } else {
                            // int8 input (B, lda) → out (B, U)
                            sweep_quantize_s8(inp, qInput, B, q.K, pk.lda, q.inputScale)
                            ran = sweep_int8_gemm(qInput, pk.lda, w.baseAddress!, pk.packed, pk.wsum, scale.baseAddress!, bias.baseAddress!,
                                                  out, B, q.N, q.K, kernel.code)
                        }
                    }
                }
            }
            precondition(ran != 0, "this CPU cannot run the \(kernel.rawValue) int8 path")
        }
    }

    /// The outputs (count, outputs) for `count` samples in `x` (row-major), `batch` per pass.
    public func predict(_ x: [Float], count B: Int, batch: Int = 256) -> [Float] {
        prepare(maxBatch: batch)
        let f = network.inputShape.reduce(1, *), k = network.outputCount
        var out = [Float]()
        out.reserveCapacity(B * k)
        var lo = 0
        while lo < B {
            let b = min(batch, B - lo)
            x.withUnsafeBufferPointer { input.update(from: $0.baseAddress! + lo * f, count: b * f) }
            forward(batch: b)
            out += UnsafeBufferPointer(start: output, count: b * k)
            lo += b
        }
        return out
    }
}
