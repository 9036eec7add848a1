import ArgumentParser
import Foundation
import SweepCore
import SweepRunner
import SweepSearch
import SweepStorage

struct Fork: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a new study from a stored one: its space changed by --set or --file, its history warm-started from the parent's trials.",
        discussion: """
            The parent's search-space file as stored (with its --set overrides, sampler and scheduler) is \
            changed by --set, or replaced by --file; the parent's trials that fit the new space are the new \
            study's prior observations (as with `sweep start --warm-start PARENT`). The parent is not changed.
            """)

    @Argument(help: "The study to fork.") var parent: String
    @Option(help: "The new study's name (default: PARENT-fork, PARENT-fork2, ...).") var name: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Change a value of the parent's file: key.path=value (e.g. a wider range).", valueName: "key=value"))
    var overrides: [String] = []
    @Option(help: ArgumentHelp("A search-space file to use instead of the parent's (with --set applied to it).", valueName: "space.yaml"))
    var file: String?
    @Option(parsing: .unconditional, help: "Total trials of the new study (default: the file's budget).") var trials: Int?
    @Option(help: "The new study's seed (default: one derived from the parent's seed and the new name, so the fork's random draws are not the parent's).")
    var seed: UInt64?
    @Flag(help: "Submit the search to the daemon and return at once with the study name.") var detach = false
    @Flag(help: "Run the search in this process (no daemon); Ctrl-C stops it.") var foreground = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        guard databaseExists(store.db) else {
            throw InputError(field: "STUDY", "no study named '\(parent)': the database \(store.db) does not exist")
        }
        let db = try openStore(location: store.db, readOnly: true)
        guard let record = try db.study(named: parent) else {
            let known = try db.studies().map(\.name).sorted()
            throw InputError(field: "STUDY", "no study named '\(parent)' in \(store.db); studies: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
        }
        let definition = try StudyDefinition(record)
        let child = try name ?? freeName(db)
        try StudyName.check(child, field: "--name")
        if try db.study(named: child) != nil {
            throw InputError(field: "--name", "study '\(child)' already exists; choose another name with --name")
        }
        // The parent's file as stored with its overrides, then these; or the new file with these.
        let allOverrides = file == nil ? definition.options.overrides + overrides : overrides
        var spec = try file.map { try StudySpec.load(path: $0, overrides: overrides) }
            ?? StudySpec.parse(record.spaceText, file: record.spacePath, overrides: allOverrides)
        spec.seed = seed ?? SeedSequence.derive(record.seed, SeedSequence.label("fork"), SeedSequence.label(child))
        // How the parent ran: its flags, so the fork searches the same way (the daemon parses the text again).
        var args = [spec.file, "--study", child, "--warm-start", parent, "--db", store.db]
        let o = definition.options
        if let s = o.sampler { args += ["--sampler", s] }
        if let s = o.scheduler { args += ["--scheduler", s] }
        args += ["--seed", "\(spec.seed)", "--workers", "\(o.workers)", "--data-dir", o.dataDir]
        if let m = o.memoryMB { args += ["--memory-mb", "\(m)"] }
        if let t = trials { args += ["--trials", "\(t)"] }
        if detach { args.append("--detach") }
        if foreground { args.append("--foreground") }
        for s in allOverrides { args += ["--set", s] }
        print("fork of study \(parent) (\(record.trialsTotal) trials): study \(child)")
        try Start.parse(args).launch(spec, overrides: allOverrides)
    }

    /// PARENT-fork, else PARENT-fork2, PARENT-fork3, ...: the first name no study has.
    func freeName(_ db: any TrialStore) throws -> String {
        let taken = Set(try db.studies().map(\.name))
        var n = 1
        while taken.contains(parent + "-fork" + (n == 1 ? "" : "\(n)")) { n += 1 }
        return parent + "-fork" + (n == 1 ? "" : "\(n)")
    }
}
