import Kernels

/// Keys and values of the positions a decoder has already seen, per layer and sequence, so an
/// incremental forward (`TransformerModel.forward(appending:to:)`) computes only the new tokens.
///
/// Layer l keeps `keys[l]`, `values[l]` as `[B, capacity, NKV_l·HD]` (after rotary, as attention reads
/// them; `NKV_l` is the layer's own kv-head count, so physically pruned layers fit). Sequence b holds
/// `lengths[b]` positions; each sequence grows on its own, so prompts of different lengths batch
/// without padding the cache. The eager executor writes and reads it (`ForwardState.cache`); the
/// block itself is unchanged. A sliding window keeps every position and masks (no ring buffer).
public final class KVCache {
    /// Positions cached per sequence.
    public private(set) var lengths: [Int]
    /// Positions each sequence can hold before the buffers grow.
    public private(set) var capacity: Int
    /// `NKV_l·HD` per layer (0 for a layer without attention heads).
    let widths: [Int]
    private var keys: [UnsafeMutablePointer<Float>]
    private var values: [UnsafeMutablePointer<Float>]

    /// An empty cache for `batch` sequences of `model`, with room for `capacity` positions each. The
    /// model's weights move to huge pages (`backWeightsWithHugePages`): every decode step streams them.
    public init(model: TransformerModel, batch: Int, capacity: Int = 64) {
        model.backWeightsWithHugePages()
        widths = model.layers.map { $0.kvHeads * $0.headDim }
        lengths = [Int](repeating: 0, count: batch)
        self.capacity = max(capacity, 1)
        keys = widths.map { .allocate(capacity: batch * max(capacity, 1) * $0) }
        values = widths.map { .allocate(capacity: batch * max(capacity, 1) * $0) }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    public var batch: Int { lengths.count }

    /// Makes room for `needed` positions per sequence (doubling), keeping what is cached.
    func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let grown = max(needed, 2 * capacity)
        for l in widths.indices {
            keys[l] = moved(keys[l], width: widths[l], to: grown)
            values[l] = moved(values[l], width: widths[l], to: grown)
        }
        capacity = grown
    }

    private func moved(_ old: UnsafeMutablePointer<Float>, width w: Int, to newCapacity: Int) -> UnsafeMutablePointer<Float> {
        let new = UnsafeMutablePointer<Float>.allocate(capacity: batch * newCapacity * w)
        for b in 0..<batch { (new + b * newCapacity * w).update(from: old + b * capacity * w, count: lengths[b] * w) }
        old.deallocate()
        return new
    }

    /// Writes the new rows `k`, `v` `[B·T, NKV·HD]` of `layer` at positions `lengths[b] + i`
    /// (the real rows only: `count[b]` of each sequence's T).
    func store(layer l: Int, k: [Float], v: [Float], _ g: CacheGeometry) {
        let w = widths[l], t = g.newTokens
        precondition(k.count == batch * t * w && v.count == k.count, "KVCache.store: layer \(l) rows do not match [\(batch)·\(t), \(w)]")
        for b in 0..<batch {
            let dst = (b * capacity + g.past[b]) * w, src = b * t * w, n = g.count[b] * w
            k.withUnsafeBufferPointer { (keys[l] + dst).update(from: $0.baseAddress! + src, count: n) }
            v.withUnsafeBufferPointer { (values[l] + dst).update(from: $0.baseAddress! + src, count: n) }
        }
    }

    /// Reads layer `l`'s buffers.
    func withLayer<R>(_ l: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        body(keys[l], values[l])
    }

    /// Counts the new tokens once every layer has stored them.
    func commit(_ count: [Int]) {
        for b in lengths.indices { lengths[b] += count[b] }
    }

    /// Keeps only the given sequences (increasing indices), e.g. those still generating.
    public func retain(_ sequences: [Int]) {
        precondition(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 } && sequences.allSatisfy { $0 >= 0 && $0 < batch },
                     "KVCache.retain: \(sequences) is not an increasing list of sequences in 0..<\(batch)")
        for l in widths.indices {
            let w = widths[l] * capacity
            for (to, from) in sequences.enumerated() where to != from {
                (keys[l] + to * w).update(from: keys[l] + from * w, count: lengths[from] * widths[l])
                (values[l] + to * w).update(from: values[l] + from * w, count: lengths[from] * widths[l])
            }
        }
        lengths = sequences.map { lengths[$0] }
    }
}
