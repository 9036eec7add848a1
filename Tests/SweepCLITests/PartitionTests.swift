import Foundation
import XCTest
import SweepTestSupport

/// Hosts as network namespaces: each daemon reaches the tests' PostgreSQL server over a link of
/// its own, and a link is cut as a failed network would (packets dropped, connections hanging,
/// the daemon alive), then healed.
final class PartitionTests: XCTestCase {
    /// Two daemons, each in its own network namespace, share a 40-trial study submitted to the
    /// first (its leader). The leader's link is cut for 15 s: the other daemon takes the lease
    /// (the server ends the cut-off daemon's sessions that sat in a transaction, holding locks,
    /// after 5 s), puts the cut-off daemon's trials back and goes on alone; then the link is healed and the
    /// cut-off daemon's late results are refused. At the end: exactly 40 COMPLETE, numbers 0..39
    /// once each, every value its x, one report per epoch, nothing RUNNING or WAITING, the study
    /// finished, and both daemons still serve.
    func testAHostCutOffFromTheDatabaseLosesItsTrialsAndNoneIsLost() throws {
        let hosts = try [NetworkNamespace(index: 1), NetworkNamespace(index: 2)]
        defer { for h in hosts { h.remove() } }
        let server = try PrivatePostgres(listen: hosts.map(\.gateway), allow: ["10.231.0.0/16"])
        defer { server.stop() }
        let url = try server.database()
        func hostURL(_ h: NetworkNamespace) -> String { url.replacingOccurrences(of: "@127.0.0.1:", with: "@\(h.gateway):") }
        let daemons = hosts.map { ManyDaemonsTests.Host(url: hostURL($0)) }
        for (d, h) in zip(daemons, hosts) { d.namespace = h; try d.start() }
        defer { for d in daemons { d.terminate() } }

        // Submitted inside the first namespace, to its daemon (a daemon serves the URL it was given).
        let space = try CLI.commandSpace(daemons[0].dir, name: "partition", seed: 5, trials: 40, sampler: "random")
        let submit = try CLI.run(Array(hosts[0].command([CLI.binary, "start", space, "--db", hostURL(hosts[0]), "--detach"]).dropFirst()),
                                 executable: NetworkNamespace.ipPath, env: ["SWEEP_TEST_MODES": "slow"], cwd: daemons[0].dir)
        XCTAssertEqual(submit.status, 0, submit.stderr)
        func counts() throws -> [String: Int] { try ManyDaemonsTests.counts(url) }
        func workers() throws -> Set<String> {
            Set(try CLI.jsonArray(["leaderboard", "partition", "--db", url, "--json"]).compactMap { $0["worker"] as? String })
        }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if try (counts()["COMPLETE"] ?? 0) >= 4 && workers().count == 2 { break }
            usleep(300_000)
        }
        XCTAssertEqual(try workers().count, 2, "both daemons ran trials before the cut")

        try hosts[0].cut()
        let before = try counts()["COMPLETE"] ?? 0
        sleep(15)
        let during = try counts()["COMPLETE"] ?? 0
        try hosts[0].heal()
        XCTAssertGreaterThan(during, before, "the other daemon went on while the leader was cut off")

        while Date() < deadline.addingTimeInterval(120), try counts() != ["COMPLETE": 40] { usleep(500_000) }
        try ManyDaemonsTests.assertIntact(url: url, study: "partition", count: 40)
        for d in daemons { XCTAssertTrue(d.process?.isRunning == true, "the daemon in \(d.dir) still serves") }
    }
}
