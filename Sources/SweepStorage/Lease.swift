import SweepCore

/// What both backends say about a study's controller lease.
enum Lease {
    /// The refusal of a claim (or a deletion) while `holder`'s lease runs.
    static func refusal(study: String, holder: String) -> String {
        let who = LeaseOwner(id: holder).map { "process \($0.pid) on \($0.host)" } ?? "'\(holder)'"
        return "study '\(study)' is being run by \(who); stop it first or wait for it to finish"
    }
}
