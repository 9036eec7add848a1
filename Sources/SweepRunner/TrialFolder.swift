import Foundation
import SweepCore
import SweepStorage

/// Where a study's files live beside its database: `<db folder>/<study>/trial-<n>/` holds a
/// trial's artifacts (replay's model, the built-in trial's `checkpoint`, a command's
/// `checkpoints/` folder). Study names are made one safe path component, so nothing escapes the
/// database's folder; the paths depend only on the database, the study and the trial number, so
/// every attempt of a trial finds the same folder.
public enum TrialFolder {
    /// `<db folder>/<study>`, absolute; for a database URL, `<artifactsRoot>/<study>`.
    public static func study(db: String, study: String) -> String {
        if PostgresLocation.isURL(db) { return artifactsRoot() + "/" + safe(study) }
        let absolute = db.hasPrefix("/") ? db : FileManager.default.currentDirectoryPath + "/" + db
        return (absolute as NSString).deletingLastPathComponent + "/" + safe(study)
    }

    /// Where the trial folders of a database URL's studies live: `SWEEP_ARTIFACTS` when set, else
    /// `results` in the working directory. Several hosts that mount one shared folder at the same
    /// path and name it there share their trials' checkpoints: a trial put back to WAITING after
    /// its host died continues from its last checkpoint on another host (`checkArtifactsRoot`).
    public static func artifactsRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let root = environment["SWEEP_ARTIFACTS"], !root.isEmpty { return root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root }
        return FileManager.default.currentDirectoryPath + "/results"
    }

    /// Refuses a `SWEEP_ARTIFACTS` that is not an absolute path (every host must name the same
    /// folder) or cannot be created and written.
    public static func checkArtifactsRoot(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let root = environment["SWEEP_ARTIFACTS"], !root.isEmpty else { return }
        guard root.hasPrefix("/") else {
            throw InputError(field: "SWEEP_ARTIFACTS", "'\(root)' is not an absolute path: name the shared folder as every host mounts it, e.g. /mnt/shared/sweep")
        }
        try Folders.create(root, field: "SWEEP_ARTIFACTS")
        guard access(root, W_OK) == 0 else {
            throw InputError(file: root, field: "SWEEP_ARTIFACTS", "cannot write in this folder: \(String(cString: strerror(errno)))")
        }
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

/// Where the weights a model starts from live (`model.init.from`, `TransferSpec`).
public enum TransferWeights {
    /// The weights `from` names, as a path without extension (`STEM.safetensors` and `STEM.json`
    /// exist): `STUDY/trial-N` of the database at `db` is the trial's folder's `model`, which
    /// `sweep replay STUDY --trial N` writes; anything else is the path of a model `sweep train
    /// --save-model` wrote, relative to `baseDir`. A missing study, trial or file is an
    /// `InputError` saying which and how to make it.
    public static func resolve(_ from: String, db: String, store: (any TrialStore)?, baseDir: String) throws -> String {
        let field = "model.init.from"
        if let r = from.range(of: "/trial-", options: .backwards), let n = Int(from[r.upperBound...]), n >= 0,
           let store, let study = try store.study(named: String(from[..<r.lowerBound])) {
            guard try store.trial(studyID: study.id, number: n) != nil else {
                throw InputError(field: field, "study '\(study.name)' has no trial \(n)")
            }
            let stem = TrialFolder.trial(db: db, study: study.name, number: n) + "/model"
            guard FileManager.default.fileExists(atPath: stem + ".safetensors"), FileManager.default.fileExists(atPath: stem + ".json") else {
                throw InputError(field: field, "trial \(n) of study '\(study.name)' has no saved weights (looked for \(stem).safetensors); "
                                 + "write them with: sweep replay '\(study.name)' --trial \(n)\(db == "results/sweep.db" ? "" : " --db \(withoutPasswords(db))")")
            }
            return stem
        }
        var stem = from.hasSuffix(".safetensors") ? String(from.dropLast(".safetensors".count)) : from
        if !stem.hasPrefix("/") { stem = baseDir + "/" + stem }
        guard FileManager.default.fileExists(atPath: stem + ".safetensors"), FileManager.default.fileExists(atPath: stem + ".json") else {
            let study = from.range(of: "/trial-", options: .backwards).map { String(from[..<$0.lowerBound]) }
            throw InputError(field: field, "'\(from)' is neither \(study.map { "a trial of a study in \(withoutPasswords(db)) (no study named '\($0)')" } ?? "STUDY/trial-N")"
                             + " nor a saved model (no \(stem).safetensors with its .json)")
        }
        return stem
    }
}
