extension GP {
    /// An acquisition function over points of the parameter box, and its maximisation: log
    /// expected improvement of one objective's GP, or log expected hypervolume improvement of
    /// one GP per objective (`HypervolumeBoxes`).
    struct Acquisition {
        let encoding: Encoding
        let score: Score

        enum Score {
            /// log EI of `model` over the best standardised loss `best`.
            case expectedImprovement(model: Model, best: Double)
            /// log EHVI of the objectives' `models` (independent) over the front decomposed in `boxes`.
            case hypervolumeImprovement(models: [Model], boxes: HypervolumeBoxes)
        }

        init(encoding: Encoding, model: Model, best: Double) {
            self.encoding = encoding
            score = .expectedImprovement(model: model, best: best)
        }

        init(encoding: Encoding, models: [Model], boxes: HypervolumeBoxes) {
            self.encoding = encoding
            score = .hypervolumeImprovement(models: models, boxes: boxes)
        }

        /// Internal values (count, P; NaN = inactive) and scores (count; −∞ for NaN) of points u (count, P).
        func evaluate(_ u: [Double], count m: Int) -> (values: [Double], scores: [Double]) {
            let p = encoding.parameterCount, d = encoding.featureCount
            var values = [Double](repeating: .nan, count: m * p)
            var features = [Double](repeating: 0, count: m * d)
            var row = [Double](repeating: .nan, count: p)
            for c in 0..<m {
                encoding.decode(u[(c * p)..<((c + 1) * p)], values: &row, features: &features[(c * d)..<((c + 1) * d)])
                values.replaceSubrange((c * p)..<((c + 1) * p), with: row)
            }
            switch score {
            case .expectedImprovement(let model, let best):
                let (mean, variance) = model.predict(features, m: m)
                let scores = (0..<m).map { c -> Double in
                    let s = logEI(mean: mean[c], variance: variance[c], best: best)
                    return s.isNaN ? -.infinity : s
                }
                return (values, scores)
            case .hypervolumeImprovement(let models, let boxes):
                let posteriors = models.map { $0.predict(features, m: m) }
                var mean = [Double](repeating: 0, count: models.count), variance = mean
                var scratch = HypervolumeBoxes.Scratch()
                let scores = (0..<m).map { c -> Double in
                    for k in models.indices { mean[k] = posteriors[k].mean[c]; variance[k] = posteriors[k].variance[c] }
                    let s = boxes.logEHVI(mean: mean, variance: variance, scratch: &scratch)
                    return s.isNaN ? -.infinity : s
                }
                return (values, scores)
            }
        }

        /// The internal values (P) of the best point found: the best of the candidates u (count,
        /// P), refined by a compass search from the three best distinct ones, then by a search of
        /// their discrete neighbourhoods (one parameter changed to another choice, or an int or
        /// step one or two steps away). Configurations in `taken` are never returned while the
        /// candidates hold an untaken one.
        func maximize(_ u: [Double], count: Int, starts: Int = 3, initialStep: Double = 0.05,
                      minStep: Double = 2e-3, maxRounds: Int = 20, taken: TakenConfigurations? = nil) -> [Double] {
            let p = encoding.parameterCount
            let (values, scores) = evaluate(u, count: count)
            func isTaken(_ v: [Double]) -> Bool { taken?.contains(encoding.assignment(v)) ?? false }

            struct Start { var u: [Double]; var values: [Double]; var score: Double; var step: Double }
            var chosen: [Start] = []
            for c in (0..<count).sorted(by: { scores[$0] > scores[$1] }) {
                let v = Array(values[(c * p)..<((c + 1) * p)])
                if chosen.contains(where: { Self.sameValues($0.values, v) }) || isTaken(v) { continue }
                chosen.append(Start(u: Array(u[(c * p)..<((c + 1) * p)]), values: v, score: scores[c], step: initialStep))
                if chosen.count == starts { break }
            }

            // Compass search: each round tries ± step along every active continuous parameter of
            // every live start in one batch; a start moves to its best neighbour if that improves
            // the score, else halves its step, and stops below `minStep`.
            for _ in 0..<maxRounds {
                var batch: [Double] = [], owner: [Int] = []
                for (k, s) in chosen.enumerated() where s.step >= minStep {
                    for j in 0..<p where encoding.isContinuous[j] && !s.values[j].isNaN {
                        for sign in [-1.0, 1.0] {
                            var v = s.u
                            v[j] = min(max(v[j] + sign * s.step, 0), 1)
                            if v[j] == s.u[j] { continue }
                            batch += v; owner.append(k)
                        }
                    }
                }
                if owner.isEmpty { break }
                let (bv, bs) = evaluate(batch, count: owner.count)
                var bestOf = [Int?](repeating: nil, count: chosen.count)
                for (i, k) in owner.enumerated() where bs[i] > chosen[k].score && (bestOf[k].map { bs[i] > bs[$0] } ?? true) {
                    bestOf[k] = i
                }
                for k in chosen.indices where chosen[k].step >= minStep {
                    if let i = bestOf[k] {
                        chosen[k].u = Array(batch[(i * p)..<((i + 1) * p)])
                        chosen[k].values = Array(bv[(i * p)..<((i + 1) * p)])
                        chosen[k].score = bs[i]
                    } else {
                        chosen[k].step *= 0.5
                    }
                }
            }
            if chosen.isEmpty { return Array(values[0..<p]) }

            // Discrete neighbourhood: each round scores every one-parameter change of every start
            // in one batch; a start moves to its best untaken neighbour while that improves the score.
            let params = encoding.space.parameters
            for _ in 0..<maxRounds {
                var batch: [Double] = [], owner: [Int] = []
                for (k, s) in chosen.enumerated() {
                    for j in 0..<p where !encoding.isContinuous[j] && !s.values[j].isNaN {
                        let dist = params[j].distribution
                        guard let n = dist.valueCount, n > 1 else { continue }
                        var targets: [Double] = []
                        if case .categorical = dist {
                            targets = (0..<Int(n)).map(Double.init).filter { $0 != s.values[j] }
                        } else {
                            for delta in [-2.0, -1, 1, 2] {
                                let x = dist.fromUnit(dist.unit(s.values[j]) + delta / n)
                                if x != s.values[j] && !targets.contains(x) { targets.append(x) }
                            }
                        }
                        for x in targets {
                            var v = s.u
                            v[j] = dist.unit(x)
                            batch += v; owner.append(k)
                        }
                    }
                }
                if owner.isEmpty { break }
                let (bv, bs) = evaluate(batch, count: owner.count)
                var moved = false
                var bestOf = [Int?](repeating: nil, count: chosen.count)
                for (i, k) in owner.enumerated() where bs[i] > chosen[k].score && (bestOf[k].map { bs[i] > bs[$0] } ?? true) {
                    if isTaken(Array(bv[(i * p)..<((i + 1) * p)])) { continue }
                    bestOf[k] = i
                }
                for k in chosen.indices {
                    guard let i = bestOf[k] else { continue }
                    chosen[k].u = Array(batch[(i * p)..<((i + 1) * p)])
                    chosen[k].values = Array(bv[(i * p)..<((i + 1) * p)])
                    chosen[k].score = bs[i]
                    moved = true
                }
                if !moved { break }
            }
            return chosen.max(by: { $0.score < $1.score })!.values
        }

        /// Equal assignments (NaN, inactive, equals NaN).
        static func sameValues(_ a: [Double], _ b: [Double]) -> Bool {
            zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
        }
    }
}
