import Foundation
import XCTest

/// Studies that learn from earlier ones, through the built binary: `sweep start --warm-start`
/// (foreground and through the daemon, continued without the flag) and `sweep fork`.
final class WarmStartCLITests: XCTestCase {
    /// A command study (value = x, maximized) over x in [low, 1], TPE with 4 start-up trials.
    static func space(_ dir: String, name: String, low: Double, trials: Int, file: String) throws -> String {
        try CLI.writeSpace(dir, """
        name: \(name)
        seed: 3
        objective: {metric: score, direction: maximize}
        budget: {trials: \(trials), max_epochs: 1}
        sampler: {name: tpe, startup_trials: 4}
        command: [python3, \(CLI.repo)/Tests/python/command_trial.py]
        params:
          x: {float: [\(low), 1.0]}
          k: {int: [1, 8]}
        """, name: file)
    }

    static func xs(_ db: String, _ study: String) throws -> [Int: Double] {
        Dictionary(uniqueKeysWithValues: try CLI.leaderboard(db, [study]).map {
            ($0["trial"] as! Int, ($0["params"] as! [String: Any])["x"] as! Double)
        })
    }

    /// The stored run options of `study` (what every read path and a restart resolve).
    static func runOptions(_ db: String, _ study: String) throws -> [String: Any] {
        let r = try CLI.run(["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            print(c.execute("select s.run_options from sweep_studies s join studies o on o.study_id = s.study_id where o.study_name = ?", (sys.argv[2],)).fetchone()[0])
            """, db, study], executable: "/usr/bin/env")
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    }

    func testWarmStartedStudiesProposeFromTheEarlierTrialsAndKeepThem() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let old = try Self.space(dir, name: "old", low: 0, trials: 12, file: "old.yaml")
        // One worker: the earlier study, and so the priors and the warm proposal, are the same every run.
        let first = try CLI.run(["start", old, "--foreground", "--db", db, "--workers", "1"], cwd: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        let oldXs = try Self.xs(db, "old")
        let fitting = oldXs.values.filter { $0 >= 0.2 }.count
        XCTAssertGreaterThan(fitting, 4, "enough priors for TPE to leave its start-up: \(oldXs)")

        // The narrowed space: the earlier trials inside it are priors, the rest are not.
        let new = try Self.space(dir, name: "new", low: 0.2, trials: 3, file: "new.yaml")
        let warm = try CLI.run(["start", new, "--study", "warm", "--warm-start", "old", "--trials", "2", "--foreground", "--workers", "1", "--db", db], cwd: dir)
        XCTAssertEqual(warm.status, 0, warm.stderr)
        XCTAssertTrue(warm.stdout.contains("warm start: \(fitting) trials of old fit this space (\(12 - fitting) did not)"), warm.stdout)
        let options = try Self.runOptions(db, "warm")
        let stored = options["warm_start"] as! [String: Any]
        XCTAssertEqual(stored["studies"] as? [String], ["old"])
        let priors = stored["priors"] as! [[String: Any]]
        XCTAssertEqual(priors.count, fitting, "the snapshot of what was taken")
        XCTAssertEqual(Set(priors.map { $0["trial"] as! Int }), Set(oldXs.filter { $0.value >= 0.2 }.keys))
        var warmXs = try Self.xs(db, "warm")
        XCTAssertEqual(warmXs.keys.sorted(), [0, 1], "priors are not trials of the new study and do not count toward --trials")
        // TPE starts from the priors: its first trial is already model-based, near the best prior.
        let bestOld = oldXs.values.max()!
        XCTAssertGreaterThan(warmXs[0]!, min(bestOld, 1) - 0.25, "first warm-started proposal \(warmXs[0]!), best prior \(bestOld)")

        // Without warm start the same study's first trials are its own start-up draws.
        let cold = try CLI.run(["start", new, "--study", "cold", "--trials", "2", "--foreground", "--workers", "1", "--db", db], cwd: dir)
        XCTAssertEqual(cold.status, 0, cold.stderr)
        XCTAssertNotEqual(try Self.xs(db, "cold")[0], warmXs[0])

        // The same through the daemon: the same priors and seed give the same proposals.
        let viaDaemon = try CLI.run(["start", new, "--study", "warm-d", "--warm-start", "old", "--trials", "2", "--workers", "1", "--db", db], cwd: dir)
        XCTAssertEqual(viaDaemon.status, 0, viaDaemon.stderr)
        XCTAssertEqual(try Self.xs(db, "warm-d"), warmXs, "deterministic given the seed, daemon or foreground")
        // Continued without the flag (a restart, `sweep resume`): the stored priors, not none.
        let more = try CLI.run(["start", new, "--study", "warm", "--trials", "3", "--foreground", "--workers", "1", "--db", db], cwd: dir)
        XCTAssertEqual(more.status, 0, more.stderr)
        let straight = try CLI.run(["start", new, "--study", "warm3", "--warm-start", "old", "--trials", "3", "--foreground", "--workers", "1", "--db", db], cwd: dir)
        XCTAssertEqual(straight.status, 0, straight.stderr)
        warmXs = try Self.xs(db, "warm")
        XCTAssertEqual(warmXs, try Self.xs(db, "warm3"), "a continued study proposes what an uninterrupted one does")
        _ = try CLI.run(["shutdown", "--db", db], cwd: dir)

        // Refused before anything is written, naming what is wrong.
        let before = try CLI.jsonArray(["studies", "--json", "--db", db]).count
        for (args, expected) in [(["--warm-start", "nosuch"], "no study named 'nosuch'"),
                                 (["--warm-start", "old,nosuch"], "no study named 'nosuch'"),
                                 (["--warm-start", "fresh"], "is the new study itself"),
                                 (["--warm-start", "old", "--foreground"] + ["--set", "objective.metric=other"], "optimized score")] {
            let r = try CLI.run(["start", new, "--study", "fresh", "--db", db] + args, cwd: dir)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stdout) \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--warm-start") && r.stderr.contains(expected), "\(args): \(r.stderr)")
        }
        let changed = try CLI.run(["start", new, "--study", "warm", "--warm-start", "cold", "--foreground", "--db", db], cwd: dir)
        XCTAssertEqual(changed.status, 2, changed.stderr)
        XCTAssertTrue(changed.stderr.contains("was started from old"), changed.stderr)
        XCTAssertEqual(try CLI.jsonArray(["studies", "--json", "--db", db]).count, before, "nothing written")
        XCTAssertEqual(try Self.xs(db, "old"), oldXs, "the earlier study is untouched")
    }

    /// `sweep fork` of a built-in digits study: a wider learning-rate range, the parent's trials as
    /// priors, the parent untouched; a missing parent, a name taken and a bad override are refused.
    func testForkWidensADigitsStudyAndLeavesTheParent() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        let space = try StudyManagementTests.digitsSpace(dir, name: "digits-small", trials: 2)
        let parent = try CLI.run(["start", space, "--foreground", "--db", db], cwd: dir)
        XCTAssertEqual(parent.status, 0, parent.stderr)
        let parentRows = try CLI.leaderboard(db, ["digits-small"])
        try FileManager.default.removeItem(atPath: space)   // the fork reads the stored file, not the disk

        let fork = try CLI.run(["fork", "digits-small", "--set", "training.learning_rate.float=[1.0e-4, 3.0e-1]", "--trials", "1",
                                "--foreground", "--db", db], cwd: dir)
        XCTAssertEqual(fork.status, 0, fork.stderr)
        XCTAssertTrue(fork.stdout.contains("study digits-small-fork") && fork.stdout.contains("warm start: 2 trials of digits-small fit"), fork.stdout)
        let rows = try CLI.leaderboard(db, ["digits-small-fork"])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0]["state"] as? String, "COMPLETE")
        let options = try Self.runOptions(db, "digits-small-fork")
        XCTAssertEqual((options["warm_start"] as? [String: Any])?["studies"] as? [String], ["digits-small"])
        XCTAssertEqual(options["overrides"] as? [String], ["training.learning_rate.float=[1.0e-4, 3.0e-1]"])
        XCTAssertNotEqual(options["seed"] as? UInt64, 5, "a seed of its own, derived from the parent's and the name")
        let check = try CLI.run(["status", "digits-small-fork", "--db", db], cwd: dir)
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertEqual(try CLI.leaderboard(db, ["digits-small"]).count, parentRows.count, "the parent is untouched")

        let before = try CLI.jsonArray(["studies", "--json", "--db", db]).count
        for (args, expected) in [(["fork", "nosuch"], "no study named 'nosuch'"),
                                 (["fork", "digits-small", "--name", "digits-small-fork"], "'digits-small-fork' already exists"),
                                 (["fork", "digits-small", "--set", "training.nosuch=3"], "nosuch"),
                                 (["fork", "digits-small", "--set", "training.learning_rate.float=[1.0, 0.1]"], "learning_rate")] {
            let r = try CLI.run(args + ["--foreground", "--db", db], cwd: dir)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stdout) \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
        }
        XCTAssertEqual(try CLI.jsonArray(["studies", "--json", "--db", db]).count, before, "nothing written")
    }

    /// Fine-tuning through the binary: `init: {from: STUDY/trial-N, freeze}` in a model file
    /// (`sweep train`) and in a search-space file, after `sweep replay` wrote the trial's weights.
    func testFineTuningFromAStoredDigitsTrial() throws {
        let dir = CLI.tempDir()
        let db = dir + "/results/sweep.db"
        func file(_ name: String, initLine: String, units: Int = 32, lr: String = "0.003") throws -> String {
            try CLI.writeSpace(dir, """
            name: \(name)
            seed: 5
            dataset: {name: digits, scaling: unit, validation: 0.15}
            objective: {metric: val_loss, direction: minimize}
            budget: {trials: 1}
            model:
            \(initLine.isEmpty ? "" : "  init: " + initLine)
              layers:
                - {type: dense, units: \(units), activation: relu}
                - {type: dense, units: 16, activation: relu}
            training: {epochs: 3, optimizer: adam, learning_rate: \(lr)}
            """, name: name + ".yaml")
        }
        let base = try CLI.run(["start", try file("base", initLine: "", lr: "{float: [0.002, 0.004]}"), "--foreground", "--db", db], cwd: dir)
        XCTAssertEqual(base.status, 0, base.stderr)
        let tuned = try file("tuned", initLine: "{from: base/trial-0, freeze: [0]}")
        let missing = try CLI.run(["train", tuned, "--db", db, "--epochs", "1"], cwd: dir)
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("model.init.from") && missing.stderr.contains("sweep replay 'base' --trial 0"), missing.stderr)
        let replay = try CLI.run(["replay", "base", "--trial", "0", "--db", db], cwd: dir)
        XCTAssertEqual(replay.status, 0, replay.stderr)

        // From the trained trial the first epoch starts far lower than from scratch; layer 0 stays as
        // loaded (tensors 1.*: the digits images are flattened first, tensor 0 in PyTorch's order).
        let scratch = try CLI.run(["train", try file("scratch", initLine: ""), "--json", "--epochs", "1", "--db", db], cwd: dir)
        let fine = try CLI.run(["train", tuned, "--json", "--epochs", "2", "--db", db, "--save-model", dir + "/out/model"], cwd: dir)
        XCTAssertEqual(fine.status, 0, fine.stderr)
        let scratchLoss = CLI.jsonLines(scratch.stdout)[0]["train_loss"] as! Double
        let fineLoss = CLI.jsonLines(fine.stdout)[0]["train_loss"] as! Double
        XCTAssertLessThan(fineLoss, scratchLoss / 3, "fine-tuned \(fineLoss) vs scratch \(scratchLoss)")
        let tensorBytes = """
            import json, struct, sys
            def tensor(path, name):
                b = open(path, "rb").read()
                n = struct.unpack("<Q", b[:8])[0]
                h = json.loads(b[8:8 + n])[name]
                return b[8 + n + h["data_offsets"][0]:8 + n + h["data_offsets"][1]]
            a, b = sys.argv[1], sys.argv[2]
            print(all(tensor(a, t) == tensor(b, t) for t in ["1.weight", "1.bias"]), tensor(a, "3.weight") == tensor(b, "3.weight"))
            """
        let same = try CLI.run(["python3", "-c", tensorBytes, dir + "/results/base/trial-0/model.safetensors", dir + "/out/model.safetensors"],
                               executable: "/usr/bin/env")
        XCTAssertEqual(same.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "True False", "frozen layer 0 bit-for-bit, layer 1 trained: \(same.stderr)")

        // A search whose model starts from the trial: its trial records the resolved weights.
        let search = try CLI.run(["start", try file("search", initLine: "{from: base/trial-0, freeze: [0]}", lr: "{float: [0.001, 0.01]}"),
                                  "--foreground", "--db", db], cwd: dir)
        XCTAssertEqual(search.status, 0, search.stderr)
        XCTAssertEqual(try CLI.leaderboard(db, ["search"]).first?["state"] as? String, "COMPLETE")

        // Refused before the study is written, naming what is wrong.
        let before = try CLI.jsonArray(["studies", "--json", "--db", db]).count
        for (initLine, units, expected) in [("{from: base/trial-9}", 32, "study 'base' has no trial 9"),
                                            ("{from: nosuch/trial-0}", 32, "no study named 'nosuch'"),
                                            ("{from: base/trial-0, freeze: [0]}", 64, "only a loaded layer can be frozen"),
                                            ("{from: base/trial-0, freeze: [7]}", 32, "'7' is not a layer of this model")] {
            let r = try CLI.run(["start", try file("refused", initLine: initLine, units: units, lr: "{float: [0.001, 0.01]}"), "--foreground", "--db", db], cwd: dir)
            XCTAssertEqual(r.status, 2, "\(initLine): \(r.stdout) \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(initLine): \(r.stderr)")
        }
        XCTAssertEqual(try CLI.jsonArray(["studies", "--json", "--db", db]).count, before, "nothing written")
    }
}
