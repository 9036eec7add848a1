import Foundation
import PostgresNIO   // also NIO, NIOSSL and Logger
import SweepCore

/// A value bound to a `?` of a statement (see `PGSession.query`). `literal`: the value as SQL
/// text for `EXECUTE` of a prepared statement, whose parameter has the type `sqlType`; nil (a
/// value with no exact literal here) leaves its statement unprepared.
protocol PGArgument {
    func bind(into bindings: inout PostgresBindings)
    var literal: String? { get }
    static var sqlType: String? { get }
}

extension PGArgument {
    var literal: String? { nil }
    static var sqlType: String? { nil }
}

extension Int: PGArgument {
    func bind(into b: inout PostgresBindings) { b.append(Int64(self)) }
    var literal: String? { String(self) }
    static var sqlType: String? { "int8" }
}
extension Int32: PGArgument {
    func bind(into b: inout PostgresBindings) { b.append(Int64(self)) }
    var literal: String? { String(self) }
    static var sqlType: String? { "int8" }
}
extension Int64: PGArgument {
    func bind(into b: inout PostgresBindings) { b.append(self) }
    var literal: String? { String(self) }
    static var sqlType: String? { "int8" }
}
extension Double: PGArgument {
    func bind(into b: inout PostgresBindings) { b.append(self) }
    /// Swift's shortest form, quoted: read by float8's input, it is the same double (PostgreSQL
    /// rounds correctly), -0 included (unquoted, `-0.0` is the numeric 0 negated).
    var literal: String? { isFinite ? "'\(description)'" : isNaN ? "'NaN'" : self > 0 ? "'Infinity'" : "'-Infinity'" }
    static var sqlType: String? { "float8" }
}
extension String: PGArgument {
    func bind(into b: inout PostgresBindings) { b.append(self) }
    /// Quotes doubled; with a backslash, an escape string (`E'...'`, backslashes doubled), read the
    /// same whatever the server's `standard_conforming_strings`. A NUL, which no text value may
    /// hold, leaves the statement unprepared.
    var literal: String? {
        var quotes = false, backslashes = false
        for b in utf8 {
            if b == 0 { return nil }
            if b == UInt8(ascii: "'") { quotes = true } else if b == UInt8(ascii: "\\") { backslashes = true }
        }
        var text = backslashes ? replacingOccurrences(of: "\\", with: "\\\\") : self
        if quotes { text = text.replacingOccurrences(of: "'", with: "''") }
        return (backslashes ? "E'" : "'") + text + "'"
    }
    static var sqlType: String? { "text" }
}
extension Bool: PGArgument {
    func bind(into b: inout PostgresBindings) { b.append(self) }
    var literal: String? { self ? "true" : "false" }
    static var sqlType: String? { "bool" }
}
extension Date: PGArgument { func bind(into b: inout PostgresBindings) { b.append(self) } }
extension Array: PGArgument where Element: PostgresArrayEncodable & PostgresNonThrowingEncodable {
    func bind(into b: inout PostgresBindings) { b.append(self) }
    /// `ARRAY[...]` of the elements' literals, cast (an empty one has no type of its own).
    var literal: String? {
        guard let type = Self.sqlType else { return nil }
        var items: [String] = []
        items.reserveCapacity(count)
        for e in self {
            guard let l = (e as? any PGArgument)?.literal else { return nil }
            items.append(l)
        }
        return "ARRAY[" + items.joined(separator: ", ") + "]::" + type
    }
    static var sqlType: String? { (Element.self as? any PGArgument.Type)?.sqlType.map { $0 + "[]" } }
}
extension Optional: PGArgument where Wrapped: PGArgument {
    func bind(into b: inout PostgresBindings) {
        switch self {
        case .some(let value): value.bind(into: &b)
        case .none: b.appendNull()
        }
    }
    var literal: String? {
        switch self {
        case .some(let value): value.literal
        case .none: "NULL"
        }
    }
    static var sqlType: String? { Wrapped.sqlType }
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
    /// The statements prepared on this connection (see `PGPrepared`).
    var prepared: PGPrepared? = nil

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
        try wait(send(sql, arguments))
    }

    /// The answer of a statement sent (`send`); past `PGPool.answerTimeout` the connection is closed.
    func wait(_ sent: EventLoopFuture<PostgresQueryResult>) throws -> PostgresQueryResult {
        let connection = self.connection
        return try PGPool.wait(sent) { PGPool.close(connection) }
    }

    /// Sends a statement without waiting for its answer (the connection runs its statements in
    /// the order they were sent, each seeing what those before it did); prepared when it can be.
    func send(_ sql: String, _ arguments: [any PGArgument] = []) -> EventLoopFuture<PostgresQueryResult> {
        var literals: [String] = []
        if prepared != nil {
            literals.reserveCapacity(arguments.count)
            for a in arguments {
                guard let l = a.literal else { break }
                literals.append(l)
            }
        }
        guard let prepared, literals.count == arguments.count, let (name, prepare) = prepared.statement(for: sql, arguments) else {
            var bindings = PostgresBindings(capacity: arguments.count)
            for a in arguments { a.bind(into: &bindings) }
            return connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: bindings), logger: logger)
        }
        // `EXECUTE` follows `PREPARE` on the connection at once; the statement is known as
        // prepared once `PREPARE` answered.
        let preparing = prepare.map { connection.query(PostgresQuery(unsafeSQL: $0), logger: logger) }
        preparing?.whenSuccess { _ in prepared.add(sql, name: name) }
        let execute = "EXECUTE \(name)" + (arguments.isEmpty ? "" : "(\(literals.joined(separator: ", ")))")   // literals: not numbered
        let executed = connection.query(PostgresQuery(unsafeSQL: execute), logger: logger)
        if let preparing {
            // A `PREPARE` that failed says why (its `EXECUTE` only finds no such statement).
            return executed.flatMapError { error in preparing.flatMapThrowing { _ in throw error } }
        }
        return executed.flatMapErrorThrowing { error in
            // The plan no longer fits the tables (another daemon's migration changed them) or the
            // statement is gone: prepared again when the transaction runs again.
            guard ["0A000", "26000"].contains(PGPool.sqlState(error) ?? "") else { throw error }
            prepared.forget()
            throw PGPreparedStale(underlying: error)
        }
    }

    /// `?` → `$1`, `$2`, ... (on the UTF-8 bytes: every statement of every trial passes here).
    static func numbered(_ sql: String) -> String {
        let utf8 = sql.utf8
        guard utf8.contains(UInt8(ascii: "?")) else { return sql }
        var out: [UInt8] = [], n = 0
        out.reserveCapacity(utf8.count + 32)
        for b in utf8 {
            if b == UInt8(ascii: "?") { n += 1; out.append(UInt8(ascii: "$")); out.append(contentsOf: String(n).utf8) } else { out.append(b) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The statements prepared on one connection (`PREPARE`, then `EXECUTE` with the arguments as
/// literals): the server parses and plans the store's statements once per connection, not for
/// every trial. Only statements of a known shape (a query or a change, every argument of a type
/// with a literal: `PGArgument.literal`), and at most `limit` per connection; the others run as
/// they are. A connection's statements go with it (`PGPool.drop`).
final class PGPrepared: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String: String] = [:]
    private var next = 0
    static let limit = 200

    /// The prepared statement's name for `sql`, and the `PREPARE` to send first when it is new;
    /// nil when `sql` is not prepared (a statement of another kind, an argument type without
    /// literals). The caller has the arguments' literals.
    func statement(for sql: String, _ arguments: [any PGArgument]) -> (name: String, prepare: String?)? {
        if let name = lock.withLock({ names[sql] }) { return (name, nil) }
        var types: [String] = []
        for a in arguments {
            guard let t = type(of: a).sqlType else { return nil }
            types.append(t)
        }
        let head = sql.utf8.prefix(8).map { $0 | 0x20 }   // lower case
        guard ["select", "with", "insert", "update", "delete"].contains(where: { head.starts(with: $0.utf8) }) else { return nil }
        let name: String? = lock.withLock {
            guard names.count < Self.limit else { return nil }
            next += 1
            return "sweep_s\(next)"
        }
        guard let name else { return nil }
        let typeList = types.isEmpty ? "" : "(" + types.joined(separator: ", ") + ")"
        return (name, "PREPARE \(name)\(typeList) AS \(PGSession.numbered(sql))")
    }

    func add(_ sql: String, name: String) { lock.withLock { names[sql] = name } }

    /// Forgets every statement (new names are used for them from now on).
    func forget() { lock.withLock { names = [:] } }
}

/// A prepared statement that no longer runs (see `PGSession.run`): its transaction runs again.
struct PGPreparedStale: Error, CustomStringConvertible {
    let underlying: any Error
    var description: String { "\(underlying)" }
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
    /// How long a lost server is waited for (reconnecting) before the error is the caller's; set
    /// before the pool is shared (`PostgresStore.init`: none while opening).
    var reconnectFor: TimeInterval
    static let defaultReconnectFor: TimeInterval = 15
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let logger: Logger
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    /// Each open connection's prepared statements, by connection id.
    private var prepared: [Int: PGPrepared] = [:]
    private var opened = 0
    private var nextID = 0

    init(configuration: PostgresConnection.Configuration, size: Int, reconnectFor: TimeInterval = PGPool.defaultReconnectFor) {
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

    /// A transaction that may write on a pool opened for reading (`default_transaction_read_only`):
    /// the schema's migrations, which a store opened for reading applies too.
    func schemaTransaction<T>(_ body: (PGSession) throws -> T) throws -> T {
        try run(begin: "BEGIN READ WRITE", rerunAfterLoss: true, body)
    }

    /// Runs `body`, which runs one statement, outside a transaction block: the statement is its
    /// own transaction (atomic, one snapshot), one round trip instead of three. `idempotent`:
    /// whether it may run again when its connection is lost before its answer came (it may have
    /// committed); when not, that loss is the caller's error.
    func statement<T>(idempotent: Bool, _ body: (PGSession) throws -> T) throws -> T {
        try run(begin: nil, rerunAfterLoss: idempotent, body)
    }

    /// Runs a transaction in one round trip: `BEGIN`, the statements `body` sends (without
    /// waiting: `PGSession.send`) and `COMMIT` go out together, then the closure `body` returned
    /// reads their answers. A statement that fails aborts the transaction (its `COMMIT` answers
    /// `ROLLBACK`) and its error is thrown; so is the closure's (what it read is committed).
    /// `rerunAfterLoss`: whether the whole may run again when the connection is lost, which may
    /// happen after it committed.
    func pipelinedTransaction<T>(rerunAfterLoss: Bool, _ body: (PGSession) -> () throws -> T) throws -> T {
        try run { session, committing in
            let begun = session.send("BEGIN")
            let read = body(session)
            let committed = session.send("COMMIT")
            committing = !rerunAfterLoss
            let result: T
            do { result = try read() } catch {
                if !Self.isConnectionLoss(error) { _ = try? session.wait(committed) }
                throw error
            }
            _ = try session.wait(begun)
            guard try session.wait(committed).metadata.command == "COMMIT" else {
                throw RuntimeFailure("PostgreSQL rolled back a transaction whose statements succeeded")
            }
            return result
        }
    }

    private func run<T>(begin: String?, rerunAfterLoss: Bool, _ body: (PGSession) throws -> T) throws -> T {
        try run { session, committing in
            // Outside a transaction block the statement commits as it answers.
            committing = begin == nil && !rerunAfterLoss
            // `BEGIN` is not waited for: the connection sends the body's first statement as soon
            // as it is answered (one wake-up of this thread fewer); its result is checked before
            // `COMMIT`, a failed one failing the body's statements first.
            let begun = begin.map { session.send($0) }
            let result: T
            do { result = try body(session) } catch {
                if begin != nil && !Self.isConnectionLoss(error) { _ = try? session.execute("ROLLBACK") }
                throw error
            }
            if let begun {
                _ = try session.wait(begun)
                committing = true
                try session.execute("COMMIT")
            }
            return result
        }
    }

    /// Runs `attempt` on a connection of the pool until it succeeds: again after a lost connection
    /// (reconnecting for `reconnectFor`) unless the attempt said it may have committed and must
    /// not run twice (`committing`); again after a transient error (a few times).
    private func run<T>(_ attempt: (PGSession, _ committing: inout Bool) throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(reconnectFor)
        var attempts = 0
        while true {
            attempts += 1
            let connection: PostgresConnection
            do { connection = try take() } catch where Self.isConnectionLoss(error) && Date() < deadline {
                usleep(useconds_t(min(200_000 * attempts, 1_000_000)))
                continue
            }
            let session = PGSession(connection: connection, logger: logger, prepared: statements(of: connection))
            var committing = false
            do {
                let result = try attempt(session, &committing)
                give(connection)
                return result
            } catch {
                if Self.isConnectionLoss(error) {
                    drop(connection)
                    if !committing && Date() < deadline { continue }
                } else {
                    give(connection)
                    if Self.isTransient(error) && attempts < 10 { usleep(useconds_t(Int.random(in: 1_000...20_000))); continue }
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

    private func statements(of c: PostgresConnection) -> PGPrepared {
        condition.lock(); defer { condition.unlock() }
        if let p = prepared[c.id] { return p }
        let p = PGPrepared()
        prepared[c.id] = p
        return p
    }

    private func give(_ c: PostgresConnection) {
        condition.lock(); idle.append(c); condition.signal(); condition.unlock()
    }

    private func drop(_ c: PostgresConnection) {
        Self.close(c)
        condition.lock(); opened -= 1; prepared[c.id] = nil; condition.signal(); condition.unlock()
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

    /// A deadlock victim, a serialization failure or a stale prepared statement: running the
    /// transaction again succeeds.
    static func isTransient(_ error: any Error) -> Bool {
        error is PGPreparedStale || ["40P01", "40001"].contains(sqlState(error) ?? "")
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
