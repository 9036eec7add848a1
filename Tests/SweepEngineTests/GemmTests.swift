import XCTest
import SweepCore
@testable import SweepEngine

/// The BLAS path against the naive reference, for every transpose combination the layers use.
final class GemmTests: XCTestCase {
    func testBlasMatchesNaive() {
        var rng = SweepRandom(seed: 7)
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for (M, N, K) in [(1, 1, 1), (3, 5, 7), (17, 9, 33), (64, 10, 128)] {
                let a = (0..<(M * K)).map { _ in Float(rng.nextGaussian()) }
                let b = (0..<(K * N)).map { _ in Float(rng.nextGaussian()) }
                let c0 = (0..<(M * N)).map { _ in Float(rng.nextGaussian()) }
                var fast = c0, slow = c0
                let lda = ta ? M : K, ldb = tb ? K : N
                for beta: Float in [0, 1] {
                    fast = c0; slow = c0
                    gemm(ta, tb, M, N, K, 0.5, a, lda, b, ldb, beta, &fast, N)
                    gemmNaive(ta, tb, M, N, K, 0.5, a, lda, b, ldb, beta, &slow, N)
                    for i in 0..<(M * N) {
                        XCTAssertEqual(fast[i], slow[i], accuracy: 1e-4 * max(1, abs(slow[i])), "ta=\(ta) tb=\(tb) \(M)x\(N)x\(K) beta=\(beta)")
                    }
                }
            }
        }
    }

    /// A whole Dense forward through BLAS equals the naive triple loop.
    func testDenseForwardMatchesNaive() {
        var rng = SweepRandom(seed: 8)
        let B = 4, D = 6, U = 3
        let layer = Dense(inputs: D, units: U)
        var p = [Float](repeating: 0, count: layer.parameterCount), s: [Float] = [0]
        layer.initialize(&p, &s, rng: &rng, scheme: .he)
        let x = (0..<(B * D)).map { _ in Float(rng.nextGaussian()) }
        var out = [Float](repeating: 0, count: B * U)
        var ctx = PassContext(training: false, rng: rng)
        layer.forward(&out, x, p, &s, batch: B, ctx: &ctx)
        for b in 0..<B { for u in 0..<U {
            var acc = p[U * D + u]
            for d in 0..<D { acc += x[b * D + d] * p[u * D + d] }
            XCTAssertEqual(out[b * U + u], acc, accuracy: 1e-5)
        } }
    }
}
