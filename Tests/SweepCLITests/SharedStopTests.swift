import Foundation
import XCTest
import SweepTestSupport

/// `sweep stop` asked of a daemon that does not lead a shared study (`ManyDaemonsTests.Host`s on
/// the tests' private PostgreSQL server) stops the study on every daemon.
final class SharedStopTests: XCTestCase {
    /// Two daemons, a 200-trial study submitted to the first (its leader); `sweep stop` from the
    /// second's working directory: the study is `stopped`, no trial runs anywhere soon after, no
    /// trial finishes afterwards, and both daemons still serve.
    func testStopThroughANonLeaderStopsTheSharedStudy() throws {
        let (url, hosts) = try twoDaemonsRunning("shared-stop", seed: 3, trials: 200)
        defer { for h in hosts { h.terminate() } }
        func counts() throws -> [String: Int] { try ManyDaemonsTests.counts(url) }

        let stop = try CLI.run(["stop", "shared-stop", "--db", url, "--wait", "30"], cwd: hosts[1].dir)
        XCTAssertEqual(stop.status, 0, stop.stderr)
        XCTAssertEqual(try CLI.jsonArray(["studies", "--json", "--db", url]).first?["state"] as? String, "stopped")
        // Within a lease (2 s) and a reload, every daemon has let its trials go.
        var settled: [String: Int] = [:]
        for _ in 0..<40 {
            usleep(250_000)
            settled = try counts()
            if settled["RUNNING"] == nil { break }
        }
        XCTAssertNil(settled["RUNNING"], "no trial runs after the stop: \(settled)")
        XCTAssertLessThan(settled["COMPLETE"] ?? 0, 200)
        sleep(3)
        XCTAssertEqual(try counts(), settled, "nothing ran after the stop")
        for h in hosts { XCTAssertTrue(h.process?.isRunning == true, "the daemon in \(h.dir) still serves") }
    }

    /// `sweep stop` through the leading daemon (it returns once that daemon's run wrote the study
    /// `stopped`), then at once `sweep resume` through the other one, whose run of the study sees
    /// the stop only at its next reload: the resume waits for that run to end and runs the study
    /// again to its end, instead of finding it "already running here" and being lost with it.
    func testAResumeRightAfterAStopRunsTheStudyAgain() throws {
        let (url, hosts) = try twoDaemonsRunning("stop-resume", seed: 5, trials: 24)
        defer { for h in hosts { h.terminate() } }
        let stop = try CLI.run(["stop", "stop-resume", "--db", url], cwd: hosts[0].dir)
        XCTAssertEqual(stop.status, 0, stop.stderr)
        let resume = try CLI.run(["resume", "stop-resume", "--db", url, "--detach"], cwd: hosts[1].dir)
        XCTAssertEqual(resume.status, 0, resume.stderr)
        let end = Date().addingTimeInterval(90)
        while Date() < end, try ManyDaemonsTests.counts(url) != ["COMPLETE": 24] { usleep(300_000) }
        try ManyDaemonsTests.assertIntact(url: url, study: "stop-resume", count: 24)
    }

    /// `sweep stop --wait 0.2` through the daemon that does not lead, while its trials take a
    /// second to exit (the stop returns before the study's run has ended), then at once `sweep
    /// resume`: the study reads as `stopping`, and the resume waits for the run that is ending
    /// (the leader's lease) and runs the study again to its end, instead of taking the leader's
    /// lease for a run that goes on, saying "already running", and being lost.
    func testAResumeWhileAStopIsUnderWayRunsTheStudyAgain() throws {
        let (url, hosts) = try twoDaemonsRunning("stopping-resume", seed: 6, trials: 30, modes: "linger")
        defer { for h in hosts { h.terminate() } }
        let stop = try CLI.run(["stop", "stopping-resume", "--db", url, "--wait", "0.2"], cwd: hosts[1].dir)
        XCTAssertNotEqual(stop.status, 0, "the stop is still under way after 0.2 s: \(stop.stdout)")
        XCTAssertEqual(try CLI.jsonArray(["studies", "--json", "--db", url]).first?["state"] as? String, "stopping")
        let resume = try CLI.run(["resume", "stopping-resume", "--db", url, "--detach"], cwd: hosts[1].dir)
        XCTAssertEqual(resume.status, 0, resume.stderr)
        XCTAssertFalse(resume.stdout.contains("already running"), resume.stdout)
        let end = Date().addingTimeInterval(90)
        while Date() < end, try ManyDaemonsTests.counts(url) != ["COMPLETE": 30] { usleep(300_000) }
        try ManyDaemonsTests.assertIntact(url: url, study: "stopping-resume", count: 30)
        XCTAssertEqual(try CLI.jsonArray(["studies", "--json", "--db", url]).first?["state"] as? String, "finished")
    }

    /// Two daemons on a database of the private server, a study of `CLI.commandSpace` submitted to
    /// the first (its leader), its trials in `modes` (`command_trial.py`), returned once both have
    /// run trials of it (the second one's claims show as a second worker). The caller terminates
    /// the hosts (this does when it throws).
    func twoDaemonsRunning(_ name: String, seed: Int, trials: Int, modes: String = "slow") throws -> (url: String, hosts: [ManyDaemonsTests.Host]) {
        let url = try PrivatePostgres.shared().database()
        let hosts = [ManyDaemonsTests.Host(url: url), ManyDaemonsTests.Host(url: url)]
        do {
            for h in hosts { h.environment["SWEEP_TEST_MODES"] = modes; try h.start() }
            let space = try CLI.commandSpace(hosts[0].dir, name: name, seed: seed, trials: trials, sampler: "random")
            let submit = try CLI.run(["start", space, "--db", url, "--detach"], env: ["SWEEP_TEST_MODES": modes], cwd: hosts[0].dir)
            XCTAssertEqual(submit.status, 0, submit.stderr)
            let deadline = Date().addingTimeInterval(60)
            var workers = Set<String>()
            while Date() < deadline && workers.count < 2 {
                usleep(200_000)
                workers = Set(try CLI.jsonArray(["leaderboard", name, "--db", url, "--json"]).compactMap { $0["worker"] as? String })
            }
            XCTAssertEqual(workers.count, 2, "both daemons ran trials")
            return (url, hosts)
        } catch {
            for h in hosts { h.terminate() }
            throw error
        }
    }
}
