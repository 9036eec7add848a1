import Foundation
import PostgresNIO   // also NIO, NIOSSL and Logger
import SweepCore

/// A value bound to a `?` of a statement (see `PGSession.query`).
protocol PGArgument {
    func bind(into bindings: inout PostgresBindings)
}

extension Int: PGArgument { func bind(into b: inout PostgresBindings) { b.append(Int64(self)) } }
extension Int32: PGArgument { func bind(into b: inout PostgresBindings) { b.append(Int64(self)) } }
extension Int64: PGArgument { func bind(into b: inout PostgresBindings) { b.append(self) } }
extension Double: PGArgument { func bind(into b: inout PostgresBindings) { b.append(self) } }
extension String: PGArgument { func bind(into b: inout PostgresBindings) { b.append(self) } }
extension Bool: PGArgument { func bind(into b: inout PostgresBindings) { b.append(self) } }
extension Date: PGArgument { func bind(into b: inout PostgresBindings) { b.append(self) } }
extension Array: PGArgument where Element: PostgresArrayEncodable & PostgresNonThrowingEncodable {
    func bind(into b: inout PostgresBindings) { b.append(self) }
}
extension Optional: PGArgument where Wrapped: PGArgument {
    func bind(into b: inout PostgresBindings) {
        switch self {
        case .some(let value): value.bind(into: &b)
        case .none: b.appendNull()
        }
    }
}

/// A row of a result, its columns by name: `let id: Int64 = try row["trial_id"]` (an Optional
/// type for a column that may be NULL).
struct PGRow {
    let row: PostgresRandomAccessRow

    subscript<T: PostgresDecodable>(_ column: String) -> T {
        get throws { try row[column].decode(T.self) }
    }
}

/// One connection, used by one thread at a time, inside a transaction of `PGPool`. Statements
/// are written with `?` placeholders (as for SQLite), numbered `$1`, `$2`, ... here; no
/// statement holds a `?` of its own.
struct PGSession {
    let connection: PostgresConnection
    let logger: Logger

    func query(_ sql: String, _ arguments: [any PGArgument] = []) throws -> [PGRow] {
        try run(sql, arguments).rows.map { PGRow(row: $0.makeRandomAccess()) }
    }

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [any PGArgument] = []) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    /// The first column of the first row, nil when there is no row.
    func scalar<T: PostgresDecodable>(_ sql: String, _ arguments: [any PGArgument] = [], as: T.Type = T.self) throws -> T?
        where T._DecodableType == T {
        guard let row = try run(sql, arguments).rows.first else { return nil }
        return try row.makeRandomAccess()[0].decode(T?.self)
    }

    private func run(_ sql: String, _ arguments: [any PGArgument]) throws -> PostgresQueryResult {
        let connection = self.connection
        return try PGPool.wait(send(sql, arguments)) {
            PGPool.close(connection)
        }
    }

    /// Sends a statement without waiting for its answer (the connection runs its statements in
    /// the order they were sent).
    func send(_ sql: String, _ arguments: [any PGArgument] = []) -> EventLoopFuture<PostgresQueryResult> {
        var bindings = PostgresBindings(capacity: arguments.count)
        for a in arguments { a.bind(into: &bindings) }
        return connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: bindings), logger: logger)
    }

    /// `?` → `$1`, `$2`, ...
    static func numbered(_ sql: String) -> String {
        guard sql.contains("?") else { return sql }
        var out = "", n = 0
        out.reserveCapacity(sql.count + 16)
        for c in sql {
            if c == "?" { n += 1; out += "$\(n)" } else { out.append(c) }
        }
        return out
    }
}

/// A small pool of connections to one PostgreSQL database with a blocking interface (the
/// `TrialStore` protocol is synchronous): at most `size` connections, opened when first needed;
/// a caller waits for a free one. Futures are waited for on the caller's thread, never on the
/// pool's own event loop. A connection that is lost is dropped and a new one opened; a
/// transaction that failed because its connection was lost before it committed, or that the
/// server chose as a deadlock victim or serialization failure, runs again (its body must only
/// touch the database).
final class PGPool: @unchecked Sendable {
    let configuration: PostgresConnection.Configuration
    let size: Int
    /// How long a lost server is waited for (reconnecting) before the error is the caller's.
    let reconnectFor: TimeInterval
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let logger: Logger
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var opened = 0
    private var nextID = 0

    init(configuration: PostgresConnection.Configuration, size: Int, reconnectFor: TimeInterval = 15) {
        self.configuration = configuration
        self.size = max(size, 1)
        self.reconnectFor = reconnectFor
        var logger = Logger(label: "sweep.postgres")
        logger.logLevel = .critical
        self.logger = logger
    }

    deinit {
        for c in idle { let closing: EventLoopFuture<Void> = c.close(); try? closing.wait() }
        try? group.syncShutdownGracefully()
    }

    /// Opens a connection now (the first use's errors, e.g. a refused password, at opening).
    func check() throws {
        let c = try connect()
        give(c)
    }

    /// Runs `body` in a transaction: `BEGIN`, the body, `COMMIT` (`ROLLBACK` when it throws).
    /// `readOnly`: a read-only snapshot (REPEATABLE READ), so several statements see one state.
    func transaction<T>(readOnly: Bool = false, _ body: (PGSession) throws -> T) throws -> T {
        try run(begin: readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN", rerunAfterLoss: true, body)
    }

    /// Runs `body`, which runs one statement, outside a transaction block: the statement is its
    /// own transaction (atomic, one snapshot), one round trip instead of three. `idempotent`:
    /// whether it may run again when its connection is lost before its answer came (it may have
    /// committed); when not, that loss is the caller's error.
    func statement<T>(idempotent: Bool, _ body: (PGSession) throws -> T) throws -> T {
        try run(begin: nil, rerunAfterLoss: idempotent, body)
    }

    private func run<T>(begin: String?, rerunAfterLoss: Bool, _ body: (PGSession) throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(reconnectFor)
        var attempt = 0
        while true {
            attempt += 1
            let connection: PostgresConnection
            do { connection = try take() } catch where Self.isConnectionLoss(error) && Date() < deadline {
                usleep(useconds_t(min(200_000 * attempt, 1_000_000)))
                continue
            }
            let session = PGSession(connection: connection, logger: logger)
            // Outside a transaction block the statement commits as it answers.
            var committing = begin == nil && !rerunAfterLoss
            do {
                // `BEGIN` is not waited for: the connection sends the body's first statement as
                // soon as it is answered (one wake-up of this thread fewer); its result is
                // checked before `COMMIT`, a failed one failing the body's statements first.
                let begun = begin.map { session.send($0) }
                let result: T
                do { result = try body(session) } catch {
                    if begin != nil && !Self.isConnectionLoss(error) { _ = try? session.execute("ROLLBACK") }
                    throw error
                }
                if let begun {
                    _ = try Self.wait(begun) { Self.close(connection) }
                    committing = true
                    try session.execute("COMMIT")
                }
                give(connection)
                return result
            } catch {
                if Self.isConnectionLoss(error) {
                    drop(connection)
                    if !committing && Date() < deadline { continue }
                } else {
                    give(connection)
                    if Self.isTransient(error) && attempt < 10 { usleep(useconds_t(Int.random(in: 1_000...20_000))); continue }
                }
                throw error
            }
        }
    }

    // MARK: Connections

    private func take() throws -> PostgresConnection {
        condition.lock()
        while idle.isEmpty && opened >= size { condition.wait() }
        if let c = idle.popLast() {
            condition.unlock()
            if c.isClosed { drop(c); return try take() }
            return c
        }
        opened += 1
        condition.unlock()
        do { return try connect() } catch {
            condition.lock(); opened -= 1; condition.signal(); condition.unlock()
            throw error
        }
    }

    private func connect() throws -> PostgresConnection {
        condition.lock(); nextID += 1; let id = nextID; condition.unlock()
        return try Self.wait(PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger)) {}
    }

    /// How long a statement or a connection attempt is waited for: past it the connection is
    /// taken as lost (closed, `PGTimeout`; `transaction` reconnects and runs again). Seen after a
    /// server restart: a query on a connection the server had dropped never answered, holding
    /// its daemon's pool thread for good.
    static let answerTimeout: Double = 10

    /// The future's value, or `PGTimeout` (after `onTimeout`) when it takes longer than `answerTimeout`.
    static func wait<T>(_ future: EventLoopFuture<T>, onTimeout: () -> Void) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        future.whenComplete { r in box.set(r); done.signal() }
        guard done.wait(timeout: .now() + answerTimeout) == .success else {
            onTimeout()
            throw PGTimeout()
        }
        return try box.get()!.get()
    }

    /// Closes a connection without waiting, keeping it alive until it is closed (postgres-nio
    /// asserts that a connection is closed before it goes).
    static func close(_ c: PostgresConnection) {
        let closing: EventLoopFuture<Void> = c.close()
        closing.whenComplete { _ in withExtendedLifetime(c) {} }
    }

    private func give(_ c: PostgresConnection) {
        condition.lock(); idle.append(c); condition.signal(); condition.unlock()
    }

    private func drop(_ c: PostgresConnection) {
        Self.close(c)
        condition.lock(); opened -= 1; condition.signal(); condition.unlock()
    }

    // MARK: Errors

    /// The SQLSTATE of a server error.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The connection is gone (the server restarted, the network failed) or could not be made.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        if let e = error as? PSQLError {
            switch e.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown: return true
            case .server: return ["57P01", "57P02", "57P03", "08000", "08003", "08006"].contains(e.serverInfo?[.sqlState] ?? "")
            default: return false
            }
        }
        return error is ChannelError || error is IOError || error is NIOConnectionError || error is PGTimeout
    }

    /// A deadlock victim or a serialization failure: running the transaction again succeeds.
    static func isTransient(_ error: any Error) -> Bool {
        ["40P01", "40001"].contains(sqlState(error) ?? "")
    }
}

/// A statement or connection attempt the server did not answer in `PGPool.answerTimeout`.
struct PGTimeout: Error, CustomStringConvertible {
    var description: String { "the PostgreSQL server did not answer in \(Int(PGPool.answerTimeout)) s" }
}

/// The result of a future, handed from its event loop to the waiting thread.
private final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, any Error>?
    func set(_ r: Result<T, any Error>) { lock.withLock { result = r } }
    func get() -> Result<T, any Error>? { lock.withLock { result } }
}
