/// A sampler that can be named on the command line (`sweep`, `sweep-bench --samplers`).
public struct SamplerEntry: Sendable {
    public let name: String
    public let make: @Sendable () -> any Sampler
    public init(name: String, make: @escaping @Sendable () -> any Sampler) { self.name = name; self.make = make }
}

/// Every named sampler with its default settings, in the order listings show them.
/// To add one, append an entry; `name` should equal the sampler's own `name`.
public let registeredSamplers: [SamplerEntry] = [
    SamplerEntry(name: "random") { RandomSampler() },
    SamplerEntry(name: "tpe") { TPESampler() },
    SamplerEntry(name: "gp") { GPSampler() },
]

/// The sampler registered under `name` (default settings), or nil.
public func makeSampler(name: String) -> (any Sampler)? {
    registeredSamplers.first { $0.name == name }?.make()
}
