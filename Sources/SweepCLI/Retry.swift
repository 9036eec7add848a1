import ArgumentParser
import Foundation
import SweepCore
import SweepStorage

/// `sweep retry STUDY`: queues the study's failed trials again with their parameters and seeds,
/// then runs the study as `sweep resume` does.
struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a study's failed trials again, with their parameters and seeds.",
        discussion: """
            Each FAIL trial not retried yet gets a new WAITING trial with its parameters, seed and configuration \
            (one more attempt), recorded as Optuna's RetryFailedTrialCallback records a retry (system attributes \
            failed_trial and retry_history); the failed trial stays as it was. The retries run in addition to the \
            study's total. The study then runs as with `sweep resume` (followed, --detach or --foreground); a study \
            running now runs them next.
            """)
    @Argument(help: "Study name.") var study: String
    @OptionGroup var how: RunAgainOptions
    @OptionGroup var store: StoreOptions

    func run() throws {
        let db = try openStoreForWriting(store.db)
        let s = try findStudy(db, study, db: store.db)
        let queued = try db.retryFailedTrials(studyID: s.id)
        if queued.isEmpty {
            print("study \(s.name) has no failed trial left to retry")
            return
        }
        let list = queued.map { "\($0.retry) (retry of \($0.failed))" }.joined(separator: ", ")
        print("queued \(queued.count) trial\(queued.count == 1 ? "" : "s") of \(s.name): \(list)")
        if s.isRunning() {
            print("study \(s.name) is running: it runs them \(tellDaemonOfAddedTrials(s.name, db: store.db) ? "next" : "within seconds, before new samples")")
            return
        }
        try runAgain(try findStudy(db, s.name, db: store.db), how, store: db, db: store.db)
    }
}
