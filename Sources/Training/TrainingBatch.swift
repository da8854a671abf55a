import Models

/// One supervised batch: the model input and its targets.
public struct TrainingBatch {
    public var input: ModelInput
    /// Classification: one label per sequence `[B]`. Causal LM: next-token targets `[B·T]`
    /// (`languageModelTargets`), ignore index -100.
    public var targets: [Int32]
    /// Regression targets `[B]` (a one-output classifier head trained with MSE).
    public var regression: [Float]?

    public init(input: ModelInput, targets: [Int32], regression: [Float]? = nil) {
        self.input = input; self.targets = targets; self.regression = regression
    }

    /// Right-padded classification batch.
    public static func classification(_ sequences: [[Int]], tokenTypes: [[Int]]? = nil, labels: [Int], padId: Int = 0) -> TrainingBatch {
        TrainingBatch(input: ModelInput(padding: sequences, padId: padId, tokenTypes: tokenTypes), targets: labels.map { Int32($0) })
    }

    /// Right-padded causal LM batch; padding positions are not predicted.
    public static func languageModel(_ sequences: [[Int]], padId: Int = 0) -> TrainingBatch {
        let input = ModelInput(padding: sequences, padId: padId)
        return TrainingBatch(input: input, targets: languageModelTargets(input))
    }

    public var tokenCount: Int { input.batchSize * input.seqLen }
}
