import Tensors
import Models

/// Seeded mini-batches over any items (e.g. `Evaluation.Example`s): epoch `e` is a shuffle with
/// seed `seed + e`, cut into `batchSize` pieces (the last, shorter one kept unless `dropLast`).
/// `batch(step:)` walks epochs so a resumed run sees exactly the batches it would have seen.
public struct DataLoader<Item> {
    public let items: [Item]
    public let batchSize: Int
    public let seed: UInt64
    public let shuffle: Bool
    public let dropLast: Bool

    public init(_ items: [Item], batchSize: Int, seed: UInt64, shuffle: Bool = true, dropLast: Bool = false) {
        precondition(batchSize > 0, "DataLoader: batch size must be positive")
        self.items = items; self.batchSize = batchSize; self.seed = seed; self.shuffle = shuffle; self.dropLast = dropLast
    }

    public var batchesPerEpoch: Int {
        dropLast ? items.count / batchSize : (items.count + batchSize - 1) / batchSize
    }

    /// Item order of epoch `epoch`.
    public func order(epoch: Int) -> [Int] {
        var idx = Array(items.indices)
        if shuffle {
            var g = SeededGenerator(seed: seed &+ UInt64(epoch))
            idx.shuffle(using: &g)
        }
        return idx
    }

    public func batches(epoch: Int) -> [[Item]] {
        let idx = order(epoch: epoch)
        return (0..<batchesPerEpoch).map { b in idx[(b * batchSize)..<min(idx.count, (b + 1) * batchSize)].map { items[$0] } }
    }

    /// The `step`-th batch counting across epochs (0-based).
    public func batch(step: Int) -> [Item] {
        precondition(batchesPerEpoch > 0, "DataLoader: no complete batch in \(items.count) items")
        let epoch = step / batchesPerEpoch, b = step % batchesPerEpoch
        let idx = order(epoch: epoch)
        return idx[(b * batchSize)..<min(idx.count, (b + 1) * batchSize)].map { items[$0] }
    }
}

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
