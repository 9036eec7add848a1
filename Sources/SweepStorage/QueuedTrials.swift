import Foundation
import SweepCore
import SweepSearch

/// The backend-independent part of queued trials (see `SQLiteStore`'s queue for the forms).
enum QueuedTrials {
    /// Refuses a parameter whose internal value is not finite (before anything is written).
    static func checkFinite(_ params: [(name: String, value: Double, distributionJSON: String)]) throws {
        for p in params where !p.value.isFinite {
            throw RuntimeFailure("parameter '\(p.name)' has the value \(p.value); a parameter's internal value is a finite number")
        }
    }

    /// What a trial Sweep does not own yet was given: its `fixed_params` (JSON text, if any) and
    /// its stored parameters (converted by their own distributions; they win over fixed ones).
    static func givenParams(fixedParamsJSON text: String?, stored: [(name: String, value: Double?, distributionJSON: String?)])
        -> (values: [String: ParamValue], unreadable: [String]) {
        var values: [String: ParamValue] = [:]
        var unreadable: [String] = []
        if let text {
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                return ([:], ["fixed_params is not a JSON object: \(text.prefix(200))"])
            }
            for (name, any) in object {
                let data = try? JSONSerialization.data(withJSONObject: [any])
                if let v = data.flatMap({ try? JSONDecoder().decode([ParamValue].self, from: $0) })?.first, !(any is NSNull) {
                    values[name] = v
                } else {
                    unreadable.append("fixed parameter '\(name)' is not a number, string or boolean")
                }
            }
        }
        for p in stored {
            guard let x = p.value, let d = try? Distribution.fromOptunaJSON(p.distributionJSON ?? "") else {
                unreadable.append("parameter '\(p.name)' has no value or an unknown distribution")
                continue
            }
            values[p.name] = d.value(x)
        }
        return (values, unreadable.sorted())
    }

    /// A JSON list of integers (`retry_history`), nil for anything else.
    static func intList(_ text: String) -> [Int]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Int]
    }

    /// The system attributes of the retry of a failed trial, from the failed trial's: its own,
    /// plus `failed_trial` (the first trial of the chain) and `retry_history` (this one last).
    static func retryAttributes(of system: [String: String], failedNumber: Int) -> [String: String] {
        var system = system
        let history = system["retry_history"].flatMap(intList) ?? []
        system["failed_trial"] = system["failed_trial"] ?? OptunaEncoding.json(failedNumber)
        system["retry_history"] = OptunaEncoding.json(history + [failedNumber])
        return system
    }
}
