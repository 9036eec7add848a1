// Synchronous successive halving and `Decision.pause` (design note; no code yet).
//
// A `SuccessiveHalvingScheduler` (synchronous: n trials start together, the best n/η of each rung
// go on) fits the `Scheduler` contract without hidden state:
//
// - Cohorts are derived, not remembered: trial number t belongs to cohort t / n (n = trials per
//   cohort), so any process knows every trial's cohort from its number alone.
// - At a milestone m a trial's `decide` returns `.pause`, unless its report completes the rung
//   (see below), in which case it gets `.continue` or `.stop` at once by the rung's ranking. The runner
//   keeps the trial's checkpoint (the engine's `--checkpoint` / `--resume` already give results
//   identical to an uninterrupted run) and frees the worker; the store records it as WAITING.
// - Which paused trials resume is also a pure function of the stored reports: a rung is complete
//   when every trial of the cohort that reached the previous rung has a report at m (or ended);
//   then the best ⌊n_k/η⌋ values at m (direction-normalised, ties by trial number) resume and
//   the rest end PRUNED. This needs one more hook, with a default that resumes nothing so the
//   asynchronous schedulers do not change:
//
//       func resumable(all: [TrialRecord], direction: Direction, studySeed: UInt64) -> [Int]
//
//   The runner asks it whenever a worker is free, before starting a new trial.
// - Until the runner implements resumption it treats `.pause` as `.stop` (see `Decision`), so a
//   synchronous scheduler would then behave like ASHA with waiting at the rungs.
