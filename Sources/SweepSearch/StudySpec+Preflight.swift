import Foundation
import SweepCore

extension StudySpec {
    /// Checks what a new study must satisfy besides a valid file, before anything is written:
    /// every parameter can vary (`checkSteps`) and the command can start (`checkCommand`).
    /// `sweep check` and `sweep start` call it; a stored study is read without it.
    public func preflight() throws {
        try checkSteps()
        try checkCommand()
    }

    /// Refuses a step larger than its parameter's range (the value would never vary), naming
    /// the file, the parameter's line and the parameter, or the `--set` argument that gave it.
    public func checkSteps() throws {
        for p in space.parameters {
            guard let problem = p.distribution.stepProblem else { continue }
            if p.line == nil, let argument = ConfigTree.override(covering: p.name, in: overrides) {
                throw InputError(file: "--set \(argument)", field: p.name, problem)
            }
            throw InputError(file: file, line: p.line, field: p.name, problem)
        }
    }

    /// The folder a command's trials run in: the search-space file's (relative paths in the
    /// command are relative to it), or nil for the current directory.
    public var commandDirectory: String? {
        let dir = (file as NSString).deletingLastPathComponent
        return dir.isEmpty ? nil : dir
    }

    /// The file's absolute path (as stored with the study).
    public var absoluteFile: String { file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file }

    /// Extensions of script files a command's interpreter is given (`python3 train.py`).
    static let scriptExtensions: Set<String> = ["py", "sh", "bash", "zsh", "r", "jl", "rb", "pl", "js", "mjs", "cjs", "ts", "lua", "php", "m"]

    /// Checks, before anything is written, that a `command:` can start: its program exists (on
    /// `PATH`, or, when it holds a '/', relative to the file's folder) and is executable, and
    /// its script (the first argument after the program that is not an option and ends in .py,
    /// .sh, .R, .jl, ...) exists relative to the file's folder. Arguments with `{placeholders}`
    /// are not checked; nor is anything after `-c` or `-m`. Does nothing for built-in trials.
    /// `path`: the `PATH` trials start with (default: this process's).
    public func checkCommand(path: String? = ProcessInfo.processInfo.environment["PATH"]) throws {
        guard let command, let program = command.first else { return }
        let lines = commandLines
        func fail(_ index: Int, _ message: String) -> InputError {
            InputError(file: file, line: lines.indices.contains(index) ? lines[index] : nil, field: "command", message)
        }
        let base = commandDirectory ?? FileManager.default.currentDirectoryPath
        let fm = FileManager.default
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base + "/" + p }
        func isExecutableFile(_ p: String) -> Bool {
            var dir: ObjCBool = false
            return fm.fileExists(atPath: p, isDirectory: &dir) && !dir.boolValue && fm.isExecutableFile(atPath: p)
        }
        if !program.contains("{") {
            if program.contains("/") {
                let full = resolve(program)
                var dir: ObjCBool = false
                if !fm.fileExists(atPath: full, isDirectory: &dir) {
                    throw fail(0, "the program '\(program)' does not exist (looked for \(full)); a path in `command` is relative to the folder of \(file)")
                }
                if dir.boolValue || !fm.isExecutableFile(atPath: full) {
                    throw fail(0, "the program '\(program)' is not an executable file; make it executable (chmod +x) or name its interpreter first, e.g. [python3, \(program)]")
                }
            } else {
                let dirs = (path ?? "/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false).map { $0.isEmpty ? "." : String($0) }
                guard dirs.contains(where: { isExecutableFile(resolve($0) + "/" + program) }) else {
                    throw fail(0, "the program '\(program)' is not on PATH (\(path ?? "")); accepted: a program on PATH or a path to an executable")
                }
            }
        }
        // The script: the first argument that is not an option.
        for (i, arg) in command.enumerated().dropFirst() {
            if arg == "-c" || arg == "-m" || arg.contains("{") { break }
            if arg.hasPrefix("-") { continue }
            let ext = (arg as NSString).pathExtension.lowercased()
            if Self.scriptExtensions.contains(ext), !fm.fileExists(atPath: resolve(arg)) {
                throw fail(i, "the script '\(arg)' does not exist (looked for \(resolve(arg))); a path in `command` is relative to the folder of \(file)")
            }
            break
        }
    }

    /// The line of each item of `command:` in the file (nil when unknown).
    var commandLines: [Int?] {
        guard case .map(let pairs, _) = template, let node = pairs.first(where: { $0.key == "command" })?.value,
              case .list(let items, let line) = node else { return [] }
        return items.map { $0.line ?? line }
    }
}
