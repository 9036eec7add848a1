import Foundation

extension GP {
    /// log E[max(best − f, 0)] for f ~ N(mean, variance): the log expected improvement of a loss.
    ///
    /// EI = σ h(z) with z = (best − mean) / σ and h(z) = φ(z) + z Φ(z). Far below the incumbent
    /// h(z) underflows to 0 and a plain log gives −∞ everywhere, leaving the search nothing to
    /// climb; `logH` stays finite and smooth (as BoTorch's and Optuna's logEI).
    static func logEI(mean: Double, variance: Double, best: Double) -> Double {
        let sigma = max(variance, 1e-18).squareRoot()
        return Foundation.log(sigma) + logH((best - mean) / sigma)
    }

    /// log(φ(z) + z Φ(z)), accurate for any finite z.
    static func logH(_ z: Double) -> Double {
        if z > -1 {
            // No cancellation here: h(−1) ≈ 0.083.
            let pdf = Foundation.exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
            let cdf = 0.5 * Foundation.erfc(-z / 2.0.squareRoot())
            return Foundation.log(pdf + z * cdf)
        }
        let logPDF = -0.5 * z * z - 0.5 * Foundation.log(2 * Double.pi)
        // h = φ(z) (1 − |z| Φ(z)/φ(z)), and Φ(z)/φ(z) = √(π/2) erfcx(−z/√2). Far out the bracket
        // is 1 − (1 − 1/z² + 3/z⁴ − …) and cancels; its asymptotic series is exact to rounding there.
        if z < -1000 {
            let t = 1 / (z * z)
            return logPDF + Foundation.log(t) + Foundation.log1p(t * (-3 + t * (15 - 105 * t)))
        }
        let w = Foundation.log(-z) + Foundation.log(erfcx(-z / 2.0.squareRoot())) + 0.5 * Foundation.log(Double.pi / 2)
        return logPDF + log1mexp(w)
    }

    /// log(1 − eʷ) for w < 0 (Mächler's two branches).
    static func log1mexp(_ w: Double) -> Double {
        w > -Foundation.log(2.0) ? Foundation.log(-Foundation.expm1(w)) : Foundation.log1p(-Foundation.exp(w))
    }

    /// The scaled complementary error function exp(x²) erfc(x).
    static func erfcx(_ x: Double) -> Double {
        if x < 25 { return Foundation.exp(x * x) * Foundation.erfc(x) }
        // Laplace's continued fraction: erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3⁄2/(x + …)))).
        var f = x
        for k in stride(from: 40, through: 1, by: -1) { f = x + 0.5 * Double(k) / f }
        return 1 / (Double.pi.squareRoot() * f)
    }
}
