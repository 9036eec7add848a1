import Foundation
import XCTest
import SweepCore
@testable import SweepSearch

/// `StudySpec.checkCommand`: a command whose program or script does not exist is refused
/// before anything runs, naming the file, the line of the item and `command`.
final class CommandCheckTests: XCTestCase {
    func testProgramAndScriptChecks() throws {
        let dir = NSTemporaryDirectory() + "sweep-cmd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        try "print(1)\n".write(toFile: dir + "/train.py", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho '{\"value\": 1}'\n".write(toFile: dir + "/bin/run.sh", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/bin/run.sh")
        try "data\n".write(toFile: dir + "/notexec.sh", atomically: true, encoding: .utf8)
        let path = "/usr/bin:/bin"
        // nil: accepted; else the message's part and the index of the item named.
        let cases: [(command: String, error: (says: String, item: Int)?)] = [
            ("[python3, train.py]", nil),
            ("[python3, -u, train.py, --lr, '{lr}']", nil),
            ("[bin/run.sh, '{lr}']", nil),
            ("[./bin/run.sh]", nil),
            ("['\(dir)/bin/run.sh']", nil),
            ("[sh, -c, 'python3 missing.py']", nil),
            ("[python3, -m, missing.py]", nil),
            ("[python3, '{script}.py']", nil),
            ("[sh, bin/run.sh]", nil),
            ("[pyhton3, train.py]", ("the program 'pyhton3' is not on PATH (/usr/bin:/bin)", 0)),
            ("[python3, trian.py]", ("the script 'trian.py' does not exist (looked for \(dir)/trian.py)", 1)),
            ("[python3, -u, scripts/train.py]", ("the script 'scripts/train.py' does not exist", 2)),
            ("[Rscript, --vanilla, fit.R]", ("the program 'Rscript' is not on PATH", 0)),
            ("[bin/runn.sh]", ("the program 'bin/runn.sh' does not exist (looked for \(dir)/bin/runn.sh)", 0)),
            ("[notexec.sh]", ("the program 'notexec.sh' is not on PATH", 0)),
            ("[./notexec.sh]", ("the program './notexec.sh' is not an executable file", 0)),
            ("[./bin]", ("the program './bin' is not an executable file", 0)),
        ]
        for c in cases {
            let text = "name: t\nobjective: {metric: score}\ncommand:\n" + "  \(c.command)\n" + "params:\n  lr: {float: [0.1, 1]}\n"
            // The flow list: each item is on line 4.
            let spec = try StudySpec.parse(text, file: dir + "/space.yaml")
            if let want = c.error {
                XCTAssertThrowsError(try spec.checkCommand(path: path), c.command) { e in
                    guard let e = e as? InputError else { return XCTFail("\(c.command): \(e)") }
                    XCTAssertEqual(e.file, dir + "/space.yaml"); XCTAssertEqual(e.field, "command"); XCTAssertEqual(e.line, 4)
                    XCTAssertTrue(e.message.contains(want.says), "'\(e)' lacks '\(want.says)'")
                }
            } else {
                XCTAssertNoThrow(try spec.checkCommand(path: path), c.command)
            }
        }
        // Block-style lists name the line of the item at fault.
        let block = "name: t\nobjective: {metric: score}\ncommand:\n  - python3\n  - -u\n  - nothere.py\n"
        XCTAssertThrowsError(try StudySpec.parse(block, file: dir + "/space.yaml").checkCommand(path: path)) { e in
            XCTAssertEqual((e as? InputError)?.line, 6, "\(e)")
        }
        // Built-in trials have no command to check.
        XCTAssertNoThrow(try StudySpec.parse(SearchSpaceTests.yaml, file: "space.yaml").checkCommand(path: ""))
    }
}
