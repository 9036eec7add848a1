/// An error in something the user gave Sweep (a file, a flag, a data set, a trial's output).
///
/// Contract: `description` names where the problem is (file, line when known, field) and what
/// is accepted; the CLI prints it as is and exits with status 2. Nothing is written before such
/// an error is raised.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String?
    public var line: Int?
    public var field: String?
    public var message: String

    public init(file: String? = nil, line: Int? = nil, field: String? = nil, _ message: String) {
        self.file = file; self.line = line; self.field = field; self.message = message
    }

    public var description: String {
        var where_ = ""
        if let file { where_ += file; if let line { where_ += ":\(line)" } }
        if let field { where_ += where_.isEmpty ? "'\(field)'" : ": '\(field)'" }
        return where_.isEmpty ? message : "\(where_): \(message)"
    }
}

/// A failure while running (I/O, a crashed trial): exit status 1.
public struct RuntimeFailure: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
