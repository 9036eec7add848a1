#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Whether a process of this machine still runs.
public enum ProcessLiveness {
    /// True when `pid` exists and is not a zombie. A zombie has ended: where nobody reaps
    /// orphans (PID 1 of some containers), a killed daemon stays one, and treating it as alive
    /// would keep its studies from being taken up.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let f = fopen("/proc/\(pid)/stat", "r") else { return true }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 512)
        guard fgets(&buf, Int32(buf.count), f) != nil else { return true }
        let line = String(cString: buf)
        // "pid (comm) S ...": the state follows the last ')' (comm may hold spaces and parens).
        guard let close = line.lastIndex(of: ")") else { return true }
        let state = line[line.index(after: close)...].first { $0 != " " }
        return state != "Z" && state != "X"
    }
}

extension ProcessLiveness {
    /// When a process of this machine started, in clock ticks since boot (`/proc/PID/stat` field
    /// 22): with its pid, it names one process for good (a pid is reused, never with the same
    /// start time). nil when the process does not exist or /proc cannot tell.
    public static func startTime(_ pid: Int32) -> UInt64? {
        guard pid > 0, let f = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 1024)
        guard fgets(&buf, Int32(buf.count), f) != nil else { return nil }
        let line = String(cString: buf)
        guard let close = line.lastIndex(of: ")") else { return nil }
        // Fields after "pid (comm)" start with the state (field 3); the start time is field 22.
        let fields = line[line.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}

/// Who holds a lease in a store (a study's controller): `host:pid:start`, the process's host
/// name, pid and start time (`ProcessLiveness.startTime`, or a random token where /proc cannot
/// tell). Stores keep it as text and never interpret it; a caller on the same host can tell that
/// a holder is dead (`isKnownDead`) and take its lease over at once instead of waiting for it to
/// expire. Two processes on one host (two daemons in two working directories) are two owners.
public struct LeaseOwner: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var pid: Int32
    public var token: String

    public init(host: String, pid: Int32, token: String) {
        self.host = host; self.pid = pid; self.token = token
    }

    /// Reads `host:pid:token` (the host may hold colons; pid and token may not); nil otherwise.
    public init?(id: String) {
        let parts = id.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]) else { return nil }
        host = parts.dropLast(2).joined(separator: ":"); self.pid = pid; token = String(parts[parts.count - 1])
    }

    /// This process.
    public static let current: LeaseOwner = {
        let pid = getpid()
        let token = ProcessLiveness.startTime(pid).map(String.init) ?? String(UInt64.random(in: 1...UInt64.max), radix: 36)
        return LeaseOwner(host: ProcessInfo.processInfo.hostName, pid: pid, token: token)
    }()

    public var id: String { "\(host):\(pid):\(token)" }
    public var description: String { id }

    /// True when the owner is a process of this host that has ended: its pid is gone (or a
    /// zombie), or now names a process that started at another time. False for another host's
    /// owner (only its lease's expiry tells).
    public var isKnownDead: Bool {
        guard host == ProcessInfo.processInfo.hostName else { return false }
        guard ProcessLiveness.isAlive(pid) else { return true }
        if let started = ProcessLiveness.startTime(pid), UInt64(token) != nil { return String(started) != token }
        return false
    }
}
