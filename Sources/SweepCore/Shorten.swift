extension String {
    /// The text in at most `limit` characters, cut at word boundaries: when it is longer, its
    /// beginning (which usually names the error) and its end (which usually holds the detail: the
    /// path, the value, the missing name) are kept around " … ", neither cut inside a word.
    public func shortened(to limit: Int) -> String {
        guard count > limit, limit >= 20 else { return count > limit ? String(prefix(limit)) : self }
        let budget = limit - 3
        let headBudget = budget * 2 / 5
        var head = String(prefix(headBudget))
        if let space = head.lastIndex(of: " "), head.distance(from: head.startIndex, to: space) > headBudget / 2,
           self[index(startIndex, offsetBy: headBudget)] != " " {
            head = String(head[..<space])
        }
        let tailBudget = budget - head.count
        var tail = String(suffix(tailBudget))
        if let space = tail.firstIndex(of: " "), tail.distance(from: tail.startIndex, to: space) < tailBudget / 2,
           self[index(endIndex, offsetBy: -tailBudget - 1)] != " " {
            tail = String(tail[tail.index(after: space)...])
        }
        return head.trimmingTrailingSpaces + " … " + tail
    }

    private var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
