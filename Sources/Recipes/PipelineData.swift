import Foundation
import Checkpoints
import Datasets
import Evaluation
import Models
import Tokenizers

/// The model folder's tokenizer and labels, and the recipe's data read into examples.
struct PipelineData {
    let encoder: Tokenizer?
    let labels: LabelSet?
    let config: ModelConfig

    init(modelFolder: String, input: Checkpoint) throws {
        config = try ModelConfig.from(json: input.config)
        let fm = FileManager.default
        let hasTokenizer = ["tokenizer.json", "vocab.txt"].contains { fm.fileExists(atPath: modelFolder + "/" + $0) }
        encoder = hasTokenizer ? try Tokenizer.forEvaluation(folder: modelFolder) : nil
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
/// loaded: quantized layouts are dequantized by `QuantizedTensorStore`).
struct RecipeEvaluator {
    let specs: [EvaluationSpec]
    let data: PipelineData
    let log: (String) -> Void
    var progress: ProgressReporter = .silent
    /// The input model, kept for comparisons that need both (KL divergence).
    private(set) var original: TransformerModel?

    init(specs: [EvaluationSpec], data: PipelineData, log: @escaping (String) -> Void) {
        self.specs = specs; self.data = data; self.log = log
    }

    static func load(_ store: TensorStore) throws -> TransformerModel {
        try TransformerModel.loadCompressed(from: store)
    }

    mutating func evaluateOriginal(_ store: TensorStore) throws -> [MetricResult] {
        guard !specs.isEmpty else { return [] }
        let model = try Self.load(store)
        original = model
        return try specs.map { try evaluate($0, model: model, isOriginal: true) }
    }

    func evaluateCompressed(_ store: TensorStore) throws -> [MetricResult] {
        guard !specs.isEmpty else { return [] }
        let model = try Self.load(store)
        return try specs.map { try evaluate($0, model: model, isOriginal: false) }
    }

    private func evaluate(_ spec: EvaluationSpec, model: TransformerModel, isOriginal: Bool) throws -> MetricResult {
        log("  \(spec.displayName)")
        let progress = self.progress.prefixed(spec.displayName)
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
