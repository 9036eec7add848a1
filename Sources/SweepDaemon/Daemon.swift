import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SweepCore
import SweepRunner
import SweepSearch
import SweepStorage
#if canImport(Glibc)
import Glibc
#endif

/// How `sweep serve` was started.
public struct DaemonConfig: Sendable {
    public var dbPath: String
    /// Trial processes at once, shared by every study the daemon runs.
    public var workers: Int
    /// The program that runs built-in trials (`sweep` itself).
    public var trialExecutable: String
    /// Where data sets live for submissions that do not say (absolute).
    public var dataDir: String
    /// An HTTP listener besides the Unix socket: `PORT` or `HOST:PORT` (loopback unless a token is given).
    public var http: String?
    /// The HTTP listener's bearer token (default: a random one written to `results/<db>.daemon.token`).
    public var token: String?
    /// Exit after this many seconds with no search running and no request (an auto-started daemon).
    public var idleTimeout: Double?
    /// Also write the log to stderr.
    public var echoLog: Bool
    public init(dbPath: String, workers: Int, trialExecutable: String, dataDir: String, http: String? = nil, token: String? = nil,
                idleTimeout: Double? = nil, echoLog: Bool = false) {
        self.dbPath = dbPath; self.workers = workers; self.trialExecutable = trialExecutable; self.dataDir = dataDir
        self.http = http; self.token = token; self.idleTimeout = idleTimeout; self.echoLog = echoLog
    }
}

/// `sweep serve`: runs the searches of one database as a long-lived service.
///
/// Contract:
/// - One daemon per database (an flock on `<db stem>.daemon.lock` beside it, see `DaemonPaths`); its
///   API on `<db stem>.sock`, mode 0600, and optionally on HTTP, where every request must carry
///   `Authorization: Bearer TOKEN` and a non-loopback address is refused without an explicit token.
///   A request naming another database (the `Sweep-Database` header) is refused with 421.
/// - Every study it runs shares one `TrialPool` (fair share between studies).
/// - On start it takes up every study stored as running whose controller is gone: the trials
///   left RUNNING are run again with the same parameters and seed (see `StudyController`).
/// - SIGTERM, SIGINT or `POST /v1/shutdown`: the API closes, running trials are stopped and
///   re-queued, the studies stay `running` for the next daemon, and `run()` returns.
/// - A stop (`POST .../stop`) marks the study `stopped` at once; its run ends once its trials
///   have exited. A resume of a study whose last run is still ending (here, or elsewhere: stopped,
///   its lease still held) waits for that run to end (`endingWait`), then runs it again.
/// - Bad requests get 4xx with `{"error": ...}` and change nothing: 400 for bad input
///   (`InputError`), 409 for a study another controller runs (`StudyBusy`), 503 while shutting
///   down (`PoolShuttingDown`); the status follows the error's type, never its text. A failing
///   study ends alone (its store failure, its bad stored data): the daemon and its other studies go on.
public final class Daemon: @unchecked Sendable {
    public let config: DaemonConfig
    public let paths: DaemonPaths
    let store: any TrialStore
    let pool: TrialPool
    let logger: Logger
    let lock: DaemonLock
    let httpBind: HTTPBind?
    let httpToken: String?
    let startedAt = Date()

    private let stateLock = NSLock()
    private var lastActivity = Date()
    private var observers: [Int64: StudyLogObserver] = [:]
    /// Studies a shared daemon is adding to its pool now (`recover`).
    private var joining: Set<Int64> = []
    /// Studies being started through this daemon's API (names): `recover` leaves them alone.
    private var starting: Set<String> = []
    /// A shared daemon's loop joining the studies submitted to others.
    private let discovery = StudyDiscovery()
    private var group: ServiceGroup?

    public init(config: DaemonConfig) throws {
        self.config = config
        paths = DaemonPaths(db: config.dbPath)
        // Everything that can reject the configuration before anything is written.
        if let http = config.http {
            let bind = try HTTPBind.parse(http)
            if !bind.isLoopback && config.token == nil {
                throw InputError(field: "--http", "'\(http)' is not a loopback address: the API starts searches (and their commands), so listening beyond this machine needs --token")
            }
            httpBind = bind
        } else { httpBind = nil }
        if let t = config.token, t.count < 16 || !t.allSatisfy({ $0.isASCII && !$0.isWhitespace }) {
            throw InputError(field: "--token", "the token must be at least 16 printable ASCII characters without spaces")
        }
        if paths.socket.utf8.count > DaemonPaths.maxSocketPath {
            throw InputError(file: paths.socket, field: "--db", "the socket path is \(paths.socket.utf8.count) bytes; Unix sockets allow \(DaemonPaths.maxSocketPath): use a database in a shorter folder")
        }
        if PostgresLocation.isURL(config.dbPath) { try TrialFolder.checkArtifactsRoot() }
        try Folders.create(paths.results + "/logs", field: "--db")
        lock = try DaemonLock(path: paths.lock)
        let sink = try FileLogHandler.Sink(path: paths.log, echo: config.echoLog)
        logger = Logger(label: "sweep.daemon") { FileLogHandler(label: $0, sink: sink) }
        store = try openStore(location: PostgresLocation.isURL(config.dbPath) ? config.dbPath : paths.db)
        pool = TrialPool(workers: config.workers)
        if httpBind != nil {
            if let t = config.token { httpToken = t } else {
                var bytes = [UInt8](repeating: 0, count: 24)
                var rng = SystemRandomNumberGenerator()
                for i in bytes.indices { bytes[i] = rng.next() }
                let t = bytes.map { String(format: "%02x", $0) }.joined()
                unlink(paths.token)
                guard FileManager.default.createFile(atPath: paths.token, contents: Data((t + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw InputError(file: paths.token, "cannot write the HTTP token")
                }
                httpToken = t
            }
        } else { httpToken = nil }
    }

    /// Serves until SIGTERM, SIGINT, `POST /v1/shutdown` or the idle timeout; then stops and
    /// re-queues the running trials and returns.
    public func run() async throws {
        let poolDone = DispatchSemaphore(value: 0)
        pool.onEnd = { [weak self] r in self?.ended(r) }
        let poolThread = Thread { [pool] in pool.runUntilShutdown(); poolDone.signal() }
        poolThread.name = "sweep-pool"
        poolThread.start()

        unlink(paths.socket)   // left by a daemon killed with SIGKILL (the lock says none runs)
        let hbLogger = logger
        let socketPath = paths.socket
        let oldMask = umask(0o077)   // the socket is created 0600; restored once it exists
        let socketApp = Application(
            responder: CallbackResponder<BasicRequestContext> { [unowned self] request, _ in await self.respond(request, http: false) },
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "sweep"),
            onServerRunning: { [unowned self] _ in
                umask(oldMask)
                chmod(socketPath, 0o600)
                self.logger.info("listening", metadata: ["socket": "\(socketPath)", "pid": "\(getpid())", "workers": "\(self.pool.workers)"])
                self.recover()
                if self.shared { self.discovery.start(store: self.store, every: Self.discoveryInterval, logger: self.logger) { [weak self] in self?.recover() } }
            },
            logger: hbLogger)
        var services: [any Service] = [socketApp]
        if let bind = httpBind {
            let httpApp = Application(
                responder: CallbackResponder<BasicRequestContext> { [unowned self] request, _ in await self.respond(request, http: true) },
                configuration: .init(address: .hostname(bind.host, port: bind.port), serverName: "sweep"),
                onServerRunning: { [unowned self] channel in
                    self.logger.info("listening on HTTP", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? bind.description)"])
                },
                logger: hbLogger)
            services.append(httpApp)
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: hbLogger))
        stateLock.withLock { self.group = group }
        let idle = config.idleTimeout.map { timeout in Task { [weak self] in await self?.watchIdle(timeout) } }
        var apiFailure: (any Error)?
        do { try await group.run() } catch {
            logger.error("the API stopped", metadata: ["error": "\(error)"])
            apiFailure = error
        }
        // The one clean-up, whichever way the API ended.
        idle?.cancel()
        discovery.stop()
        logger.info("shutting down: stopping running trials")
        pool.shutdown()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { poolDone.wait(); c.resume() }
        }
        unlink(paths.socket)
        if let apiFailure { throw RuntimeFailure("the daemon's API failed: \(apiFailure)") }
        logger.info("stopped")
    }

    /// Asks the daemon to shut down (as SIGTERM does).
    public func requestShutdown() {
        let g = stateLock.withLock { group }
        Task { await g?.triggerGracefulShutdown() }
    }

    private func watchIdle(_ timeout: Double) async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 1_000_000_000)
            let busy = !pool.snapshot().running.isEmpty
            let idleFor = stateLock.withLock { () -> Double in
                if busy { lastActivity = Date() }
                return Date().timeIntervalSince(lastActivity)
            }
            if idleFor > timeout {
                logger.info("idle timeout: no search for \(Int(timeout)) s")
                requestShutdown()
                return
            }
        }
    }

    // MARK: Studies

    /// Whether other daemons share the database (a PostgreSQL URL): then every daemon runs every
    /// running study (`StudyController.shared`), and joins one as soon as the store signals a
    /// study change (`TrialStore.watchStudies`: a study submitted to another daemon, resumed),
    /// or at the latest `discoveryInterval` later (a signal missed while a connection was lost).
    var shared: Bool { PostgresLocation.isURL(config.dbPath) }
    static let discoveryInterval = 2.0

    /// Takes up the studies stored as running whose controller is gone (shared: every running
    /// study this daemon does not run yet, but one this daemon's API is starting, and one with no
    /// run options stored: an older Sweep's creator had not stored them yet). Reads only the
    /// studies' rows (`runningStudies`): looking often costs little.
    func recover() {
        do {
            for s in try store.runningStudies() where shared || !s.isRunning() {
                if shared {
                    let active = s.runOptionsJSON == nil || pool.isActive(studyID: s.id)
                    let taken = stateLock.withLock { active || starting.contains(s.name) || !self.joining.insert(s.id).inserted }
                    if taken { continue }
                }
                do {
                    let controller = try makeController(s, workers: nil, dataDir: nil)
                    let left = shared ? 0 : try store.trials(studyID: s.id).filter { $0.record.state == .running || $0.record.state == .waiting }.count
                    pool.submit(controller) { [weak self, logger, shared] error in
                        if shared { self?.stateLock.withLock { _ = self?.joining.remove(s.id) } }
                        if let error { logger.error("cannot resume", metadata: ["study": "\(s.name)", "error": "\(error)"]) }
                        else if shared { logger.info("runs the study", metadata: ["study": "\(s.name)", "leader": "\(controller.leading)"]) }
                        else { logger.info("resumed an interrupted study", metadata: ["study": "\(s.name)", "rerun": "\(left)"]) }
                    }
                } catch {
                    if shared { stateLock.withLock { _ = self.joining.remove(s.id) } }
                    logger.error("cannot resume", metadata: ["study": "\(s.name)", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("cannot read the studies", metadata: ["error": "\(error)"])
        }
    }

    /// A controller for a stored study, run as it was started (its stored options).
    func makeController(_ s: StudyRecord, workers: Int?, dataDir: String?, env: [String: String]? = nil) throws -> StudyController {
        var d = try StudyDefinition(s, dbPath: paths.db, trialExecutable: config.trialExecutable, dataDir: config.dataDir)
        d.options.environment = env
        if let workers { d.options.workers = workers }
        if let dataDir { d.options.dataDir = dataDir }
        // A user's resume brings the shell's values of env_keep; a daemon taking the study up
        // uses the stored ones.
        if let env { try d.options.keepEnvironment(d.spec.envKeep, from: env, file: s.spacePath) }
        let controller = try StudyController(spec: d.spec, options: d.options, store: store)
        controller.shared = shared
        controller.observer = observer(for: s)
        return controller
    }

    func observer(for s: StudyRecord) -> StudyLogObserver {
        stateLock.withLock {
            if let o = observers[s.id] { return o }
            let o = StudyLogObserver(study: s.name, logger: logger)
            observers[s.id] = o
            return o
        }
    }

    func submit(_ controller: StudyController) async -> (any Error)? {
        await withCheckedContinuation { c in pool.submit(controller) { c.resume(returning: $0) } }
    }

    func ended(_ r: StudyController) {
        var meta: Logger.Metadata = ["study": "\(r.study.name)", "status": "\(r.study.status.rawValue)"]
        if let why = r.stopReason { meta["reason"] = "\(why)" }
        let times = pool.nextJobSeconds(studyID: r.study.id).sorted()
        if !times.isEmpty {
            meta["trials_started"] = "\(times.count)"
            meta["next_trial_ms_median"] = "\(String(format: "%.2f", times[times.count / 2] * 1000))"
            meta["next_trial_ms_p90"] = "\(String(format: "%.2f", times[min(times.count - 1, times.count * 9 / 10)] * 1000))"
        }
        if let f = r.failure { meta["error"] = "\(f)"; logger.error("study ended by an error", metadata: meta) }
        else { logger.info("study run ended", metadata: meta) }
        stateLock.withLock { observers[r.study.id] = nil; lastActivity = Date() }
    }

    // MARK: The API

    func respond(_ request: Request, http: Bool) async -> Response {
        stateLock.withLock { lastActivity = Date() }
        if http {
            let given = request.headers[.authorization] ?? ""
            guard let token = httpToken, Self.constantTimeEqual(given, "Bearer " + token) else {
                return Self.response(.error(401, "missing or wrong token: send 'Authorization: Bearer TOKEN' (the token is in \(paths.token))"))
            }
        }
        if let meant = request.headers.first(where: { $0.name.canonicalName == DaemonPaths.databaseHeader.lowercased() })?.value,
           DaemonPaths(db: meant).db != paths.db {
            return Self.response(.error(421, "this daemon serves \(paths.db), not \(meant.prefix(300))"))
        }
        var request = request
        let body: Data
        do {
            body = Data(buffer: try await request.collectBody(upTo: 4 << 20))
        } catch {
            return Self.response(.error(413, "the request body is larger than 4 MB"))
        }
        let path = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
        let query = request.uri.queryParameters
        let top = query["top"].map { String($0) }
        let r = await handle(method: request.method.rawValue, path: path, top: top, body: body)
        if r.status >= 400 && r.status != 404 {
            logger.warning("request refused", metadata: ["method": "\(request.method.rawValue)", "path": "\(request.uri.path.prefix(200))", "status": "\(r.status)"])
        }
        return Self.response(r)
    }

    static func response(_ r: APIResponse) -> Response {
        Response(status: .init(code: r.status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: r.body + "\n")))
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }

    /// Routes one request. Paths: `/v1/health`, `/v1/studies`, `/v1/studies/NAME`,
    /// `/v1/studies/NAME/leaderboard`, `/v1/studies/NAME/stop`, `/v1/studies/NAME/resume`,
    /// `/v1/studies/NAME/added`, `/v1/shutdown`.
    public func handle(method: String, path: [String], top: String?, body: Data) async -> APIResponse {
        do {
            guard path.first == "v1", let endpoint = Endpoint(Array(path.dropFirst())) else {
                throw APIError(404, "no such endpoint; see the API in the README (GET /v1/health, /v1/studies, ...)")
            }
            switch (method, endpoint) {
            case ("GET", .health):
                return APIResponse(status: 200, body: StudyJSON.encode(health()))
            case ("GET", .studies):
                return APIResponse(status: 200, body: StudyJSON.encode(try StudyStatusReport.all(store)))
            case ("POST", .studies):
                return try await submitStudy(SubmitRequest.parse(body))
            case ("GET", .study(let name)):
                return APIResponse(status: 200, body: StudyJSON.encode(try report(name)))
            case ("GET", .leaderboard(let name)):
                let s = try study(name)
                var n: Int? = nil
                if let top { guard let t = Int(top), t >= 1 else { throw APIError("top must be a positive integer, got '\(top.prefix(40))'") }; n = t }
                let spec = try StudyDefinition(s).spec
                let board = Leaderboard(trials: try store.trials(studyID: s.id), space: spec.space, study: s)
                return APIResponse(status: 200, body: board.json(top: n))
            case ("POST", .stop(let name)):
                let s = try study(name)
                guard pool.stop(studyID: s.id) else { throw APIError(409, "study '\(s.name)' is not running in this daemon") }
                logger.info("stop requested", metadata: ["study": "\(s.name)"])
                return APIResponse(status: 202, body: StudyJSON.encode(["study": s.name, "state": "stopping"]))
            case ("POST", .added(let name)):
                let s = try study(name)
                guard pool.isActive(studyID: s.id) else { throw APIError(409, "study '\(s.name)' is not running in this daemon") }
                pool.signalAddedTrials(studyID: s.id)
                return APIResponse(status: 202, body: StudyJSON.encode(["study": s.name, "state": "taking in added trials"]))
            case ("POST", .resume(let name)):
                let request = try ResumeRequest.parse(body)
                var s = try study(name)
                if pool.isActive(studyID: s.id) {
                    // Already running here (a daemon that just started took it up): nothing to do.
                    if s.status == .running && !pool.isEnding(studyID: s.id) {
                        return APIResponse(status: 202, body: StudyJSON.encode(try report(s.name)))
                    }
                    // A run here that is ending: stopped here a moment ago, or the study finished
                    // or was stopped since it began (another daemon of a shared study wrote that;
                    // this run sees it at its next reload). The new run starts once that one has
                    // ended; else the resume would be lost with it.
                    guard try await waitUntil({ !pool.isActive(studyID: s.id) }) else {
                        throw APIError(409, "study '\(s.name)' is still ending its last run in this daemon; resume it again in a moment")
                    }
                    s = try study(name)
                }
                if s.isEnding() {
                    // A run elsewhere (another daemon, a foreground search) is ending; it lets go
                    // of the lease when its trials have exited.
                    _ = try await waitUntil { s = try study(name); return !s.isEnding() }
                }
                if s.isRunning() {
                    throw APIError(409, s.status == .running ? "study '\(s.name)' is already running (pid \(s.controllerPID ?? 0))"
                                   : "study '\(s.name)' is still ending its last run (pid \(s.controllerPID ?? 0)); resume it again in a moment")
                }
                return try await whileStarting(s.name) {
                    try await start(makeController(s, workers: request.workers, dataDir: request.dataDir, env: request.env), status: 202)
                }
            case ("POST", .shutdown):
                logger.info("shutdown requested through the API")
                requestShutdown()
                return APIResponse(status: 202, body: StudyJSON.encode(["state": "shutting down"]))
            default:
                throw APIError(405, "method \(method.prefix(20)) is not allowed on /\(path.joined(separator: "/").prefix(200))")
            }
        } catch let e as APIError {
            return .error(e.status, e.message)
        } catch let e as StudyBusy {
            return .error(409, e.description)
        } catch let e as PoolShuttingDown {
            return .error(503, e.description)
        } catch let e as InputError {
            return .error(400, e.description)
        } catch {
            logger.error("request failed", metadata: ["error": "\(error)"])
            return .error(500, "\(error)")
        }
    }

    enum Endpoint {
        case health, studies, shutdown, study(String), leaderboard(String), stop(String), resume(String), added(String)
        init?(_ rest: [String]) {
            switch rest.count {
            case 1 where rest[0] == "health": self = .health
            case 1 where rest[0] == "studies": self = .studies
            case 1 where rest[0] == "shutdown": self = .shutdown
            case 2 where rest[0] == "studies": self = .study(rest[1])
            case 3 where rest[0] == "studies":
                switch rest[2] {
                case "leaderboard": self = .leaderboard(rest[1])
                case "stop": self = .stop(rest[1])
                case "resume": self = .resume(rest[1])
                case "added": self = .added(rest[1])
                default: return nil
                }
            default: return nil
            }
        }
    }

    struct Health: Encodable {
        var pid: Int32
        var db: String
        var workers: Int
        var busy: Int
        var running: [String: Int]
        var uptimeSeconds: Double
        var http: String?
        enum CodingKeys: String, CodingKey { case pid, db, workers, busy, running, http, uptimeSeconds = "uptime_seconds" }
    }

    func health() -> Health {
        let snap = pool.snapshot()
        return Health(pid: getpid(), db: paths.db, workers: snap.workers, busy: snap.busy, running: snap.running,
                      uptimeSeconds: (Date().timeIntervalSince(startedAt) * 10).rounded() / 10, http: httpBind?.description)
    }

    func study(_ name: String) throws -> StudyRecord {
        guard let s = try store.study(named: name) else { throw APIError(404, "no study named '\(name.prefix(200))'") }
        return s
    }

    func report(_ name: String) throws -> StudyStatusReport {
        guard let r = try StudyStatusReport.all(store, named: name).first else { throw APIError(404, "no study named '\(name.prefix(200))'") }
        return r
    }

    func submitStudy(_ r: SubmitRequest) async throws -> APIResponse {
        if let name = r.study { try StudyName.check(name, field: "study") }
        let spec = try StudySpec.parse(r.spaceText, file: r.spacePath, overrides: r.overrides ?? [])
        var options = RunOptions(studyName: r.study, trials: r.trials, workers: r.workers ?? pool.workers, sampler: r.sampler,
                                 scheduler: r.scheduler, seed: r.seed, overrides: r.overrides ?? [], dataDir: r.dataDir ?? config.dataDir,
                                 dbPath: paths.db, trialExecutable: config.trialExecutable, memoryMB: r.memoryMB)
        options.environment = r.env
        options.workDir = r.workDir
        options.warmStart = r.warmStart.map { WarmStart.Selection(studies: $0) }
        try options.keepEnvironment(spec.envKeep, from: r.env ?? [:], file: r.spacePath)
        let name = r.study ?? spec.name
        return try await whileStarting(name) { try await submitStudy(r, spec: spec, options: options, name: name) }
    }

    private func submitStudy(_ r: SubmitRequest, spec: StudySpec, options: RunOptions, name: String) async throws -> APIResponse {
        if let existing = try store.study(named: name), existing.isRunning() {
            // The same search, already running here (a daemon that just started took it up).
            if pool.isActive(studyID: existing.id) && StudyController.differences(existing: existing, spec: spec, options: options).isEmpty
                && (r.trials ?? spec.budget.trials) == existing.trialsTotal {
                return APIResponse(status: 200, body: StudyJSON.encode(try report(name)))
            }
            throw APIError(409, "study '\(name)' is already running (pid \(existing.controllerPID ?? 0))")
        }
        if shared { try StudyController.refuseInSharedRun(options.applied(to: spec)) }
        let controller = try StudyController(spec: spec, options: options, store: store)
        controller.shared = shared
        controller.observer = observer(for: controller.study)
        return try await start(controller, status: 201)
    }

    /// Waits, looking every 20 ms, until `done` (a run here ends within a reload,
    /// `SharedTiming.refresh`, once its trials have exited); false after `endingWait` seconds.
    private func waitUntil(_ done: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(Self.endingWait)
        while try !done() {
            if Date() > deadline { return false }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return true
    }

    /// How long a resume waits for the study's last run to end: its trials' grace period after
    /// SIGTERM (5 s by default) and a reload (1 s) for a run on another daemon.
    public static let endingWait = 10.0

    /// Runs `body` with the study `name` marked as being started through the API, so that the
    /// study change its start signals does not make `recover` start it a second time.
    private func whileStarting(_ name: String, _ body: () async throws -> APIResponse) async throws -> APIResponse {
        stateLock.withLock { _ = starting.insert(name) }
        defer { stateLock.withLock { _ = starting.remove(name) } }
        return try await body()
    }

    func start(_ controller: StudyController, status: Int) async throws -> APIResponse {
        if let error = await submit(controller) {
            stateLock.withLock { _ = observers.removeValue(forKey: controller.study.id) }
            throw error   // StudyBusy: 409, PoolShuttingDown: 503, a store failure: 500
        }
        logger.info("study started", metadata: ["study": "\(controller.study.name)", "trials_total": "\(controller.total)",
                                                "workers": "\(controller.options.workers)"])
        return APIResponse(status: status, body: StudyJSON.encode(try report(controller.study.name)))
    }
}

/// The HTTP listener's address.
struct HTTPBind: Sendable, CustomStringConvertible {
    var host: String
    var port: Int
    var isLoopback: Bool { host == "127.0.0.1" || host == "::1" || host.hasPrefix("127.") }
    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `PORT` (loopback), `HOST:PORT` or `[IPV6]:PORT`; `localhost` is 127.0.0.1.
    static func parse(_ s: String) throws -> HTTPBind {
        var host = "127.0.0.1", portText = s
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            host = String(s[s.index(after: s.startIndex)..<close])
            portText = String(s[s.index(after: close)...]).hasPrefix(":") ? String(s[s.index(close, offsetBy: 2)...]) : ""
        } else if let colon = s.lastIndex(of: ":") {
            host = String(s[..<colon])
            portText = String(s[s.index(after: colon)...])
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty, !host.contains(" ") else {
            throw InputError(field: "--http", "'\(s.prefix(100))' is not PORT, HOST:PORT or [IPV6]:PORT")
        }
        return HTTPBind(host: host, port: port)
    }
}

/// Writes a study's trial events to the daemon's log.
final class StudyLogObserver: RunObserver, @unchecked Sendable {
    let study: String
    let logger: Logger
    init(study: String, logger: Logger) { self.study = study; self.logger = logger }

    func started(study: String, total: Int, already: Int) {
        logger.info("study run began", metadata: ["study": "\(study)", "finished": "\(already)", "trials_total": "\(total)"])
    }

    func trialFinished(number: Int, state: TrialState, value: Double?, reason: String?, progress: RunProgress) {
        var meta: Logger.Metadata = ["study": "\(study)", "trial": "\(number)", "state": "\(state.rawValue)",
                                     "done": "\(progress.done)/\(progress.total)"]
        if let value { meta["value"] = "\(value)" }
        if let reason { meta["reason"] = "\(reason)" }
        logger.info("trial finished", metadata: meta)
    }

    func tick(_ progress: RunProgress) {}
}
