import Foundation
import XCTest
import SweepCore
import SweepSearch
import SweepStorage
@testable import SweepRunner

/// A study of several objectives and constraints, driven as a table of events: where each
/// objective's value comes from, what fails a trial, what the store and the scheduler get.
final class MultiObjectiveControllerTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_000_000)

    func study(_ extra: String = "", trials: Int = 8, db: String? = nil) throws -> StudyController {
        let db = db ?? TempFolder.dir() + "/mo.db"
        let spec = try StudySpec.parse("""
            name: mo
            objective:
              - {metric: loss, direction: minimize}
              - {metric: size, direction: minimize}
            constraints:
              - {metric: latency, max: 2.0}
            command: [/bin/true]
            params: {x: {float: [0, 1]}}
            budget: {trials: \(trials), max_epochs: 4}
            \(extra)
            """, file: (db as NSString).deletingLastPathComponent + "/space.yaml")
        return try StudyController(spec: spec, options: RunOptions(workers: 4, dataDir: "/tmp", dbPath: db, trialExecutable: "/bin/false"))
    }

    func run(_ c: StudyController, _ lines: [TrialLine], exit: Int32 = 0) throws -> (id: Int64, actions: [JobAction]) {
        let job = try XCTUnwrap(try c.nextJob(now: t0))
        var actions: [JobAction] = []
        for l in lines { actions += try c.handle(job.id, .line(l), now: t0) }
        actions += try c.handle(job.id, .exited(.exited(code: exit), stderrTail: ""), now: t0)
        return (job.id, actions)
    }

    func testValuesAndConstraintsComeFromTheLinesByMetricName() throws {
        let c = try study()
        XCTAssertEqual(c.sampler.name, "tpe")   // auto, several objectives: MOTPE
        _ = try c.begin(owner: .current, now: t0)
        XCTAssertEqual(c.study.directions, [.minimize, .minimize])
        XCTAssertEqual(c.study.metrics, ["loss", "size"])
        // `values` only; `value` and extra keys; objectives taken from the last epoch report.
        _ = try run(c, [.final(value: nil, metrics: ["loss": 0.3, "size": 10, "latency": 1.5])])
        _ = try run(c, [.final(value: 0.2, metrics: ["size": 30, "latency": 2.5])])
        _ = try run(c, [.report(step: 1, value: nil, extra: ["loss": 0.5, "size": 7, "latency": 1]), .final(value: 0.4)])
        // Missing: an objective, a constraint's metric; NaN; a report without the first objective.
        _ = try run(c, [.final(value: 0.1, metrics: ["latency": 1])])
        _ = try run(c, [.final(value: 0.1, metrics: ["size": 3])])
        _ = try run(c, [.final(value: 0.1, metrics: ["size": .nan, "latency": 1])])
        let killed = try run(c, [.report(step: 1, value: nil, extra: ["size": 3])], exit: 1)
        XCTAssertEqual(killed.actions, [.kill(killed.id)])

        let t = try c.store.trials(studyID: c.study.id)
        XCTAssertEqual(t.map(\.record.state), [.complete, .complete, .complete, .fail, .fail, .fail, .fail])
        XCTAssertEqual(t[0].record.values, [0.3, 10]); XCTAssertEqual(t[0].record.constraints, [-0.5])
        XCTAssertEqual(t[1].record.values, [0.2, 30]); XCTAssertEqual(t[1].record.constraints, [0.5])
        XCTAssertEqual(t[2].record.values, [0.4, 7]);  XCTAssertEqual(t[2].record.constraints, [-1])
        XCTAssertEqual(t[2].record.intermediate, [1: 0.5])
        XCTAssertEqual(t[2].record.intermediateValues, [1: [0.5, 7]])
        XCTAssertEqual(t[3].reason, #"reported no value for the objective 'size' (print it in the final line, e.g. {"values": {"size": ...}})"#)
        XCTAssertEqual(t[4].reason, #"reported no value for the constraint metric 'latency' (print it in the final line, e.g. {"values": {"latency": ...}})"#)
        XCTAssertEqual(t[5].reason, "reported NaN for the objective 'size'")
        XCTAssertEqual(t[6].reason, #"reported step 1 without the objective 'loss' (a "value", or "values": {"loss": ...})"#)
        // The metrics of a complete trial are its user attributes, as for one objective.
        XCTAssertEqual(TrialAttribute.metrics(fromUserAttributes: try c.store.trialUserAttributes(trialID: t[1].trialID)),
                       ["size": 30, "latency": 2.5])
        // One objective has a best value; several do not.
        XCTAssertNil(c.progress(now: t0).best)
        // The leaderboard: the feasible front first (0 and 2 do not dominate each other), then
        // the infeasible trial 1, then the failures.
        let board = Leaderboard(trials: t, space: c.spec.space, study: c.study)
        XCTAssertEqual(board.rows.map(\.number), [0, 2, 1, 3, 4, 5, 6])
        XCTAssertEqual(board.rows.map(\.pareto), [true, true, false, false, false, false, false])
        XCTAssertEqual(board.rows.prefix(3).map(\.front), [0, 0, 1])
        XCTAssertEqual(Leaderboard.front(t, directions: c.study.directions).map(\.record.number), [0, 2])
        let csv = board.csv(top: 3).split(separator: "\n")
        XCTAssertEqual(csv[0], "rank,trial,pareto,front,loss,size,epochs,duration_seconds,state,x,reason")
        XCTAssertTrue(csv[1].hasPrefix("1,0,true,1,0.3,10.0,0,"), String(csv[1]))
        XCTAssertTrue(csv[3].hasPrefix("3,1,false,2,0.2,30.0,0,"), String(csv[3]))
    }

    /// ASHA with several objectives stops a trial dominated at a rung (`RungLadder`'s Pareto
    /// rule) when its reports carry every objective; the vectors are stored, so a restarted
    /// controller decides on the same history.
    func testASHAStopsATrialDominatedAtARung() throws {
        let c = try study("scheduler: {name: asha, reduction_factor: 2, min_epochs: 1}")
        _ = try c.begin(owner: .current, now: t0)
        let a = try XCTUnwrap(try c.nextJob(now: t0)), b = try XCTUnwrap(try c.nextJob(now: t0)), d = try XCTUnwrap(try c.nextJob(now: t0))
        XCTAssertEqual(try c.handle(a.id, .line(.report(step: 1, value: nil, extra: ["loss": 0.5, "size": 10])), now: t0), [])
        // Dominated by a at the rung of epoch 1: stopped.
        XCTAssertEqual(try c.handle(b.id, .line(.report(step: 1, value: 0.6, extra: ["size": 12])), now: t0), [.stop(b.id)])
        // Only the first objective reported: no vector at the rung, not stopped.
        XCTAssertEqual(try c.handle(d.id, .line(.report(step: 1, value: 0.9, extra: [:])), now: t0), [])
        let stored = try c.store.trials(studyID: c.study.id)
        XCTAssertEqual(stored[0].record.intermediateValues, [1: [0.5, 10]])
        XCTAssertEqual(stored[1].record.intermediateValues, [1: [0.6, 12]])
        XCTAssertEqual(stored[2].record.intermediateValues, [:])
        XCTAssertEqual(try c.store.trialSystemAttributes(trialID: a.id)[TrialAttribute.intermediateValues], #"{"1": [0.5, 10.0]}"#)
    }
}
