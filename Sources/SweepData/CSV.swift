import SweepCore

/// CSV with a header row and a named label column.
///
/// Feature columns that are all numbers are used as they are; a column holding any non-number is
/// one-hot encoded over its sorted distinct values. The task is classification when the label
/// column holds any non-number (or when `task` says so), regression when it is all numbers.
public enum CSVLoader {
    public static func load(bytes: [UInt8], file: String, label: String, task: Task? = nil,
                            name: String) throws -> Dataset {
        let rows = try parseRows(bytes, file: file)
        guard let header = rows.first else { throw InputError(file: file, "the file is empty; expected a header row") }
        guard let labelIndex = header.firstIndex(of: label) else {
            throw InputError(file: file, field: "label", "no column named '\(label)'; the columns are: \(header.joined(separator: ", "))")
        }
        let body = rows.dropFirst().filter { !($0.count == 1 && $0[0].isEmpty) }
        guard !body.isEmpty else { throw InputError(file: file, "the file has a header but no data rows") }
        for (i, r) in body.enumerated() where r.count != header.count {
            throw InputError(file: file, line: i + 2, "row has \(r.count) fields; the header has \(header.count)")
        }
        // Columns: numeric, or categorical (one-hot).
        var columns: [(index: Int, categories: [String]?)] = []
        for c in header.indices where c != labelIndex {
            var numeric = true
            for (i, r) in body.enumerated() {
                let v = r[c].trimmingSpaces
                if v.isEmpty { throw InputError(file: file, line: i + 2, field: header[c], "missing value; fill it in or drop the row") }
                if numeric && Double(v) == nil { numeric = false }
            }
            columns.append((c, numeric ? nil : Array(Set(body.map { $0[c].trimmingSpaces })).sorted()))
        }
        let width = columns.reduce(0) { $0 + ($1.categories?.count ?? 1) }
        var features = [Float](); features.reserveCapacity(body.count * width)
        for r in body {
            for (c, cats) in columns {
                let v = r[c].trimmingSpaces
                if let cats {
                    let k = cats.firstIndex(of: v)!
                    for j in cats.indices { features.append(j == k ? 1 : 0) }
                } else {
                    features.append(Float(Double(v)!))
                }
            }
        }
        let labelsRaw = body.map { $0[labelIndex].trimmingSpaces }
        if let i = labelsRaw.firstIndex(where: { $0.isEmpty }) {
            throw InputError(file: file, line: i + 2, field: label, "missing label")
        }
        let allNumeric = labelsRaw.allSatisfy { Double($0) != nil }
        let resolved = task ?? (allNumeric ? .regression : .classification)
        if resolved == .regression {
            guard allNumeric else {
                let bad = labelsRaw.firstIndex { Double($0) == nil }!
                throw InputError(file: file, line: bad + 2, field: label, "regression needs a numeric label; found '\(labelsRaw[bad])'")
            }
            return Dataset(name: name, sampleShape: [width], features: features, values: labelsRaw.map { Float(Double($0)!) })
        }
        let classes: [String]
        if allNumeric {
            classes = Array(Set(labelsRaw)).sorted { Double($0)! < Double($1)! }
        } else {
            classes = Array(Set(labelsRaw)).sorted()
        }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Int32($0)) })
        return Dataset(name: name, sampleShape: [width], features: features,
                       labels: labelsRaw.map { index[$0]! }, classCount: classes.count, classNames: classes)
    }

    /// RFC 4180 fields: commas, double-quoted fields with "" escapes, LF or CRLF line ends.
    static func parseRows(_ bytes: [UInt8], file: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var i = 0
        var line = 1
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") { field.append(b); i += 1 }
                    else { inQuotes = false }
                } else {
                    if b == 10 { line += 1 }
                    field.append(b)
                }
            } else {
                switch b {
                case UInt8(ascii: "\""): inQuotes = true
                case UInt8(ascii: ","): row.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true)
                case 13: break
                case 10:
                    row.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true)
                    rows.append(row); row = []; line += 1
                default: field.append(b)
                }
            }
            i += 1
        }
        if inQuotes { throw InputError(file: file, line: line, "a quoted field is not closed") }
        if !field.isEmpty || !row.isEmpty { row.append(String(decoding: field, as: UTF8.self)); rows.append(row) }
        return rows
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
