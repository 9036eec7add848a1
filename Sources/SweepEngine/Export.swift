import Foundation
import SweepCore
import SweepData

/// Writes a trained model as safetensors (weights) plus JSON (architecture and preprocessing),
/// in PyTorch's conventions: Linear weights (out, in), Conv2d weights (K, C, KH, KW), images
/// NCHW. The JSON lists the layers as a torch.nn.Sequential would hold them; tensors are named
/// `<index>.weight`, `<index>.bias`, `<index>.running_mean`, `<index>.running_var`. Its
/// `preprocessing` (`Preprocessing`) turns raw inputs into the model's, `class_names` names the
/// outputs in order, and `config` is the training configuration (what `read` rebuilds).
///
/// A quantized model (`QuantizedNetwork`) stores each dense and conv weight as int8 (dtype I8, the
/// same layout) with `<index>.weight_scale` (F32, one per output channel: weight ≈ int8 ·
/// weight_scale) and `<index>.input_scale` (F32, shape [1]: the layer's input is taken as
/// clamp(round(x / input_scale), -127, 127) · input_scale); biases stay F32. Its JSON has
/// `"compression": {"quantize": "int8", ...}` and `"sparsity"` when pruned (`scripts/sweep_torch.py`
/// loads either kind).
public enum ModelExport {
    public static func write(trainer: Trainer, to base: String) throws {
        let stem = base.hasSuffix(".safetensors") ? String(base.dropLast(".safetensors".count)) : base
        let d = describe(trainer.network, quantized: trainer.quantized)
        var archWithInput = d.architecture
        archWithInput["name"] = trainer.config.name
        archWithInput["task"] = trainer.splits.train.task.rawValue
        archWithInput["classes"] = trainer.splits.train.classCount
        archWithInput["class_names"] = trainer.splits.train.classList ?? NSNull()
        archWithInput["preprocessing"] = try jsonObject(trainer.splits.preprocessing(trainer.config.dataset))
        archWithInput["config"] = try jsonObject(trainer.config)
        if let c = trainer.config.compression {
            var m: [String: Any] = ["quantize": trainer.quantized == nil ? "none" : c.quantize.rawValue]
            if c.prune != nil { m["sparsity"] = PruningMask.sparsity(of: trainer.network) }
            archWithInput["compression"] = m
        }
        let dir = (stem as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try Safetensors.write(d.tensors, int8: d.int8, metadata: ["format": "pt", "producer": "sweep"], to: stem + ".safetensors")
        let json = try JSONSerialization.data(withJSONObject: archWithInput, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: stem + ".json"))
        // A reference batch (preprocessed test inputs, channels-last, and the model's outputs), so a
        // port of the model can be checked against Sweep's own predictions.
        let test = trainer.splits.test
        let n = min(16, test.count), f = test.featureCount
        let inputs = Array(test.features.prefix(n * f))
        let outputs = trainer.quantized?.predict(inputs, count: n) ?? trainer.predict(inputs, count: n)
        let k = trainer.network.outputCount
        let ref: [String: Any] = [
            "inputs": (0..<n).map { i in inputs[(i * f)..<((i + 1) * f)].map(Double.init) },
            "outputs": (0..<n).map { i in outputs[(i * k)..<((i + 1) * k)].map(Double.init) },
        ]
        try JSONSerialization.data(withJSONObject: ref).write(to: URL(fileURLWithPath: stem + ".predictions.json"))
    }

    /// The size of the safetensors file `write` would write for this model.
    public static func safetensorsBytes(_ net: Network, quantized: QuantizedNetwork?) -> Int {
        let d = describe(net, quantized: quantized)
        return Safetensors.encode(d.tensors, int8: d.int8, metadata: ["format": "pt", "producer": "sweep"]).count
    }

    static func jsonObject<T: Encodable>(_ v: T) throws -> Any {
        try JSONSerialization.jsonObject(with: try JSONEncoder().encode(v))
    }

    /// A model written by `write`: the network with its trained weights (dequantized for an int8
    /// model, which `quantized` runs), ready to predict.
    public struct Exported {
        public var network: Network
        public var quantized: QuantizedNetwork?
        public var preprocessing: Preprocessing
        public var config: TrialConfig

        /// The outputs (count, outputs) for `count` samples in `x`, by the int8 model when there is one.
        public func predict(_ x: [Float], count: Int) -> [Float] {
            quantized?.predict(x, count: count) ?? network.predict(x, count: count)
        }
    }

    /// Reads `STEM.json` and `STEM.safetensors` back into a network (the inverse of `write`).
    public static func read(_ stem: String) throws -> Exported {
        let jsonPath = stem + ".json"
        guard let data = FileManager.default.contents(atPath: jsonPath) else { throw InputError(file: jsonPath, "no such file") }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let configJSON = root["config"], let prepJSON = root["preprocessing"] else {
            throw InputError(file: jsonPath, "not a model description with its preprocessing (written by an older Sweep? run `sweep replay` again)")
        }
        let config: TrialConfig, prep: Preprocessing
        do {
            config = try JSONDecoder().decode(TrialConfig.self, from: try JSONSerialization.data(withJSONObject: configJSON))
            prep = try JSONDecoder().decode(Preprocessing.self, from: try JSONSerialization.data(withJSONObject: prepJSON))
        } catch { throw InputError(file: jsonPath, "corrupt model description: \(error)") }
        let outputs = prep.task == .classification ? prep.classes?.count ?? 0 : 1
        let layers = try NetworkBuilder.build(config.layers, input: prep.inputShape, outputs: outputs, file: jsonPath)
        let net = Network(layers: layers, inputShape: prep.inputShape, precision: config.training.precision ?? .fp32)
        let file = stem + ".safetensors"
        var tensors = try Safetensors.read(file)
        let int8Layers = net.layers.indices.filter { tensors["\($0).weight_scale"] != nil }
        guard !int8Layers.isEmpty else {
            try restore(net, from: tensors, file: file)
            return Exported(network: net, quantized: nil, preprocessing: prep, config: config)
        }
        // The int8 values go through `restore` into a second network (their layout changes as the
        // float weights' do), the dequantized ones into `net`.
        let raw = Network(layers: try NetworkBuilder.build(config.layers, input: prep.inputShape, outputs: outputs, file: jsonPath),
                          inputShape: prep.inputShape)
        try restore(raw, from: tensors, file: file)
        var weights: [Int: QuantizedWeights] = [:]
        for i in int8Layers {
            let (N, K): (Int, Int)
            switch net.layers[i] {
            case let d as Dense: (N, K) = (d.U, d.D)
            case let c as Conv2D: (N, K) = (c.K, c.KK)
            default: throw InputError(file: file, field: "\(i).weight_scale", "layer \(i) is not a dense or conv layer")
            }
            guard let (ss, scale) = tensors["\(i).weight_scale"], ss == [N] else {
                throw InputError(file: file, field: "\(i).weight_scale", "needs shape [\(N)]")
            }
            guard let (si, input) = tensors["\(i).input_scale"], si == [1], input[0] > 0 else {
                throw InputError(file: file, field: "\(i).input_scale", "missing, or not one positive number of shape [1]")
            }
            let p = raw.params.pointer + raw.paramOffsets[i]
            let q = (0..<(N * K)).map { Int8(p[$0]) }
            weights[i] = QuantizedWeights(N: N, K: K, weights: q, weightScale: scale,
                                          bias: Array(UnsafeBufferPointer(start: p + N * K, count: N)), inputScale: input[0])
            // PyTorch layout: the output channel is the first dimension.
            if let (shape, w) = tensors["\(i).weight"] {
                tensors["\(i).weight"] = (shape, w.indices.map { w[$0] * scale[$0 / K] })
            }
        }
        try restore(net, from: tensors, file: file)
        return Exported(network: net, quantized: QuantizedNetwork(network: net, weights: weights), preprocessing: prep, config: config)
    }

    /// Copies PyTorch-layout tensors (as `describe` names and lays them out) into the network.
    static func restore(_ net: Network, from tensors: [String: ([Int], [Float])], file: String) throws {
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let (s, v) = tensors[name] else { throw InputError(file: file, field: name, "the tensor is missing") }
            guard s == shape else { throw InputError(file: file, field: name, "has shape \(s); the model needs \(shape)") }
            return v
        }
        func copy(_ v: [Float], to p: UnsafeMutablePointer<Float>) { v.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: v.count) } }
        var spatialBeforeFlatten: [Int]? = nil
        for (i, l) in net.layers.enumerated() {
            let p = net.params.pointer + net.paramOffsets[i]
            let s = net.state.pointer + net.stateOffsets[i]
            switch l {
            case let d as Dense:
                let t = try tensor("\(i).weight", [d.U, d.D])
                if let sp = spatialBeforeFlatten {
                    let (H, W, C) = (sp[0], sp[1], sp[2])
                    for u in 0..<d.U { for h in 0..<H { for x in 0..<W { for c in 0..<C {
                        p[u * d.D + (h * W + x) * C + c] = t[u * d.D + c * H * W + h * W + x]
                    } } } }
                    spatialBeforeFlatten = nil
                } else {
                    copy(t, to: p)
                }
                copy(try tensor("\(i).bias", [d.U]), to: p + d.U * d.D)
            case let c as Conv2D:
                let t = try tensor("\(i).weight", [c.K, c.C, c.KH, c.KW])
                for k in 0..<c.K { for kh in 0..<c.KH { for kw in 0..<c.KW { for ch in 0..<c.C {
                    p[((k * c.KH + kh) * c.KW + kw) * c.C + ch] = t[((k * c.C + ch) * c.KH + kh) * c.KW + kw]
                } } } }
                copy(try tensor("\(i).bias", [c.K]), to: p + c.K * c.KK)
            case let f as Flatten:
                spatialBeforeFlatten = f.inputShape
            case let b as BatchNorm:
                copy(try tensor("\(i).weight", [b.C]), to: p)
                copy(try tensor("\(i).bias", [b.C]), to: p + b.C)
                copy(try tensor("\(i).running_mean", [b.C]), to: s)
                copy(try tensor("\(i).running_var", [b.C]), to: s + b.C)
            default:
                break
            }
        }
    }

    /// Tensors in PyTorch layout, the names of those stored as int8, and the architecture.
    public struct Description {
        public var tensors: [(String, [Int], [Float])]
        public var int8: Set<String>
        public var architecture: [String: Any]
    }

    /// The model's tensors and architecture; with `quantized`, its int8 layers' weights (as the
    /// int8 values), scales and float biases.
    public static func describe(_ net: Network, quantized: QuantizedNetwork? = nil) -> Description {
        var tensors: [(String, [Int], [Float])] = []
        var int8: Set<String> = []
        var layers: [[String: Any]] = []
        var shape = net.inputShape  // ours: (H, W, C) or (D)
        var spatialBeforeFlatten: [Int]? = nil
        for (i, l) in net.layers.enumerated() {
            let p = net.params.pointer + net.paramOffsets[i]
            let s = net.state.pointer + net.stateOffsets[i]
            let idx = layers.count
            func addScales(_ q: QuantizedWeights) {
                int8.insert("\(idx).weight")
                tensors.append(("\(idx).weight_scale", [q.N], q.weightScale))
                tensors.append(("\(idx).input_scale", [1], [q.inputScale]))
            }
            switch l {
            case let d as Dense:
                let q = quantized?.quantized[i]
                var w = q.map { $0.weights.map(Float.init) } ?? Array(UnsafeBufferPointer(start: p, count: d.U * d.D))
                if let sp = spatialBeforeFlatten {
                    // Our flatten is (H, W, C); PyTorch's is (C, H, W): permute the columns.
                    let (H, W, C) = (sp[0], sp[1], sp[2])
                    var t = w
                    for u in 0..<d.U { for h in 0..<H { for x in 0..<W { for c in 0..<C {
                        t[u * d.D + c * H * W + h * W + x] = w[u * d.D + (h * W + x) * C + c]
                    } } } }
                    w = t
                    spatialBeforeFlatten = nil
                }
                tensors.append(("\(idx).weight", [d.U, d.D], w))
                tensors.append(("\(idx).bias", [d.U], q?.bias ?? Array(UnsafeBufferPointer(start: p + d.U * d.D, count: d.U))))
                if let q { addScales(q) }
                layers.append(["type": "linear", "in_features": d.D, "out_features": d.U])
            case let c as Conv2D:
                let q = quantized?.quantized[i]
                let ours = q.map { $0.weights.map(Float.init) } ?? Array(UnsafeBufferPointer(start: p, count: c.K * c.KK))
                var w = [Float](repeating: 0, count: c.K * c.C * c.KH * c.KW)
                for k in 0..<c.K { for kh in 0..<c.KH { for kw in 0..<c.KW { for ch in 0..<c.C {
                    w[((k * c.C + ch) * c.KH + kh) * c.KW + kw] = ours[((k * c.KH + kh) * c.KW + kw) * c.C + ch]
                } } } }
                tensors.append(("\(idx).weight", [c.K, c.C, c.KH, c.KW], w))
                tensors.append(("\(idx).bias", [c.K], q?.bias ?? Array(UnsafeBufferPointer(start: p + c.K * c.KK, count: c.K))))
                if let q { addScales(q) }
                let padH = max((c.OH - 1) * c.stride + c.KH - c.H, 0), padW = max((c.OW - 1) * c.stride + c.KW - c.W, 0)
                layers.append(["type": "conv2d", "in_channels": c.C, "out_channels": c.K, "kernel_size": c.KH, "stride": c.stride,
                               // left, right, top, bottom (torch.nn.functional.pad order)
                               "pad": c.padding == .same ? [c.padLeft, padW - c.padLeft, c.padTop, padH - c.padTop] : [0, 0, 0, 0]])
            case let m as MaxPool2D:
                layers.append(["type": "maxpool2d", "kernel_size": m.size, "stride": m.stride])
            case let a as AvgPool2D:
                layers.append(["type": "avgpool2d", "kernel_size": a.size, "stride": a.stride])
            case is GlobalAvgPool:
                layers.append(["type": "global_avgpool"])
            case let f as Flatten:
                spatialBeforeFlatten = f.inputShape
                layers.append(["type": "flatten"])
            case let d as Dropout:
                layers.append(["type": "dropout", "p": Double(d.rate)])
            case let b as BatchNorm:
                tensors.append(("\(idx).weight", [b.C], Array(UnsafeBufferPointer(start: p, count: b.C))))
                tensors.append(("\(idx).bias", [b.C], Array(UnsafeBufferPointer(start: p + b.C, count: b.C))))
                tensors.append(("\(idx).running_mean", [b.C], Array(UnsafeBufferPointer(start: s, count: b.C))))
                tensors.append(("\(idx).running_var", [b.C], Array(UnsafeBufferPointer(start: s + b.C, count: b.C))))
                layers.append(["type": b.inputShape.count == 3 ? "batchnorm2d" : "batchnorm1d", "num_features": b.C, "eps": Double(b.eps), "momentum": Double(b.momentum)])
            case let a as Activation:
                layers.append(["type": a.fn.rawValue])
            default:
                layers.append(["type": l.kind])
            }
            shape = l.outputShape
        }
        let input: [Int] = net.inputShape.count == 3 ? [net.inputShape[2], net.inputShape[0], net.inputShape[1]] : net.inputShape
        return Description(tensors: tensors, int8: int8,
                           architecture: ["input_shape": input, "input_layout": net.inputShape.count == 3 ? "NCHW" : "NC",
                                          "layers": layers, "outputs": shape.reduce(1, *)])
    }
}

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to {dtype, shape, data_offsets}, then the raw little-endian data.
public enum Safetensors {
    /// Writes the tensors as F32, those named in `int8` as I8 (their values must be whole numbers
    /// in -128...127).
    public static func write(_ tensors: [(String, [Int], [Float])], int8: Set<String> = [], metadata: [String: String], to path: String) throws {
        try encode(tensors, int8: int8, metadata: metadata).write(to: URL(fileURLWithPath: path))
    }

    /// The bytes of the file `write` writes.
    public static func encode(_ tensors: [(String, [Int], [Float])], int8: Set<String> = [], metadata: [String: String]) -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for (name, shape, values) in tensors {
            precondition(shape.reduce(1, *) == values.count)
            let width = int8.contains(name) ? 1 : 4
            header[name] = ["dtype": width == 1 ? "I8" : "F32", "shape": shape, "data_offsets": [offset, offset + values.count * width]]
            offset += values.count * width
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for (name, _, values) in tensors {
            if int8.contains(name) {
                out.append(contentsOf: values.map { v -> UInt8 in
                    precondition(v == v.rounded() && v >= -128 && v <= 127, "\(name): \(v) is not an int8 value")
                    return UInt8(bitPattern: Int8(v))
                })
            } else {
                values.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// Reads a safetensors file of F32 and I8 tensors: name → (shape, values) (I8 values as floats).
    public static func read(_ path: String) throws -> [String: ([Int], [Float])] {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 8 else { throw InputError(file: path, "not a safetensors file") }
        let n = data.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard n > 0, 8 + n <= data.count,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] else {
            throw InputError(file: path, "corrupt safetensors header")
        }
        var out: [String: ([Int], [Float])] = [:]
        for (name, v) in header where name != "__metadata__" {
            guard let d = v as? [String: Any], let dtype = d["dtype"] as? String, dtype == "F32" || dtype == "I8",
                  let shape = d["shape"] as? [Int], let off = d["data_offsets"] as? [Int], off.count == 2, off[0] <= off[1],
                  8 + n + off[1] <= data.count, off[1] - off[0] == shape.reduce(1, *) * (dtype == "I8" ? 1 : 4) else {
                throw InputError(file: path, field: name, "unsupported or corrupt tensor entry (Sweep reads F32 and I8 tensors)")
            }
            let bytes = data.subdata(in: (8 + n + off[0])..<(8 + n + off[1]))
            out[name] = (shape, dtype == "I8" ? bytes.map { Float(Int8(bitPattern: $0)) }
                                              : bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
        }
        return out
    }
}

/// Checkpoint files: "SWEEPCK1", the JSON header length (UInt64 LE), the JSON of the checkpoint
/// without its float buffers, then params, state and optimizer state as raw Float32.
/// Written to a temporary file and renamed, so a crash never leaves half a checkpoint.
public enum CheckpointFile {
    struct Header: Codable {
        var checkpoint: Trainer.Checkpoint
        var counts: [Int]
    }

    public static func write(_ c: Trainer.Checkpoint, to path: String) throws {
        var light = c
        light.params = []; light.state = []; light.optimizerState = []
        let header = try JSONEncoder().encode(Header(checkpoint: light, counts: [c.params.count, c.state.count, c.optimizerState.count]))
        var out = Data("SWEEPCK1".utf8)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(header)
        for buf in [c.params, c.state, c.optimizerState] { buf.withUnsafeBytes { out.append(contentsOf: $0) } }
        // Written beside it and renamed over it (rename(2) replaces atomically): a reader or a
        // process killed meanwhile sees the old checkpoint or the new one, never a part. The
        // temporary file is this process's own: on a folder shared by hosts, the process of a
        // host taken for dead may still write beside the one that continues the trial.
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
        try out.write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, path) == 0 else {
            throw RuntimeFailure("cannot write the checkpoint \(path): \(String(cString: strerror(errno)))")
        }
    }

    public static func read(_ path: String) throws -> Trainer.Checkpoint {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError(file: path, "no such checkpoint file") }
        guard data.count >= 16, data.prefix(8) == Data("SWEEPCK1".utf8) else { throw InputError(file: path, "not a Sweep checkpoint") }
        let n = data.subdata(in: 8..<16).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard n > 0, 16 + n <= data.count else { throw InputError(file: path, "truncated checkpoint") }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: data.subdata(in: 16..<(16 + n))) }
        catch { throw InputError(file: path, "corrupt checkpoint header") }
        var c = header.checkpoint
        var at = 16 + n
        var bufs: [[Float]] = []
        for count in header.counts {
            guard count >= 0, at + count * 4 <= data.count else { throw InputError(file: path, "truncated checkpoint") }
            bufs.append(data.subdata(in: at..<(at + count * 4)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
            at += count * 4
        }
        guard bufs.count == 3 else { throw InputError(file: path, "corrupt checkpoint") }
        c.params = bufs[0]; c.state = bufs[1]; c.optimizerState = bufs[2]
        return c
    }
}
