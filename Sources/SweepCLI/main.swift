import ArgumentParser
import Foundation
import SweepCore
import SweepRunner
import SweepStorage

/// `sweep`: the root command only lists its subcommands (one file each in this folder).
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Hyperparameter and architecture search for neural networks on the CPU.",
        version: SweepVersion.string,
        subcommands: [Start.self, Fork.self, Status.self, Stop.self, Resume.self, Logs.self, Serve.self, Shutdown.self, Check.self, LeaderboardCommand.self, Studies.self, Replay.self, Predict.self, Enqueue.self, Retry.self, Delete.self, Train.self, DataCommand.self, TrialWorker.self])
}

// Exit codes: 0 success, 1 failure, 2 bad usage or input.
setvbuf(stdout, nil, _IOLBF, 0)
do {
    var command = try Sweep.parseAsRoot()
    try command.run()
    exit(0)
} catch let e as InputError {
    // A database URL's password is never printed.
    FileHandle.standardError.write("error: \(withoutPasswords(e.description))\n".data(using: .utf8)!)
    exit(2)
} catch let e as StudyBusy {
    // The study named is another controller's: the user's input, like a name already taken.
    FileHandle.standardError.write("error: \(e)\n".data(using: .utf8)!)
    exit(2)
} catch let e as RuntimeFailure {
    FileHandle.standardError.write("error: \(withoutPasswords(e.description))\n".data(using: .utf8)!)
    exit(1)
} catch {
    let code = Sweep.exitCode(for: error)
    let message = withoutPasswords(Sweep.fullMessage(for: error))
    if code == .success {
        print(message)
        exit(0)
    }
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(code == .validationFailure ? 2 : (error is ExitCode ? code.rawValue : 1))
}
