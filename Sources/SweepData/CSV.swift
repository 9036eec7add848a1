import SweepCore

/// What a CSV data set does with missing values (`dataset.missing`).
///
/// A field is missing when it is empty or one of `?`, `NA`, `N/A`, `nan`, `null` (any case).
public enum MissingValues: String, Codable, Sendable, CaseIterable {
    /// Refuse the file, naming the first missing value and how many rows have one.
    case error
    /// Leave out every row with a missing value (in the training and the test file).
    case drop
    /// Fill a numeric column with its training mean; a categorical one gets no category (all
    /// zeros). A missing label cannot be filled: it is an error.
    case mean

    public static let marks: Set<String> = ["", "?", "na", "n/a", "nan", "null"]
    public static func isMissing(_ field: String) -> Bool { marks.contains(field.lowercased()) }
}

/// A CSV file as text fields: the column names (the header row, or `0`, `1`, ... without one)
/// and the data rows with the line each starts on. Fields are trimmed of spaces and tabs.
public struct CSVTable: Sendable {
    public var file: String
    public var columns: [String]
    public var rows: [[String]]
    public var lines: [Int]

    public static func parse(_ bytes: [UInt8], file: String, header: Bool = true) throws -> CSVTable {
        let all = try CSVLoader.parseRows(bytes, file: file).filter { !($0.fields.count == 1 && $0.fields[0].trimmingSpaces.isEmpty) }
        guard let first = all.first else {
            throw InputError(file: file, header ? "the file is empty; expected a header row" : "the file is empty")
        }
        let columns = header ? first.fields.map(\.trimmingSpaces) : first.fields.indices.map(String.init)
        let body = header ? Array(all.dropFirst()) : all
        guard !body.isEmpty else { throw InputError(file: file, "the file has a header but no data rows") }
        for r in body where r.fields.count != columns.count {
            throw InputError(file: file, line: r.line, "row has \(r.fields.count) fields; \(header ? "the header has" : "the first row has") \(columns.count)")
        }
        return CSVTable(file: file, columns: columns, rows: body.map { $0.fields.map(\.trimmingSpaces) }, lines: body.map(\.line))
    }

    /// True when the header row looks like data (a field is a number, or a value that occurs in
    /// its column below): the file probably has no header row.
    public var headerLooksLikeData: Bool {
        columns.indices.contains { c in
            Double(columns[c]) != nil || rows.prefix(1000).contains { $0[c] == columns[c] }
        }
    }
}

/// How the columns of a CSV become features and targets: fitted on the training file, then
/// applied unchanged to its test file and to new data (`sweep predict`), and stored with the model.
///
/// Feature columns keep the file's order. A column is numeric when every non-missing value is a
/// number; any other column is one-hot encoded over its sorted distinct values. The task is
/// classification when the label holds any non-number, or when it holds only integers with at
/// most `maxIntegerClasses` distinct values and at least two rows per distinct value on average;
/// otherwise regression. `task:` overrides the inference.
public struct TabularEncoding: Codable, Sendable, Equatable {
    public struct Column: Codable, Sendable, Equatable {
        public var name: String
        /// One-hot categories in order (nil: a numeric column).
        public var categories: [String]?
        /// The training mean of a numeric column (what `missing: mean` fills in).
        public var mean: Double?
        public var width: Int { categories?.count ?? 1 }
    }
    /// Every column of the training file, in order (the label among them).
    public var fileColumns: [String]
    public var header: Bool
    public var label: String
    public var columns: [Column]
    public var task: LearningTask
    /// Class names in the order of the model's outputs (classification).
    public var classes: [String]?
    public var missing: MissingValues

    public static let maxIntegerClasses = 20

    public var featureCount: Int { columns.reduce(0) { $0 + $1.width } }

    enum CodingKeys: String, CodingKey {
        case fileColumns = "file_columns", header, label, columns, task, classes, missing
    }

    /// Fits the encoding on a training table. `label` is a column name (a 0-based index when the
    /// file has no header).
    public static func fit(_ t: CSVTable, label: String, header: Bool = true, task: LearningTask? = nil,
                           missing: MissingValues = .error) throws -> TabularEncoding {
        guard let labelIndex = t.columns.firstIndex(of: label) else {
            if !header {
                throw InputError(file: t.file, field: "dataset.label",
                                 "'\(label)' is not a column index; with `header: false` the label is a 0-based column number, 0...\(t.columns.count - 1)")
            }
            if t.headerLooksLikeData {
                let first = t.columns.prefix(10).joined(separator: ", ") + (t.columns.count > 10 ? ", ... (\(t.columns.count) fields)" : "")
                throw InputError(file: t.file, field: "dataset.label",
                                 "no column named '\(label)', and the first row looks like data, not a header (\(first)): if the file has no header row, set `header: false` and `label:` to the label's 0-based column index (0...\(t.columns.count - 1))")
            }
            throw InputError(file: t.file, field: "dataset.label", "no column named '\(label)'; the columns are: \(t.columns.joined(separator: ", "))")
        }
        let rows = try keptRows(t, labelIndex: labelIndex, missing: missing)
        guard !rows.isEmpty else { throw InputError(file: t.file, field: "dataset.missing", "no row is left once the rows with missing values are dropped") }
        var columns: [Column] = []
        for c in t.columns.indices where c != labelIndex {
            let present = rows.map { t.rows[$0][c] }.filter { !MissingValues.isMissing($0) }
            guard !present.isEmpty else {
                throw InputError(file: t.file, field: t.columns[c], "the column has no values (every field is missing)")
            }
            let numbers = present.compactMap(Self.number)
            if numbers.count == present.count {
                columns.append(Column(name: t.columns[c], categories: nil, mean: numbers.reduce(0, +) / Double(numbers.count)))
            } else {
                columns.append(Column(name: t.columns[c], categories: Array(Set(present)).sorted(), mean: nil))
            }
        }
        let labels = rows.map { t.rows[$0][labelIndex] }
        let allNumbers = labels.allSatisfy { number($0) != nil }
        let distinct = Set(labels)
        let fewIntegers = labels.allSatisfy { Int($0) != nil } && distinct.count <= maxIntegerClasses && distinct.count * 2 <= labels.count
        let resolved = task ?? (!allNumbers || fewIntegers ? .classification : .regression)
        var classes: [String]? = nil
        if resolved == .regression {
            if let bad = labels.firstIndex(where: { number($0) == nil }) {
                throw InputError(file: t.file, line: t.lines[rows[bad]], field: label, "regression needs a numeric label; found '\(labels[bad])'")
            }
        } else {
            classes = allNumbers ? distinct.sorted { number($0)! < number($1)! } : distinct.sorted()
        }
        return TabularEncoding(fileColumns: t.columns, header: header, label: label, columns: columns, task: resolved,
                               classes: classes, missing: missing)
    }

    /// The rows a training or test file keeps: all, or (with `missing: drop`) those without a
    /// missing value. With `missing: error` a missing value is refused here; a missing label is
    /// refused unless it is dropped.
    static func keptRows(_ t: CSVTable, labelIndex: Int, missing: MissingValues) throws -> [Int] {
        var kept: [Int] = []
        var first: (row: Int, column: Int)? = nil
        var firstLabel: Int? = nil
        var perColumn: [Int: Int] = [:]
        var affected = 0
        for (i, r) in t.rows.enumerated() {
            let holes = r.indices.filter { MissingValues.isMissing(r[$0]) }
            if holes.isEmpty { kept.append(i); continue }
            affected += 1
            for c in holes { perColumn[c, default: 0] += 1 }
            if first == nil { first = (i, holes[0]) }
            if firstLabel == nil && holes.contains(labelIndex) { firstLabel = i }
            if missing == .mean && !holes.contains(labelIndex) { kept.append(i) }
        }
        guard let first, missing != .drop else { return kept }
        if missing == .mean {
            if let r = firstLabel {
                throw InputError(file: t.file, line: t.lines[r], field: t.columns[labelIndex],
                                 "missing label ('\(t.rows[r][labelIndex])'; \(perColumn[labelIndex]!) rows); a label cannot be filled in: fix those rows or set `dataset.missing: drop`")
            }
            return kept
        }
        let counts = perColumn.keys.sorted().map { "\(t.columns[$0]) \(perColumn[$0]!)" }.joined(separator: ", ")
        throw InputError(file: t.file, line: t.lines[first.row], field: t.columns[first.column],
                         "missing value '\(t.rows[first.row][first.column])' (\(affected) of \(t.rows.count) rows have missing values; per column: \(counts)); missing marks are empty, ?, NA, N/A, nan, null; fix the file or set `dataset.missing: drop` (leave those rows out) or `mean` (fill numeric columns with the training mean)")
    }

    /// A field as a finite number (`nan` and `inf` are not numbers here).
    static func number(_ s: String) -> Double? {
        guard let d = Double(s), d.isFinite else { return nil }
        return d
    }

    /// Encoded rows of a table: features row-major, and the targets when the label column is there.
    public struct Rows: Sendable {
        public var features: [Float]
        public var count: Int
        public var labels: [Int32]?
        public var values: [Float]?
        /// The file line of each encoded row.
        public var lines: [Int]
    }

    /// Encodes a table with this encoding. Columns are found by name (a headerless table with one
    /// column fewer than the training file is taken to lack the label). `dropMissing` leaves out
    /// rows with a missing value (a training or test file under `missing: drop`); otherwise a
    /// missing feature is filled (`missing: mean`) or refused, and every row is kept, in order.
    public func encode(_ t: CSVTable, dropMissing: Bool = false) throws -> Rows {
        var names = t.columns
        if !header && names.count == fileColumns.count - 1 { names = fileColumns.filter { $0 != label } }
        let labelIndex = names.firstIndex(of: label)
        let indices = try columns.map { c -> Int in
            guard let i = names.firstIndex(of: c.name) else {
                throw InputError(file: t.file, field: c.name,
                                 "the file has no column '\(c.name)'; the model was trained on the columns: \(fileColumns.joined(separator: ", "))")
            }
            return i
        }
        let classIndex = Dictionary(uniqueKeysWithValues: (classes ?? []).enumerated().map { ($1, Int32($0)) })
        var out = Rows(features: [], count: 0, labels: labelIndex != nil && task == .classification ? [] : nil,
                       values: labelIndex != nil && task == .regression ? [] : nil, lines: [])
        out.features.reserveCapacity(t.rows.count * featureCount)
        for (r, row) in t.rows.enumerated() {
            let line = t.lines[r]
            if dropMissing && (indices + (labelIndex.map { [$0] } ?? [])).contains(where: { MissingValues.isMissing(row[$0]) }) { continue }
            for (c, i) in zip(columns, indices) {
                let v = row[i]
                let missingHere = MissingValues.isMissing(v)
                if missingHere && missing != .mean {
                    throw InputError(file: t.file, line: line, field: c.name, "missing value '\(v)'; the model was trained with `missing: \(missing.rawValue)`, which fills in nothing")
                }
                if let cats = c.categories {
                    let k = missingHere ? nil : cats.firstIndex(of: v)
                    if k == nil && !missingHere && missing != .mean {
                        throw InputError(file: t.file, line: line, field: c.name, "category '\(v)' was not in the training data; known: \(cats.joined(separator: ", "))")
                    }
                    for j in cats.indices { out.features.append(j == k ? 1 : 0) }
                } else if missingHere {
                    out.features.append(Float(c.mean ?? 0))
                } else {
                    guard let x = Self.number(v) else {
                        throw InputError(file: t.file, line: line, field: c.name, "'\(v)' is not a number; the column is numeric in the training data")
                    }
                    out.features.append(Float(x))
                }
            }
            if let li = labelIndex {
                let v = row[li]
                if task == .classification {
                    guard let k = classIndex[v] else {
                        throw InputError(file: t.file, line: line, field: label, "class '\(v)' is not one of the training classes: \((classes ?? []).joined(separator: ", "))")
                    }
                    out.labels!.append(k)
                } else {
                    guard let x = Self.number(v) else { throw InputError(file: t.file, line: line, field: label, "'\(v)' is not a number (a regression label)") }
                    out.values!.append(Float(x))
                }
            }
            out.lines.append(line)
            out.count += 1
        }
        return out
    }

    /// Encodes a training or test table into a data set (the label column must be there).
    public func dataset(_ t: CSVTable, name: String) throws -> Dataset {
        let rows = try encode(t, dropMissing: missing == .drop)
        guard rows.count > 0 else { throw InputError(file: t.file, field: "dataset.missing", "no row is left once the rows with missing values are dropped") }
        var d: Dataset
        if let labels = rows.labels {
            d = Dataset(name: name, sampleShape: [featureCount], features: rows.features, labels: labels,
                        classCount: classes?.count ?? 0, classNames: classes)
        } else if let values = rows.values {
            d = Dataset(name: name, sampleShape: [featureCount], features: rows.features, values: values)
        } else {
            throw InputError(file: t.file, field: label, "the file has no label column '\(label)'")
        }
        d.encoding = self
        return d
    }
}

/// CSV data sets: a header row (or `header: false`) and a label column; see `TabularEncoding`.
public enum CSVLoader {
    public static func load(bytes: [UInt8], file: String, label: String, task: LearningTask? = nil, header: Bool = true,
                            missing: MissingValues = .error, name: String) throws -> Dataset {
        let table = try CSVTable.parse(bytes, file: file, header: header)
        return try TabularEncoding.fit(table, label: label, header: header, task: task, missing: missing).dataset(table, name: name)
    }

    /// RFC 4180 fields: commas, double-quoted fields with "" escapes, LF or CRLF line ends. Each
    /// row comes with the line it starts on.
    static func parseRows(_ bytes: [UInt8], file: String) throws -> [(line: Int, fields: [String])] {
        var rows: [(line: Int, fields: [String])] = []
        var row: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var i = 0
        var line = 1, rowLine = 1
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
                    rows.append((rowLine, row)); row = []; line += 1; rowLine = line
                default: field.append(b)
                }
            }
            i += 1
        }
        if inQuotes { throw InputError(file: file, line: line, "a quoted field is not closed") }
        if !field.isEmpty || !row.isEmpty { row.append(String(decoding: field, as: UTF8.self)); rows.append((rowLine, row)) }
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
