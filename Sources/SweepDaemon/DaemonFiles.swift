import Foundation
import Logging
import SweepCore
import SweepStorage
#if canImport(Glibc)
import Glibc
#endif

/// Where a daemon keeps its files: beside its database, in the results folder, named after the
/// database file (`r.db` → `r.sock`, `r.daemon.lock`, `logs/r.daemon.log`), so each database of a
/// folder has a daemon of its own. For a PostgreSQL URL, in the `results` folder of the working
/// directory, named after the database (`pg-DB.sock`, ...): each working directory has a daemon of
/// its own, as if it were a host of its own.
public struct DaemonPaths: Sendable {
    /// The database's absolute path, with its folder's symbolic links resolved when it exists (the
    /// form a daemon and its clients compare); a URL without its password.
    public let db: String
    public let results: String
    /// The prefix of this daemon's files: the database's file name without its extension.
    public let stem: String

    public init(db: String) {
        if PostgresLocation.isURL(db) {
            self.db = displayedLocation(db)
            let cwd = FileManager.default.currentDirectoryPath
            let real = realpath(cwd, nil).map { p in defer { free(p) }; return String(cString: p) } ?? cwd
            results = (real == "/" ? "" : real) + "/results"
            let name = (try? PostgresLocation(url: db))?.database ?? "postgres"
            stem = "pg-" + String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
            return
        }
        let absolute = db.hasPrefix("/") ? db : FileManager.default.currentDirectoryPath + "/" + db
        let folder = (absolute as NSString).deletingLastPathComponent
        let file = (absolute as NSString).lastPathComponent
        if let real = realpath(folder, nil) {
            self.db = String(cString: real) + (String(cString: real) == "/" ? "" : "/") + file
            free(real)
        } else {
            self.db = (absolute as NSString).standardizingPath
        }
        results = (self.db as NSString).deletingLastPathComponent
        let name = (self.db as NSString).lastPathComponent
        let stem = (name as NSString).deletingPathExtension
        self.stem = stem.isEmpty ? name : stem
    }
    /// The API's Unix socket (mode 0600).
    public var socket: String { results + "/\(stem).sock" }
    /// Held (flock) by the one daemon of this database; holds its pid.
    public var lock: String { results + "/\(stem).daemon.lock" }
    public var log: String { results + "/logs/\(stem).daemon.log" }
    /// Standard output and error of a daemon `sweep start` started detached.
    public var startLog: String { results + "/logs/\(stem).daemon.out" }
    /// The HTTP listener's token when the user gave none (mode 0600).
    public var token: String { results + "/\(stem).daemon.token" }

    /// The longest Unix socket path Linux accepts (`sun_path` less its terminating zero).
    public static let maxSocketPath = 107

    /// The header with which a client names the database it means; a daemon of another database
    /// refuses the request (two databases whose files share a stem would share a socket).
    public static let databaseHeader = "Sweep-Database"
}

/// The one-daemon-per-database lock: an exclusive `flock` on `<stem>.daemon.lock`, released by the
/// kernel when the process dies however it dies.
final class DaemonLock {
    let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw InputError(file: path, "cannot open the daemon lock: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw InputError(file: path, "a daemon already runs for this database (pid \(holder)); stop it with `sweep shutdown` first")
        }
        ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    /// The pid in the lock file, if a live daemon holds the lock.
    static func holder(path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { flock(fd, LOCK_UN); return nil }   // nobody holds it
        return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    deinit { close(fd) }
}

/// swift-log lines to a file, one event a line: time, level, message, then `key=value` metadata
/// (`study=...`, `trial=...`), so `grep study=NAME` finds a study's history.
struct FileLogHandler: LogHandler {
    final class Sink: @unchecked Sendable {
        let lock = NSLock()
        let handle: FileHandle
        let echo: Bool
        init(path: String, echo: Bool) throws {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw InputError(file: path, "cannot create the daemon's log file")
                }
            }
            guard let h = FileHandle(forWritingAtPath: path) else { throw InputError(file: path, "cannot open the daemon's log file") }
            h.seekToEndOfFile()
            handle = h
            self.echo = echo
        }
        func write(_ line: String) {
            let data = Data(line.utf8)
            lock.withLock {
                handle.write(data)
                if echo { FileHandle.standardError.write(data) }
            }
        }
    }

    let sink: Sink
    let label: String
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .info

    init(label: String, sink: Sink) { self.label = label; self.sink = sink }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = metadataProvider?.get() { all.merge(extra) { $1 } }
        if let m = event.metadata { all.merge(m) { $1 } }
        var line = "\(Self.timestamp()) \(event.level) [\(label)] \(event.message)"
        for (k, v) in all.sorted(by: { $0.key < $1.key }) {
            let s = "\(v)"
            line += " \(k)="
            if s.isEmpty || s.utf8.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\"") }) {
                line += "\""
                for c in s { if c == "\"" { line += "\\\"" } else { line.append(c) } }
                line += "\""
            } else {
                line += s
            }
        }
        sink.write(line + "\n")
    }

    /// Now in UTC, `2026-12-05T07:04:05.123Z`.
    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = tv.tv_sec
        var tm = tm()
        gmtime_r(&t, &tm)
        var out = ""
        out.reserveCapacity(24)
        func put(_ n: Int, _ digits: Int, _ after: String) {
            let s = String(n)
            for _ in 0..<max(digits - s.count, 0) { out += "0" }
            out += s
            out += after
        }
        put(Int(tm.tm_year) + 1900, 4, "-"); put(Int(tm.tm_mon) + 1, 2, "-"); put(Int(tm.tm_mday), 2, "T")
        put(Int(tm.tm_hour), 2, ":"); put(Int(tm.tm_min), 2, ":"); put(Int(tm.tm_sec), 2, "."); put(Int(tv.tv_usec) / 1000, 3, "Z")
        return out
    }
}
