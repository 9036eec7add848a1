import Foundation
import Logging
import SweepStorage

/// The loop of a daemon sharing its database: `look` (joining the running studies it does not
/// run) each time the store signals a study change (`TrialStore.watchStudies`), and at the latest
/// every `every` seconds, the fallback for a signal lost with a connection. A watch that cannot
/// start (the database unreachable) is tried again at each look; meanwhile the loop only polls.
/// Runs on a thread of its own: `look` waits on the database.
final class StudyDiscovery: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var watch: (any StudyWatch)?

    /// Starts the loop on its own thread; it looks once at once.
    func start(store: any TrialStore, every interval: Double, logger: Logger, look: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            var warned = false
            while !isStopped {
                var current = condition.withLock { watch }
                if current == nil {
                    do {
                        let w = try store.watchStudies()
                        let kept = condition.withLock { () -> Bool in
                            if stopped { return false }
                            watch = w
                            return true
                        }
                        guard kept else { w.close(); return }
                        current = w
                        if warned { logger.info("watching the studies again") }
                        warned = false
                    } catch {
                        if !warned { logger.warning("cannot watch the studies; looking every \(interval) s", metadata: ["error": "\(error)"]) }
                        warned = true
                    }
                }
                look()
                if let current {
                    _ = current.wait(timeout: interval)
                } else {
                    condition.withLock { _ = stopped || condition.wait(until: Date().addingTimeInterval(interval)) }
                }
            }
        }
        thread.name = "sweep-discovery"
        thread.start()
    }

    /// Ends the loop (its watch and its connection); a look in progress completes.
    func stop() {
        let w: (any StudyWatch)? = condition.withLock {
            stopped = true
            condition.broadcast()
            defer { watch = nil }
            return watch
        }
        w?.close()
    }

    private var isStopped: Bool { condition.withLock { stopped } }
}
