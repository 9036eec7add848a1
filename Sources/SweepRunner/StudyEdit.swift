import Foundation
import SweepCore
import SweepSearch
import SweepStorage

extension StudyController {
    /// What keeps `spec` (a file given again, run with `options`) from continuing the stored
    /// study `existing`, each as `WHAT: OLD → NEW` (see `StudySpec.differences`); empty when it
    /// may continue it. The stored study is its `StudyDefinition`.
    public static func differences(existing: StudyRecord, spec: StudySpec, options: RunOptions) -> [String] {
        let old: StudySpec
        do { old = try StudyDefinition(existing).spec } catch {
            return ["the stored search-space file no longer reads (\(error))"]
        }
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
