extension GP {
    /// The search space as the GP sees it, in two boxes:
    /// - the parameter box [0, 1]^P, one coordinate per parameter, where quasi-random points are
    ///   drawn and the local search moves; `Distribution.fromUnit` turns a coordinate into a value
    ///   (rounding ints and steps, picking a category);
    /// - the feature box [0, 1]^D the kernel measures distances in: a numeric parameter is one
    ///   column (the unit value of its rounded value), a categorical one column per category
    ///   (one-hot), a single-valued parameter none; with `ordinal`, a list of three or more
    ///   numeric choices is one column holding the choice's position on its log or linear scale
    ///   (`Distribution.ordinalPositions`), so neighbouring values are near. An inactive parameter
    ///   puts the neutral 0.5 in all its columns, so trials differing only in parameters they do
    ///   not use stay close.
    struct Encoding {
        let space: SearchSpace
        let columnStart: [Int]      // (P): first feature column of each parameter
        let width: [Int]            // (P): feature columns of each parameter
        let featureCount: Int       // D
        /// (P): parameters a local search moves in small steps (floats without step).
        let isContinuous: [Bool]
        /// (P): the feature value of each choice of an ordered numeric choice list, else nil.
        let positions: [[Double]?]
        private let parents: [[Int]]  // (P, conditions): index of each condition's parent

        init(space: SearchSpace, ordinal: Bool = true) {
            self.space = space
            positions = space.parameters.map { ordinal ? $0.distribution.ordinalPositions : nil }
            var start: [Int] = [], width: [Int] = [], continuous: [Bool] = [], at = 0
            for (j, p) in space.parameters.enumerated() {
                let w: Int
                switch p.distribution {
                case _ where p.distribution.isSingle: w = 0
                case .categorical where positions[j] != nil: w = 1
                case .categorical(let c): w = c.count
                default: w = 1
                }
                start.append(at); width.append(w); at += w
                if case .float(_, _, _, nil) = p.distribution, w == 1 { continuous.append(true) } else { continuous.append(false) }
            }
            columnStart = start; self.width = width; featureCount = at; isContinuous = continuous
            let names = space.names
            parents = space.parameters.map { p in p.conditions.map { c in names.firstIndex(of: c.parent)! } }
        }

        var parameterCount: Int { space.parameters.count }

        /// Features (D) of a recorded assignment; parameters it lacks are inactive.
        func features(of params: [String: Double], into out: inout ArraySlice<Double>) {
            let o = out.startIndex
            for (j, p) in space.parameters.enumerated() where width[j] > 0 {
                let c0 = o + columnStart[j]
                guard let x = params[p.name], x.isFinite else {
                    for k in 0..<width[j] { out[c0 + k] = 0.5 }
                    continue
                }
                if let pos = positions[j] {
                    out[c0] = pos[min(max(Int(x.rounded()), 0), pos.count - 1)]
                } else if case .categorical = p.distribution {
                    let chosen = min(max(Int(x.rounded()), 0), width[j] - 1)
                    for k in 0..<width[j] { out[c0 + k] = k == chosen ? 1 : 0 }
                } else {
                    out[c0] = min(max(p.distribution.unit(x), 0), 1)
                }
            }
        }

        /// The parameter-box point (P) of a recorded assignment; `fill` supplies the coordinates of
        /// parameters it lacks.
        func unitPoint(of params: [String: Double], fill: () -> Double) -> [Double] {
            space.parameters.map { p in
                guard let x = params[p.name], x.isFinite else { return fill() }
                return min(max(p.distribution.unit(x), 0), 1)
            }
        }

        /// A parameter-box point u (P) → internal values (P, NaN for inactive parameters, tested
        /// in order as `SearchSpace.isActive` does) and features (D).
        func decode(_ u: ArraySlice<Double>, values: inout [Double], features: inout ArraySlice<Double>) {
            let u0 = u.startIndex, o = features.startIndex
            for (j, p) in space.parameters.enumerated() {
                var active = true
                for (c, parent) in zip(p.conditions, parents[j]) {
                    let x = values[parent]
                    if x.isNaN || !c.values.contains(space.parameters[parent].distribution.value(x)) { active = false; break }
                }
                let c0 = o + columnStart[j]
                guard active else {
                    values[j] = .nan
                    for k in 0..<width[j] { features[c0 + k] = 0.5 }
                    continue
                }
                let x = p.distribution.fromUnit(u[u0 + j])
                values[j] = x
                guard width[j] > 0 else { continue }
                if let pos = positions[j] {
                    features[c0] = pos[Int(x)]
                } else if case .categorical = p.distribution {
                    let chosen = Int(x)
                    for k in 0..<width[j] { features[c0 + k] = k == chosen ? 1 : 0 }
                } else {
                    features[c0] = p.distribution.unit(x)
                }
            }
        }

        /// Internal values (P, NaN = inactive) → the assignment of the active parameters.
        func assignment(_ values: [Double]) -> [String: Double] {
            var out: [String: Double] = [:]
            for (j, p) in space.parameters.enumerated() where !values[j].isNaN { out[p.name] = values[j] }
            return out
        }
    }
}
