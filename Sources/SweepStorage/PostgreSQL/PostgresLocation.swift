import Foundation
import PostgresNIO   // also NIOSSL
import SweepCore

/// A PostgreSQL database as the user names it: `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`
/// (also `postgres://`), with `?sslmode=disable|allow|prefer|require|verify-ca|verify-full` and
/// `sslrootcert=FILE` as libpq reads them. The password comes from the URL, else `PGPASSWORD`,
/// else the password file (`PGPASSFILE` or `~/.pgpass`, `host:port:database:user:password`
/// lines with `*` and `\` escapes, ignored unless only its owner may read it, as libpq does).
public struct PostgresLocation: Sendable, Equatable {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: String
    public var sslRootCert: String?
    /// Why a password file was not read (shown with a refused password).
    public var passwordFileNote: String?

    public static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    /// Whether `text` is meant as a PostgreSQL URL (else it is a file path).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// The URL without its password, as messages name the database.
    public var redacted: String {
        var s = "postgresql://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
        var query: [String] = []
        if sslMode != "prefer" { query.append("sslmode=\(sslMode)") }
        if let sslRootCert { query.append("sslrootcert=\(sslRootCert)") }
        if !query.isEmpty { s += "?" + query.joined(separator: "&") }
        return s
    }

    /// Parses a URL; `InputError` (naming `field`, and the URL without its password) for one that
    /// is not of the form above.
    public init(url text: String, field: String = "--db", environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let shown = Self.redact(text)
        func refuse(_ why: String) -> InputError {
            InputError(field: field, "'\(shown)' is not a PostgreSQL URL: \(why); expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require]")
        }
        guard Self.isURL(text), let c = URLComponents(string: text) else { throw refuse("it cannot be read as a URL") }
        guard let host = c.host, !host.isEmpty else { throw refuse("it names no host") }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let p = c.port {
            guard (1...65535).contains(p) else { throw refuse("port \(p) is not in 1...65535") }
            port = p
        } else {
            guard !text.dropFirst(text.hasPrefix("postgres://") ? 11 : 13).prefix(while: { $0 != "/" }).hasSuffix(":") else {
                throw refuse("the port is empty")
            }
            port = 5432
        }
        let name = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        guard !name.isEmpty, !name.contains("/") else { throw refuse("it names no database (the path after the host)") }
        database = name
        guard let user = c.user ?? environment["PGUSER"] ?? environment["USER"], !user.isEmpty else {
            throw refuse("it names no user (USER@ before the host)")
        }
        self.user = user
        var mode = "prefer", root: String? = nil
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let v = item.value, Self.sslModes.contains(v) else {
                    throw refuse("sslmode '\(item.value ?? "")' is not one of \(Self.sslModes.joined(separator: ", "))")
                }
                mode = v
            case "sslrootcert":
                guard let v = item.value, !v.isEmpty else { throw refuse("sslrootcert names no file") }
                root = v
            default:
                throw refuse("the parameter '\(item.name)' is not read (accepted: sslmode, sslrootcert)")
            }
        }
        sslMode = mode; sslRootCert = root
        if let p = c.password {
            password = p
        } else if let p = environment["PGPASSWORD"] {
            password = p
        } else {
            let file = environment["PGPASSFILE"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.pgpass")
            (password, passwordFileNote) = Self.passwordFromFile(file, host: self.host, port: port, database: name, user: user)
        }
    }

    /// The password of the first matching line of a password file, or why the file was ignored.
    static func passwordFromFile(_ path: String, host: String, port: Int, database: String, user: String) -> (String?, String?) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), attributes[.type] as? FileAttributeType == .typeRegular,
              let mode = attributes[.posixPermissions] as? Int, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return (nil, nil)
        }
        guard mode & 0o077 == 0 else {
            return (nil, "\(path) was not read: others than its owner may read it (chmod 600 \(path))")
        }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields: [String] = [], current = "", escaped = false
            for ch in line {
                if escaped { current.append(ch); escaped = false }
                else if ch == "\\" { escaped = true }
                else if ch == ":" && fields.count < 4 { fields.append(current); current = "" }
                else { current.append(ch) }
            }
            fields.append(current)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return (fields[4], nil) }
        }
        return (nil, nil)
    }

    /// `text` with the password of a URL replaced by `***`.
    public static func redact(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// postgres-nio's configuration: TLS as `sslMode` asks (require: encrypted, not verified;
    /// verify-ca: the server's certificate chain checked; verify-full: also its host name, or its
    /// address for a URL that names the host by address, as SNI carries no addresses), the
    /// session in UTC with a bounded wait for locks.
    func configuration() throws -> PostgresConnection.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case "verify-full": tls.certificateVerification = .fullVerification
        case "verify-ca": tls.certificateVerification = .noHostnameVerification
        default: tls.certificateVerification = .none
        }
        if let sslRootCert {
            guard FileManager.default.isReadableFile(atPath: sslRootCert) else {
                throw InputError(file: redacted, field: "sslrootcert", "\(sslRootCert) cannot be read")
            }
            tls.trustRoots = .file(sslRootCert)
        }
        let mode: PostgresConnection.Configuration.TLS
        do {
            switch sslMode {
            case "disable", "allow": mode = .disable
            case "prefer": mode = .prefer(try NIOSSLContext(configuration: tls))
            default: mode = .require(try NIOSSLContext(configuration: tls))
            }
        } catch {
            throw InputError(file: redacted, field: "sslmode", "TLS cannot be set up: \(error)")
        }
        var config = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: mode)
        config.options.connectTimeout = .seconds(10)
        // A host cut off from the server (a failed network, not a closed connection) must not hold
        // its locks: the server ends its session when it sits in a transaction for 5 s (the
        // daemon reconnects and retries the transaction), and probes an idle connection's client
        // after 10 s (gone after 3 unanswered probes 3 s apart), so its connection slot is freed.
        config.options.additionalStartupParameters = [
            ("TimeZone", "UTC"), ("lock_timeout", "10s"), ("application_name", "sweep"),
            ("idle_in_transaction_session_timeout", "5s"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "3"), ("tcp_keepalives_count", "3"),
        ]
        return config
    }
}
