import Foundation
import SweepCore
#if canImport(Glibc)
import Glibc
#endif

/// The daemon is not there: no socket, or nobody listening on it.
public struct DaemonUnavailable: Error, CustomStringConvertible {
    public var socket: String
    public var reason: String
    public var description: String { "no daemon answers on \(socket): \(reason)" }
}

/// Talks to a daemon's API over its Unix socket: one HTTP/1.1 request per connection.
public struct DaemonClient: Sendable {
    public let paths: DaemonPaths
    public init(db: String) { paths = DaemonPaths(db: db) }

    /// Sends a request and returns the daemon's answer (any status). Throws `DaemonUnavailable`
    /// when nothing listens, `RuntimeFailure` when the connection breaks.
    public func request(_ method: String, _ path: String, json body: Data? = nil, timeout: Double = 60) throws -> APIResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeFailure("cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(paths.socket.utf8)
        guard bytes.count <= DaemonPaths.maxSocketPath else { throw DaemonUnavailable(socket: paths.socket, reason: "the path is too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw DaemonUnavailable(socket: paths.socket, reason: String(cString: strerror(errno))) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        let payload = body ?? Data()
        var head = "\(method) \(path) HTTP/1.1\r\nHost: sweep\r\nConnection: close\r\nContent-Length: \(payload.count)\r\n"
        head += "\(DaemonPaths.databaseHeader): \(paths.db.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: ""))\r\n"
        if body != nil { head += "Content-Type: application/json\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        out.append(payload)
        try out.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n < 0 { if errno == EINTR { continue }; throw RuntimeFailure("sending to the daemon failed: \(String(cString: strerror(errno)))") }
                off += n
            }
        }
        var response = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 { if errno == EINTR { continue }; throw RuntimeFailure("reading the daemon's answer failed: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            response.append(contentsOf: buf[0..<n])
            if let r = Self.parse(response), r.complete { return r.response }
        }
        guard let r = Self.parse(response) else { throw RuntimeFailure("the daemon closed the connection without an answer") }
        return r.response
    }

    /// Parses an HTTP/1.1 response with a Content-Length (what the daemon sends).
    static func parse(_ data: Data) -> (response: APIResponse, complete: Bool)? {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var length: Int? = nil
        for l in lines.dropFirst() {
            let kv = l.split(separator: ":", maxSplits: 1)
            if kv.count == 2, kv[0].lowercased() == "content-length" { length = Int(kv[1].trimmingCharacters(in: .whitespaces)) }
        }
        let body = data[end.upperBound...]
        let complete = length.map { body.count >= $0 } ?? false
        let text = String(decoding: length.map { body.prefix($0) } ?? body, as: UTF8.self)
        return (APIResponse(status: status, body: text), complete)
    }

    // MARK: The API's requests (see `Daemon.handle`)

    /// `POST /v1/studies`: 201 (started) or 200 (the same search already runs here).
    public func submit(_ r: SubmitRequest) throws -> APIResponse { try request("POST", "/v1/studies", json: StudyJSON.data(r)) }

    /// `POST /v1/studies/NAME/resume`: 202.
    public func resume(study: String, _ r: ResumeRequest) throws -> APIResponse {
        try request("POST", "/v1/studies/" + Self.pathComponent(study) + "/resume", json: StudyJSON.data(r))
    }

    /// `POST /v1/studies/NAME/stop`: 202, or 409 when the study does not run in this daemon.
    public func stop(study: String) throws -> APIResponse {
        try request("POST", "/v1/studies/" + Self.pathComponent(study) + "/stop")
    }

    /// `POST /v1/studies/NAME/added`: 202 (the daemon takes in the trials others added to the
    /// study at once), or 409 when the study does not run in this daemon.
    public func added(study: String) throws -> APIResponse {
        try request("POST", "/v1/studies/" + Self.pathComponent(study) + "/added")
    }

    /// `POST /v1/shutdown`: 202.
    public func shutdown() throws -> APIResponse { try request("POST", "/v1/shutdown") }

    /// A study name as one path component.
    public static func pathComponent(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? name
    }

    /// The daemon's health, or nil when none answers (or another database's daemon does).
    public func health() -> [String: Any]? {
        guard let r = try? request("GET", "/v1/health", timeout: 5), r.status == 200 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any]
    }

    /// The pid of the daemon holding this database's lock, if one runs.
    public func daemonPID() -> Int32? { DaemonLock.holder(path: paths.lock) }
}
