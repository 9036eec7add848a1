import Foundation
import PostgresNIO
import SweepCore

/// Study changes on PostgreSQL: `createStudy` and `updateStudy` (when it changes the status, the
/// trial total or the run options) send `NOTIFY sweep_studies, 'ID'` in their transaction, so
/// it is delivered when they commit; a `PostgresStudyWatch` listens on a connection of its own.
/// Only these rare writes notify: a NOTIFY serializes the commits of the transactions that send
/// one, which the trials' writes must not pay.
extension PostgresStore {
    /// The channel of `LISTEN`/`NOTIFY`.
    static let studyChannel = "sweep_studies"

    /// Tells the watchers that study `id` changed, once the transaction of `db` commits.
    static func notifyStudyChanged(_ db: PGSession, id: Int64) throws {
        try db.execute("SELECT pg_notify(?, ?)", [studyChannel, String(id)])
    }

    public func runningStudies() throws -> [StudyRecord] {
        try pool.statement(idempotent: true) { db in try fetchStudies(db, where: "w.status = 'running'", []) }
    }

    public func watchStudies() throws -> any StudyWatch {
        try PostgresStudyWatch(configuration: pool.configuration, url: url)
    }
}

/// A `StudyWatch` on PostgreSQL: `LISTEN sweep_studies` on a connection of its own (not one of
/// the pool's, which are shared by every thread of the store). When the connection is lost it
/// signals (notifications may have been missed meanwhile), opens a new one as soon as the server
/// answers (every 0.2 s, then up to every 2 s) and listens again; the daemon goes on meanwhile.
final class PostgresStudyWatch: StudyWatch, @unchecked Sendable {
    private let condition = NSCondition()
    private var signalled = false
    private var closed = false
    private var connection: PostgresConnection?
    private var task: Task<Void, Never>?
    private let logger: Logger

    /// Returns once `LISTEN` has been answered; the first connection's error otherwise (or
    /// `PGTimeout` after `PGPool.answerTimeout`).
    init(configuration: PostgresConnection.Configuration, url: PostgresLocation) throws {
        var logger = Logger(label: "sweep.postgres.watch")
        logger.logLevel = .critical
        self.logger = logger
        // A store opened for reading only may listen too (LISTEN writes nothing).
        var configuration = configuration
        configuration.options.additionalStartupParameters.removeAll { $0.0 == "default_transaction_read_only" }
        let started = DispatchSemaphore(value: 0)
        let first = FirstOutcome()
        task = Task.detached { [weak self, configuration] in
            var pause = 0.2
            while let self, !self.isClosed {
                var failure: (any Error)?
                do {
                    let c = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                                                                 id: 1, logger: self.logger)
                    guard self.keep(c) else { try? await c.close(); return }
                    do {
                        try await c.listen(on: PostgresStore.studyChannel) { notifications in
                            if first.set(nil) { started.signal() } else { self.signal() }   // back: look again
                            pause = 0.2
                            for try await _ in notifications { self.signal() }
                        }
                    } catch { failure = error }
                    try? await c.close()   // closed before it is let go (postgres-nio asserts it)
                } catch { failure = error }
                if let failure, first.set(failure) { started.signal(); return }
                self.signal()   // lost: what came meanwhile is unknown
                try? await Task.sleep(nanoseconds: UInt64(pause * 1e9))
                pause = min(pause * 2, 2)
            }
        }
        if started.wait(timeout: .now() + PGPool.answerTimeout) == .timedOut {
            close()
            throw PGTimeout()
        }
        if let error = first.error {
            close()
            throw PostgresStore.openingError(error, url)
        }
    }

    deinit { close() }

    private var isClosed: Bool { condition.withLock { closed } }

    /// Keeps the new connection to close it with the watch; false when the watch is closed.
    private func keep(_ c: PostgresConnection) -> Bool {
        condition.withLock {
            if closed { return false }
            connection = c
            return true
        }
    }

    private func signal() {
        condition.withLock { signalled = true; condition.broadcast() }
    }

    func wait(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        return condition.withLock {
            while !signalled && !closed && condition.wait(until: deadline) {}
            defer { signalled = false }
            return signalled && !closed
        }
    }

    func close() {
        let c: PostgresConnection? = condition.withLock {
            closed = true
            condition.broadcast()
            defer { connection = nil }
            return connection
        }
        task?.cancel()
        if let c { PGPool.close(c) }
    }
}

/// The outcome of the first `LISTEN`, set once.
private final class FirstOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private(set) var error: (any Error)?

    /// Records the first outcome; false when one was recorded before.
    func set(_ e: (any Error)?) -> Bool {
        lock.withLock {
            if done { return false }
            done = true
            error = e
            return true
        }
    }
}
