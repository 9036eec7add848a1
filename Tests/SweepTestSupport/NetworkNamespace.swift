import Foundation
import XCTest

/// A test host with a network of its own: a network namespace joined to this machine by a veth
/// pair, `10.231.N.2` inside and `10.231.N.1` outside (the address a server here listens on for
/// it). `cut()` takes the link down (packets are dropped, connections hang as across a failed
/// network) and `heal()` brings it back. Needs root and iproute2's `ip`; the tests that need it
/// are skipped without them, and fail under CI=true.
public final class NetworkNamespace: @unchecked Sendable {
    public let index: Int
    public let name: String
    let outside: String
    /// The address of this machine as the namespace reaches it.
    public var gateway: String { "10.231.\(index).1" }
    /// The namespace's own address.
    public var address: String { "10.231.\(index).2" }

    public init(index: Int) throws {
        self.index = index
        name = "sweep-t\(getpid() % 100_000)-\(index)"
        outside = "swv\(getpid() % 100_000)x\(index)"
        let inside = outside + "i"
        guard FileManager.default.isExecutableFile(atPath: Self.ip) else {
            throw Self.unavailable("iproute2's ip is not installed (Debian: apt-get install iproute2)")
        }
        do {
            try Self.run(["netns", "add", name])
            try Self.run(["link", "add", outside, "type", "veth", "peer", "name", inside])
            try Self.run(["link", "set", inside, "netns", name])
            try Self.run(["addr", "add", gateway + "/24", "dev", outside])
            try Self.run(["link", "set", outside, "up"])
            try Self.run(["netns", "exec", name, Self.ip, "addr", "add", address + "/24", "dev", inside])
            try Self.run(["netns", "exec", name, Self.ip, "link", "set", inside, "up"])
            try Self.run(["netns", "exec", name, Self.ip, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw Self.unavailable("cannot make a network namespace here (root and CAP_NET_ADMIN are needed): \(error)")
        }
    }

    /// The argv that runs `argv` inside the namespace.
    public func command(_ argv: [String]) -> [String] { [Self.ip, "netns", "exec", name] + argv }

    /// Takes the link down: nothing crosses until `heal()`.
    public func cut() throws { try Self.run(["link", "set", outside, "down"]) }

    public func heal() throws { try Self.run(["link", "set", outside, "up"]) }

    /// Deletes the namespace and its link.
    public func remove() {
        try? Self.run(["link", "del", outside])
        try? Self.run(["netns", "del", name])
    }

    public static let ipPath = "/usr/sbin/ip"
    static var ip: String { ipPath }

    static func unavailable(_ why: String) -> any Error {
        ProcessInfo.processInfo.environment["CI"] == "true" ? NetworkNamespaceError(why + "; CI must run the network tests") : XCTSkip(why)
    }

    static func run(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ip)
        p.arguments = arguments
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NetworkNamespaceError("ip \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
    }
}

public struct NetworkNamespaceError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
