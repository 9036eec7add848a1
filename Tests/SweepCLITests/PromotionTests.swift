import Foundation
import XCTest

/// Pausing schedulers end to end with the built `sweep` (`SWEEP_BIN`): promotion-mode ASHA and
/// population-based training on a small digits MLP.
final class PromotionTests: XCTestCase {
    func space(_ dir: String, name: String, scheduler: String, trials: Int) throws -> String {
        try CLI.writeSpace(dir, """
        name: \(name)
        seed: 5
        dataset: {name: digits, scaling: unit, validation: 0.15}
        objective: {metric: val_accuracy, direction: maximize}
        budget: {trials: \(trials), max_epochs: 6}
        sampler: random
        scheduler: \(scheduler)
        model:
          layers:
            - {type: dense, units: {int: [16, 64]}, activation: relu}
        training:
          batch_size: 64
          optimizer: adam
          learning_rate: {float: [1.0e-3, 3.0e-2], log: true}
        """, name: name + ".yaml")
    }

    /// (number, state, [step by insertion order], system attributes as JSON) of every trial.
    func trials(_ db: String, _ study: String) throws -> [(number: Int, state: String, steps: [Int], attrs: [String: String])] {
        let r = try CLI.run(["python3", "-c", """
            import sqlite3, sys, json
            c = sqlite3.connect(sys.argv[1])
            out = []
            for tid, n, st in c.execute("SELECT t.trial_id, t.number, t.state FROM trials t JOIN studies s ON s.study_id = t.study_id WHERE s.study_name = ? ORDER BY t.number", (sys.argv[2],)):
                steps = [s for (s,) in c.execute("SELECT step FROM trial_intermediate_values WHERE trial_id = ? ORDER BY trial_intermediate_value_id", (tid,))]
                attrs = dict(c.execute("SELECT key, value_json FROM trial_system_attributes WHERE trial_id = ?", (tid,)))
                out.append([n, st, steps, attrs])
            print(json.dumps(out))
            """, db, study], executable: "/usr/bin/env")
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[Any]], r.stdout)
        return rows.map { ($0[0] as! Int, $0[1] as! String, $0[2] as! [Int], $0[3] as! [String: String]) }
    }

    /// Promotion-mode ASHA (η = 2: milestones 1, 2, 4 of 6 epochs): the study finishes with
    /// every trial COMPLETE or PRUNED, none left WAITING or RUNNING; promoted trials' reports are
    /// epochs 1...N in order, each once; some trial was promoted past the first rung.
    func testPromoteModeASHAFinishesWithOrderedReports() throws {
        let dir = CLI.tempDir(), db = dir + "/sweep.db"
        let s = try space(dir, name: "promote", scheduler: "{name: asha, mode: promote, reduction_factor: 2}", trials: 8)
        let run = try CLI.run(["start", "--foreground", s, "--workers", "2", "--db", db], timeout: 120)
        XCTAssertEqual(run.status, 0, run.stderr)
        let ts = try trials(db, "promote")
        XCTAssertEqual(ts.count, 8)
        for t in ts {
            XCTAssertTrue(["COMPLETE", "PRUNED"].contains(t.state), "trial \(t.number) is \(t.state)")
            XCTAssertEqual(t.steps, Array(1..<(t.steps.count + 1)), "trial \(t.number): \(t.steps)")
            XCTAssertNil(t.attrs["sweep:paused_at_epoch"], "trial \(t.number)")
        }
        XCTAssertTrue(ts.contains { $0.steps.count >= 2 }, "some trial was promoted: \(ts.map(\.steps))")
        XCTAssertTrue(ts.contains { $0.steps.count == 1 && $0.state == "PRUNED" }, "some trial stayed at the first rung")
    }

    /// Population-based training (interval 2 of 6 epochs): exploited trials end PRUNED, their
    /// continuations record their donor and epoch and report only the epochs after it.
    func testPBTRecordsLineage() throws {
        let dir = CLI.tempDir(), db = dir + "/sweep.db"
        let s = try space(dir, name: "pbt", scheduler: "{name: pbt, interval: 2, quantile: 0.5, min_population: 2}", trials: 8)
        let run = try CLI.run(["start", "--foreground", s, "--workers", "2", "--db", db], timeout: 120)
        XCTAssertEqual(run.status, 0, run.stderr)
        let ts = try trials(db, "pbt")
        XCTAssertEqual(ts.count, 8)
        let children = ts.filter { $0.attrs["sweep:pbt_donor"] != nil }
        XCTAssertFalse(children.isEmpty, "no trial was exploited: \(ts.map(\.state))")
        for c in children {
            let donor = try XCTUnwrap(Int(c.attrs["sweep:pbt_donor"]!)), epoch = try XCTUnwrap(Int(c.attrs["sweep:pbt_epoch"]!))
            XCTAssertLessThan(donor, c.number)
            XCTAssertEqual(c.steps.first, epoch + 1, "trial \(c.number) reports from the epoch after its donor's checkpoint")
            XCTAssertTrue(ts.contains { $0.attrs["sweep:pbt_exploited"] == "\(c.number)" && $0.state == "PRUNED" })
            let logs = try CLI.run(["logs", "pbt", "--trial", "\(c.number)", "--db", db])
            XCTAssertTrue(logs.stdout.contains("started from trial \(donor)'s checkpoint of epoch \(epoch)"), logs.stdout)
        }
        for t in ts { XCTAssertTrue(["COMPLETE", "PRUNED"].contains(t.state), "trial \(t.number) is \(t.state)") }
    }
}
