import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL server for tests: `initdb` into a temporary folder (as the `postgres`
/// user when the tests run as root, as PostgreSQL refuses to run as root), a free port on
/// 127.0.0.1, password authentication over TCP, started on first use and stopped and removed
/// when the test process exits. `database()` gives each test a new, empty database owned by
/// `user`. Where the server's programs are missing the tests that need it are skipped, but fail
/// under CI=true (`.ci/run` installs them).
public final class PrivatePostgres: @unchecked Sendable {
    public let port: Int
    public let user = "sweep"
    public let password = "sweep-test-password"
    let folder: String
    let bin: String
    let runAs: String?
    private let lock = NSLock()
    private var databases = 0

    /// The server of this test process (started on first use). Throws `XCTSkip` when PostgreSQL's
    /// programs are not installed (an error under CI=true), or why the server did not start.
    public static func shared() throws -> PrivatePostgres {
        sharedLock.lock(); defer { sharedLock.unlock() }
        if let s = sharedServer { return s }
        if let e = sharedError { throw e }
        do {
            let s = try PrivatePostgres()
            sharedServer = s
            atexit { PrivatePostgres.sharedServer?.stop() }
            return s
        } catch {
            sharedError = error
            throw error
        }
    }
    nonisolated(unsafe) private static var sharedServer: PrivatePostgres?
    nonisolated(unsafe) private static var sharedError: (any Error)?
    private static let sharedLock = NSLock()

    /// A second server of this test process that accepts TCP connections only over TLS
    /// (`hostssl` in pg_hba.conf), with a certificate for 127.0.0.1 and localhost signed by a
    /// certificate authority of its own (`caFile`); started on first use.
    public static func sharedTLS() throws -> PrivatePostgres {
        sharedLock.lock(); defer { sharedLock.unlock() }
        if let s = sharedTLSServer { return s }
        let s = try PrivatePostgres(tls: true)
        sharedTLSServer = s
        atexit { PrivatePostgres.sharedTLSServer?.stop() }
        return s
    }
    nonisolated(unsafe) private static var sharedTLSServer: PrivatePostgres?

    /// The certificate authority that signed a TLS server's certificate (nil without TLS).
    public var caFile: String? { tls ? folder + "/ca.pem" : nil }
    let tls: Bool

    /// The folder with initdb, pg_ctl and psql: $SWEEP_PG_BIN, else the newest
    /// /usr/lib/postgresql/N/bin (Debian's layout), else the PATH.
    static func binFolder() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let b = env["SWEEP_PG_BIN"], FileManager.default.isExecutableFile(atPath: b + "/initdb") { return b }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for v in versions.compactMap(Int.init).sorted(by: >) {
            let b = "/usr/lib/postgresql/\(v)/bin"
            if FileManager.default.isExecutableFile(atPath: b + "/initdb") { return b }
        }
        for dir in (env["PATH"] ?? "").split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/initdb") {
            return String(dir)
        }
        return nil
    }

    /// A server of its own, stopped by `stop()` (`shared()` and `sharedTLS()` are the usual ones):
    /// `listen` adds addresses to 127.0.0.1 (they must exist on this machine now) and `allow` the
    /// networks (CIDR) whose clients may log in with a password: other hosts of a test
    /// (`NetworkNamespace`).
    public init(tls: Bool = false, listen: [String] = [], allow: [String] = []) throws {
        self.tls = tls
        guard let bin = Self.binFolder() else {
            let why = "PostgreSQL's server programs (initdb, pg_ctl) are not installed (Debian: apt-get install postgresql)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw PostgresTestError("\(why); CI must run the PostgreSQL tests") }
            throw XCTSkip(why)
        }
        self.bin = bin
        runAs = getuid() == 0 ? "postgres" : nil
        var template = Array("/tmp/sweep-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PostgresTestError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        folder = String(cString: made)
        if let runAs {
            guard let pw = getpwnam(runAs) else { throw PostgresTestError("the tests run as root and there is no user '\(runAs)' to run PostgreSQL as") }
            chown(folder, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        port = try Self.freePort()
        let pwfile = folder + "/pw"
        try "postgres-\(UUID().uuidString)\n".write(toFile: pwfile, atomically: true, encoding: .utf8)
        if let runAs, let pw = getpwnam(runAs) { chown(pwfile, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        do {
            try run(bin + "/initdb", ["-D", folder + "/data", "-U", "postgres", "--pwfile", pwfile, "-E", "UTF8", "--no-sync",
                                      "--auth-local=trust", "--auth-host=scram-sha-256"])
            var options = "-p \(port) -k \(folder) -c listen_addresses=\((["127.0.0.1"] + listen).joined(separator: ",")) -c fsync=off -c max_connections=200"
            if !allow.isEmpty {
                let hba = folder + "/data/pg_hba.conf"
                let lines = allow.map { "host all all \($0) scram-sha-256\n" }.joined()
                try ((try String(contentsOfFile: hba, encoding: .utf8)) + lines).write(toFile: hba, atomically: false, encoding: .utf8)
            }
            if tls {
                try makeCertificates()
                try "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
                    .write(toFile: folder + "/data/pg_hba.conf", atomically: false, encoding: .utf8)
                options += " -c ssl=on -c ssl_cert_file=\(folder)/server.pem -c ssl_key_file=\(folder)/server.key"
            }
            // The server outlives pg_ctl, and Foundation's `Process` does not see pg_ctl end
            // while it runs: started through `system`, its output in server.log.
            let start = "\(bin)/pg_ctl -D '\(folder)/data' -l '\(folder)/server.log' -w -t 60 -o "
                + "'\(options)' start"
            let status = system((runAs.map { "/sbin/runuser -u \($0) -- " } ?? "") + start + " >/dev/null 2>&1")
            guard status == 0 else {
                throw PostgresTestError("pg_ctl start failed (\(status)): \((try? String(contentsOfFile: folder + "/server.log", encoding: .utf8)) ?? "")")
            }
            try psql("CREATE ROLE \(user) LOGIN CREATEDB PASSWORD '\(password)'")
        } catch {
            stop()
            throw error
        }
    }

    /// A certificate authority (`ca.pem`) and a server certificate it signed for 127.0.0.1 and
    /// localhost (`server.pem`, key `server.key` readable by the server only), made with openssl.
    private func makeCertificates() throws {
        let f = folder
        let script = """
            set -e; cd '\(f)'
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=sweep test CA' -keyout ca.key -out ca.pem
            openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout server.key -out server.csr
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.txt
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.txt -out server.pem
            chmod 600 server.key; chmod 644 ca.pem server.pem
            """
        let status = system("(\(script)) >'\(f)/openssl.log' 2>&1")
        guard status == 0 else {
            throw PostgresTestError("openssl could not make the test certificates (\(status)): \((try? String(contentsOfFile: f + "/openssl.log", encoding: .utf8)) ?? "")")
        }
        if let runAs, let pw = getpwnam(runAs) {
            for file in ["server.key", "server.pem", "ca.pem"] { chown(f + "/" + file, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        }
    }

    /// A new, empty database owned by `user`; its URL (with the password unless `withPassword`
    /// is false).
    public func database(withPassword: Bool = true) throws -> String {
        lock.lock(); databases += 1; let name = "test_\(databases)"; lock.unlock()
        try psql("CREATE DATABASE \(name) OWNER \(user)")
        return url(name, withPassword: withPassword)
    }

    public func url(_ database: String, withPassword: Bool = true, password: String? = nil) -> String {
        "postgresql://\(user)\(withPassword ? ":" + (password ?? self.password) : "")@127.0.0.1:\(port)/\(database)"
    }

    /// Runs SQL as the superuser (over the server's Unix socket).
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try run(bin + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", folder, "-p", "\(port)", "-U", "postgres", "-d", database, "-c", sql])
    }

    /// `pg_dump --schema-only` of a database (for comparing schemas).
    public func schemaDump(_ database: String) throws -> String {
        try run(bin + "/pg_dump", ["--schema-only", "--no-owner", "-h", folder, "-p", "\(port)", "-U", "postgres", database])
    }

    /// Restarts the server (every connection is cut), through `system` as `pg_ctl start` above.
    public func restart() throws {
        let restart = "\(bin)/pg_ctl -D '\(folder)/data' -l '\(folder)/server.log' -m fast -w -t 60 restart"
        let status = system((runAs.map { "/sbin/runuser -u \($0) -- " } ?? "") + restart + " >/dev/null 2>&1")
        guard status == 0 else { throw PostgresTestError("pg_ctl restart failed (\(status))") }
    }

    /// Stops the server and removes its folder. Runs at exit, where Foundation's `Process` cannot
    /// wait for a child: through `system` (fork, exec, waitpid).
    public func stop() {
        let stop = "\(bin)/pg_ctl -D '\(folder)/data' -m immediate -w stop"
        _ = system((runAs.map { "/sbin/runuser -u \($0) -- " } ?? "") + stop + " >/dev/null 2>&1")
        _ = system("rm -rf '\(folder)'")
    }

    /// Runs a program (as `runAs`, through runuser), returns its standard output; an error with
    /// its output when it fails.
    @discardableResult
    func run(_ program: String, _ arguments: [String]) throws -> String {
        let p = Process()
        if let runAs {
            p.executableURL = URL(fileURLWithPath: "/sbin/runuser")
            p.arguments = ["-u", runAs, "--", program] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: program)
            p.arguments = arguments
        }
        p.currentDirectoryURL = URL(fileURLWithPath: folder)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let output = out.fileHandleForReading.readDataToEndOfFile(), errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw PostgresTestError("\((program as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed (\(p.terminationStatus)): \(String(decoding: errors, as: UTF8.self))\(text)")
        }
        return text
    }

    /// A port of 127.0.0.1 nobody listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresTestError("socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw PostgresTestError("bind failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

public struct PostgresTestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
