import Foundation

/// Where a training epoch's time goes: the thread's CPU seconds in each phase of the steps
/// (batch gathering with the epoch's shuffle, forward, loss, backward, optimizer), kept by the trainer when `SWEEP_PHASES=1`
/// (`Trainer.phases`; `sweep train` prints them on stderr after each epoch). Thread CPU time, not wall time, so that the
/// figures hold on a host shared with other processes; nothing is measured when it is off. The
/// trainer computes exactly the same either way: the timers only read the clock.
public struct PhaseTimes {
    public enum Phase: Int, CaseIterable {
        case gather, forward, loss, backward, optimizer
        var name: String { String(describing: self) }
    }

    public private(set) var seconds = [Double](repeating: 0, count: Phase.allCases.count)
    var last = 0.0

    /// Whether `SWEEP_PHASES=1` asks for the phases.
    public static func requested(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["SWEEP_PHASES"] == "1"
    }

    /// The calling thread's CPU time in seconds.
    static func threadSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Starts the clock (the start of an epoch; each phase then runs from the mark before it).
    mutating func start() { last = Self.threadSeconds() }

    /// Adds the time since the last mark to `phase`.
    mutating func mark(_ phase: Phase) {
        let now = Self.threadSeconds()
        seconds[phase.rawValue] += now - last
        last = now
    }

    /// "gather 0.031 forward 0.301 ... total 0.704 (thread CPU seconds)".
    public var summary: String {
        let parts = Phase.allCases.map { "\($0.name) \(String(format: "%.3f", seconds[$0.rawValue]))" }
        return parts.joined(separator: " ") + " total \(String(format: "%.3f", seconds.reduce(0, +))) (thread CPU seconds)"
    }
}
