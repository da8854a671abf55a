import Tensors

/// Seeded mini-batches over any items (e.g. `Example`s): epoch `e` is a shuffle with
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
