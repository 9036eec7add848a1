import Foundation
import XCTest

/// Interrupted trials continue from their checkpoint instead of starting over: a built-in trial
/// whose daemon is killed with SIGKILL, a command trial whose study is stopped and resumed.
final class ResumeTests: XCTestCase {
    /// A digits MLP study of 3 trials of 30 epochs under ASHA, one worker (so that an
    /// uninterrupted run is the reference for every value and every scheduler decision).
    func digitsSpace(_ dir: String) throws -> String {
        try CLI.writeSpace(dir, """
        name: resume
        seed: 3
        dataset: {name: digits, scaling: unit, validation: 0.15}
        objective: {metric: val_accuracy, direction: maximize}
        budget: {trials: 3, max_epochs: 30}
        sampler: random
        scheduler: {name: asha, reduction_factor: 3, min_epochs: 5}
        model:
          layers:
            - {type: dense, units: {int: [256, 512]}, activation: relu}
        training:
          batch_size: 32
          optimizer: adam
          learning_rate: {float: [1.0e-3, 1.0e-2], log: true}
        """)
    }

    /// `sweep logs --trial N`'s line "resumed from the checkpoint of epoch K", as K.
    func resumedEpoch(_ db: String, _ trial: Int) throws -> Int? {
        let r = try CLI.run(["logs", "resume", "--trial", "\(trial)", "--db", db])
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let line = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("resumed from the checkpoint of epoch ") }) else { return nil }
        return Int(line.dropFirst("resumed from the checkpoint of epoch ".count).prefix(while: \.isNumber))
    }

    /// The daemon is SIGKILLed while trial 1 trains; the next daemon runs it again from its
    /// checkpoint: the trial records the epoch it continued from, and every trial's state, value
    /// and per-epoch curve (so every ASHA decision) equals an uninterrupted run's. The epochs
    /// saved are the checkpoint's epoch: a restart would have trained them again.
    func testAKilledDaemonsTrialContinuesFromItsCheckpoint() throws {
        let ref = CLI.tempDir(), dir = CLI.tempDir()
        let clean = try CLI.run(["start", "--foreground", try digitsSpace(ref), "--workers", "1", "--db", ref + "/sweep.db"], timeout: 300)
        XCTAssertEqual(clean.status, 0, clean.stderr)

        let db = dir + "/sweep.db"
        var daemon = try ServedDaemon(db: db, args: ["--workers", "1"])
        XCTAssertEqual(try CLI.run(["start", try digitsSpace(dir), "--db", db, "--detach"]).status, 0)
        let checkpoint = dir + "/resume/trial-1/checkpoint"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint) && Date() < deadline { usleep(2_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "trial 1 wrote a checkpoint after its first epoch")
        daemon.killNine()

        daemon = try ServedDaemon(db: db, args: ["--workers", "1"])
        let end = Date().addingTimeInterval(300)
        while Date() < end {
            if let s = try? CLI.jsonArray(["status", "resume", "--db", db, "--json"]).first, s["state"] as? String == "finished" { break }
            usleep(100_000)
        }
        let a = try CLI.leaderboard(ref + "/sweep.db"), b = try CLI.leaderboard(db)
        XCTAssertEqual(b.count, 3)
        func byTrial(_ rows: [[String: Any]]) -> [Int: NSDictionary] {
            Dictionary(uniqueKeysWithValues: rows.map { r in
                (r["trial"] as! Int, NSDictionary(dictionary: ["state": r["state"] ?? "", "value": r["value"] ?? "", "curve": r["curve"] ?? [:]]))
            })
        }
        XCTAssertEqual(byTrial(a), byTrial(b), "states, values and curves equal an uninterrupted run's")

        let k = try XCTUnwrap(try resumedEpoch(db, 1), "trial 1 says where it continued")
        XCTAssertGreaterThan(k, 0)
        XCTAssertNil(try resumedEpoch(db, 0), "trial 0 finished before the kill")
        let epochs = (b.first { $0["trial"] as? Int == 1 }?["epochs"] as? Int) ?? 0
        XCTAssertLessThanOrEqual(k, epochs)
        let logs = try CLI.run(["logs", "resume", "--trial", "1", "--db", db]).stdout
        XCTAssertTrue(logs.contains("artifacts: \(dir)/resume/trial-1"), logs)
        for n in 0..<3 {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/resume/trial-\(n)/checkpoint"), "a finished trial's checkpoint is removed")
        }
        // Optuna reads it as a trial system attribute.
        try CLI.requirePython("optuna")
        let optuna = try CLI.run(["python3", "-c", """
            import optuna, sys
            s = optuna.load_study(study_name="resume", storage="sqlite:///" + sys.argv[1])
            print(s.trials[1].system_attrs["sweep:resumed_from_epoch"])
            """, db], executable: "/usr/bin/env")
        XCTAssertEqual(optuna.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "\(k)", optuna.stderr)
        print("resume after kill -9: trial 1 continued from epoch \(k) of its \(epochs); epochs saved over a restart: \(k)")
        XCTAssertEqual(daemon.terminate(), 0)
    }

    /// A command trial gets the same SWEEP_CHECKPOINT_DIR on every attempt (created for it) and
    /// SWEEP_ATTEMPT; stopped after its second epoch and resumed, a script that keeps its epoch
    /// there continues, says `{"resumed_from_epoch": K}`, and the trial records K.
    func testACommandTrialKeepsItsCheckpointFolderAcrossAttempts() throws {
        let dir = CLI.tempDir()
        let db = dir + "/sweep.db"
        let script = try CLI.writeSpace(dir, """
        echo "$SWEEP_ATTEMPT $SWEEP_CHECKPOINT_DIR" >> "$LOG"
        start=0
        if [ -f "$SWEEP_CHECKPOINT_DIR/epoch" ]; then
          start=$(cat "$SWEEP_CHECKPOINT_DIR/epoch")
          echo "{\\"resumed_from_epoch\\": $start}"
          i=1; while [ $i -le $start ]; do echo "{\\"step\\": $i, \\"value\\": $i}"; i=$((i+1)); done
        fi
        e=$((start+1))
        while [ $e -le 6 ]; do
          sleep 0.4
          echo $e > "$SWEEP_CHECKPOINT_DIR/epoch.tmp" && mv "$SWEEP_CHECKPOINT_DIR/epoch.tmp" "$SWEEP_CHECKPOINT_DIR/epoch"
          echo "{\\"step\\": $e, \\"value\\": $e}"
          e=$((e+1))
        done
        echo '{"value": 6}'
        """, name: "trial.sh")
        let space = try CLI.writeSpace(dir, """
        name: resume
        objective: {metric: value, direction: maximize}
        budget: {trials: 1, max_epochs: 6}
        command: [/bin/sh, \(script)]
        env: {LOG: \(dir)/attempts.log}
        params:
          x: {float: [0.0, 1.0]}
        """)
        let daemon = try ServedDaemon(db: db, args: ["--workers", "1"])
        XCTAssertEqual(try CLI.run(["start", space, "--db", db, "--detach"]).status, 0)
        let epochFile = dir + "/resume/trial-0/checkpoints/epoch"
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? String(contentsOfFile: epochFile, encoding: .utf8))?.hasPrefix("2") != true { usleep(20_000) }
        let stop = try CLI.run(["stop", "resume", "--db", db])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        let resume = try CLI.run(["resume", "resume", "--db", db], timeout: 120)
        XCTAssertEqual(resume.status, 0, resume.stderr)

        let lines = try String(contentsOfFile: dir + "/attempts.log", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, ["1 \(dir)/resume/trial-0/checkpoints", "2 \(dir)/resume/trial-0/checkpoints"])
        let k = try XCTUnwrap(try resumedEpoch(db, 0))
        XCTAssertGreaterThanOrEqual(k, 2)
        let row = try XCTUnwrap(try CLI.leaderboard(db).first)
        XCTAssertEqual(row["state"] as? String, "COMPLETE")
        XCTAssertEqual((row["curve"] as? [String: Any])?.count, 6, "\(row)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: epochFile), "a command's checkpoints are the user's and stay")
        XCTAssertEqual(daemon.terminate(), 0)
    }

    /// The README's PyTorch trial (search-spaces/command-resume.yaml), stopped after its second
    /// epoch and resumed: it continues from its checkpoint, and its curve equals an uninterrupted
    /// run's of the same study and seed.
    func testThePyTorchExampleResumesBitIdentically() throws {
        try CLI.requirePython("torch")
        let space = CLI.repo + "/search-spaces/command-resume.yaml"
        let ref = CLI.tempDir(), dir = CLI.tempDir()
        let clean = try CLI.run(["start", "--foreground", space, "--trials", "1", "--db", ref + "/sweep.db"], timeout: 300)
        XCTAssertEqual(clean.status, 0, clean.stderr)

        let db = dir + "/sweep.db"
        let daemon = try ServedDaemon(db: db, args: ["--workers", "1"])
        XCTAssertEqual(try CLI.run(["start", space, "--trials", "1", "--db", db, "--detach"]).status, 0)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, (try CLI.leaderboard(db).first?["curve"] as? [String: Any])?.count ?? 0 < 2 { usleep(50_000) }
        XCTAssertEqual(try CLI.run(["stop", "command-resume", "--db", db]).status, 0)
        let resume = try CLI.run(["resume", "command-resume", "--db", db], timeout: 300)
        XCTAssertEqual(resume.status, 0, resume.stderr)

        let logs = try CLI.run(["logs", "command-resume", "--trial", "0", "--db", db]).stdout
        XCTAssertTrue(logs.contains("resumed from the checkpoint of epoch "), logs)
        let a = try XCTUnwrap(try CLI.leaderboard(ref + "/sweep.db").first), b = try XCTUnwrap(try CLI.leaderboard(db).first)
        XCTAssertEqual(b["state"] as? String, "COMPLETE")
        XCTAssertEqual((b["curve"] as? [String: Any])?.count, 6)
        XCTAssertEqual(NSDictionary(dictionary: a["curve"] as? [String: Any] ?? [:]), NSDictionary(dictionary: b["curve"] as? [String: Any] ?? [:]))
        XCTAssertEqual(a["value"] as? Double, b["value"] as? Double)
        XCTAssertEqual(daemon.terminate(), 0)
    }
}
