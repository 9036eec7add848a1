import Foundation
import SweepCore

/// Fine-tuning: a network starts from another model's trained weights (`TransferSpec`).
///
/// Layers are matched by their index in the model files' `layers` lists (the output layer the
/// engine appends is index `layers.count` in both): a dense or conv layer with its batchnorm, or a
/// batchnorm layer, is loaded when the source's layer of the same index has parameters of the
/// same kinds and shapes (units, filters, kernel, input size), copied bit for bit in the engine's
/// layout (and a batchnorm's running statistics). Other layers keep `initialization`. A frozen
/// layer must be loaded; its parameters are put back after every optimizer step, so they end
/// bit-for-bit as loaded (its batchnorm's running statistics still follow the data, as in
/// PyTorch with `requires_grad = False`). Nothing loaded at all is an error: the source is
/// another model.
public enum WeightTransfer {
    /// Loads what matches from the model at `spec.weights ?? spec.from` into `net` (built from
    /// `layers`); returns the frozen parameters to hold.
    public static func load(_ spec: TransferSpec, into net: Network, layers: [LayerSpec], file: String) throws -> FrozenWeights {
        let stem = spec.weights ?? (spec.from.hasSuffix(".safetensors") ? String(spec.from.dropLast(".safetensors".count)) : spec.from)
        let source: ModelExport.Exported
        do { source = try ModelExport.read(stem) } catch {
            throw InputError(file: file, field: "model.init.from", "cannot read the weights of '\(spec.from)' (\(error))")
        }
        let ours = groups(layers, net), theirs = groups(source.config.layers, source.network)
        var loaded: Set<Int> = []
        for (j, group) in ours.enumerated() where j < theirs.count && shapes(group, net) == shapes(theirs[j], source.network) {
            for (i, k) in zip(group, theirs[j]) {
                let l = net.layers[i]
                (net.params.pointer + net.paramOffsets[i]).update(from: source.network.params.pointer + source.network.paramOffsets[k], count: l.parameterCount)
                (net.state.pointer + net.stateOffsets[i]).update(from: source.network.state.pointer + source.network.stateOffsets[k], count: l.stateCount)
            }
            loaded.insert(j)
        }
        guard !loaded.isEmpty else {
            throw InputError(file: file, field: "model.init.from", "no layer of '\(spec.from)' matches this model: \(describe(ours, net)) here, \(describe(theirs, source.network)) there")
        }
        var ranges: [Range<Int>] = []
        for j in spec.freeze {
            guard loaded.contains(j) else {
                let here = j < ours.count ? describe([ours[j]], net) : "nothing", there = j < theirs.count ? describe([theirs[j]], source.network) : "nothing"
                throw InputError(file: file, field: "model.init.freeze", "layer \(j) is \(here) here and \(there) in '\(spec.from)': only a loaded layer can be frozen")
            }
            for i in ours[j] { ranges.append(net.paramOffsets[i]..<(net.paramOffsets[i] + net.layers[i].parameterCount)) }
        }
        return FrozenWeights(net.params.pointer, ranges: ranges)
    }

    /// For each model-file layer (then the output layer), the engine layers holding its parameters:
    /// a dense or conv layer and its batchnorm, or a batchnorm layer; empty for the others.
    static func groups(_ layers: [LayerSpec], _ net: Network) -> [[Int]] {
        var parameterized = net.layers.indices.filter { net.layers[$0].parameterCount > 0 }[...]
        var out: [[Int]] = []
        for s in layers {
            var g: [Int] = []
            switch s.type {
            case .dense, .conv2d:
                if let i = parameterized.popFirst() { g.append(i) }
                if s.batchnorm == true, let i = parameterized.popFirst() { g.append(i) }
            case .batchnorm:
                if let i = parameterized.popFirst() { g.append(i) }
            default: break
            }
            out.append(g)
        }
        out.append(Array(parameterized))   // the output layer
        return out
    }

    /// The parameter shapes of a group: kind and dimensions of each engine layer.
    static func shapes(_ group: [Int], _ net: Network) -> [String] {
        group.map { i in
            switch net.layers[i] {
            case let d as Dense: return "dense \(d.D)->\(d.U)"
            case let c as Conv2D: return "conv \(c.KH)x\(c.KW) \(c.C)->\(c.K)"
            case let b as BatchNorm: return "batchnorm \(b.C)"
            case let l: return "\(l.kind) \(l.parameterCount)"
            }
        }
    }

    static func describe(_ groups: [[Int]], _ net: Network) -> String {
        let s = groups.map { shapes($0, net).joined(separator: " + ") }.filter { !$0.isEmpty }
        return s.isEmpty ? "no parameters" : s.joined(separator: ", ")
    }
}

/// Parameters held at the values they had when this was made (frozen layers, `WeightTransfer`).
public struct FrozenWeights {
    /// Flat parameter index ranges and their values.
    let ranges: [Range<Int>]
    let values: [[Float]]

    init(_ params: UnsafeMutablePointer<Float>, ranges: [Range<Int>]) {
        self.ranges = ranges
        values = ranges.map { Array(UnsafeBufferPointer(start: params + $0.lowerBound, count: $0.count)) }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Puts the frozen parameters back (after an optimizer step).
    func apply(_ params: UnsafeMutablePointer<Float>) {
        for (r, v) in zip(ranges, values) { v.withUnsafeBufferPointer { (params + r.lowerBound).update(from: $0.baseAddress!, count: r.count) } }
    }
}
