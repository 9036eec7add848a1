import Foundation
import SweepCore

/// Opens the store at a location as `--db` and `SWEEP_DB` give it: a `postgresql://` (or
/// `postgres://`) URL opens a `PostgresStore`, anything else is an SQLite file (`SQLiteStore`,
/// created when missing unless `readOnly`). `readOnly`: the store's write methods fail. Errors
/// are `InputError`s naming the location (a URL without its password) and `field`: a malformed
/// URL, an unreachable server, a refused password, a file that is not a database.
public func openStore(location: String, readOnly: Bool = false, field: String = "--db") throws -> any TrialStore {
    if PostgresLocation.isURL(location) {
        return try PostgresStore(PostgresLocation(url: location, field: field), readOnly: readOnly)
    }
    return readOnly ? try SQLiteStore(readingOnly: location) : try SQLiteStore(path: location)
}

/// How a location is shown in messages and compared: a file path as given, a URL without its
/// password.
public func displayedLocation(_ location: String) -> String {
    PostgresLocation.isURL(location) ? PostgresLocation.redact(location) : location
}

/// `text` with the password of every PostgreSQL URL in it left out (`postgresql://me:pw@h/db` →
/// `postgresql://me@h/db`): what messages and hints print.
public func withoutPasswords(_ text: String) -> String {
    guard text.contains("postgres") else { return text }
    return text.replacingOccurrences(of: #"(postgres(?:ql)?(?:\+\w+)?://[^:/@\s'"]*):[^@\s'"]*@"#, with: "$1@", options: .regularExpression)
}
