import Foundation
import XCTest
import SweepCore
import SweepTestSupport
@testable import SweepStorage

/// TLS against a real server that accepts TCP connections only over TLS, with a certificate
/// signed by an authority of its own (`PrivatePostgres.sharedTLS`): each `sslmode` does what
/// libpq's does, and every refusal is an `InputError` naming the URL (without its password).
final class PostgresTLSTests: StoreFixtureCase {
    func testRequireEncryptsWithoutVerifyingAndTheStoreWorks() throws {
        let server = try PrivatePostgres.sharedTLS()
        let url = try server.database() + "?sslmode=require"
        let store = try openStore(location: url)
        let study = try makeStudy(store)
        let trial = try store.createTrial(studyID: study.id, params: [], seed: 3, configJSON: "{}", workerPID: nil)
        try store.finishTrial(trialID: trial.trialID, state: .complete, value: 0.25, exitStatus: 0, reason: nil,
                              stderrTail: nil, epochsRun: 1, durationSeconds: 1, artifactDir: nil)
        let reopened = try openStore(location: url, readOnly: true)
        let stored = try XCTUnwrap(reopened.study(named: study.name))
        XCTAssertEqual(try reopened.trials(studyID: stored.id).map(\.record.value), [0.25])
    }

    func testVerifyFullAcceptsTheServerSignedByTheGivenAuthority() throws {
        let server = try PrivatePostgres.sharedTLS()
        let ca = try XCTUnwrap(server.caFile)
        let store = try openStore(location: try server.database() + "?sslmode=verify-full&sslrootcert=\(ca)")
        XCTAssertEqual(try makeStudy(store).name, "study")
    }

    func testRefusalsNameTheURLAndWhatWasRefused() throws {
        let server = try PrivatePostgres.sharedTLS()
        let url = try server.database()
        let name = String(url.split(separator: "/").last!)
        func refusal(_ url: String) -> String {
            do { _ = try openStore(location: url); return "opened" } catch let e as InputError { return e.description } catch { return "not an InputError: \(String(reflecting: error))" }
        }
        let shown = "postgresql://sweep@127.0.0.1:\(server.port)/\(name)"
        // The server has no entry for connections without TLS.
        let plain = refusal(url + "?sslmode=disable")
        XCTAssertTrue(plain.hasPrefix(shown), plain)
        XCTAssertTrue(plain.contains("refused user 'sweep'"), plain)
        XCTAssertFalse(plain.contains(server.password), plain)
        // Verification against the system's authorities, which do not know the server's.
        let unverified = refusal(url + "?sslmode=verify-full")
        XCTAssertTrue(unverified.hasPrefix(shown), unverified)
        XCTAssertTrue(unverified.contains("the server's certificate was not accepted"), unverified)
        XCTAssertTrue(unverified.contains("sslrootcert=FILE"), unverified)
        // A root certificate file that is not there.
        let missing = refusal(url + "?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
        XCTAssertTrue(missing.contains("/nonexistent/ca.pem cannot be read"), missing)
    }
}
