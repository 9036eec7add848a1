import Foundation
import XCTest
import SweepCore
@testable import SweepSearch

/// The TPE sampler's fast paths against their plain references: the integer-key order used for
/// bandwidths, the radix sort behind it, the merge of trial lists, and the one-pass choice of the
/// good trials (which must equal a full sort's).
final class TPEInternalsTests: XCTestCase {
    func testRadixSortMatchesTheStandardSort() {
        var rng = SweepRandom(seed: 7)
        for n in [0, 1, 5, 33, 100, 1000, 4097] {
            // Keys as the sampler makes them (unit doubles' bits), plus ones sharing their high bytes.
            var keys = (0..<n).map { i -> UInt64 in
                i % 3 == 0 ? UInt64(rng.nextDouble() * 1000) : rng.nextDouble().bitPattern ^ UInt64(i & 0xF)
            }
            let expected = keys.sorted()
            ParzenEstimator.radixSort(&keys)
            XCTAssertEqual(keys, expected, "n = \(n)")
        }
    }

    func testAscendingOrderIsTheStableValueOrder() {
        var rng = SweepRandom(seed: 11)
        var keys: [UInt64] = []
        for n in [1, 2, 40, 999, 1024, 1025, 3000] {
            // Many exact ties (a coarse grid), both ends of the box, and a negative zero.
            var values = (0..<n).map { _ in (rng.nextDouble() * 20).rounded(.down) / 19 }
            values[0] = -0.0
            if n > 1 { values[n - 1] = 1 }
            let order = ParzenEstimator.ascendingOrder(of: values, keys: &keys)
            let reference = (0..<n).sorted { values[$0] != values[$1] ? values[$0] < values[$1] : $0 < $1 }
            XCTAssertEqual(order, reference, "n = \(n)")
        }
    }

    func testMergedKeepsTrialOrderAndFallsBackToSorting() {
        let numbers = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        let byNumber: (Int, Int) -> Bool = { numbers[$0] < numbers[$1] }
        XCTAssertEqual(TPESampler.merged([0, 2, 5, 9], [1, 3, 4], by: byNumber), [0, 1, 2, 3, 4, 5, 9])
        XCTAssertEqual(TPESampler.merged([], [4, 6], by: byNumber), [4, 6])
        XCTAssertEqual(TPESampler.merged([7, 1], [3], by: byNumber), [1, 3, 7])
    }

    /// A history out of trial order, with tied values, pruned and running trials: the suggestion
    /// equals the one for the same history in trial order (the sampler sees sets, not positions).
    func testSuggestionDoesNotDependOnHistoryOrder() throws {
        let space = try SearchSpace([
            Parameter(name: "x", distribution: .float(low: -5, high: 5, log: false, step: nil)),
            Parameter(name: "n", distribution: .int(low: 1, high: 64, log: true, step: 1)),
            Parameter(name: "c", distribution: .categorical([.string("a"), .string("b"), .string("c")])),
        ])
        var history: [TrialRecord] = []
        for i in 0..<60 {
            let params = RandomSampler().suggest(space: space, history: [], direction: .minimize, trialNumber: i, studySeed: 3)
            let state: TrialState = i % 7 == 3 ? .pruned : (i % 11 == 5 ? .running : .complete)
            history.append(TrialRecord(number: i, state: state, params: params, value: Double(i % 9)))
        }
        let sampler = TPESampler()
        let inOrder = sampler.suggest(space: space, history: history, direction: .minimize, trialNumber: 60, studySeed: 3)
        var shuffled = history
        var rng = SweepRandom(seed: 5)
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, Int(rng.nextDouble() * Double(i + 1))) }
        XCTAssertNotEqual(shuffled.map(\.number), history.map(\.number))
        let outOfOrder = sampler.suggest(space: space, history: shuffled, direction: .minimize, trialNumber: 60, studySeed: 3)
        XCTAssertEqual(inOrder, outOfOrder)
        XCTAssertTrue(space.isValid(inOrder))
    }
}
