import Foundation

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
    /// Population-based training: on a trial the scheduler exploited, the donor and epoch its
    /// continuation starts from (`{"donor": D, "epoch": E}`), written when the decision is taken,
    /// so a run that stops before the continuation exists creates it on its next start.
    public static let pbtExploit = "sweep:pbt_exploit"

    /// The `pbtExploit` value for a donor and epoch.
    public static func pbtExploitJSON(donor: Int, epoch: Int) -> String { "{\"donor\": \(donor), \"epoch\": \(epoch)}" }

    /// The donor and epoch of a `pbtExploit` value; nil when it is not one.
    public static func pbtExploit(fromJSON json: String) -> (donor: Int, epoch: Int)? {
        guard let o = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
              let donor = o["donor"] as? Int, let epoch = o["epoch"] as? Int else { return nil }
        return (donor, epoch)
    }
}
