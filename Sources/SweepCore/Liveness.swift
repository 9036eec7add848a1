#if canImport(Glibc)
import Glibc
#endif

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
