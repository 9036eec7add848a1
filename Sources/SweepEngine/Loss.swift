import Foundation

/// Losses: each returns the summed loss over the batch and writes d(mean loss)/d(output).
public enum Loss {
    // logits is (B,N), labels (B); dlogits (B,N) = (softmax − onehot) / scaleB.
    // Returns (sum of −log p[label], number of correct argmax predictions).
    @discardableResult
    public static func softmaxCrossEntropy(_ logits: UnsafePointer<Float>, _ labels: UnsafePointer<Int32>,
                                           _ dlogits: UnsafeMutablePointer<Float>?, batch B: Int, classes N: Int,
                                           scaleB: Int? = nil) -> (loss: Double, correct: Int) {
        var total = 0.0, correct = 0
        let inv = 1 / Float(scaleB ?? B)
        for b in 0..<B {
            let z = logits + b * N
            var mx = z[0], arg = 0
            for j in 1..<N where z[j] > mx { mx = z[j]; arg = j }
            var sum: Float = 0
            for j in 0..<N { sum += expf(z[j] - mx) }
            let y = Int(labels[b])
            if arg == y { correct += 1 }
            let logSum = logf(sum)
            total += Double(logSum - (z[y] - mx))
            if let dlogits {
                let d = dlogits + b * N
                let invSum = 1 / sum
                for j in 0..<N { d[j] = expf(z[j] - mx) * invSum * inv }
                d[y] -= inv
            }
        }
        return (total, correct)
    }

    // pred is (B,1), target (B); dpred = 2 (pred − target) / B. Returns the summed squared error.
    @discardableResult
    public static func meanSquaredError(_ pred: UnsafePointer<Float>, _ target: UnsafePointer<Float>,
                                        _ dpred: UnsafeMutablePointer<Float>?, batch B: Int, scaleB: Int? = nil) -> Double {
        var total = 0.0
        let inv = 2 / Float(scaleB ?? B)
        for b in 0..<B {
            let e = pred[b] - target[b]
            total += Double(e) * Double(e)
            dpred?[b] = e * inv
        }
        return total
    }
}
