import SweepCore
import SweepData

/// A sequence of layers over one flat parameter buffer, one flat gradient buffer and one flat
/// state buffer, each layer owning a slice at a fixed offset (llm.c's layout, with a list of layers
/// instead of a fixed struct, because depth and widths vary per trial).
public final class Network {
    public let layers: [Layer]
    public let inputShape: [Int]
    public let outputCount: Int
    public let paramOffsets: [Int]
    public let stateOffsets: [Int]
    public let params: FloatBuffer
    public let grads: FloatBuffer
    public let state: FloatBuffer
    /// acts[0] is the batch input, acts[i + 1] the output of layer i (empty for a convolution
    /// fused with its pool). dacts likewise.
    var acts: [FloatBuffer] = []
    var dacts: [FloatBuffer] = []
    public private(set) var maxBatch = 0
    /// Whether layer i must compute its input gradient: only if a layer before it has parameters.
    let needsInputGradient: [Bool]
    /// A convolution run together with the 2x2 max-pool that follows it and, when `relu`, the
    /// ReLU after the pool (`Conv2D.forwardPooled`, `Conv2D.backwardPooled`): the pool's and the
    /// ReLU's own passes are skipped, and so are their buffers but the last one's.
    struct FusedPool {
        let conv: Conv2D, pool: MaxPool2D, relu: Bool
        /// Layers in the group: the convolution, the pool and perhaps the ReLU.
        var count: Int { relu ? 3 : 2 }
    }
    /// fusedPool[i]: layer i is the convolution of a fused group.
    let fusedPool: [FusedPool?]
    /// fusedEnd[i]: layer i is the last layer of the fused group of convolution fusedEnd[i].
    let fusedEnd: [Int?]
    /// fusedReLU[i]: layer i is a Dense layer run together with the ReLU after it (`Dense.forwardReLU`;
    /// backward: the ReLU's gradient masked by the group's output, then `Dense.backward`). The
    /// ReLU's own pass and the Dense layer's output buffer are skipped.
    let fusedReLU: [Dense?]

    public var parameterCount: Int { params.count }

    /// `precision`: that of the layers' matrix products. `fuse: false` runs every layer on its own
    /// (the tests compare the two).
    public init(layers: [Layer], inputShape: [Int], precision: Precision = .fp32, fuse: Bool = true) {
        self.layers = layers
        for l in layers { l.usePrecision(precision) }
        self.inputShape = inputShape
        outputCount = layers.last?.outputSize ?? inputShape.reduce(1, *)
        var po = [Int](), so = [Int](), p = 0, s = 0
        for l in layers { po.append(p); so.append(s); p += l.parameterCount; s += l.stateCount }
        paramOffsets = po; stateOffsets = so
        params = FloatBuffer(count: p); grads = FloatBuffer(count: p); state = FloatBuffer(count: s)
        var seenParams = false
        needsInputGradient = layers.map { l in
            defer { seenParams = seenParams || l.parameterCount > 0 }
            return seenParams
        }
        let needs = needsInputGradient
        let groups: [FusedPool?] = layers.indices.map { i in
            guard fuse, i + 1 < layers.count, let conv = layers[i] as? Conv2D, let pool = layers[i + 1] as? MaxPool2D,
                  conv.fusesPool(pool, needsInputGradient: needs[i]) else { return nil }
            let relu = i + 2 < layers.count && (layers[i + 2] as? Activation)?.fn == .relu
            return FusedPool(conv: conv, pool: pool, relu: relu)
        }
        fusedPool = groups
        var ends = [Int?](repeating: nil, count: layers.count)
        for (i, g) in groups.enumerated() { if let g { ends[i + g.count - 1] = i } }
        fusedEnd = ends
        fusedReLU = layers.indices.map { i in
            guard fuse, i + 1 < layers.count, let dense = layers[i] as? Dense,
                  (layers[i + 1] as? Activation)?.fn == .relu else { return nil }
            return dense
        }
    }

    public func initialize(seed: UInt64, scheme: InitScheme) {
        for (i, l) in layers.enumerated() {
            // Each layer draws from its own stream: changing one layer never reshuffles another's.
            var rng = SweepRandom(seed: SeedSequence.derive(seed, SeedSequence.label("init"), UInt64(i)))
            l.initialize(params.pointer + paramOffsets[i], state.pointer + stateOffsets[i], rng: &rng, scheme: scheme)
        }
    }

    public func prepare(maxBatch: Int) {
        guard maxBatch > self.maxBatch else { return }
        self.maxBatch = maxBatch
        let sizes = [inputShape.reduce(1, *)] + layers.map(\.outputSize)
        // Inside a fused group, layers write no output and read no gradient: only the group's last.
        var inner = Set<Int>()
        for (c, g) in fusedPool.enumerated() { if let g { inner.formUnion(c..<(c + g.count - 1)) } }
        acts = []; dacts = []
        for (i, size) in sizes.enumerated() {
            if i > 0 && inner.contains(i - 1) { acts.append(FloatBuffer(count: 0)); dacts.append(FloatBuffer(count: 0)); continue }
            // A Dense layer fused with its ReLU writes no output, but its output gradient is needed.
            let written = i == 0 || fusedReLU[i - 1] == nil
            acts.append(FloatBuffer(count: written ? size * maxBatch : 0)); dacts.append(FloatBuffer(count: size * maxBatch))
        }
        for l in layers { l.prepare(maxBatch: maxBatch) }
    }

    /// The input buffer of the next forward pass: (B, inputSize).
    public var input: UnsafeMutablePointer<Float> { acts[0].pointer }
    /// The output of the last forward pass: (B, outputCount).
    public var output: UnsafeMutablePointer<Float> { acts[layers.count].pointer }
    /// Where the loss writes d(loss)/d(output) before `backward`.
    public var outputGradient: UnsafeMutablePointer<Float> { dacts[layers.count].pointer }

    /// The outputs (count, outputCount) for `count` samples in `x` (row-major), in inference mode,
    /// `batch` samples per forward pass.
    public func predict(_ x: [Float], count B: Int, batch: Int = 256) -> [Float] {
        prepare(maxBatch: batch)
        let f = inputShape.reduce(1, *)
        var out = [Float]()
        out.reserveCapacity(B * outputCount)
        var ctx = PassContext(training: false, rng: SweepRandom(seed: 0))
        var lo = 0
        while lo < B {
            let b = min(batch, B - lo)
            x.withUnsafeBufferPointer { input.update(from: $0.baseAddress! + lo * f, count: b * f) }
            forward(batch: b, ctx: &ctx)
            out += UnsafeBufferPointer(start: output, count: b * outputCount)
            lo += b
        }
        return out
    }

    public func forward(batch B: Int, ctx: inout PassContext) {
        precondition(B <= maxBatch)
        var i = 0
        while i < layers.count {
            if let g = fusedPool[i] {
                g.conv.forwardPooled(acts[i + g.count].pointer, acts[i].pointer, params.pointer + paramOffsets[i], pool: g.pool,
                                     relu: g.relu, batch: B)
                i += g.count
                continue
            }
            if let dense = fusedReLU[i] {
                dense.forwardReLU(acts[i + 2].pointer, acts[i].pointer, params.pointer + paramOffsets[i], batch: B)
                i += 2
                continue
            }
            layers[i].forward(acts[i + 1].pointer, acts[i].pointer, params.pointer + paramOffsets[i],
                              state.pointer + stateOffsets[i], batch: B, ctx: &ctx)
            i += 1
        }
    }

    public func backward(batch B: Int) {
        var i = layers.count - 1
        while i >= 0 {
            if let c = fusedEnd[i], let g = fusedPool[c] {  // layer i ends a fused group
                g.conv.backwardPooled(needsInputGradient[c] ? dacts[c].pointer : nil, grads.pointer + paramOffsets[c],
                                      dacts[i + 1].pointer, acts[c].pointer, params.pointer + paramOffsets[c], pool: g.pool, batch: B)
                i = c - 1
                continue
            }
            if i > 0, let dense = fusedReLU[i - 1] {  // layer i is the ReLU of a fused Dense layer
                let d = i - 1
                Kernels.reluBackward(dacts[i].pointer, dacts[i + 1].pointer, acts[i + 1].pointer, count: B * dense.U)
                dense.backward(needsInputGradient[d] ? dacts[d].pointer : nil, grads.pointer + paramOffsets[d], dacts[i].pointer,
                               acts[d].pointer, acts[i + 1].pointer, params.pointer + paramOffsets[d], batch: B)
                i = d - 1
                continue
            }
            layers[i].backward(needsInputGradient[i] ? dacts[i].pointer : nil, grads.pointer + paramOffsets[i], dacts[i + 1].pointer,
                               acts[i].pointer, acts[i + 1].pointer, params.pointer + paramOffsets[i], batch: B)
            i -= 1
        }
    }
}

/// Builds the engine's layers from a model file's layer list, appending the output head
/// (a Dense layer with one unit per class, or one for regression) and the flattening it needs.
///
/// A ReLU directly followed by a max-pool is built as the max-pool followed by the ReLU: relu is
/// non-decreasing, so max(relu(x)) = relu(max(x)), and the gradients agree too (a window whose
/// maximum is positive sends its gradient to the same first maximum either way; a window with no
/// positive input gets none either way). The activation then touches size² times fewer values.
/// The exported architecture lists the layers in the order they run.
public enum NetworkBuilder {
    public static func build(_ specs: [LayerSpec], input: [Int], outputs: Int, file: String = "model") throws -> [Layer] {
        var layers: [Layer] = []
        var shape = input
        func add(_ l: Layer) { layers.append(l); shape = l.outputShape }
        func flattenIfSpatial() { if shape.count == 3 { add(Flatten(input: shape)) } }
        func field(_ i: Int, _ k: String) -> String { "model.layers.\(i).\(k)" }
        func needSpatial(_ i: Int, _ s: LayerSpec) throws {
            guard shape.count == 3 else {
                throw InputError(file: file, field: "model.layers.\(i).type",
                                 "\(s.type.rawValue) needs an image input (height, width, channels) but its input is flat (\(shape[0]) features)")
            }
        }
        func positive(_ v: Int?, _ i: Int, _ k: String, default d: Int? = nil) throws -> Int {
            guard let v = v ?? d else { throw InputError(file: file, field: field(i, k), "missing; a whole number of at least 1 is needed") }
            guard v >= 1 else { throw InputError(file: file, field: field(i, k), "\(v) is not accepted; a whole number of at least 1 is needed") }
            return v
        }
        func rate(_ v: Double, _ i: Int, _ k: String) throws -> Float {
            guard v >= 0 && v < 1 else { throw InputError(file: file, field: field(i, k), "\(v) is not accepted; a dropout rate is at least 0 and below 1") }
            return Float(v)
        }
        func tail(_ s: LayerSpec, _ i: Int) throws {
            if s.batchnorm == true { add(BatchNorm(shape: shape)) }
            let act = s.activation ?? .relu
            if act != .linear { add(Activation(act, shape: shape)) }
            if let d = s.dropout, d > 0 { add(Dropout(input: shape, rate: try rate(d, i, "dropout"))) }
        }
        for (i, s) in specs.enumerated() {
            switch s.type {
            case .dense:
                let u = try positive(s.units, i, "units")
                flattenIfSpatial()
                add(Dense(inputs: shape[0], units: u))
                try tail(s, i)
            case .conv2d:
                try needSpatial(i, s)
                let f = try positive(s.filters, i, "filters")
                let k = try positive(s.kernel, i, "kernel", default: 3)
                let st = try positive(s.stride, i, "stride", default: 1)
                let pad = s.padding ?? .same
                if pad == .valid && (k > shape[0] || k > shape[1]) {
                    throw InputError(file: file, field: field(i, "kernel"), "kernel \(k) is larger than its \(shape[0])x\(shape[1]) input with valid padding")
                }
                add(Conv2D(input: shape, filters: f, kernel: k, stride: st, padding: pad))
                try tail(s, i)
            case .maxpool2d, .avgpool2d:
                try needSpatial(i, s)
                let size = try positive(s.size, i, "size", default: 2)
                let st = try positive(s.stride, i, "stride", default: size)
                guard size <= shape[0] && size <= shape[1] else {
                    throw InputError(file: file, field: field(i, "size"), "pool size \(size) is larger than its \(shape[0])x\(shape[1]) input")
                }
                if s.type == .maxpool2d, let relu = layers.last as? Activation, relu.fn == .relu {
                    // relu then max-pool = max-pool then relu, with the same gradients: the
                    // activation runs on the pooled tensor, size² times smaller (see the doc comment).
                    layers.removeLast()
                    add(MaxPool2D(input: relu.inputShape, size: size, stride: st))
                    add(Activation(.relu, shape: shape))
                } else {
                    add(s.type == .maxpool2d ? MaxPool2D(input: shape, size: size, stride: st) as Layer
                                             : AvgPool2D(input: shape, size: size, stride: st))
                }
            case .global_avgpool:
                try needSpatial(i, s)
                add(GlobalAvgPool(input: shape))
            case .flatten:
                flattenIfSpatial()
            case .dropout:
                add(Dropout(input: shape, rate: try rate(s.rate ?? 0.5, i, "rate")))
            case .batchnorm:
                add(BatchNorm(shape: shape))
            case .activation:
                guard let a = s.activation else {
                    throw InputError(file: file, field: field(i, "activation"), "missing; accepted: \(ActivationKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                add(Activation(a, shape: shape))
            }
        }
        flattenIfSpatial()
        add(Dense(inputs: shape[0], units: outputs))
        return layers
    }
}
