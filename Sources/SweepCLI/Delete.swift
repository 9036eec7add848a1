import ArgumentParser
import Foundation
import SweepCore
import SweepRunner
import SweepStorage

/// `sweep delete STUDY`: removes a study as Optuna's `delete_study` does, and its artifacts.
struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a study: its trials and results in the database, and its folder of artifacts.",
        discussion: """
            Asks first on a terminal; --yes deletes without asking (needed when the input is not a terminal). \
            A running study is refused: stop it first with `sweep stop STUDY`. The database rows go in one \
            transaction, as Optuna's delete_study removes them; then the study's folder <db folder>/<study>/ \
            (replay's files), if there is one.
            """)
    @Argument(help: "Study name.") var study: String
    @Flag(name: .shortAndLong, help: "Delete without asking.") var yes = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        let db = try openStoreForWriting(store.db)
        let s = try findStudy(db, study, db: store.db)
        if s.isRunning() {
            throw InputError(file: store.db, field: "STUDY",
                             "study '\(s.name)' is running (pid \(s.controllerPID ?? 0)); stop it first: \(suggest("stop", s.name, db: store.db))")
        }
        let trials = try db.trials(studyID: s.id).count
        let folder = TrialFolder.study(db: store.db, study: s.name)
        if !yes {
            guard isatty(STDIN_FILENO) == 1 else {
                throw InputError(field: "--yes", "the input is not a terminal to ask on; pass --yes to delete study '\(s.name)'")
            }
            print("delete study \(s.name) with \(trials) trials? [y/N] ", terminator: "")
            fflush(stdout)
            guard let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased(), answer == "y" || answer == "yes" else {
                print("not deleted")
                throw ExitCode.failure
            }
        }
        try db.deleteStudy(id: s.id)
        var removed = ""
        do {
            removed = try Self.removeArtifacts(folder)
        } catch {
            throw RuntimeFailure("deleted study '\(s.name)' from \(store.db), but could not remove \(folder): \(error.localizedDescription)")
        }
        print("deleted study \(s.name): \(trials) trials from \(store.db)\(removed)")
    }

    /// Removes replay's `trial-<n>` folders in the study's folder, then the folder if nothing
    /// else is in it (a study named like another folder there, e.g. `logs`, keeps that folder's
    /// files). Says what it removed.
    static func removeArtifacts(_ folder: String) throws -> String {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: folder) else { return "" }
        let trials = entries.filter { $0.hasPrefix("trial-") && Int($0.dropFirst(6)) != nil }
        for t in trials { try fm.removeItem(atPath: folder + "/" + t) }
        if trials.count == entries.count {
            try fm.removeItem(atPath: folder)
            return " and \(folder)"
        }
        return trials.isEmpty ? "" : " and \(trials.count) trial folders in \(folder)"
    }
}
