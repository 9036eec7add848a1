import XCTest
import CSweepKernels
import SweepCore
@testable import SweepEngine

/// The C fast paths against their naive Swift references.
final class KernelTests: XCTestCase {
    var rng = SweepRandom(seed: 21)
    func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian()) } }

    /// Engine buffers come zeroed, also where the allocator hands back memory just freed with
    /// other contents (a batch of same-sized buffers filled, freed, then allocated again: glibc
    /// reuses some of them); from 1 MB up they start on a 2 MB boundary (whole huge pages),
    /// below it on a 64-byte one; growing a FloatBuffer gives a zeroed, larger one.
    func testBuffersAreZeroedAndAligned() {
        for (bytes, count) in [(4, 16), (1000, 16), (100_000, 16), ((1 << 20) - 4, 2), (1 << 20, 2), (3_211_264, 2), (5 << 20, 2)] {
            for round in 0..<2 {
                let buffers = (0..<count).map { _ in sweep_alloc_buffer(bytes)! }
                for p in buffers {
                    let align = bytes >= 1 << 20 ? 2 << 20 : 64
                    XCTAssertEqual(Int(bitPattern: p) % align, 0, "\(bytes) bytes")
                    let u = p.bindMemory(to: UInt8.self, capacity: bytes)
                    XCTAssertTrue(UnsafeBufferPointer(start: u, count: bytes).allSatisfy { $0 == 0 }, "\(bytes) bytes, round \(round)")
                    u.update(repeating: 7, count: bytes)
                }
                buffers.forEach { sweep_free_buffer($0) }
            }
        }
        let b = FloatBuffer(count: 10)
        b.pointer.update(repeating: 1, count: 10)
        b.ensure(300_000)
        XCTAssertEqual(b.count, 300_000)
        XCTAssertEqual(Int(bitPattern: b.pointer) % (2 << 20), 0)
        XCTAssertTrue(b.array.allSatisfy { $0 == 0 })
    }

    func testAdamMatchesReference() {
        for n in [1, 7, 16, 33, 1000] {
            let g = random(n)
            var p1 = random(n), m1 = random(n), v1 = random(n).map { $0 * $0 }
            var p2 = p1, m2 = m1, v2 = v1
            Kernels.adam(&p1, g, &m1, &v1, count: n, b1: 0.9, b2: 0.999, stepSize: 0.01, invSqrtBc2: 1.2, eps: 1e-8, l2: 0.01)
            Kernels.adamReference(&p2, g, &m2, &v2, count: n, b1: 0.9, b2: 0.999, stepSize: 0.01, invSqrtBc2: 1.2, eps: 1e-8, l2: 0.01)
            for i in 0..<n {
                XCTAssertEqual(p1[i], p2[i], accuracy: 1e-6 * max(1, abs(p2[i])))
                XCTAssertEqual(m1[i], m2[i], accuracy: 1e-6); XCTAssertEqual(v1[i], v2[i], accuracy: 1e-6)
            }
        }
    }

    /// Batch sizes below, at and around the kernel's 8 rows; row lengths below, at and around its
    /// 16 floats and the MNIST row; repeated and out-of-order rows. NaN-filled outputs show any
    /// element left unwritten.
    func testGatherRowsMatchesReference() {
        for f in [1, 5, 16, 37, 784] {
            let src = random(50 * f)
            for n in [0, 1, 7, 8, 9, 16, 23, 50] {
                let rows = (0..<n).map { _ in Int(rng.nextDouble() * 50) }
                var fast = [Float](repeating: .nan, count: max(n * f, 1)), slow = fast
                Kernels.gatherRows(&fast, src, rows: rows, count: n, features: f)
                Kernels.gatherRowsReference(&slow, src, rows: rows, count: n, features: f)
                XCTAssertEqual(fast.map(\.bitPattern), slow.map(\.bitPattern), "n=\(n) f=\(f)")
                if n > 0 { XCTAssertFalse(fast[0..<(n * f)].contains { $0.isNaN }, "n=\(n) f=\(f)") }
            }
        }
    }

    func testReluAndColumnSums() {
        let x = random(37), dy = random(37)
        var out = [Float](repeating: 0, count: 37), dx = out
        Kernels.relu(&out, x, count: 37)
        Kernels.reluBackward(&dx, dy, x, count: 37)
        for i in 0..<37 { XCTAssertEqual(out[i], max(x[i], 0)); XCTAssertEqual(dx[i], x[i] > 0 ? dy[i] : 0) }
        var acc = [Float](repeating: 9, count: 5)
        Kernels.columnSums(&acc, x, rows: 7, cols: 5)
        for j in 0..<5 { XCTAssertEqual(acc[j], (0..<7).reduce(Float(0)) { $0 + x[$1 * 5 + j] }, accuracy: 1e-5) }
    }

    func testIm2colAndCol2imMatchReference() {
        for (shape, k, s, pad) in [([5, 6, 3], 3, 1, Padding.same), ([7, 7, 2], 3, 2, .same), ([6, 5, 1], 2, 2, .valid), ([4, 4, 4], 1, 1, .valid)] {
            let conv = Conv2D(input: shape, filters: 2, kernel: k, stride: s, padding: pad)
            let B = 3
            let x = random(B * shape.reduce(1, *))
            let n = B * conv.OH * conv.OW * conv.KK
            var fast = [Float](repeating: 0, count: n), slow = fast
            conv.im2col(x, &fast, batch: B); conv.im2colReference(x, &slow, batch: B)
            XCTAssertEqual(fast, slow, "\(shape) k\(k) s\(s) \(pad)")
            let d = random(n)
            var di1 = [Float](repeating: 1, count: x.count), di2 = [Float](repeating: 2, count: x.count)
            conv.col2im(d, &di1, batch: B); conv.col2imReference(d, &di2, batch: B)
            for i in 0..<x.count { XCTAssertEqual(di1[i], di2[i], accuracy: 1e-5) }
        }
    }

    func testMaxPoolMatchesReference() {
        for (shape, size, stride) in [([4, 4, 3], 2, 2), ([5, 5, 2], 3, 2), ([6, 4, 1], 2, 1), ([5, 7, 2], 2, 2), ([28, 28, 32], 2, 2),
                                      ([6, 6, 5], 2, 2)] {
          for ties in [false, true] {  // rounded inputs: windows with several equal maxima
            let pool = MaxPool2D(input: shape, size: size, stride: stride)
            let B = 2
            pool.prepare(maxBatch: B)
            let x = random(B * shape.reduce(1, *)).map { ties ? $0.rounded() : $0 }
            let n = B * pool.outputSize
            var a = [Float](repeating: 0, count: n), b = a, s: [Float] = [0]
            var ctx = PassContext(training: true, rng: rng)
            pool.forward(&a, x, [0], &s, batch: B, ctx: &ctx)
            let fastArgmax = Array(UnsafeBufferPointer(start: pool.argmax, count: n))
            pool.forwardReference(&b, x, batch: B)
            XCTAssertEqual(a, b)
            XCTAssertEqual(fastArgmax, Array(UnsafeBufferPointer(start: pool.argmax, count: n)))
            let dout = random(n)
            var d1 = [Float](repeating: .nan, count: x.count), d2 = d1
            var dp: [Float] = [0]
            pool.backward(&d1, &dp, dout, x, a, [0], batch: B)
            pool.backwardReference(&d2, dout, batch: B)
            XCTAssertEqual(d1, d2, "\(shape) size \(size) stride \(stride) ties \(ties)")
          }
        }
    }
}
