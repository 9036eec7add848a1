import Foundation
import SweepCore
import SweepSearch
import SweepStorage

extension SearchRunner {
    /// What keeps `spec` (a file given again, run with `options`) from continuing the stored
    /// study `existing`, each as `WHAT: OLD → NEW` (see `StudySpec.differences`); empty when it
    /// may continue it. The stored study is its text parsed with the overrides it was started
    /// with, and its stored sampler, scheduler and seed.
    public static func differences(existing: StudyRecord, spec: StudySpec, options: RunOptions) -> [String] {
        let storedOptions = existing.runOptionsJSON.flatMap { try? JSONDecoder().decode(RunOptions.self, from: Data($0.utf8)) }
        var old: StudySpec
        do { old = try StudySpec.parse(existing.spaceText, file: existing.spacePath, overrides: storedOptions?.overrides ?? []) } catch {
            return ["the stored search-space file no longer reads (\(error))"]
        }
        let decoder = JSONDecoder()
        if let s = try? decoder.decode(ComponentSpec.self, from: Data(existing.samplerJSON.utf8)) { old.sampler = s }
        if let s = try? decoder.decode(ComponentSpec.self, from: Data(existing.schedulerJSON.utf8)) { old.scheduler = s }
        old.seed = existing.seed
        return old.differences(to: options.applied(to: spec))
    }
}

extension RunOptions {
    /// `spec` with the `--sampler`, `--scheduler` and `--seed` of these options applied.
    public func applied(to spec: StudySpec) -> StudySpec {
        var spec = spec
        if let s = sampler { spec.sampler = ComponentSpec(name: s) }
        if let s = scheduler { spec.scheduler = ComponentSpec(name: s) }
        if let s = seed { spec.seed = s }
        return spec
    }
}
