import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepEngine
import SweepStorage

/// `sweep predict [STUDY] [--trial N] --input FILE`: a trial's model on new raw data.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict new data with a trial's model (default: the best trial of the most recent study).",
        discussion: """
            Reads a CSV with the training columns (the label column may be left out) or, for an image data set, an \
            IDX image file, prepares it as the training data was (column encoding, missing values, scaling) and \
            writes a CSV with one `prediction` column (the class name, or the value) per input row, in order. \
            The model is the one `sweep replay` exported to results/<study>/trial-<n>/; when there is none, the \
            trial is first retrained from its stored configuration and seed exactly as `sweep replay` does \
            (progress on stderr) and exported there. When the input has labels, the accuracy or RMSE is printed \
            on stderr.
            """)

    @OptionGroup var choice: TrialChoice
    @Option(help: "The new data: a CSV file, or an IDX image file for an image data set.") var input: String
    @Option(help: "The IDX label file of an IDX --input (to report the accuracy).") var labels: String?
    @Option(help: "Write the predictions to this CSV file (default: stdout).") var output: String?
    @Option(help: "Where data sets live, if the trial must be retrained (default: as the study was started).") var dataDir: String?

    func run() throws {
        try Int8Kernel.configure()   // the path of an int8 model's products
        let (s, t) = try choice.open()
        let stem = trialFolder(dbPath: choice.store.db, study: s.name, trial: t.record.number) + "/model"
        var exported: ModelExport.Exported? = nil
        var why = "has no exported model yet"
        if FileManager.default.fileExists(atPath: stem + ".safetensors") {
            do {
                exported = try ModelExport.read(stem)
                note("using the model of trial \(t.record.number) of \(s.name) exported in \(stem).safetensors")
            } catch { why = "has an exported model that cannot be used (\(error))" }
        }
        let model: ModelExport.Exported
        if let exported {
            model = exported
        } else {
            note("trial \(t.record.number) of \(s.name) \(why): retraining it from its stored configuration and seed (as `sweep replay` does) and exporting it to \(stem).safetensors")
            let mismatches = try replayTrial(t, of: s, dbPath: choice.store.db, dataDir: studyDataDir(s, flag: dataDir)) { note($0) }
            if !mismatches.isEmpty { note("warning: the retrained model differs from the stored trial: " + mismatches.joined(separator: "; ")) }
            model = try ModelExport.read(stem)
        }
        let prep = model.preprocessing
        let inputs = try prep.read(input, labels: labels)
        let outputs = model.predict(inputs.features, count: inputs.count)
        let k = model.network.outputCount
        var csv = "prediction\n"
        var correct = 0, squares = 0.0
        for i in 0..<inputs.count {
            let row = outputs[(i * k)..<((i + 1) * k)]
            if let classes = prep.classes {
                let best = row.indices.max { row[$0] < row[$1] }! - i * k
                csv += Self.field(classes[best]) + "\n"
                if let l = inputs.labels, Int(l[i]) == best { correct += 1 }
            } else {
                let v = row[row.startIndex]
                csv += "\(v)\n"
                if let y = inputs.values { squares += Double((v - y[i]) * (v - y[i])) }
            }
        }
        if let output {
            try csv.write(toFile: output, atomically: true, encoding: .utf8)
            note("wrote \(inputs.count) predictions to \(output)")
        } else {
            print(csv, terminator: "")
        }
        if inputs.labels != nil, inputs.count > 0 {
            note(String(format: "accuracy %.4f (%d of %d rows)", Double(correct) / Double(inputs.count), correct, inputs.count))
        } else if inputs.values != nil, inputs.count > 0 {
            note(String(format: "rmse %.6g (%d rows)", (squares / Double(inputs.count)).squareRoot(), inputs.count))
        }
    }

    /// Messages go to stderr, so stdout holds only the predictions.
    func note(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func field(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
