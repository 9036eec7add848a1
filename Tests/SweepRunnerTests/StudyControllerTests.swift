import Foundation
import XCTest
import SweepSearch
import SweepStorage
@testable import SweepRunner

/// The search loop's own rules, through the library (no CLI preflight in front of it).
final class StudyControllerTests: XCTestCase {
    func runner(_ yaml: String) throws -> (StudyController, any TrialStore) {
        let dir = NSTemporaryDirectory() + "sweep-runner-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let spec = try StudySpec.parse(yaml, file: dir + "/space.yaml")
        let options = RunOptions(workers: 2, dataDir: dir, dbPath: dir + "/r.db", trialExecutable: "/bin/false")
        let r = try StudyController(spec: spec, options: options)
        return (r, r.store)
    }

    /// A program that cannot be started fails its trial with the reason (it does not end the
    /// controller, leaving the trial RUNNING); after 5 such failures the early failure rule stops
    /// the study with that reason.
    func testUnstartableProgramFailsTrialsAndStopsTheStudy() throws {
        let (r, store) = try runner("""
        name: nothere
        objective: {metric: loss, direction: minimize}
        budget: {trials: 30}
        command: [no-such-program-9f3a, train.py]
        params: {x: {float: [0, 1]}}
        """)
        try TrialPool(workers: 2).run(r)
        let trials = try store.trials(studyID: r.study.id)
        XCTAssertNil(r.failure)
        XCTAssertEqual(trials.count, StudyController.earlyFailureLimit)
        for t in trials {
            XCTAssertEqual(t.record.state, .fail)
            XCTAssertEqual(t.reason, "cannot start 'no-such-program-9f3a' (searched on PATH): No such file or directory")
        }
        let study = try XCTUnwrap(try store.study(named: "nothere"))
        XCTAssertEqual(study.status, .stopped)
        XCTAssertEqual(study.stopReason, "the first 5 trials of this run all failed the same way: " + trials[0].reason!)
    }

    /// Failures whose reasons differ only in numbers count as the same; different ones do not.
    func testReasonShapes() {
        XCTAssertEqual(StudyController.reasonShape("exited with status 1: trial 12 at line 40"),
                       StudyController.reasonShape("exited with status 1: trial 3 at line 41"))
        XCTAssertNotEqual(StudyController.reasonShape("exited with status 1: no module named torch"),
                          StudyController.reasonShape("exited with status 1: out of memory"))
    }

    /// `budget.timeout`: no trial starts past it; the study ends finished, with the reason noted.
    func testTimeBudgetEndsTheRunAsFinished() throws {
        let (r, store) = try runner("""
        name: timed
        objective: {metric: loss, direction: minimize}
        budget: {trials: 1000, timeout: 1.0}
        command: [/bin/sh, -c, "sleep 0.3; echo '{\\"value\\": 1}'"]
        params: {x: {float: [0, 1]}}
        """)
        try TrialPool(workers: 2).run(r)
        let trials = try store.trials(studyID: r.study.id)
        XCTAssertGreaterThan(trials.count, 2)
        XCTAssertLessThan(trials.count, 20)
        XCTAssertTrue(trials.allSatisfy { $0.record.state == .complete })
        let study = try XCTUnwrap(try store.study(named: "timed"))
        XCTAssertEqual(study.status, .finished)
        XCTAssertTrue(study.stopReason?.hasPrefix("the time budget (budget.timeout: 1 s) ran out") ?? false, "\(study.stopReason ?? "")")
    }
}
