import Foundation
import SweepCore

/// A synthetic learning curve: accuracy after t epochs is asymptote − gap·exp(−rate·t), plus
/// Gaussian noise on every report.
public struct LearningCurve: Sendable, Equatable {
    /// The accuracy the configuration approaches with unlimited training.
    public var asymptote: Double
    /// How far below the asymptote it starts.
    public var gap: Double
    /// How fast it closes the gap, per epoch.
    public var rate: Double

    public init(asymptote: Double, gap: Double, rate: Double) {
        self.asymptote = asymptote; self.gap = gap; self.rate = rate
    }

    /// The noise-free accuracy after `epoch` epochs.
    public func mean(atEpoch epoch: Int) -> Double { asymptote - gap * exp(-rate * Double(epoch)) }
}

/// Simulates a study on synthetic learning curves to measure what a scheduler saves (epochs) and
/// what it costs (the best final value it misses), against the same trials without early stopping.
///
/// The family, fixed before any scheduler was measured on it:
/// - asymptote = 0.60 + 0.35·(u₁+u₂)/2 (triangular on [0.60, 0.95]: most configurations middling,
///   few good ones);
/// - gap uniform in [0.10, 0.50]; rate log-uniform in [0.05, 1] (half-gap after 0.7 to 14
///   epochs), both independent of the asymptote. Fast starters with low asymptotes lead slow
///   starters with high ones early on and are overtaken later, so the curves cross and early
///   stopping can and does discard the eventual winner;
/// - every report adds N(0, noise²) noise (0.005 by default: half a point of accuracy).
/// Trial i's curve and noise depend only on (seed, i), so every scheduler sees the same trials.
///
/// Workers: each free worker starts the next trial; the busy worker with the least elapsed time
/// (ties: lowest index) trains one epoch, reports, and asks the scheduler. An epoch of trial i
/// takes `epochTime(trial: i)` time units, uniform in [0.5, 2] (configurations differ in size),
/// so with 2 workers reports arrive out of trial order, as in an asynchronous study; 1 worker is
/// a sequential study. (With equal epoch times 2 workers would see exactly what 1 worker sees.)
/// The resource counted is epochs, not time. A trial ends COMPLETE at `maxResource` epochs or
/// PRUNED when the scheduler says anything but `continue`.
public struct LearningCurveBenchmark: Sendable {
    public var trials: Int
    public var maxResource: Int
    public var workers: Int
    public var noise: Double
    /// `.maximize` reports accuracy; `.minimize` reports the error 1 − accuracy (the same study
    /// seen the other way round, to check that schedulers treat both directions alike).
    public var direction: Direction

    public init(trials: Int = 81, maxResource: Int = 27, workers: Int = 1, noise: Double = 0.005,
                direction: Direction = .maximize) {
        precondition(trials >= 1 && maxResource >= 1 && workers >= 1 && noise >= 0)
        self.trials = trials; self.maxResource = maxResource; self.workers = workers
        self.noise = noise; self.direction = direction
    }

    /// What one simulated study produced.
    public struct Outcome: Sendable, Equatable {
        /// The best reported value at `maxResource` among trials that got there (in the study's
        /// direction: accuracy, or error for `.minimize`); nil if none did.
        public var bestFinal: Double?
        /// The trial that reported it, and its noise-free value at `maxResource`.
        public var bestTrial: Int?
        public var bestTrueFinal: Double?
        /// Epochs trained by all trials together (the resource used).
        public var totalEpochs: Int
        public var completed: Int
        public var pruned: Int
    }

    /// A scheduler against a baseline (usually no early stopping) on the same seed.
    public struct Comparison: Sendable, Equatable {
        public var seed: UInt64
        public var baseline: Outcome
        public var candidate: Outcome
        public var direction: Direction

        /// Baseline epochs / candidate epochs.
        public var resourceRatio: Double { Double(baseline.totalEpochs) / Double(max(candidate.totalEpochs, 1)) }

        /// True if the candidate's best is at most `tolerance` worse than the baseline's.
        public func reachesBaseline(tolerance: Double) -> Bool {
            guard let c = candidate.bestFinal else { return false }
            guard let b = baseline.bestFinal else { return true }
            return c * direction.sign <= b * direction.sign + tolerance
        }
    }

    /// Trial `trial`'s curve in the study with this seed.
    public static func curve(trial: Int, seed: UInt64) -> LearningCurve {
        var rng = SweepRandom(seed: SeedSequence.derive(seed, SeedSequence.label("curve"), UInt64(trial)))
        let asymptote = 0.60 + 0.35 * (rng.nextDouble() + rng.nextDouble()) / 2
        let gap = 0.10 + 0.40 * rng.nextDouble()
        let rate = exp(log(0.05) + (log(1.0) - log(0.05)) * rng.nextDouble())
        return LearningCurve(asymptote: asymptote, gap: gap, rate: rate)
    }

    /// How long one epoch of trial `trial` takes in the simulated clock.
    public static func epochTime(trial: Int, seed: UInt64) -> Double {
        var rng = SweepRandom(seed: SeedSequence.derive(seed, SeedSequence.label("epoch-time"), UInt64(trial)))
        return 0.5 + 1.5 * rng.nextDouble()
    }

    /// The value trial `trial` reports after `epoch` epochs, in the study's direction.
    public func report(trial: Int, epoch: Int, seed: UInt64) -> Double {
        var rng = SweepRandom(seed: SeedSequence.derive(seed, SeedSequence.label("curve-noise"), UInt64(trial), UInt64(epoch)))
        let accuracy = Self.curve(trial: trial, seed: seed).mean(atEpoch: epoch) + noise * rng.nextGaussian()
        return direction == .maximize ? accuracy : 1 - accuracy
    }

    /// Runs the study under `scheduler`; the seed is also the study seed the scheduler sees.
    public func run(_ scheduler: any Scheduler, seed: UInt64) -> Outcome {
        var records: [TrialRecord] = []         // index = trial number
        var running = [Int?](repeating: nil, count: workers)
        var clock = [Double](repeating: 0, count: workers)
        var outcome = Outcome(totalEpochs: 0, completed: 0, pruned: 0)
        while true {
            for w in 0..<workers where running[w] == nil && records.count < trials {
                running[w] = records.count
                records.append(TrialRecord(number: records.count, state: .running, params: [:]))
            }
            guard let w = (0..<workers).filter({ running[$0] != nil }).min(by: { clock[$0] < clock[$1] }) else { break }
            let i = running[w]!
            let epoch = (records[i].lastStep ?? 0) + 1
            let value = report(trial: i, epoch: epoch, seed: seed)
            records[i].intermediate[epoch] = value
            clock[w] += Self.epochTime(trial: i, seed: seed)
            outcome.totalEpochs += 1
            if epoch >= maxResource {
                records[i].state = .complete
                records[i].value = value
                outcome.completed += 1
                running[w] = nil
                if outcome.bestFinal.map({ value * direction.sign < $0 * direction.sign }) ?? true {
                    outcome.bestFinal = value
                    outcome.bestTrial = i
                    let trueFinal = Self.curve(trial: i, seed: seed).mean(atEpoch: maxResource)
                    outcome.bestTrueFinal = direction == .maximize ? trueFinal : 1 - trueFinal
                }
            } else if scheduler.decide(trial: records[i], all: records, direction: direction, studySeed: seed) != .continue {
                records[i].state = .pruned
                records[i].value = value
                outcome.pruned += 1
                running[w] = nil
            }
        }
        return outcome
    }

    /// `scheduler` against `baseline` on each seed.
    public func compare(_ scheduler: any Scheduler, against baseline: any Scheduler = NoScheduler(),
                        seeds: [UInt64]) -> [Comparison] {
        seeds.map { seed in
            Comparison(seed: seed, baseline: run(baseline, seed: seed), candidate: run(scheduler, seed: seed),
                       direction: direction)
        }
    }
}
