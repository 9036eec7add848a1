import SweepCore

/// NSGA-II (Deb et al., 2002), the genetic algorithm Optuna's `NSGAIISampler` runs, kept stateless:
/// the generation of trial n is n / `populationSize`, and the parents of generation g are derived
/// from the stored history each time (elitist selection, generation by generation, of the
/// previous parents plus generation g−1's COMPLETE trials), so a restarted controller proposes
/// what an uninterrupted one would.
///
/// - Selection: trials ranked by constrained non-dominated sorting (feasible fronts first, then
///   infeasible trials by violation), the last front cut by crowding distance (larger first; ties:
///   lower number).
/// - A child: two parents by binary tournament (constrained dominance, else the first drawn);
///   with `crossoverProbability` a uniform crossover (each parameter from the second parent with
///   `swappingProbability`), else a copy of the first; then each parameter is redrawn at random
///   with `mutationProbability` (1 / number of parameters by default). Parameters a parent lacks
///   (inactive, or outside the current space) are drawn at random.
/// - Generation 0, and any generation with no parents yet (all of the previous one still
///   running), is random. A child equal to a configuration another trial has taken (a copy of
///   a parent, say) is not proposed while `avoidRepeats`: up to 16 children are drawn, then the
///   last one gets a parameter redrawn at random (in a finite space: a random untaken point,
///   while untaken ones remain).
public struct NSGAIISampler: MultiObjectiveSampler {
    public var populationSize: Int
    public var crossoverProbability: Double
    public var swappingProbability: Double
    public var mutationProbability: Double?
    public var avoidRepeats: Bool

    public init(populationSize: Int = 50, crossoverProbability: Double = 0.9, swappingProbability: Double = 0.5,
                mutationProbability: Double? = nil, avoidRepeats: Bool = true) {
        self.populationSize = max(populationSize, 2); self.crossoverProbability = crossoverProbability
        self.swappingProbability = swappingProbability; self.mutationProbability = mutationProbability
        self.avoidRepeats = avoidRepeats
    }

    public var name: String { "nsga2" }

    public func suggest(space: SearchSpace, history: [TrialRecord], directions: [Direction],
                        trialNumber: Int, studySeed: UInt64) -> [String: Double] {
        var rng = SweepRandom(seed: SeedSequence.derive(studySeed, SeedSequence.label("nsga2"), UInt64(trialNumber)))
        let taken = avoidRepeats ? TakenConfigurations(space: space, history: history, trialNumber: trialNumber) : nil
        let avoiding = taken?.active ?? false
        // Every configuration taken, finite space or not: a copy of a parent is a wasted trial.
        let seen = avoidRepeats ? Set(history.lazy.filter { $0.number != trialNumber && !$0.params.isEmpty }.map(\.params)) : []
        let parents = population(generation: trialNumber / populationSize, history: history, directions: directions)
        guard !parents.isEmpty, !space.isEmpty else {
            return untaken(fillRandomly([:], space: space, rng: &rng), space: space, taken: avoiding ? taken : nil, rng: &rng)
        }
        let mutation = mutationProbability ?? 1 / Double(max(space.parameters.count, 1))
        var child: [String: Double] = [:]
        for _ in 0..<(avoidRepeats ? 16 : 1) {
            let first = tournament(parents, directions, &rng)
            let second = tournament(parents, directions, &rng)
            let crossover = rng.nextDouble() < crossoverProbability
            child = [:]
            for p in space.parameters where space.isActive(p, given: child) {
                let fromSecond = crossover && rng.nextDouble() < swappingProbability
                let mutate = rng.nextDouble() < mutation
                let source = fromSecond ? second : first
                if !mutate, let x = source.params[p.name] ?? (fromSecond ? first : second).params[p.name],
                   p.distribution.contains(x) {
                    child[p.name] = x
                }
            }
            child = fillRandomly(child, space: space, rng: &rng)
            if !seen.contains(child) { return child }
        }
        if avoiding { return untaken(child, space: space, taken: taken, rng: &rng) }
        // An infinite space: redraw one active parameter of the last child.
        let active = space.parameters.filter { child[$0.name] != nil }
        if !active.isEmpty {
            let p = active[rng.nextInt(below: active.count)]
            child[p.name] = p.distribution.fromUnit(rng.nextDouble())
            child = fillRandomly(child, space: space, rng: &rng)
        }
        return child
    }

    /// The parents of generation `generation` (empty for generation 0).
    func population(generation: Int, history: [TrialRecord], directions: [Direction]) -> [TrialRecord] {
        guard generation > 0 else { return [] }
        var byGeneration = [[TrialRecord]](repeating: [], count: generation)
        for t in history where t.state == .complete && t.losses(directions) != nil {
            // Prior observations (negative numbers, see `WarmStart`) join generation 0.
            let g = max(t.number, 0) / populationSize
            if g < generation { byGeneration[g].append(t) }
        }
        var parents: [TrialRecord] = []
        for g in 0..<generation {
            parents = Self.select(parents + byGeneration[g], count: populationSize, directions: directions)
        }
        return parents
    }

    /// NSGA-II's elitist selection of `count` trials.
    static func select(_ pool: [TrialRecord], count: Int, directions: [Direction]) -> [TrialRecord] {
        guard pool.count > count else { return pool.sorted { $0.number < $1.number } }
        let ranks = constrainedFrontRanks(pool, directions: directions)
        var chosen: [TrialRecord] = []
        for r in 0...(ranks.max() ?? 0) {
            let front = pool.indices.filter { ranks[$0] == r }.sorted { pool[$0].number < pool[$1].number }
            if chosen.count + front.count <= count {
                chosen += front.map { pool[$0] }
                continue
            }
            let points = front.map { pool[$0].losses(directions)! }
            let crowding = Pareto.crowdingDistance(points)
            let order = front.indices.sorted { crowding[$0] != crowding[$1] ? crowding[$0] > crowding[$1] : pool[front[$0]].number < pool[front[$1]].number }
            chosen += order.prefix(count - chosen.count).map { pool[front[$0]] }
            break
        }
        return chosen.sorted { $0.number < $1.number }
    }

    /// Fronts of non-dominated sorting under constrained dominance: the feasible trials' Pareto
    /// fronts, then one front per distinct violation of the infeasible ones, smallest first.
    public static func constrainedFrontRanks(_ trials: [TrialRecord], directions: [Direction]) -> [Int] {
        let feasible = trials.indices.filter { trials[$0].violation == 0 }
        var ranks = [Int](repeating: 0, count: trials.count)
        let feasibleRanks = Pareto.frontRanks(feasible.map { trials[$0].losses(directions)! })
        for (k, i) in feasible.enumerated() { ranks[i] = feasibleRanks[k] }
        let next = (feasibleRanks.max() ?? -1) + 1
        let violations = Set(trials.map(\.violation).filter { $0 > 0 }).sorted()
        for i in trials.indices where trials[i].violation > 0 {
            ranks[i] = next + violations.firstIndex(of: trials[i].violation)!
        }
        return ranks
    }

    /// Whether `a` dominates `b` under constraints: feasible over infeasible, the smaller
    /// violation between infeasible ones, Pareto dominance between feasible ones.
    static func constrainedDominates(_ a: TrialRecord, _ b: TrialRecord, _ directions: [Direction]) -> Bool {
        let va = a.violation, vb = b.violation
        if va == 0 && vb == 0 { return Pareto.dominates(a.losses(directions)!, b.losses(directions)!) }
        return va < vb
    }

    func tournament(_ parents: [TrialRecord], _ directions: [Direction], _ rng: inout SweepRandom) -> TrialRecord {
        let a = parents[rng.nextInt(below: parents.count)], b = parents[rng.nextInt(below: parents.count)]
        return Self.constrainedDominates(b, a, directions) ? b : a
    }
}
