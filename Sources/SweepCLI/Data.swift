import ArgumentParser
import Foundation
import SweepCore
import SweepData

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Manage data sets.", subcommands: [Fetch.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a data set's official files and verify their checksums.")
        @Argument(help: "fashion-mnist or mnist") var name: String
        @Option(help: "Destination directory (default: the data directory).") var dest: String?
        @Option(help: "Base URL to download from (default: the data set's official mirror).") var baseUrl: String?

        func validate() throws {
            guard DatasetFetcher.known[name] != nil else {
                throw ValidationError("unknown data set '\(name)'; accepted: \(DatasetFetcher.known.keys.sorted().joined(separator: ", "))")
            }
        }

        func run() throws {
            let dir = DataDirectory.resolve(dest)
            let written = try DatasetFetcher.fetch(name, into: dir, baseURL: baseUrl) { print($0) }
            print("\(name): \(written.count) files verified in \(dir)/\(name)")
        }
    }
}
