import Datasets
import Models

/// Turns `Example`s into padded training batches for one model.
public struct ExampleBatcher {
    public let task: ModelTask
    /// A one-output classifier head, trained on `Example.target` with MSE.
    public let regression: Bool
    public let padId: Int
    /// Examples are truncated to this many tokens (keeping the start).
    public let maxLength: Int?

    /// Checks every example against the model (a label in range, or a target for regression); `json` is the
    /// checkpoint's config.json (for `pad_token_id`). `maxLength` nil keeps up to the model's positions.
    public init(config: ModelConfig, modelConfig json: [String: Any], maxLength: Int?, examples: [Example]) throws {
        task = config.task
        padId = json["pad_token_id"] as? Int ?? 0
        self.maxLength = maxLength ?? config.maxPositions
        regression = config.isClassifier && config.numLabels == 1
        if config.isClassifier {
            for (i, e) in examples.enumerated() {
                if regression, e.target == nil { throw TrainingError.invalidExamples(reason: "training example \(i) has no regression target") }
                if !regression {
                    guard let label = e.label else { throw TrainingError.invalidExamples(reason: "training example \(i) has no label (the model is a classifier)") }
                    guard (0..<config.numLabels).contains(label) else {
                        throw TrainingError.invalidExamples(reason: "training example \(i) has label \(label); the model has \(config.numLabels) labels")
                    }
                }
            }
        } else if task == .encoder {
            throw TrainingError.invalidExamples(reason: "the model has no head to train (a bare encoder)")
        }
    }

    public func batch(_ examples: [Example]) throws -> TrainingBatch {
        let limit = maxLength ?? Int.max
        let seqs = examples.map { Array($0.ids.prefix(limit)).map(Int.init) }
        if task == .causalLM { return TrainingBatch.languageModel(seqs, padId: padId) }
        let types = examples.first?.tokenTypes == nil ? nil : examples.map { Array(($0.tokenTypes ?? []).prefix(limit)).map(Int.init) }
        var b = TrainingBatch.classification(seqs, tokenTypes: types, labels: examples.map { $0.label ?? 0 }, padId: padId)
        if regression { b.regression = examples.map { $0.target ?? 0 } }
        return b
    }
}
