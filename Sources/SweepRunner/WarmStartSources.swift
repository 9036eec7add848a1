import Foundation
import SweepCore
import SweepSearch
import SweepStorage

/// Where a new study's prior observations come from (`sweep start --warm-start`, `sweep fork`):
/// stored studies of the same database, read through their `StudyDefinition`.
///
/// Rule: every named study must exist, differ from the new study and optimize the same metric
/// (its direction may differ: a value is an observation of the metric whichever way the study
/// went, and the new study's direction decides which priors are good). Its COMPLETE trials that
/// fit the new space (`WarmStart`) become priors, in the order the studies are named. The priors
/// are taken once, when the study is created, and stored with its run options
/// (`RunOptions.warmStart`), so a resume or a restarted daemon proposes exactly what the
/// first run would have, whatever happened to the earlier studies since.
public enum WarmStartSources {
    /// The names in a `--warm-start` value: the whole value when a study has that name (names
    /// may contain commas), else its comma-separated parts.
    public static func names(_ value: String, store: any TrialStore) throws -> [String] {
        if try store.study(named: value) != nil { return [value] }
        return value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The priors of the new study `study` (optimizing `spec`'s metric over `spec.space`) from the
    /// stored studies `names`, and how many of their COMPLETE trials did not fit. An unknown or
    /// incompatible study is an `InputError` naming it and `field`.
    public static func priors(_ names: [String], store: any TrialStore, spec: StudySpec, study: String,
                              field: String = "--warm-start") throws -> (priors: [WarmStart.Prior], skipped: Int) {
        guard !spec.isMultiObjective, spec.constraints.isEmpty else {
            throw InputError(field: field, "a study of several objectives or with constraints cannot start warm yet (priors carry one value); "
                             + "start it without --warm-start")
        }
        var sources: [WarmStart.Source] = []
        for name in names {
            guard !name.isEmpty else { throw InputError(field: field, "a study name is empty; give names separated by commas") }
            guard name != study else { throw InputError(field: field, "study '\(name)' is the new study itself; name earlier studies") }
            guard !sources.contains(where: { $0.study == name }) else { throw InputError(field: field, "study '\(name)' is named twice") }
            guard let record = try store.study(named: name) else {
                let known = try store.studies().map(\.name).sorted()
                throw InputError(field: field, "no study named '\(name)' in \(withoutPasswords(store.location)); studies: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
            }
            guard record.metric == spec.objective.metric else {
                throw InputError(field: field, "study '\(name)' optimized \(record.metric), this study optimizes \(spec.objective.metric): "
                                 + "its values do not measure the same thing")
            }
            let trials = try store.trials(studyID: record.id).map(\.record)
            let space: SearchSpace
            do { space = try StudyDefinition(record).spec.space.adoptingStoredNames(Set(trials.flatMap(\.params.keys))) } catch {
                throw InputError(field: field, "study '\(name)': its stored search-space file no longer reads (\(error))")
            }
            sources.append(WarmStart.Source(study: name, space: space, trials: trials))
        }
        return WarmStart.priors(from: sources, for: spec.space)
    }
}
