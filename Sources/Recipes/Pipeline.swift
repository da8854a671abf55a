import Foundation
import Checkpoints
import Datasets
import Evaluation
import Models
import Passes
import Reports

/// Runs a recipe: load → evaluate before → passes in order → evaluate after → write the output
/// folder atomically (docs/ARCHITECTURE.md; formats: DESIGN.md §4). The input is never modified.
public struct Pipeline {
    public struct Options {
        public var output: String?
        public var force = false
        public var log: (String) -> Void = { _ in }
        public var progress: ProgressReporter = .silent
        /// Continue from the progress a killed run of the same fingerprint saved (else stale folders are removed).
        public var resume = false
        /// Work items (OPTIN units, evaluation windows) between progress saves in the temporary folder.
        public var saveEvery = 16
        /// Items already computed (a merge of shards' partial results).
        public var ledger: WorkLedger?
        /// Write the weights as this many shards of a sharded checkpoint (`ShardedOutput`), and evaluate them as written.
        public var outputShards: Int?
        /// Output shards already written by `--shard` runs (shard index → file), linked in by a merge.
        public var existingShards: [Int: String] = [:]
        /// Called after each computed work item with the count so far (fault injection in tests).
        public var afterRecord: ((Int) -> Void)?
        /// Called after each training step with the step count (fault injection in tests).
        public var afterStep: ((Int) -> Void)?
        public init(output: String? = nil, force: Bool = false) { self.output = output; self.force = force }
    }

    public struct Result {
        public let outputFolder: String
        public let report: Report
        /// Every work item the run used (computed here, merged from shards or resumed).
        public var ledger = WorkLedger()
    }

    public let recipe: Recipe
    public let options: Options

    public init(recipe: Recipe, options: Options = Options()) {
        self.recipe = recipe
        self.options = options
    }

    /// The output folder: `--output`, else the recipe's `output`, else `<model>-compressed` beside the input.
    public var outputPath: String {
        options.output ?? recipe.output ?? (recipe.model.hasSuffix("/") ? String(recipe.model.dropLast()) : recipe.model) + "-compressed"
    }

    public func run() throws -> Result {
        let log = options.log
        let output = try OutputFolder(destination: outputPath, input: recipe.model, force: options.force)
        let input = try loadInput()
        let fingerprint = try Fingerprint.of(recipe: recipe, input: input)
        let parts = Fingerprint.parts(recipe: recipe, input: input)
        let ledger = options.ledger ?? WorkLedger()
        let resumed = try StaleRuns(destination: output.destination, fingerprint: fingerprint, parts: parts, resume: options.resume, log: log)
            .recover(into: ledger)
        let data = try PipelineData(modelFolder: recipe.model, input: input)
        try output.prepare()
        try output.write(try JSONEncoder().encode(RunMarker.current(fingerprint: fingerprint, parts: parts)), to: RunMarker.fileName)
        let progressFolder = output.temporary + "/progress"
        if let resumed {   // training state moves over; the rest of the old folder goes
            try? FileManager.default.moveItem(atPath: resumed + "/progress", toPath: progressFolder)
            try? FileManager.default.removeItem(atPath: resumed)
        }
        try? FileManager.default.createDirectory(atPath: progressFolder, withIntermediateDirectories: true)
        let normalizedRecipe = try recipe.normalized(fingerprint: nil)
        ledger.saveEvery = options.saveEvery
        ledger.afterRecord = options.afterRecord
        ledger.afterStep = options.afterStep
        ledger.save = { [temporary = output.temporary] ledger in
            try WorkFile(fingerprint: fingerprint, parts: parts, recipe: normalizedRecipe, ledger: ledger).write(to: temporary + "/" + WorkFile.fileName)
        }
        do {
            var evaluator = RecipeEvaluator(specs: recipe.evaluation, data: data, log: log, ledger: ledger)
            evaluator.progress = options.progress
            if !recipe.evaluation.isEmpty { log("evaluating the input model") }
            let before = try evaluator.evaluateOriginal(input).map { $0! }
            let model = EditableCheckpoint(source: input)
            var context = try passContext(data: data, input: input)
            context.ledger = ledger
            context.progressFolder = progressFolder
            let outlierSamples = outlierExamples(context)
            var outliersBefore: OutlierStats?, outliersAfter: OutlierStats?
            if !outlierSamples.isEmpty {
                log("outlier statistics of the input model (\(outlierSamples.count) training examples)")
                outliersBefore = try TransformerModel.loadCompressed(from: input).outlierStats(outlierSamples)
            }
            var reports: [PassReport] = []
            var stages: [PassStage] = []
            for (i, pass) in recipe.passes.enumerated() {
                log("pass \(i + 1)/\(recipe.passes.count): \(pass.kind)")
                let start = DispatchTime.now().uptimeNanoseconds
                context.step = "passes[\(i)]"
                var report = try pass.apply(to: model, context: context)
                report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                report.peakRSSBytes = peakRSSBytes()
                reports.append(report)
                log("  \(report.summary)")
                // A composed recipe is evaluated after every pass, so the report shows what each step cost or gained.
                if recipe.passes.count > 1, i < recipe.passes.count - 1, !recipe.evaluation.isEmpty {
                    log("evaluating after \(pass.kind)")
                    stages.append(PassStage(pass: pass.kind, values: try evaluator.evaluateCompressed(model, after: "passes[\(i)]").map { $0!.value }))
                }
            }
            // A sharded output is written first and evaluated as written: a merge links the shards' files
            // in, so no weight is quantized again.
            var compressed: TensorStore = model
            if let n = options.outputShards {
                log("writing \(output.destination) (\(n) shards)")
                try ShardedOutput.writeShards(model, to: output.temporary, count: n, existing: options.existingShards, inputs: input.files.map(\.path))
                try ShardedOutput.finish(model, folder: output.temporary, count: n)
                compressed = try Checkpoint(path: output.temporary)
            }
            if !outlierSamples.isEmpty { outliersAfter = try TransformerModel.loadCompressed(from: compressed).outlierStats(outlierSamples) }   // as it runs (NF4, W8A8)
            if !recipe.evaluation.isEmpty { log("evaluating the compressed model") }
            let after = try evaluator.evaluateCompressed(compressed, after: nil).map { $0! }
            if recipe.passes.count > 1, let last = recipe.passes.last, !recipe.evaluation.isEmpty {
                stages.append(PassStage(pass: last.kind, values: after.map(\.value)))
            }
            if options.outputShards == nil {
                log("writing \(output.destination)")
                try output.writeModel(model, inputFiles: input.files.map(\.path), progress: options.progress)
            }
            // Streaming quantizers measured each weight while the writer pulled it; fill those in.
            reports = try reports.map { try $0.completed() }
            try output.copyFiles(from: recipe.model)
            ledger.save = nil
            for name in [RunMarker.fileName, WorkFile.fileName, "progress"] { try? FileManager.default.removeItem(atPath: output.temporary + "/" + name) }
            let normalized = try recipe.normalized(fingerprint: fingerprint)
            try output.write(try normalized.data(pretty: true), to: "recipe.json")
            var report = try makeReport(input: input, outputFolder: output.temporary, before: before, after: after,
                                        passes: reports, fingerprint: fingerprint, recipeJSON: normalized,
                                        outliers: (outliersBefore, outliersAfter))
            report.stages = stages.isEmpty ? nil : stages
            do { try ReportWriter.write(report, to: output.temporary) } catch {
                throw RecipeError.writeFailed(path: output.temporary, reason: "\(error)")
            }
            if var violation = gateViolation(before: before, after: after) {
                violation.reportFolder = try output.keepReport()
                throw violation
            }
            try output.commit()
            return Result(outputFolder: output.destination, report: report, ledger: ledger)
        } catch {
            output.abandon()
            throw error
        }
    }

    /// The gate's verdict on the named evaluation entry (nil: no gate, or it holds).
    func gateViolation(before: [MetricResult], after: [MetricResult]) -> GateViolation? {
        guard let gate = recipe.gate, let i = recipe.gateSpecIndex else { return nil }
        let spec = recipe.evaluation[i]
        return gate.check(original: before[i].value, compressed: after[i].value, higherIsBetter: spec.metric.higherIsBetter,
                          metric: after[i].metric)
    }

    func passContext(data: PipelineData, input: Checkpoint) throws -> PassContext {
        var context = PassContext(progress: options.progress, seed: recipe.seed)
        if let calibration = recipe.calibration, recipe.passes.contains(where: { $0.needs.contains(.calibration) }) {
            options.log("reading calibration data \(calibration.data)")
            context.calibration = try data.calibrationExamples(calibration)
        }
        if let training = recipe.training, recipe.passes.contains(where: { $0.needs.contains(.training) }) {
            options.log("reading training data \(training.data)")
            context.training = try data.trainingExamples(training)
        }
        if recipe.passes.contains(where: { $0.needs.contains(.teacher) }) {
            context.teacher = try recipe.teacher.map { try Checkpoint(path: $0) } ?? input
        }
        return context
    }

    /// Up to 16 training examples when a pass trains (`clipped_softmax`, `gated_attention`, `finetune`:
    /// they change activations), so the report carries the outlier statistics (ALGORITHMS.md §3.4)
    /// of the input and output models; else none (no outlier section).
    func outlierExamples(_ context: PassContext) -> [Example] {
        guard recipe.passes.contains(where: { $0.needs.contains(.training) }) else { return [] }
        return Array(context.training.prefix(16))
    }

    func makeReport(input: Checkpoint, outputFolder: String, before: [MetricResult], after: [MetricResult],
                    passes: [PassReport], fingerprint: String, recipeJSON: JSONValue,
                    outliers: (OutlierStats?, OutlierStats?) = (nil, nil)) throws -> Report {
        let comparisons = zip(recipe.evaluation, zip(before, after)).map { spec, pair in
            MetricComparison(name: spec.displayName, original: pair.0, compressed: pair.1, higherIsBetter: spec.metric.higherIsBetter)
        }
        // Logical parameters: quantized tensors count their original elements, not their packed bytes.
        let written = try QuantizedTensorStore(try Checkpoint(path: outputFolder))
        let writtenParameters = written.names.compactMap { written.spec($0) }.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let size = SizeComparison(originalBytes: try onDiskBytes(recipe.model), compressedBytes: try onDiskBytes(outputFolder),
                                  originalParameters: input.parameterCount, compressedParameters: writtenParameters)
        let provenance = Provenance(inputFingerprint: fingerprint, model: recipe.model,
                                    recipe: String(decoding: try recipeJSON.data(pretty: true), as: UTF8.self))
        let title = "\(URL(fileURLWithPath: recipe.model).lastPathComponent): \(recipe.passes.map(\.kind).joined(separator: " → "))"
        return Report(title: title, comparisons: comparisons, size: size, passes: passes,
                      outliersBefore: outliers.0, outliersAfter: outliers.1, provenance: provenance)
    }

    func loadInput() throws -> Checkpoint {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: recipe.model, isDirectory: &isFolder) else {
            throw RecipeError.invalid(jsonPath: "model", message: "\(recipe.model): no such checkpoint folder")
        }
        guard isFolder.boolValue else {
            throw RecipeError.invalid(jsonPath: "model", message: "\(recipe.model): expected a checkpoint folder (config.json + model.safetensors)")
        }
        return try Checkpoint(path: recipe.model)
    }
}
