import Foundation
import XCTest
import SweepTestSupport

/// How fast daemons sharing a PostgreSQL database take up a study submitted to one of them, and
/// how fast `sweep start` returns once the study it follows ends, along the user's path
/// (`ManyDaemonsTests.Host`s on the tests' private server). Before the study watch, a daemon
/// looked for new studies every 1.5 s and a follower every 0.3 s.
final class SharedDiscoveryTests: XCTestCase {
    /// Two daemons; three studies submitted one after the other to the first (`sweep start
    /// --detach`): the second daemon runs each within 0.35 s of its submission returning (a look
    /// every 1.5 s made that a one-in-four chance per study).
    func testASecondDaemonJoinsEachNewStudyAtOnce() throws {
        let url = try PrivatePostgres.shared().database()
        let hosts = [ManyDaemonsTests.Host(url: url), ManyDaemonsTests.Host(url: url)]
        for h in hosts { h.environment["SWEEP_TEST_MODES"] = "ok"; try h.start() }
        defer { for h in hosts { h.terminate() } }
        for i in 0..<3 {
            let name = "joined-\(i)"
            let space = try CLI.commandSpace(hosts[0].dir, name: name, seed: i, trials: 6, sampler: "random", file: "\(name).yaml")
            let submit = try CLI.run(["start", space, "--db", url, "--detach"], cwd: hosts[0].dir)
            XCTAssertEqual(submit.status, 0, submit.stderr)
            let submitted = Date()
            var joined: Date?
            while joined == nil && Date().timeIntervalSince(submitted) < 5 {
                if Self.logLines(hosts[1]).contains(where: { $0.contains("runs the study") && $0.hasSuffix(" study=\(name)") }) {
                    joined = Date()
                } else {
                    usleep(10_000)
                }
            }
            let after = try XCTUnwrap(joined, "the second daemon never ran study \(name)").timeIntervalSince(submitted)
            XCTAssertLessThan(after, 0.35, "study \(name): the second daemon joined \(after) s after the submission")
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try CLI.jsonArray(["studies", "--json", "--db", url]).contains(where: { $0["state"] as? String != "finished" }) {
            usleep(200_000)
        }
        for i in 0..<3 { try ManyDaemonsTests.assertIntact(url: url, study: "joined-\(i)", count: 6) }
    }

    /// One daemon; `sweep start` (following) of a short study returns within 0.15 s of the study's
    /// end (its `finished` status stored), twice; a look every 0.3 s could not promise that.
    func testTheFollowerReturnsAsSoonAsTheStudyEnds() throws {
        let server = try PrivatePostgres.shared()
        let url = try server.database()
        let database = String(url.split(separator: "/").last!)
        let host = ManyDaemonsTests.Host(url: url)
        host.environment["SWEEP_TEST_MODES"] = "ok"
        try host.start()
        defer { host.terminate() }
        for i in 0..<2 {
            let name = "followed-\(i)"
            let space = try CLI.commandSpace(host.dir, name: name, seed: i, trials: 4, sampler: "random", file: "\(name).yaml")
            let run = try CLI.run(["start", space, "--db", url], cwd: host.dir)
            let returned = Date()
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stdout.contains("trial 3"), run.stdout)
            // How long ago the study ended, on the server's clock, asked after `returned`: the
            // follower's delay is at most that age less the time since it returned.
            let asked = Date()
            let age = try XCTUnwrap(Double(try server.psql("""
                SELECT extract(epoch FROM (now() AT TIME ZONE 'UTC') - w.updated_at) FROM sweep_studies w JOIN studies s ON s.study_id = w.study_id
                WHERE s.study_name = '\(name)' AND w.status = 'finished'
                """, database: database).trimmingCharacters(in: .whitespacesAndNewlines)), "study \(name) is not finished")
            let delay = age - asked.timeIntervalSince(returned)
            XCTAssertLessThan(delay, 0.15, "study \(name): `sweep start` returned \(delay) s after the study ended")
        }
    }

    /// The lines of a host's daemon log.
    static func logLines(_ host: ManyDaemonsTests.Host) -> [Substring] {
        let folder = host.dir + "/results/logs"
        let logs = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".daemon.log") }
        return logs.flatMap { ((try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8)) ?? "").split(separator: "\n") }
    }
}
