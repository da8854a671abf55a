import Foundation
import Checkpoints
import Datasets
import Evaluation
import Models
import Passes
import Tokenizers

/// The model folder's tokenizer and labels, and the recipe's data read into examples.
struct PipelineData {
    let encoder: Tokenizer?
    let labels: LabelSet?
    let config: ModelConfig

    init(modelFolder: String, input: TensorStore) throws {
        config = try ModelConfig.from(json: input.config)
        encoder = try Tokenizer.forEvaluation(model: modelFolder)
        labels = LabelSet(config: input.config)
    }

    /// Calibration examples: `samples` (default 128) seeded windows for language models, the first
    /// `samples` labeled examples for classifiers.
    func calibrationExamples(_ source: DataSource) throws -> [Example] {
        if config.isClassifier { return try labeledExamples(source, limit: source.samples ?? source.maxExamples ?? 128) }
        return try source.calibrationExamples(encoder: encoder, defaultSamples: 128, defaultSeqLen: defaultSeqLen)
    }

    /// Training examples: every labeled example, or for language models `samples` seeded windows
    /// when given, else the whole token stream cut into consecutive `seq_len` windows.
    func trainingExamples(_ source: DataSource) throws -> [Example] {
        if config.isClassifier { return try labeledExamples(source, limit: source.samples ?? source.maxExamples ?? Int.max) }
        if source.samples != nil { return try source.calibrationExamples(encoder: encoder, defaultSeqLen: defaultSeqLen) }
        let stream = try source.tokenStream(encoder: encoder)
        let seqLen = source.seqLen ?? defaultSeqLen
        guard stream.count >= seqLen else { throw DatasetError.tooShortForWindow(file: source.data, tokens: stream.count, seqLen: seqLen) }
        return stride(from: 0, through: stream.count - seqLen, by: seqLen).map { Example(ids: Array(stream[$0..<$0 + seqLen])) }
    }

    private var defaultSeqLen: Int { min(512, config.maxPositions) }

    private func labeledExamples(_ source: DataSource, limit: Int) throws -> [Example] {
        guard let encoder else { throw DatasetError.needsTokenizer(file: source.data, format: try source.resolvedFormat().rawValue) }
        return Array(try source.labeledExamples(encoder: encoder, labels: labels).prefix(limit))
    }
}

/// Runs the recipe's evaluation entries on a model (the input, or the compressed one as it will be
/// loaded: quantized layouts are dequantized by `QuantizedTensorStore`). Perplexity and classification
/// go item by item through the ledger (step `evaluation[i].before`, `.after`, `.after-passes[k]`), so a
/// shard computes its slice and a merge adds the sums; a value is nil when items of other slices are
/// missing (`sliceOnly`: a shard also skips the metrics that do not split, leaving them to the merge).
struct RecipeEvaluator {
    let specs: [EvaluationSpec]
    let data: PipelineData
    let log: (String) -> Void
    let ledger: WorkLedger
    var sliceOnly = false
    var progress: ProgressReporter = .silent
    /// The input model, kept for comparisons that need both (KL divergence).
    private(set) var original: TransformerModel?

    init(specs: [EvaluationSpec], data: PipelineData, log: @escaping (String) -> Void, ledger: WorkLedger = WorkLedger()) {
        self.specs = specs; self.data = data; self.log = log; self.ledger = ledger
    }

    static func load(_ store: TensorStore) throws -> TransformerModel {
        try TransformerModel.loadCompressed(from: store)
    }

    mutating func evaluateOriginal(_ store: TensorStore) throws -> [MetricResult?] {
        guard !specs.isEmpty else { return [] }
        let model = try Self.load(store)
        original = model
        return try specs.indices.map { try evaluate(specs[$0], model: model, isOriginal: true, step: "evaluation[\($0)].before") }
    }

    /// `after`: the pass after which a composed recipe is evaluated (nil: the final model).
    func evaluateCompressed(_ store: TensorStore, after: String?) throws -> [MetricResult?] {
        guard !specs.isEmpty else { return [] }
        let model = try Self.load(store)
        return try specs.indices.map {
            try evaluate(specs[$0], model: model, isOriginal: false, step: "evaluation[\($0)].after" + (after.map { "-" + $0 } ?? ""))
        }
    }

    private func evaluate(_ spec: EvaluationSpec, model: TransformerModel, isOriginal: Bool, step: String) throws -> MetricResult? {
        log("  \(spec.displayName)")
        let progress = self.progress.prefixed(spec.displayName)
        if let items = try evaluationItems(spec, model: model, encoder: data.encoder, labels: data.labels) {
            var values: [EvaluationItem] = []
            try progress.stage(items.label, total: items.count) { update in
                for i in 0..<items.count {
                    defer { update(i + 1) }
                    if let saved = try ledger.item(step, i, as: EvaluationItem.self) { values.append(saved); continue }
                    guard ledger.shouldCompute(step, i, of: items.count) else { continue }
                    let value = try items.compute(i)
                    try ledger.record(step, i, value)
                    values.append(value)
                }
            }
            return values.count == items.count ? items.finish(values) : nil
        }
        if sliceOnly { return nil }
        if spec.metric == .klDivergence {
            let seqLen = spec.source.seqLen ?? min(512, model.config.maxPositions)
            let stream = try spec.source.tokenStream(encoder: data.encoder)
            if isOriginal { return MetricResult(metric: spec.metric.rawValue, value: 0, count: stream.count) }
            return try klDivergence(original: original!, compressed: model, stream: stream, seqLen: seqLen, file: spec.source.data,
                                  progress: progress)
        }
        return try Evaluation.evaluate(spec, model: model, encoder: data.encoder, labels: data.labels, progress: progress)
    }
}
