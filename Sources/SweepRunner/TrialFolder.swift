import Foundation
import SweepStorage

/// Where a study's files live beside its database: `<db folder>/<study>/trial-<n>/` holds a
/// trial's artifacts (replay's model, the built-in trial's `checkpoint`, a command's
/// `checkpoints/` folder). Study names are made one safe path component, so nothing escapes the
/// database's folder; the paths depend only on the database, the study and the trial number, so
/// every attempt of a trial finds the same folder.
public enum TrialFolder {
    /// `<db folder>/<study>`, absolute; for a database URL, `results/<study>` in the working directory.
    public static func study(db: String, study: String) -> String {
        if PostgresLocation.isURL(db) { return FileManager.default.currentDirectoryPath + "/results/" + safe(study) }
        let absolute = db.hasPrefix("/") ? db : FileManager.default.currentDirectoryPath + "/" + db
        return (absolute as NSString).deletingLastPathComponent + "/" + safe(study)
    }

    /// `<db folder>/<study>/trial-<n>`, absolute.
    public static func trial(db: String, study: String, number: Int) -> String {
        self.study(db: db, study: study) + "/trial-\(number)"
    }

    /// The built-in trial's checkpoint file in its folder (the last epoch only).
    public static func checkpoint(trialFolder: String) -> String { trialFolder + "/checkpoint" }

    /// The folder a command trial gets as `SWEEP_CHECKPOINT_DIR`.
    public static func commandCheckpoints(trialFolder: String) -> String { trialFolder + "/checkpoints" }

    /// A study name as one path component: letters, digits, `-_.`, others replaced by `_`, no
    /// leading dot.
    public static func safe(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        var s = String(name.map { allowed.contains($0) ? $0 : "_" })
        while s.hasPrefix(".") { s = "_" + s.dropFirst() }
        return s.isEmpty ? "_" : s
    }
}
