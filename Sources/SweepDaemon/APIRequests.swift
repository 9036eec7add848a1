import Foundation
import SweepCore
import SweepRunner
import SweepSearch

/// What the API answers: an HTTP status and a JSON body.
public struct APIResponse: Sendable, Equatable {
    public var status: Int
    public var body: String
    public init(status: Int, body: String) { self.status = status; self.body = body }

    /// `{"error": message}` with `status`.
    public static func error(_ status: Int, _ message: String) -> APIResponse {
        APIResponse(status: status, body: StudyJSON.encode(["error": message]))
    }
}

/// A request the API rejects: answered with its status (400 unless said) and message.
struct APIError: Error {
    var status: Int
    var message: String
    init(_ status: Int, _ message: String) { self.status = status; self.message = message }
    init(_ message: String) { self.init(400, message) }
}

enum StudyJSON {
    static func data<T: Encodable>(_ v: T) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! e.encode(v)
    }
    static func encode<T: Encodable>(_ v: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(data: try! e.encode(v), encoding: .utf8)!
    }
}

/// `POST /v1/studies`: a search to run. `space_text` is the search-space file's text and
/// `space_path` its absolute path (the study's label, and the folder a user command runs in); the
/// rest are `sweep start`'s options. The CLI sends it (`DaemonClient.submit`), the daemon
/// checks it (`parse`): one type for both sides.
public struct SubmitRequest: Codable, Sendable, Equatable {
    public var spaceText: String
    public var spacePath: String
    public var study: String?
    public var trials: Int?
    public var workers: Int?
    public var sampler: String?
    public var scheduler: String?
    public var seed: UInt64?
    public var dataDir: String?
    public var memoryMB: Int?
    public var overrides: [String]?
    /// The environment the trials start with (the submitting shell's); default: the daemon's.
    public var env: [String: String]?
    /// The submitting shell's working directory (absolute), where built-in trials run.
    public var workDir: String?
    /// Earlier studies of the database whose trials are the new study's prior observations
    /// (`--warm-start`; see `WarmStartSources`).
    public var warmStart: [String]?

    public init(spaceText: String, spacePath: String, study: String? = nil, trials: Int? = nil, workers: Int? = nil,
                sampler: String? = nil, scheduler: String? = nil, seed: UInt64? = nil, dataDir: String? = nil, memoryMB: Int? = nil,
                overrides: [String]? = nil, env: [String: String]? = nil, workDir: String? = nil, warmStart: [String]? = nil) {
        self.spaceText = spaceText; self.spacePath = spacePath; self.study = study; self.trials = trials; self.workers = workers
        self.sampler = sampler; self.scheduler = scheduler; self.seed = seed; self.dataDir = dataDir; self.memoryMB = memoryMB
        self.overrides = overrides; self.env = env; self.workDir = workDir; self.warmStart = warmStart
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case spaceText = "space_text", spacePath = "space_path", study, trials, workers, sampler, scheduler, seed
        case dataDir = "data_dir", memoryMB = "memory_mb", overrides, env, workDir = "work_dir", warmStart = "warm_start"
    }

    static func parse(_ body: Data) throws -> SubmitRequest {
        try checkKeys(body, allowed: CodingKeys.allCases.map(\.rawValue), required: ["space_text", "space_path"])
        let r: SubmitRequest = try decode(body)
        guard r.spacePath.hasPrefix("/"), !r.spacePath.contains("\0") else {
            throw APIError("space_path must be the search-space file's absolute path, got '\(r.spacePath.prefix(200))'")
        }
        if let t = r.trials, !(1...1_000_000).contains(t) { throw APIError("trials must be 1...1000000, got \(t)") }
        if let m = RunOptions.workersProblem(r.workers) { throw APIError(m) }
        if let s = r.sampler, !StudySpec.samplerNames.contains(s) {
            throw APIError("sampler '\(s.prefix(50))' is not one of \(StudySpec.samplerNames.joined(separator: ", "))")
        }
        if let s = r.scheduler, !StudySpec.schedulerNames.contains(s) {
            throw APIError("scheduler '\(s.prefix(50))' is not one of \(StudySpec.schedulerNames.joined(separator: ", "))")
        }
        if let m = r.memoryMB, !(16...16_777_216).contains(m) { throw APIError("memory_mb must be 16...16777216, got \(m)") }
        if let d = r.dataDir, !d.hasPrefix("/") || d.contains("\0") { throw APIError("data_dir must be an absolute path, got '\(d.prefix(200))'") }
        if let d = r.workDir, !d.hasPrefix("/") || d.contains("\0") { throw APIError("work_dir must be an absolute path, got '\(d.prefix(200))'") }
        if let w = r.warmStart, w.isEmpty { throw APIError("warm_start must name at least one study") }
        return r
    }
}

/// `POST /v1/studies/NAME/resume`: optional overrides of how the stored study runs.
public struct ResumeRequest: Codable, Sendable, Equatable {
    public var workers: Int?
    public var dataDir: String?
    public var env: [String: String]?
    public init(workers: Int? = nil, dataDir: String? = nil, env: [String: String]? = nil) {
        self.workers = workers; self.dataDir = dataDir; self.env = env
    }
    enum CodingKeys: String, CodingKey, CaseIterable { case workers, dataDir = "data_dir", env }

    static func parse(_ body: Data) throws -> ResumeRequest {
        if body.isEmpty || body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return ResumeRequest() }
        try checkKeys(body, allowed: CodingKeys.allCases.map(\.rawValue), required: [])
        let r: ResumeRequest = try decode(body)
        if let m = RunOptions.workersProblem(r.workers) { throw APIError(m) }
        if let d = r.dataDir, !d.hasPrefix("/") || d.contains("\0") { throw APIError("data_dir must be an absolute path, got '\(d.prefix(200))'") }
        return r
    }
}

/// The body must be one JSON object with only `allowed` keys and every `required` one.
private func checkKeys(_ body: Data, allowed: [String], required: [String]) throws {
    let object: Any
    do { object = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) } catch {
        throw APIError("the body is not valid JSON")
    }
    guard let dict = object as? [String: Any] else { throw APIError("the body must be a JSON object") }
    if let unknown = dict.keys.sorted().first(where: { !allowed.contains($0) }) {
        throw APIError("unknown field '\(unknown.prefix(80))'; accepted: \(allowed.joined(separator: ", "))")
    }
    if let missing = required.first(where: { dict[$0] == nil }) { throw APIError("missing field '\(missing)'") }
}

private func decode<T: Decodable>(_ body: Data) throws -> T {
    do { return try JSONDecoder().decode(T.self, from: body) } catch let e as DecodingError {
        switch e {
        case .typeMismatch(let type, let c), .valueNotFound(let type, let c):
            throw APIError("field '\(c.codingPath.map(\.stringValue).joined(separator: "."))' must be \(describe(type))")
        case .dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError(path.isEmpty ? "a value is out of range or of the wrong type: \(c.debugDescription.prefix(160))"
                                        : "field '\(path)' is out of range or malformed")
        case .keyNotFound(let k, _):
            throw APIError("missing field '\(k.stringValue)'")
        @unknown default:
            throw APIError("the body does not match the request's fields")
        }
    }
}

private func describe(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Int.Type, is UInt64.Type: return "an integer"
    case is [String].Type: return "a list of strings"
    case is [String: String].Type: return "an object of strings"
    default: return "of type \(type)"
    }
}
