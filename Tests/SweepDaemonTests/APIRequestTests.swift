import Foundation
import XCTest
@testable import SweepDaemon

/// The API's request checking and routing, without a socket.
final class APIRequestTests: XCTestCase {
    func body(_ o: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: o) }

    func rejects(_ o: Data, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try SubmitRequest.parse(o)
            XCTFail("accepted", file: file, line: line)
        } catch let e as APIError {
            XCTAssertEqual(e.status, 400, file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "\(e.message) should say \(fragment)", file: file, line: line)
        } catch { XCTFail("\(error)", file: file, line: line) }
    }

    func testSubmitRequestsAreCheckedFieldByField() throws {
        let ok = try SubmitRequest.parse(body(["space_text": "name: a", "space_path": "/s.yaml", "trials": 3, "seed": UInt64.max,
                                               "env": ["A": "1"], "overrides": ["budget.trials=2"]]))
        XCTAssertEqual(ok.trials, 3)
        XCTAssertEqual(ok.seed, UInt64.max, "seeds keep all 64 bits")
        XCTAssertEqual(ok.env, ["A": "1"])
        rejects(Data("{".utf8), "not valid JSON")
        rejects(Data("[1]".utf8), "must be a JSON object")
        rejects(body(["space_text": "x"]), "missing field 'space_path'")
        rejects(body(["space_text": "x", "space_path": "/a", "bogus": 1]), "unknown field 'bogus'")
        rejects(body(["space_text": "x", "space_path": "a.yaml"]), "absolute path")
        rejects(body(["space_text": 3, "space_path": "/a"]), "'space_text' must be a string")
        rejects(body(["space_text": "x", "space_path": "/a", "trials": 0]), "trials must be 1...1000000")
        rejects(body(["space_text": "x", "space_path": "/a", "trials": 2.5]), "out of range")
        rejects(body(["space_text": "x", "space_path": "/a", "workers": 999]), "workers must be 1...256")
        rejects(body(["space_text": "x", "space_path": "/a", "sampler": "magic"]), "sampler 'magic' is not one of")
        rejects(body(["space_text": "x", "space_path": "/a", "seed": -1]), "out of range")
        rejects(body(["space_text": "x", "space_path": "/a", "data_dir": "rel"]), "data_dir must be an absolute path")
        rejects(body(["space_text": "x", "space_path": "/a", "env": ["A": 1]]), "'env.A'")
    }

    func testResumeBodiesMayBeEmpty() throws {
        XCTAssertNil(try ResumeRequest.parse(Data()).workers)
        XCTAssertEqual(try ResumeRequest.parse(body(["workers": 2])).workers, 2)
        XCTAssertThrowsError(try ResumeRequest.parse(body(["workers": 0])))
        XCTAssertThrowsError(try ResumeRequest.parse(body(["trials": 3])))
    }

    func testHTTPAddresses() throws {
        XCTAssertEqual(try HTTPBind.parse("8080").description, "127.0.0.1:8080")
        XCTAssertTrue(try HTTPBind.parse("localhost:1").isLoopback)
        XCTAssertTrue(try HTTPBind.parse("[::1]:9").isLoopback)
        XCTAssertFalse(try HTTPBind.parse("0.0.0.0:9").isLoopback)
        XCTAssertFalse(try HTTPBind.parse("10.0.0.2:9").isLoopback)
        XCTAssertThrowsError(try HTTPBind.parse("host:port"))
        XCTAssertThrowsError(try HTTPBind.parse("1:70000"))
    }

    func testTokensCompareWhole() {
        XCTAssertTrue(Daemon.constantTimeEqual("Bearer abc", "Bearer abc"))
        XCTAssertFalse(Daemon.constantTimeEqual("Bearer ab", "Bearer abc"))
        XCTAssertFalse(Daemon.constantTimeEqual("Bearer abcd", "Bearer abc"))
        XCTAssertFalse(Daemon.constantTimeEqual("", "Bearer abc"))
    }

    /// Routing answers 404 and 405 with JSON errors; a second daemon on the same database is refused.
    func testRoutingAndTheOneDaemonLock() async throws {
        let dir = NSTemporaryDirectory() + "sweep-daemon-\(UUID().uuidString)"
        let config = DaemonConfig(dbPath: dir + "/sweep.db", workers: 1, trialExecutable: "/bin/false", dataDir: dir)
        let daemon = try Daemon(config: config)
        var r = await daemon.handle(method: "GET", path: ["v1", "nothing"], top: nil, body: Data())
        XCTAssertEqual(r.status, 404)
        XCTAssertTrue(r.body.hasPrefix("{\"error\":"), r.body)
        r = await daemon.handle(method: "DELETE", path: ["v1", "studies"], top: nil, body: Data())
        XCTAssertEqual(r.status, 405)
        r = await daemon.handle(method: "GET", path: ["v1", "studies"], top: nil, body: Data())
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.body, "[]")
        r = await daemon.handle(method: "GET", path: ["v1", "studies", "x", "leaderboard"], top: "0", body: Data())
        XCTAssertEqual(r.status, 404)
        r = await daemon.handle(method: "POST", path: ["v1", "studies"], top: nil, body: Data("{\"space_text\": \"name: a\", \"space_path\": \"/a.yaml\", \"study\": \"../x\"}".utf8))
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(r.body.contains("is not accepted"), r.body)
        XCTAssertThrowsError(try Daemon(config: config)) { XCTAssertTrue("\($0)".contains("a daemon already runs"), "\($0)") }
        XCTAssertThrowsError(try Daemon(config: DaemonConfig(dbPath: dir + "/other/" + String(repeating: "d", count: 120) + "/s.db", workers: 1,
                                                              trialExecutable: "/bin/false", dataDir: dir))) {
            XCTAssertTrue("\($0)".contains("Unix sockets allow 107"), "\($0)")
        }
    }
}
