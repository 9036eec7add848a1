import Foundation
import XCTest
import SweepTestSupport

/// A study whose scheduler pauses trials or continues them from checkpoints (promotion-mode ASHA,
/// PBT) cannot be shared by several daemons (the checkpoints live on one host): the daemon of a
/// PostgreSQL database answers its submission with 400, the CLI exits 2 naming the scheduler, and
/// nothing is written.
final class SharedRefusalTests: XCTestCase {
    func testPausingSchedulersAreRefusedBeforeAnythingIsWritten() throws {
        let server = try PrivatePostgres.shared()
        let url = try server.database()
        let host = ManyDaemonsTests.Host(url: url)
        try host.start()
        defer { host.terminate() }
        for (name, scheduler) in [("shared-pbt", "{name: pbt, interval: 2}"), ("shared-promote", "{name: asha, mode: promote}")] {
            let space = host.dir + "/\(name).yaml"
            try """
                name: \(name)
                dataset: {name: digits}
                objective: {metric: val_accuracy, direction: maximize}
                budget: {trials: 4, max_epochs: 4}
                scheduler: \(scheduler)
                model:
                  layers:
                    - {type: dense, units: {int: [8, 32]}}
                training:
                  learning_rate: {float: [0.001, 0.1], log: true}
                """.write(toFile: space, atomically: true, encoding: .utf8)
            let r = try CLI.run(["start", space, "--db", url, "--detach"], cwd: host.dir)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("scheduler") && r.stderr.contains("several daemons"), r.stderr)
        }
        let studies = try CLI.jsonArray(["studies", "--json", "--db", url])
        XCTAssertTrue(studies.isEmpty, "nothing written: \(studies)")
        XCTAssertTrue(host.process?.isRunning == true, "the daemon still serves")
    }
}
