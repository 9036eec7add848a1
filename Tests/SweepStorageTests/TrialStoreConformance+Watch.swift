import Foundation
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

/// The contract of `runningStudies()` and `watchStudies()` (`StudyWatch`) for every backend, as
/// `check...` methods each backend's class runs (see `TrialStoreConformance+Changes.swift`).
extension TrialStoreConformance {
    /// Only the running studies' rows, oldest first, as `study(id:)` reads them.
    func checkRunningStudiesAreTheRunningOnesOldestFirst() throws {
        XCTAssertEqual(try store.runningStudies(), [])
        let a = try makeStudy(store, name: "a"), b = try makeStudy(store, name: "b"), c = try makeStudy(store, name: "c")
        _ = try newTrial(store, a)
        try store.updateStudy(id: b.id, status: .stopped)
        XCTAssertEqual(try store.runningStudies(), [try store.study(id: a.id)!, try store.study(id: c.id)!])
        try store.updateStudy(id: b.id, status: .running, runOptionsJSON: "{}")
        try store.updateStudy(id: a.id, status: .finished)
        XCTAssertEqual(try store.runningStudies().map(\.name), ["b", "c"])
        XCTAssertEqual(try store.runningStudies().first?.runOptionsJSON, "{}")
    }

    /// A created study and a status change are signalled, to a waiter already waiting and to
    /// one that waits later (kept), once each; nothing written, no signal; closed, no wait.
    func checkStudyChangesWakeAWatch() throws {
        let watch = try store.watchStudies()
        defer { watch.close() }
        XCTAssertFalse(watch.wait(timeout: 0.3), "nothing was written")

        // A waiter already waiting is woken at once.
        let woke = WakeTime()
        let waiter = Thread { woke.set(watch.wait(timeout: 5)) }
        waiter.start()
        usleep(100_000)
        let wrote = Date()
        let study = try makeStudy(store, name: "new")
        let signalled = try XCTUnwrap(woke.result(within: 6))
        XCTAssertTrue(signalled.0, "a study was created")
        XCTAssertLessThan(signalled.1.timeIntervalSince(wrote), 0.3, "woken when the study was created")

        // A change between two waits is kept for the next one, once.
        XCTAssertFalse(watch.wait(timeout: 0.3), "the signal was taken")
        try store.updateStudy(id: study.id, status: .finished)
        usleep(100_000)
        let start = Date()
        XCTAssertTrue(watch.wait(timeout: 2), "the study finished")
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.3)
        XCTAssertFalse(watch.wait(timeout: 0.3))

        // A resume (status back to running) and a new total, signalled too.
        try store.updateStudy(id: study.id, status: .running)
        XCTAssertTrue(watch.wait(timeout: 2))
        try store.updateStudy(id: study.id, trialsTotal: 40)
        XCTAssertTrue(watch.wait(timeout: 2))

        // Two watches see the same change.
        let other = try store.watchStudies()
        defer { other.close() }
        try store.updateStudy(id: study.id, status: .stopped)
        XCTAssertTrue(watch.wait(timeout: 2))
        XCTAssertTrue(other.wait(timeout: 2))

        watch.close()
        let closing = Date()
        XCTAssertFalse(watch.wait(timeout: 2))
        XCTAssertLessThan(Date().timeIntervalSince(closing), 0.5, "a closed watch does not wait")
        watch.close()   // idempotent
    }
}

/// When a waiting thread woke and what `wait` returned.
final class WakeTime: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: (Bool, Date)?
    func set(_ signalled: Bool) { value = (signalled, Date()); done.signal() }
    func result(within seconds: Double) -> (Bool, Date)? {
        done.wait(timeout: .now() + seconds) == .success ? value : nil
    }
}
