import CSweepKernels
import SweepCore

// Dimension legend used in every shape comment of the engine:
//   B = batch, D = input features, U = output units,
//   H, W = input height and width, C = input channels,
//   OH, OW = output height and width, K = output channels (filters), KH, KW = kernel size.
// Images are channels-last: a batch of images is (B, H, W, C), row-major.

/// One layer of a network, in the llm.c manner: a forward/backward pair over raw buffers.
///
/// Contract:
/// - A layer owns no trainable numbers. Its parameters live in a slice of the network's one flat
///   parameter buffer (`parameterCount` floats, handed in as `p`), its gradients in the same slice
///   of the flat gradient buffer, and its non-trainable state (BatchNorm's running statistics) in
///   a slice of the flat state buffer (`stateCount` floats).
/// - Shapes are fixed at construction; the batch size `B` may vary per call up to the `maxBatch`
///   given to `prepare`. Caches needed by `backward` (im2col columns, pooling indices, dropout
///   masks, batch statistics) are owned by the layer and written by the last `forward`.
/// - `backward` *overwrites* this layer's parameter gradients (each parameter is used exactly once
///   per step, so no zeroing pass is needed) and *overwrites* `dinp` when it is non-nil (it is nil
///   for the first layer, whose input gradient nobody needs).
/// - Given the same inputs, parameters and random generator state, `forward` and `backward` are
///   bit-for-bit deterministic (single BLAS thread).
public protocol Layer: AnyObject {
    var kind: String { get }
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    var parameterCount: Int { get }
    var stateCount: Int { get }

    /// Writes initial parameters into `p` (and initial state into `s`).
    func initialize(_ p: UnsafeMutablePointer<Float>, _ s: UnsafeMutablePointer<Float>, rng: inout SweepRandom, scheme: InitScheme)
    /// Allocates caches for batches of at most `maxBatch` samples.
    func prepare(maxBatch: Int)
    /// The precision of the layer's matrix products (a layer without any ignores it); set before `prepare`.
    func usePrecision(_ precision: Precision)
    /// out = f(inp; p). `ctx` carries the mode and the random generator (dropout).
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                 _ p: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, batch B: Int, ctx: inout PassContext)
    /// dinp = df/dinp · dout, dp = df/dp · dout (overwritten).
    func backward(_ dinp: UnsafeMutablePointer<Float>?, _ dp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                  _ inp: UnsafePointer<Float>, _ out: UnsafePointer<Float>, _ p: UnsafePointer<Float>, batch B: Int)
}

public extension Layer {
    var stateCount: Int { 0 }
    var inputSize: Int { inputShape.reduce(1, *) }
    var outputSize: Int { outputShape.reduce(1, *) }
    func initialize(_ p: UnsafeMutablePointer<Float>, _ s: UnsafeMutablePointer<Float>, rng: inout SweepRandom, scheme: InitScheme) {}
    func prepare(maxBatch: Int) {}
    func usePrecision(_ precision: Precision) {}
}

public enum InitScheme: String, Codable, Sendable, CaseIterable {
    /// He (Kaiming) normal, fan-in, gain sqrt(2): for ReLU-family networks.
    case he
    /// Xavier (Glorot) uniform: for tanh and sigmoid networks.
    case xavier
}

/// What a forward pass needs besides its buffers.
public struct PassContext {
    public var training: Bool
    public var rng: SweepRandom
    public init(training: Bool, rng: SweepRandom) { self.training = training; self.rng = rng }
}

/// A growable scratch buffer of floats owned by a layer (never shared, never copied).
public final class FloatBuffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var count: Int

    public init(count: Int) {
        self.count = count
        pointer = allocateEngineBuffer(count)
    }

    public func ensure(_ n: Int) {
        guard n > count else { return }
        sweep_free_buffer(pointer)
        pointer = allocateEngineBuffer(n)
        count = n
    }

    public func zero() { pointer.update(repeating: 0, count: count) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    public func load(_ a: [Float]) { precondition(a.count == count); a.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) } }

    deinit { sweep_free_buffer(pointer) }
}

/// Zeroed room for `n` (at least 1) values of T, on huge pages from 1 MB up
/// (`sweep_alloc_buffer`); freed with `sweep_free_buffer`.
func allocateEngineBuffer<T>(_ n: Int) -> UnsafeMutablePointer<T> {
    sweep_alloc_buffer(max(n, 1) * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: max(n, 1))
}

/// Initialization helpers shared by the layers with weights.
enum Init {
    static func fill(_ w: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, fanOut: Int, scheme: InitScheme, rng: inout SweepRandom) {
        switch scheme {
        case .he:
            let std = (2.0 / Double(fanIn)).squareRoot()
            for i in 0..<count { w[i] = Float(rng.nextGaussian() * std) }
        case .xavier:
            let a = (6.0 / Double(fanIn + fanOut)).squareRoot()
            for i in 0..<count { w[i] = Float((rng.nextDouble() * 2 - 1) * a) }
        }
    }
}
