import Foundation
import XCTest
import SweepCore
import SweepSearch
import SweepStorage
@testable import SweepRunner

/// A shared run's mirror of the study's trials (`StudyController.mirror`), kept by reading only
/// what changed since the last read: after every reload it is what a full read returns.
final class SharedMirrorTests: XCTestCase {
    let a = LeaseOwner(host: "host-a", pid: 101, token: "1"), b = LeaseOwner(host: "host-b", pid: 202, token: "2")

    func stored(_ n: Int, _ state: TrialState) -> StoredTrial {
        StoredTrial(trialID: Int64(100 + n), record: TrialRecord(number: n, state: state, params: [:]), seed: 0, configJSON: "{}")
    }

    /// Changed trials replace their copies and new ones follow on, whatever the order given; a
    /// gap in the numbers is refused.
    func testMergeReplacesAndAppendsInNumberOrder() throws {
        let mirror = [stored(0, .complete), stored(1, .running)]
        func merged(_ changed: [StoredTrial]) throws -> [StoredTrial] {
            var out = mirror
            try StudyController.merge(changed, into: &out, study: "s")
            return out
        }
        XCTAssertEqual(try merged([]), mirror)
        XCTAssertEqual(try merged([stored(3, .waiting), stored(1, .complete), stored(2, .waiting)]),
                       [stored(0, .complete), stored(1, .complete), stored(2, .waiting), stored(3, .waiting)])
        XCTAssertThrowsError(try merged([stored(3, .waiting)])) {
            XCTAssertTrue("\($0)".contains("not dense from 0 (trial 3 after 2)"), "\($0)")
        }
    }

    /// Two daemons run a study; after each one's reloads its mirror is the store's trials, and a
    /// reload with nothing written since reads no trial.
    func testEachDaemonsMirrorFollowsTheStore() throws {
        let db = TempFolder.dir() + "/r.db"
        func daemon() throws -> StudyController {
            let c = try commandStudy("shared", trials: 5, workers: 2, db: db)
            c.shared = true
            c.sharedTiming = .init(leaseSeconds: 2)
            return c
        }
        let leader = try daemon(), worker = try daemon()
        XCTAssertEqual(try leader.begin(owner: a, now: Date()), [])
        XCTAssertEqual(try worker.begin(owner: b, now: Date()), [])
        let store = leader.store
        var later = 0.0
        func reloadBoth() throws {
            for d in [leader, worker] {
                later += 5
                _ = try d.tick(now: Date().addingTimeInterval(later))
                XCTAssertEqual(d.mirror, try store.trials(studyID: d.study.id))
                XCTAssertEqual(d.records, d.mirror.map(\.record))
            }
        }
        var finished = 0
        while finished < 5 {
            var jobs: [(StudyController, TrialJob)] = []
            for d in [leader, worker] where d.wantsTrial(now: Date()) {
                if let j = try d.nextJob(now: Date()) { jobs.append((d, j)) }
            }
            try reloadBoth()
            for (d, j) in jobs {
                _ = try d.handle(j.id, .line(.report(step: 1, value: 0.5, extra: [:])), now: Date())
                XCTAssertEqual(try d.handle(j.id, .line(.final(value: 0.25)), now: Date()), [])
                XCTAssertEqual(try d.handle(j.id, .exited(.exited(code: 0), stderrTail: ""), now: Date()), [])
                finished += 1
            }
            try reloadBoth()   // results held for the next claims (see `StudyController.finish`)
        }
        for d in [leader, worker] { d.writeHeldFinishes(now: Date()) }   // no claim follows
        try reloadBoth()
        XCTAssertEqual(leader.mirror.map(\.record.state), Array(repeating: .complete, count: 5))
        XCTAssertEqual(try store.trials(studyID: leader.study.id, changedSince: worker.changeCursor).trials, [], "nothing changed since")
    }
}
