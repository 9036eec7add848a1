import Foundation
import GRDB
import SweepCore

/// Study changes on SQLite: one file, so a watch asks SQLite whether another connection committed
/// anything (`PRAGMA data_version`, read from memory shared by the file's connections) every
/// `SQLiteStudyWatch.pollSeconds`: no schema, no I/O, and any writer's commit is seen (more than
/// the contract asks: a trial's write signals too).
extension SQLiteStore {
    public func runningStudies() throws -> [StudyRecord] {
        try pool.read { db in try fetchStudies(db, where: "w.status = 'running'", []) }
    }

    public func watchStudies() throws -> any StudyWatch {
        do { return try SQLiteStudyWatch(path: pool.path) } catch let e as DatabaseError {
            throw Self.openingError(e, path: path, writing: false)
        }
    }
}

/// A `StudyWatch` on SQLite: a read-only connection of its own (`data_version` counts the commits
/// of the other connections, the store's included), polled while a caller waits.
final class SQLiteStudyWatch: StudyWatch, @unchecked Sendable {
    /// How often a waiting caller's connection looks at `data_version`.
    static let pollSeconds = 0.01
    private let queue: DatabaseQueue
    private let lock = NSLock()
    private var seen: Int?
    private var closed = false

    init(path: String) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(SQLiteStore.busyTimeout)
        config.label = "SQLiteStudyWatch"
        queue = try DatabaseQueue(path: path, configuration: config)
        seen = try version()
    }

    private func version() throws -> Int? {
        try queue.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA data_version") }
    }

    func wait(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !lock.withLock({ closed }) {
            // An unreadable version (the file busy for 10 s) is no signal: the caller looks at its timeout anyway.
            if let now = try? version(), lock.withLock({ () -> Bool in
                defer { seen = now }
                return now != seen
            }) { return true }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            usleep(useconds_t(min(Self.pollSeconds, left) * 1e6))
        }
        return false
    }

    func close() {
        lock.withLock { closed = true }
        try? queue.close()
    }
}
