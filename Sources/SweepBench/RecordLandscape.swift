import ArgumentParser
import Foundation
import SweepCore
import SweepData
import SweepEngine
import SweepSearch

/// `sweep-bench record-landscape`: trains every configuration of a finite search-space file once
/// with the built-in engine and writes the table a `TabularLandscape` looks results up in.
struct RecordLandscape: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record-landscape",
        abstract: "Train every configuration of a discrete search-space file once and write the results as a tabular landscape.",
        discussion: """
            Every parameter of the file must be an unconditional {choice: [...]}. Each \
            configuration trains with the file's seed for its epochs (one BLAS thread, the data \
            loaded once); the table keeps the last epoch's val_loss and val_accuracy and the test \
            accuracy, and what multi-objective benchmarks need: the deployed model's accuracies \
            (the int8 model's when the configuration quantizes, else the same as the float \
            model's), its exported size (model_bytes) and its parameter count. A configuration \
            whose loss is not finite is recorded with val_loss null.
            """)

    @Argument(help: "The search-space file (a study file with choice parameters only).") var file: String
    @Option(help: ArgumentHelp("Write the table here (sweep-tabular-landscape/1 JSON).", valueName: "table.json")) var out: String
    @Option(help: "Where data sets live (default: $SWEEP_DATA_DIR, else the user cache dir).") var dataDir: String?

    func run() throws {
        let spec = try StudySpec.load(path: file)
        let space = spec.space
        var choices: [[ParamValue]] = []
        for p in space.parameters {
            guard case .categorical(let c) = p.distribution, p.conditions.isEmpty else {
                throw InputError(file: file, line: p.line, field: p.name, "a recorded landscape needs unconditional {choice: [...]} parameters only")
            }
            choices.append(c)
        }
        let points = try GridSampler(space: space).points
        try ComputeSettings.configure(blasThreads: 1)
        let dataDir = DataDirectory.resolve(self.dataDir)
        var cache: [String: DataSplits] = [:]
        var rows: [String] = []
        let clock = ContinuousClock(), start = clock.now
        // Grid order: the first parameter varies slowest.
        let ordered = points.sorted { a, b in
            for p in space.parameters where a[p.name]! != b[p.name]! { return a[p.name]! < b[p.name]! }
            return false
        }
        for (i, values) in ordered.enumerated() {
            let config = try spec.trialConfig(values)
            let key = "\(config.dataset)"
            let splits = try cache[key] ?? DatasetCatalog.load(config.dataset, dataDir: dataDir)
            cache[key] = splits
            let trainer = try Trainer(config: config, splits: splits)
            var last: EpochReport?
            while !trainer.isFinished {
                let r = trainer.runEpoch()
                last = r
                if !r.trainLoss.isFinite || !r.valLoss.isFinite { break }
            }
            let final = trainer.finish()
            // Six significant digits of the loss, four of the accuracies: the table stays small.
            func num(_ x: Double?, _ digits: Int) -> String {
                x.map { $0.isFinite ? String(format: "%.\(digits)g", $0) : "null" } ?? "null"
            }
            let cells = space.parameters.enumerated().map { d, p in json(choices[d][Int(values[p.name]!)]) }
            let deployedVal = final.int8ValAccuracy ?? last?.valAccuracy
            let deployedTest = final.int8TestAccuracy ?? final.testAccuracy
            rows.append("[" + (cells + [num(last?.valLoss, 6), num(last?.valAccuracy, 4), num(final.testAccuracy, 4),
                                        num(deployedVal, 4), num(deployedTest, 4),
                                        final.modelBytes.map(String.init) ?? "null", String(final.parameters)]).joined(separator: ",") + "]")
            if (i + 1) % 100 == 0 || i + 1 == ordered.count {
                FileHandle.standardError.write(Data("\(spec.name): \(i + 1)/\(ordered.count) configurations, \(String(format: "%.0f", (clock.now - start) / .seconds(1))) s\n".utf8))
            }
        }
        let spaceText = space.parameters.enumerated().map { d, p in
            "\(p.name): {choice: [\(choices[d].map(json).joined(separator: ", "))]}"
        }.joined(separator: "\n")
        let columns = space.names + ["val_loss", "val_accuracy", "test_accuracy", "deployed_val_accuracy",
                                     "deployed_test_accuracy", "model_bytes", "parameters"]
        let epochs = try spec.trialConfig(ordered[0]).training.epochs
        let header: [String: Any] = [
            "format": "sweep-tabular-landscape/1", "name": spec.name, "space": spaceText, "columns": columns,
            "objective": "val_loss after the last epoch (minimize)",
            "recorded_with": "sweep-bench record-landscape \((file as NSString).lastPathComponent) (seed \(spec.seed), \(epochs) epochs, one BLAS thread)",
        ]
        var text = String(decoding: try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]), as: UTF8.self)
        text.removeLast()  // the closing brace: rows follow, one per line
        text += ",\"rows\":[\n" + rows.joined(separator: ",\n") + "\n]}\n"
        try text.write(toFile: out, atomically: true, encoding: .utf8)
        FileHandle.standardError.write(Data("wrote \(rows.count) configurations to \(out)\n".utf8))
    }

    /// A choice as JSON (and YAML flow) text: numbers as they are, labels quoted.
    func json(_ v: ParamValue) -> String {
        switch v {
        case .string(let s): return String(decoding: try! JSONSerialization.data(withJSONObject: [s]), as: UTF8.self).dropFirst().dropLast().description
        default: return v.description
        }
    }
}
