import Checkpoints
import Datasets
import Foundation
import Models
import Tokenizers

/// A model folder loaded for evaluation: weights, tokenizer (when the folder has one) and labels.
public struct EvaluationModel {
    public let path: String
    public let model: TransformerModel
    public let tokenizer: Tokenizer?
    public let labels: LabelSet?

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw EvaluationError.fileNotFound(path: path) }
        let checkpoint = try openTensorStore(path: path)
        self.path = path
        model = try TransformerModel.loadCompressed(from: checkpoint)
        labels = model.config.isClassifier ? LabelSet(config: checkpoint.config) : nil
        tokenizer = try Tokenizer.forEvaluation(model: path)
    }

    /// The metric to use when none is given: perplexity for a language model, accuracy for a classifier.
    public var defaultMetric: Metric { model.config.isClassifier ? .accuracy : .perplexity }

    public func evaluate(_ spec: EvaluationSpec) throws -> MetricResult {
        try Evaluation.evaluate(spec, model: model, encoder: tokenizer, labels: labels)
    }
}

extension EvaluationModel {
    /// KL(original ‖ this) of next-token distributions over non-overlapping `seq_len` windows of the data.
    public func klDivergence(from original: EvaluationModel, source: DataSource) throws -> MetricResult {
        guard model.config.isCausalLM, original.model.config.isCausalLM else {
            throw EvaluationError.invalidArgument(message: "kl_divergence compares next-token distributions of two causal language models")
        }
        guard model.config.vocabSize == original.model.config.vocabSize else {
            throw EvaluationError.invalidArgument(message: "kl_divergence: vocabularies differ (\(original.model.config.vocabSize) vs \(model.config.vocabSize))")
        }
        let stream = try source.tokenStream(encoder: tokenizer ?? original.tokenizer)
        return try Evaluation.klDivergence(original: original.model, compressed: model, stream: stream,
                                           seqLen: source.seqLen ?? min(512, model.config.maxPositions), file: source.data)
    }
}
