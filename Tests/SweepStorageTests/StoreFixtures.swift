import Foundation
import XCTest
import SweepCore
import SweepSearch
@testable import SweepStorage

/// Studies and trials for store tests, on any backend.
class StoreFixtureCase: XCTestCase {
    static let lr = try! Distribution.makeFloat(1e-4, 1e-1, log: true)
    static let units = try! Distribution.makeInt(1, 8)
    static let activation = try! Distribution.makeCategorical([.string("relu"), .string("tanh"), .string("gelu")])

    func makeStudy(_ store: any TrialStore, name: String = "study", direction: Direction = .minimize) throws -> StudyRecord {
        try store.createStudy(name: name, direction: direction, metric: "val_loss", spacePath: "spaces/s.yaml",
                              spaceText: "training:\n  learning_rate: {float: [1.0e-4, 1.0e-1], log: true}\n",
                              samplerJSON: #"{"name":"tpe","options":{}}"#, schedulerJSON: #"{"name":"asha","options":{}}"#,
                              seed: 7, trialsTotal: 20, maxEpochs: 10)
    }

    static let distributionJSON = (lr: lr.optunaJSON, units: units.optunaJSON, activation: activation.optunaJSON)

    /// Parameters (lr, units, activation index) in the store's form.
    func params(_ lr: Double, _ units: Int, _ activation: Int) -> [(name: String, value: Double, distributionJSON: String)] {
        let json = Self.distributionJSON
        return [("lr", lr, json.lr), ("units", Double(units), json.units), ("activation", Double(activation), json.activation)]
    }

    func newTrial(_ store: any TrialStore, _ study: StudyRecord, seed: UInt64 = 1) throws -> (trialID: Int64, number: Int) {
        try store.createTrial(studyID: study.id, params: params(0.01, 4, 1), seed: seed, configJSON: "{}", workerPID: nil)
    }

    @discardableResult
    func finish(_ store: any TrialStore, _ id: Int64, _ state: TrialState, _ value: Double?, reason: String? = nil) throws -> TrialState {
        try store.finishTrial(trialID: id, state: state, value: value, exitStatus: 0, reason: reason, stderrTail: nil,
                              epochsRun: nil, durationSeconds: nil, artifactDir: nil)
    }

    /// Asserts that `body` throws an InputError whose file is `path` and whose text contains `text`.
    func assertInputError(_ path: String, _ text: String, file: StaticString = #filePath, line: UInt = #line,
                          _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("no error", file: file, line: line)
        } catch let e as InputError {
            XCTAssertEqual(e.file, path, file: file, line: line)
            XCTAssertTrue(e.description.contains(text), "\(e)", file: file, line: line)
        } catch {
            XCTFail("not an InputError: \(error)", file: file, line: line)
        }
    }
}

/// A fresh folder per test, removed afterwards, for tests of the SQLite store.
class StoreTestCase: StoreFixtureCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "sweep-storage-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    var dbPath: String { folder + "/sweep.db" }
}
