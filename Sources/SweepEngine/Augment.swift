import Foundation
import SweepCore

/// Random image augmentation applied to a training batch in place (channels-last).
/// Shift pads with zeros and crops back (a translation); rotation and scaling resample
/// bilinearly about the image centre; flip mirrors left-right.
public struct Augmenter {
    public let aug: Augmentation
    public let H: Int, W: Int, C: Int
    var scratch: [Float]

    public init?(_ aug: Augmentation, shape: [Int]) {
        guard !aug.isIdentity, shape.count == 3 else { return nil }
        self.aug = aug; H = shape[0]; W = shape[1]; C = shape[2]
        scratch = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    public mutating func apply(_ x: UnsafeMutablePointer<Float>, batch B: Int, rng: inout SweepRandom) {
        let n = H * W * C
        for b in 0..<B {
            let img = x + b * n
            let dx = aug.shift > 0 ? rng.nextInt(below: 2 * aug.shift + 1) - aug.shift : 0
            let dy = aug.shift > 0 ? rng.nextInt(below: 2 * aug.shift + 1) - aug.shift : 0
            let flip = aug.flip && rng.next() & 1 == 1
            let angle = aug.rotation > 0 ? (rng.nextDouble() * 2 - 1) * aug.rotation * Double.pi / 180 : 0
            let s = aug.scale > 0 ? 1 + (rng.nextDouble() * 2 - 1) * aug.scale : 1
            if dx == 0 && dy == 0 && !flip && angle == 0 && s == 1 { continue }
            scratch.withUnsafeMutableBufferPointer { out in
                if angle == 0 && s == 1 {
                    // Integer shift (and flip): exact copy, no resampling.
                    for y in 0..<H {
                        for xo in 0..<W {
                            let sy = y - dy
                            var sx = xo - dx
                            if flip { sx = W - 1 - sx }
                            let o = (y * W + xo) * C
                            if sy < 0 || sy >= H || sx < 0 || sx >= W { for c in 0..<C { out[o + c] = 0 } }
                            else { for c in 0..<C { out[o + c] = img[(sy * W + sx) * C + c] } }
                        }
                    }
                } else {
                    // Inverse map each output pixel to the source, bilinear sample, zero outside.
                    let cy = Double(H - 1) / 2, cx = Double(W - 1) / 2
                    let ca = Foundation.cos(angle) / s, sa = Foundation.sin(angle) / s
                    for y in 0..<H {
                        for xo in 0..<W {
                            let ty = Double(y - dy) - cy
                            var tx = Double(xo - dx) - cx
                            if flip { tx = -tx }
                            let sx = ca * tx + sa * ty + cx
                            let sy = -sa * tx + ca * ty + cy
                            let x0 = Int(Foundation.floor(sx)), y0 = Int(Foundation.floor(sy))
                            let fx = Float(sx - Double(x0)), fy = Float(sy - Double(y0))
                            let o = (y * W + xo) * C
                            for c in 0..<C {
                                func at(_ yy: Int, _ xx: Int) -> Float {
                                    yy < 0 || yy >= H || xx < 0 || xx >= W ? 0 : img[(yy * W + xx) * C + c]
                                }
                                let top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
                                let bot = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
                                out[o + c] = top * (1 - fy) + bot * fy
                            }
                        }
                    }
                }
                img.update(from: out.baseAddress!, count: n)
            }
        }
    }
}
