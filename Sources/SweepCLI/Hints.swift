import Foundation
import ArgumentParser
import SweepStorage

/// Options every command that touches the store takes.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The results database: an SQLite file, or a PostgreSQL URL postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=require] (password also from PGPASSWORD or ~/.pgpass); default: $SWEEP_DB, else results/sweep.db.", valueName: "path|url"))
    var db: String = StoreOptions.defaultDB

    /// The database when `--db` is not given: `$SWEEP_DB`, else `results/sweep.db`.
    static var defaultDB: String {
        if let d = ProcessInfo.processInfo.environment["SWEEP_DB"], !d.isEmpty { return d }
        return builtInDB
    }
    static let builtInDB = "results/sweep.db"
}

/// A command for the user to run next, quoted for a POSIX shell: `sweep VERB [STUDY] [EXTRA...]
/// [--db DB]`. `--db` is named unless the database is the built-in default, so the hint works in
/// any shell (a URL without its password, which PGPASSWORD or ~/.pgpass then give).
func suggest(_ verb: String, _ study: String? = nil, _ extra: [String] = [], db: String) -> String {
    var words = ["sweep"] + verb.split(separator: " ").map(String.init)
    if let study { words.append(shellQuoted(study)) }
    words += extra.map(shellQuoted)
    if db != StoreOptions.builtInDB { words += ["--db", shellQuoted(withoutPasswords(db))] }
    return "`" + words.joined(separator: " ") + "`"
}

/// `s` as one word of a POSIX shell command line.
func shellQuoted(_ s: String) -> String {
    let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_./:=@+,"))
    if !s.isEmpty && s.unicodeScalars.allSatisfy({ plain.contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
