import Foundation
import Checkpoints
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

    /// Calibration or training examples: token windows for language models, labeled examples for classifiers.
    func examples(_ source: DataSource, defaultSamples: Int = 128) throws -> [Example] {
        if config.isClassifier {
            guard let encoder else { throw EvaluationError.needsTokenizer(file: source.data, format: try source.resolvedFormat().rawValue) }
            let all = try source.labeledExamples(encoder: encoder, labels: labels)
            return Array(all.prefix(source.samples ?? source.maxExamples ?? defaultSamples))
        }
        return try source.calibrationExamples(encoder: encoder, defaultSamples: defaultSamples,
                                              defaultSeqLen: min(512, config.maxPositions))
    }
}

/// Runs the recipe's evaluation entries on a model (the input, or the compressed one as it will be
/// loaded: quantized layouts are dequantized by `QuantizedTensorStore`).
struct RecipeEvaluator {
    let specs: [EvaluationSpec]
    let data: PipelineData
    let log: (String) -> Void
    /// The input model, kept for comparisons that need both (KL divergence).
    private(set) var original: TransformerModel?

    init(specs: [EvaluationSpec], data: PipelineData, log: @escaping (String) -> Void) {
        self.specs = specs; self.data = data; self.log = log
    }

    static func load(_ store: TensorStore) throws -> TransformerModel {
        try TransformerModel.load(from: try QuantizedTensorStore(store))
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
        if spec.metric == .klDivergence {
            let seqLen = spec.source.seqLen ?? min(512, model.config.maxPositions)
            let stream = try spec.source.tokenStream(encoder: data.encoder)
            if isOriginal { return MetricResult(metric: spec.metric.rawValue, value: 0, count: stream.count) }
            return try klDivergence(original: original!, compressed: model, stream: stream, seqLen: seqLen, file: spec.source.data)
        }
        return try Evaluation.evaluate(spec, model: model, encoder: data.encoder, labels: data.labels)
    }
}
