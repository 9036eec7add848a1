/// Keys of the trial system attributes pausing schedulers write (see `TrialStore.pauseTrial`
/// and population-based training in `StudyController`).
extension TrialAttribute {
    /// The step a paused trial waits at (a JSON integer); present only while it is paused.
    public static let pausedAtEpoch = "sweep:paused_at_epoch"
    /// Population-based training: the number of the trial whose checkpoint this trial started
    /// from (a JSON integer).
    public static let pbtDonor = "sweep:pbt_donor"
    /// Population-based training: the epoch of the donor's checkpoint this trial started from
    /// (a JSON integer); the trial reports from the next epoch on.
    public static let pbtEpoch = "sweep:pbt_epoch"
    /// Population-based training: on an exploited trial (ended PRUNED), the number of the trial
    /// that continues its place in the population from the donor (a JSON integer).
    public static let pbtExploited = "sweep:pbt_exploited"
}
